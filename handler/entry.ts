/**
 * The two shapes the function is invoked with, and the Lambda entry that tells them apart:
 * an SQS batch from the events queue (queue delivery) or a bare EventBridge event (direct
 * delivery, and the Lambda console's test).
 */
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import {
    countRequests,
    createAutoScalingClient,
    createAutoScalingGateway,
    type RequestCounts,
} from "./auto-scaling";
import { readHandlerConfig } from "./config";
import { createDeadLetterGateway, createSqsClient, type DeadLetterGateway } from "./dead-letter";
import { distinctRecords, isSqsEvent, parseInterruptionWarning, parseSqsRecord } from "./event";
import { describeError, type WarningOutcome } from "./batch-steps";
import type { BatchResult, HandlerDependencies } from "./batch-context";
import { handleWarnings } from "./handle";
import { deadLetterLateRetries, lateRetriesOf } from "./late-retries";
import { logDecision } from "./log";
import { emfDocuments } from "./metrics";
import { createDetachNotifier, createSnsClient, type DetachNotifier } from "./notify";
import { detachNotification, invocationMetrics, MAX_LISTED_IDS, tally } from "./report";
import { type CapacityOnInterruption } from "../contract";

export const deploymentOnlyModule = true;

/** What one direct invocation did; the Lambda console's test shows this. */
export interface InterruptionSummary {
    readonly instanceId?: string;
    /** The instance's group, once the lookup placed it in a chosen one. */
    readonly autoScalingGroupName?: string;
    readonly action: "detached" | "would-detach" | "ignored";
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly reason?: string;
}

/** What an invocation reports through, besides its log: all optional, all best effort. */
export interface Reporting {
    /** Writes one raw line to standard output: how EMF metrics reach CloudWatch. */
    readonly emit?: (line: string) => void;
    /** Requests sent and throttled so far, on the client this invocation uses. */
    readonly requests?: () => RequestCounts;
    readonly notifier?: DetachNotifier;
}

/** The key of the one warning in a direct invocation. */
const DIRECT_KEY = "event";
const NOTIFY_TIMEOUT_MS = 3_000;
// What an invocation keeps back after its last call, to log and return before Lambda stops it.
const RESPONSE_MARGIN_MS = 1_500;
// A best-effort call that cannot get this long is skipped, and said so.
const MIN_BEST_EFFORT_MS = 250;

/**
 * Handles one bare EventBridge event. Throws when the instance could still be saved by a retry,
 * so that EventBridge or Lambda retries it and finally dead-letters it.
 */
