/**
 * The Spot interruption handler: an EventBridge rule, an optional queue, and the Lambda function
 * that detaches warned instances. The folder follows the architecture: arguments and their
 * validation, then the function's code, IAM, monitoring and fault injection, which the component
 * wires together.
 */
export {
    type AutoScalingGroupTag,
    Delivery,
    DELIVERY_CHOICES,
    DIRECT_TIMEOUT_SECONDS,
    HANDLER_ARCHITECTURES,
    HANDLER_RUNTIMES,
    HandlerArchitecture,
    HandlerRuntime,
    LOG_RETENTION_DAYS,
    MAX_GROUP_NAMES,
    QUEUE_DEFAULTS,
    type QueueSettings,
    type ResolvedHandlerSettings,
    type SpotInterruptionHandlerArgs,
} from "./args";
export { SpotInterruptionHandler } from "./component";
export { type FaultInjectionArgs } from "./fault-injection";
export {
    autoScalingGroupArn,
    handlerPolicyDocument,
    handlerPolicyJson,
    interruptionWarningEventPattern,
} from "./policies";
export { MAX_HANDLER_NAME_LENGTH, validateHandlerName } from "./names";
export { resolveHandlerSettings } from "./settings";
export { handlerArgumentError, validateAutoScalingGroupName } from "./argument-checks";
