/**
 * The Lambda side of the project: what runs when EventBridge delivers an interruption warning.
 * `handleLambdaEvent` is the function the component serializes into the deployment package.
 */
import { createAutoScalingClient, createAutoScalingGateway } from "./auto-scaling";
import { readHandlerConfig } from "./config";
import { handleInterruptionWarning, type InterruptionSummary, logAsJsonLine } from "./handle";

export * from "./auto-scaling";
export * from "./config";
export * from "./decision";
export * from "./event";
export * from "./handle";

/** The Lambda entry: configuration from the environment, the real Auto Scaling client. */
export async function handleLambdaEvent(event: unknown): Promise<InterruptionSummary> {
    const config = readHandlerConfig(process.env);
    // Created per invocation: closure serialization cannot capture an SDK client.
    const autoScaling = createAutoScalingGateway(createAutoScalingClient(process.env));
    return handleInterruptionWarning(event, { config, autoScaling, log: logAsJsonLine });
}