export async function handleDirectEvent(
    event: unknown,
    deps: HandlerDependencies,
    reporting: Reporting = {},
): Promise<InterruptionSummary> {
    const { capacityOnInterruption, dryRun } = deps.config;
    const parsed = parseInterruptionWarning(event);
    const requestsBefore = reporting.requests?.();
    const result = await handleWarnings([{ key: DIRECT_KEY, parsed }], deps, {
        // EventBridge's and Lambda's maximum event age already bound a direct warning's age.
        ignoreStale: false,
        dryRun,
    });
    const outcome = result.outcomes.get(DIRECT_KEY) as WarningOutcome;
    await report([outcome], result, 1, deps, reporting, requestsBefore);
    if (outcome.action === "failed") {
        throw Object.assign(new Error(outcome.error.message), { name: outcome.error.name });
    }
    if (outcome.action !== "ignored") {
        return {
            instanceId: outcome.instanceId,
            autoScalingGroupName: outcome.autoScalingGroupName,
            action: outcome.action,
            capacityOnInterruption: outcome.capacityOnInterruption,
            ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        };
    }
    const summary: InterruptionSummary = {
        instanceId: outcome.instanceId,
        ...(outcome.autoScalingGroupName === undefined
            ? {}
            : { autoScalingGroupName: outcome.autoScalingGroupName }),
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
    reporting: Reporting = {},
): Promise<SQSBatchResponse> {
    const { capacityOnInterruption, dryRun, handlerName } = deps.config;
    const records = distinctRecords(event.Records);
    const warnings = records.map(parseSqsRecord);
    const requestsBefore = reporting.requests?.();
    const result = await handleWarnings(
        warnings.map((w) => ({ key: w.messageId, parsed: w.parsed })),
        deps,
        { ignoreStale: true, dryRun },
    );

    // Late retries are counted now and sent last: a send that overruns cannot lose the report.
    const late = lateRetriesOf(records, warnings, result.outcomes, deadLetter !== undefined);
    const final = new Map([...result.outcomes, ...late.outcomes]);

    const outcomes = warnings.map((w) => final.get(w.messageId) as WarningOutcome);
    const counts = await report(
        outcomes,
        result,
        event.Records.length,
        deps,
        reporting,
        requestsBefore,
    );
    deps.log(counts.failed > 0 ? "ERROR" : "INFO", {
        message: `Batch of ${records.length} records: ${counts.detached} detached, ${
            dryRun ? `${counts.wouldDetach} would be detached (dry run), ` : ""
        }${counts.ignoredTotal} ignored, ${counts.failed} left for a retry`,
        handler: handlerName,
        capacityOnInterruption,
        records: records.length,
        uniqueInstances: new Set(
            warnings.flatMap((w) =>
                w.parsed.kind === "interruption-warning" ? [w.parsed.instanceId] : [],
            ),
        ).size,
        detached: counts.detached,
        ...(dryRun ? { wouldDetach: counts.wouldDetach } : {}),
        ignored: counts.ignored,
        failed: counts.failed,
        groups: Object.fromEntries(
            counts.groups
                .slice(0, MAX_LISTED_IDS)
                .map((g) => [g.autoScalingGroupName, { detached: g.detached, failed: g.failed }]),
        ),
        autoScalingCalls: result.autoScalingCalls,
        ...(counts.failed > 0
            ? { failedInstanceIds: counts.failedInstanceIds.slice(0, MAX_LISTED_IDS) }
            : {}),
    });
    const unsent = await deadLetterLateRetries(late.retries, deadLetter, deps);
    return {
        batchItemFailures: warnings
            .filter((w) => final.get(w.messageId)?.action === "failed" || unsent.has(w.messageId))
            .map((w) => ({ itemIdentifier: w.messageId })),
    };
}

/** Emits the invocation's metrics and, when it detached something, its notification. */
async function report(
    outcomes: readonly WarningOutcome[],
    result: BatchResult,
    batchSize: number,
    deps: HandlerDependencies,
    reporting: Reporting,
    requestsBefore: RequestCounts | undefined,
): Promise<ReturnType<typeof tally>> {
    const counts = tally(outcomes);
    const { handlerName } = deps.config;
    const requestsAfter = reporting.requests?.();
    const metrics = invocationMetrics(counts, {
        handlerName,
        timestampMs: (deps.now ?? Date.now)(),
        batchSize,
        // What reached Auto Scaling, every retry included. A stubbed `send` (the SDK mock) skips
        // the middleware; then the calls the batch made are the best count.
        autoScalingCalls: Math.max(
            result.autoScalingCalls,
            requestsAfter === undefined || requestsBefore === undefined
                ? 0
                : requestsAfter.requests - requestsBefore.requests,
        ),
        throttles:
            requestsAfter === undefined || requestsBefore === undefined
                ? 0
                : requestsAfter.throttles - requestsBefore.throttles,
        refusals: result.refusals,
        missingGroups: result.missingGroups.length,
    });
    for (const document of emfDocuments(metrics)) {
        reporting.emit?.(JSON.stringify(document));
    }
    if (reporting.notifier !== undefined && counts.detached > 0) {
        // The detaches are done: the notice gets what time is left, never the response's margin.
        const budgetMs = Math.min(NOTIFY_TIMEOUT_MS, deps.remainingTimeMs() - RESPONSE_MARGIN_MS);
        const { subject, message } = detachNotification(counts, deps.config);
        if (budgetMs < MIN_BEST_EFFORT_MS) {
            deps.log("WARN", {
                message: `Skipped the detach notification: only ${Math.max(0, Math.round(budgetMs + RESPONSE_MARGIN_MS))} ms left in the invocation`,
                handler: handlerName,
            });
        } else {
            try {
                await reporting.notifier.publish(subject, message, AbortSignal.timeout(budgetMs));
            } catch (error) {
                // The detach is what matters: a lost notification never fails a record.
                deps.log("WARN", {
                    message: "Publishing the detach notification failed",
                    handler: handlerName,
                    error: describeError(error),
                });
            }
        }
    }
    return counts;
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
    const autoScalingClient = createAutoScalingClient(process.env);
    const requests = countRequests(autoScalingClient);
    const autoScaling = createAutoScalingGateway(autoScalingClient);
    const sqs = createSqsClient();
    const sns = createSnsClient();
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
            return handleSqsBatch(event, deps, deadLetter, reporting);
        }
        return handleDirectEvent(event, deps, reporting);
    };
}
