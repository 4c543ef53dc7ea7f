/**
 * The Lambda side of the project: what runs when EventBridge delivers an interruption warning.
 * `handleLambdaEvent` is the function the component serializes into the deployment package.
 */
import { createAutoScalingClient, createAutoScalingGateway } from "./auto-scaling";
import { readHandlerConfig } from "./config";
import { handleInterruptionWarning, type InterruptionSummary, logDecision } from "./handle";

export {
    type AutoScalingGateway,
    createAutoScalingClient,
    createAutoScalingGateway,
    type DetachActivity,
} from "./auto-scaling";
export {
    ENV_AUTO_SCALING_GROUP_NAME,
    ENV_CAPACITY_ON_INTERRUPTION,
    type HandlerConfig,
    readHandlerConfig,
} from "./config";
export {
    CAPACITY_ON_INTERRUPTION_CHOICES,
    type CapacityOnInterruption,
    type CapacityPlan,
    classifyDetachFailure,
    type DetachFailure,
    type GroupSize,
    isCapacityOnInterruption,
    judgeMembership,
    keepInsteadOfDecrement,
    type Membership,
    type MembershipVerdict,
    planCapacity,
} from "./decision";
export {
    INTERRUPTION_WARNING_DETAIL_TYPE,
    INTERRUPTION_WARNING_SOURCE,
    type ParsedEvent,
    parseInterruptionWarning,
    type SpotInterruptionWarningDetail,
    type SpotInterruptionWarningEvent,
} from "./event";
export {
    type DecisionLogger,
    type DecisionRecord,
    handleInterruptionWarning,
    type HandlerDependencies,
    type InterruptionSummary,
    type LogLevel,
    logDecision,
} from "./handle";

/** The Lambda entry: configuration from the environment, the real Auto Scaling client. */
export async function handleLambdaEvent(event: unknown): Promise<InterruptionSummary> {
    const config = readHandlerConfig(process.env);
    // Created per invocation: closure serialization cannot capture an SDK client.
    const autoScaling = createAutoScalingGateway(createAutoScalingClient(process.env));
    return handleInterruptionWarning(event, { config, autoScaling, log: logDecision });
}
