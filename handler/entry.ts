/**
 * The Lambda entry: the factory the component serializes, which builds the SDK clients once per
 * container and tells the two shapes the function is invoked with apart: an SQS batch from the
 * events queue (queue delivery) or a bare EventBridge event (direct delivery, the console's test).
 */
import type { Context, SQSBatchResponse } from "aws-lambda";
import { countRequests, createAutoScalingClient, createAutoScalingGateway } from "./auto-scaling";
import type { HandlerDependencies } from "./batch-context";
import { describeError } from "./batch-steps";
import { readHandlerConfig } from "./config";
import { createDeadLetterGateway, createSqsClient } from "./dead-letter";
import { handleDirectEvent, type InterruptionSummary } from "./direct";
import { isSqsEvent } from "./event";
import { createHookCache } from "./hooks";
import { logDecision } from "./log";
import { createDetachNotifier, createSnsClient } from "./notify";
import { handleSqsBatch } from "./queue-batch";
import { createRecheckGateway } from "./recheck";
import type { Reporting } from "./reporting";

export const deploymentOnlyModule = true;

export type { InterruptionSummary } from "./direct";

export type LambdaContext = Pick<Context, "getRemainingTimeInMillis">;
export type LambdaHandler = (
    event: unknown,
    context?: LambdaContext,
) => Promise<InterruptionSummary | SQSBatchResponse>;

// Lambda's longest timeout: the bound when a caller passes no context.
const MAX_FUNCTION_TIMEOUT_MS = 900_000;

/**
 * Builds the Lambda handler once per container: its SDK clients keep their sockets and the
 * adaptive retry's rate estimate across warm invocations. Configuration is read per invocation,
 * so that a mistake fails that invocation with a structured error and the warning is retried.
 */
export function createLambdaHandler(): LambdaHandler {
    const autoScalingClient = createAutoScalingClient(process.env);
    const requests = countRequests(autoScalingClient);
    const autoScaling = createAutoScalingGateway(autoScalingClient);
    const sqs = createSqsClient();
    const sns = createSnsClient();
    // Per container: a storm asks each group for its hooks once, not once per batch.
    const hookCache = createHookCache();
    const emit = (line: string) => process.stdout.write(`${line}\n`);
    return async (event, context) => {
        let config;
        try {
            config = readHandlerConfig(process.env);
        } catch (error) {
            logDecision("ERROR", {
                message: "The function is misconfigured; the warning is left for a retry",
                error: describeError(error),
            });
            throw error;
        }
        const startedAt = Date.now();
        const deps: HandlerDependencies = {
            config,
            autoScaling,
            log: logDecision,
            hookCache,
            remainingTimeMs: context
                ? () => context.getRemainingTimeInMillis()
                : () => MAX_FUNCTION_TIMEOUT_MS - (Date.now() - startedAt),
        };
        const reporting: Reporting = {
            emit,
            requests,
            notifier:
                config.notifyTopicArn === undefined
                    ? undefined
                    : createDetachNotifier(sns, config.notifyTopicArn),
        };
        if (isSqsEvent(event)) {
            const deadLetter =
                config.deadLetterQueueUrl === undefined
                    ? undefined
                    : createDeadLetterGateway(sqs, config.deadLetterQueueUrl);
            const recheck =
                config.eventsQueueUrl === undefined
                    ? undefined
                    : createRecheckGateway(sqs, config.eventsQueueUrl);
            return handleSqsBatch(event, deps, deadLetter, reporting, recheck);
        }
        return handleDirectEvent(event, deps, reporting);
    };
}
