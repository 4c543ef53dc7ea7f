/**
 * The two shapes the function is invoked with, and the Lambda entry that tells them apart:
 * an SQS batch from the events queue (queue delivery) or a bare EventBridge event (direct
 * delivery, and the Lambda console's test).
 */
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createAutoScalingClient, createAutoScalingGateway } from "./auto-scaling";
import { readHandlerConfig } from "./config";
import { createDeadLetterGateway, createSqsClient, type DeadLetterGateway } from "./dead-letter";
import { type CapacityOnInterruption, IGNORE_REASONS, type IgnoreReason } from "./decision";
import { isSqsEvent, parseInterruptionWarning, parseSqsRecord } from "./event";
import {
    describeError,
    handleWarnings,
    type HandlerDependencies,
    logDecision,
    type WarningOutcome,
} from "./handle";

// Pulumi's closure serializer then inlines this module even from an importer's node_modules.
export const deploymentOnlyModule = true;

/** What one direct invocation did; the Lambda console's test shows this. */
export interface InterruptionSummary {
    readonly instanceId?: string;
    readonly autoScalingGroupName: string;
    readonly action: "detached" | "ignored";
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly reason?: string;
}

/** The key of the one warning in a direct invocation. */
const DIRECT_KEY = "event";
/** Lists of ids in a batch's log entry stop here: the counts stay exact. */
const MAX_LOGGED_IDS = 100;

/**
 * Handles one bare EventBridge event. Throws when the instance could still be saved by a retry,
 * so that EventBridge or Lambda retries it and finally dead-letters it.
 */
export async function handleDirectEvent(
    event: unknown,
    deps: HandlerDependencies,
): Promise<InterruptionSummary> {
    const { autoScalingGroupName, capacityOnInterruption } = deps.config;
    const parsed = parseInterruptionWarning(event);
    const { outcomes } = await handleWarnings([{ key: DIRECT_KEY, parsed }], deps, {
        // EventBridge's and Lambda's maximum event age already bound a direct warning's age.
        ignoreStale: false,
    });
    const outcome = outcomes.get(DIRECT_KEY) as WarningOutcome;
    if (outcome.action === "failed") {
        throw Object.assign(new Error(outcome.error.message), { name: outcome.error.name });
    }
    if (outcome.action === "detached") {
        return {
            instanceId: outcome.instanceId,
            autoScalingGroupName,
            action: "detached",
            capacityOnInterruption: outcome.capacityOnInterruption,
            ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        };
    }
    const summary: InterruptionSummary = {
        instanceId: outcome.instanceId,
        autoScalingGroupName,
        action: "ignored",
        capacityOnInterruption,
        reason: outcome.detail,
    };
    deps.log("INFO", {
        eventId: parsed.eventId,
        ...summary,
        message: `Ignored the warning: ${outcome.reason}`,
    });
    return summary;
}

/**
 * Handles a batch from the events queue. Returns the records that a retry could still save as
 * `batchItemFailures`; everything else is acknowledged. Never throws for the whole batch.
 */
export async function handleSqsBatch(
    event: SQSEvent,
    deps: HandlerDependencies,
    deadLetter: DeadLetterGateway | undefined,
): Promise<SQSBatchResponse> {
    const { autoScalingGroupName, capacityOnInterruption } = deps.config;
    const warnings = event.Records.map(parseSqsRecord);
    const { outcomes, autoScalingCalls } = await handleWarnings(
        warnings.map((w) => ({ key: w.messageId, parsed: w.parsed })),
        deps,
        { ignoreStale: true },
    );

    const failedKeys = new Set<string>();
    for (const warning of warnings) {
        const outcome = outcomes.get(warning.messageId);
        if (outcome?.action === "failed") {
            failedKeys.add(warning.messageId);
        } else if (
            outcome?.action === "ignored" &&
            outcome.reason === "stale" &&
            warning.receiveCount > 1
        ) {
            // A retry came too late to save the instance: make it visible instead of dropping it.
            const record = event.Records.find((r) => r.messageId === warning.messageId);
            const delivered = await deadLetterLateRetry(
                record?.body ?? "",
                outcome.detail,
                deps,
                deadLetter,
            );
            if (!delivered) {
                failedKeys.add(warning.messageId);
            }
        }
    }

    const counts = countOutcomes([...outcomes.values()]);
    const failedInstanceIds = [...outcomes.values()].flatMap((o) =>
        o.action === "failed" ? [o.instanceId] : [],
    );
    deps.log(failedKeys.size > 0 ? "ERROR" : "INFO", {
        message: `Batch of ${event.Records.length} records: ${counts.detached} detached, ${counts.ignoredTotal} ignored, ${failedKeys.size} left for a retry`,
        autoScalingGroupName,
        capacityOnInterruption,
        records: event.Records.length,
        uniqueInstances: new Set(
            warnings.flatMap((w) =>
                w.parsed.kind === "interruption-warning" ? [w.parsed.instanceId] : [],
            ),
        ).size,
        detached: counts.detached,
        ignored: counts.ignored,
        failed: failedKeys.size,
        autoScalingCalls,
        ...(failedInstanceIds.length > 0
            ? { failedInstanceIds: failedInstanceIds.slice(0, MAX_LOGGED_IDS) }
            : {}),
    });
    return { batchItemFailures: [...failedKeys].map((itemIdentifier) => ({ itemIdentifier })) };
}

