/** The stack program's config: what `pulumi up` reads from the stack, validated. */
export {
    HANDLER_CONFIG_DEFAULTS,
    readStackConfig,
    STACK_CONFIG_TYPES,
    type StackConfig,
    WEB_TIER_GROUP_TAG_KEY,
} from "./stack-config";
export { fixCommand, StackConfigError } from "./config-values";
