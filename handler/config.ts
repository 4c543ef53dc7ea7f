import {
    CAPACITY_ON_INTERRUPTION_CHOICES,
    type CapacityOnInterruption,
    isCapacityOnInterruption,
} from "./decision";

// Pulumi's closure serializer then inlines this module even from an importer's node_modules.
export const deploymentOnlyModule = true;

/** Environment variables through which the component configures the function. */
export const ENV_AUTO_SCALING_GROUP_NAME = "AUTO_SCALING_GROUP_NAME";
export const ENV_CAPACITY_ON_INTERRUPTION = "CAPACITY_ON_INTERRUPTION";
export const ENV_DEAD_LETTER_QUEUE_URL = "DEAD_LETTER_QUEUE_URL";
export const ENV_DRY_RUN = "DRY_RUN";
export const ENV_NOTIFY_TOPIC_ARN = "NOTIFY_TOPIC_ARN";

export interface HandlerConfig {
    readonly autoScalingGroupName: string;
    readonly capacityOnInterruption: CapacityOnInterruption;
    /** Where a queued warning that came back too late is sent; unset in direct mode. */
    readonly deadLetterQueueUrl?: string;
    /** Decide and report everything, but detach nothing. Defaults to false. */
    readonly dryRun?: boolean;
    /** The SNS topic told about each batch that detached instances; unset, nobody is. */
    readonly notifyTopicArn?: string;
}

/**
 * Reads the function's configuration. A bad value throws rather than ignoring the event:
 * once the configuration is fixed, a retry or the dead-letter queue still holds it.
 * The group name is used exactly as given: the component validated it, and the IAM policy
 * grants exactly that name.
 */
export function readHandlerConfig(env: NodeJS.ProcessEnv): HandlerConfig {
    const autoScalingGroupName = env[ENV_AUTO_SCALING_GROUP_NAME];
    if (autoScalingGroupName === undefined || autoScalingGroupName.trim() === "") {
        throw new Error(
            `${ENV_AUTO_SCALING_GROUP_NAME} is not set: set it to the name of the Auto Scaling group whose instances this function detaches`,
        );
    }
    const capacityOnInterruption = env[ENV_CAPACITY_ON_INTERRUPTION] ?? "keep";
    if (!isCapacityOnInterruption(capacityOnInterruption)) {
        throw new Error(
            `${ENV_CAPACITY_ON_INTERRUPTION} is "${capacityOnInterruption}": set it to one of ${CAPACITY_ON_INTERRUPTION_CHOICES.join(", ")}`,
        );
    }
    const dryRun = env[ENV_DRY_RUN] ?? "false";
    if (dryRun !== "true" && dryRun !== "false") {
        throw new Error(`${ENV_DRY_RUN} is "${dryRun}": set it to true or false`);
    }
    return {
        autoScalingGroupName,
        capacityOnInterruption,
        deadLetterQueueUrl: env[ENV_DEAD_LETTER_QUEUE_URL] || undefined,
        dryRun: dryRun === "true",
        notifyTopicArn: env[ENV_NOTIFY_TOPIC_ARN] || undefined,
    };
}