async function deadLetterLateRetry(
    body: string,
    detail: string,
    deps: HandlerDependencies,
    deadLetter: DeadLetterGateway | undefined,
): Promise<boolean> {
    const reason = `${detail}; a retry came too late to detach it`;
    if (deadLetter === undefined) {
        deps.log("ERROR", {
            message: `${reason}. No dead-letter queue is configured, so the record is left for the queue's redrive policy`,
        });
        return false;
    }
    try {
        const budgetMs = Math.max(1, deps.remainingTimeMs() - 500);
        await deadLetter.send(body, reason, AbortSignal.timeout(Math.min(budgetMs, 10_000)));
        deps.log("ERROR", { message: `${reason}. Sent to the dead-letter queue` });
        return true;
    } catch (error) {
        deps.log("ERROR", {
            message: `${reason}. Sending it to the dead-letter queue failed, so it is left for a retry`,
            error: describeError(error),
        });
        return false;
    }
}

function countOutcomes(outcomes: readonly WarningOutcome[]): {
    detached: number;
    ignored: Partial<Record<IgnoreReason, number>>;
    ignoredTotal: number;
} {
    const ignored: Partial<Record<IgnoreReason, number>> = {};
    let detached = 0;
    let ignoredTotal = 0;
    for (const outcome of outcomes) {
        if (outcome.action === "detached") {
            detached++;
        } else if (outcome.action === "ignored") {
            ignoredTotal++;
            ignored[outcome.reason] = (ignored[outcome.reason] ?? 0) + 1;
        }
    }
    // A stable key order keeps log entries comparable.
    const ordered = Object.fromEntries(
        IGNORE_REASONS.filter((r) => ignored[r] !== undefined).map((r) => [r, ignored[r]]),
    );
    return { detached, ignored: ordered, ignoredTotal };
}

/**
 * Once per container: a group that does not exist makes every warning look "not ours", which
 * would otherwise only show as INFO lines. Best effort: a failed check changes nothing.
 */
export async function reportMissingGroup(deps: HandlerDependencies): Promise<void> {
    const { autoScalingGroupName } = deps.config;
    try {
        const signal = AbortSignal.timeout(
            Math.max(1, Math.min(3_000, deps.remainingTimeMs() / 4)),
        );
        const size = await deps.autoScaling.describeGroupSize(autoScalingGroupName, signal);
        if (size === undefined) {
            deps.log("ERROR", {
                message: `The configured Auto Scaling group ${autoScalingGroupName} does not exist in this account and Region, so every warning will be ignored as not its own: fix the component's autoScalingGroupName`,
                autoScalingGroupName,
            });
        }
    } catch {
        // The warnings themselves matter more than this diagnosis.
    }
}

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
    const autoScaling = createAutoScalingGateway(createAutoScalingClient(process.env));
    const sqs = createSqsClient();
    let groupChecked = false;
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
            remainingTimeMs: context
                ? () => context.getRemainingTimeInMillis()
                : () => MAX_FUNCTION_TIMEOUT_MS - (Date.now() - startedAt),
        };
        if (!groupChecked) {
            groupChecked = true;
            await reportMissingGroup(deps);
        }
        if (isSqsEvent(event)) {
            const deadLetter =
                config.deadLetterQueueUrl === undefined
                    ? undefined
                    : createDeadLetterGateway(sqs, config.deadLetterQueueUrl);
            return handleSqsBatch(event, deps, deadLetter);
        }
        return handleDirectEvent(event, deps);
    };
}
