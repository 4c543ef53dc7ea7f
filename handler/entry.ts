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
import {
    distinctRecords,
    isSqsEvent,
    type ParsedEvent,
    parseInterruptionWarning,
    parseSqsRecord,
    type QueuedWarning,
} from "./event";
import { createHookCache } from "./hooks";
import {
    createRecheckGateway,
    MAX_VISIBILITY_ENTRIES,
    type Recheck,
    type RecheckGateway,
    secondsUntil,
} from "./recheck";
import {
    type ActedAction,
    describeError,
    type HooksSkipped,
    type WarningOutcome,
} from "./batch-steps";
import { chunk, isStale } from "./decision";
import type { BatchResult, HandlerDependencies } from "./batch-context";
import { handleWarnings } from "./handle";
import { deadLetterLateRetries, lateRetriesOf } from "./late-retries";
import { logDecision } from "./log";
import { emfDocuments } from "./metrics";
import { createDetachNotifier, createSnsClient, type DetachNotifier } from "./notify";
import { detachNotification, invocationMetrics, MAX_LISTED_IDS, type Tally, tally } from "./report";
import { type CapacityOnInterruption } from "../contract";

export const deploymentOnlyModule = true;

/** What one direct invocation did; the Lambda console's test shows this. */
export interface InterruptionSummary {
    readonly instanceId?: string;
    /** The instance's group, once the lookup placed it in a chosen one. */
    readonly autoScalingGroupName?: string;
    readonly action: ActedAction | "left-to-group" | "ignored";
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly reason?: string;
    /** The group had Capacity Rebalancing, and the instance was still InService after its grace. */
    readonly safetyNet?: true;
    /** Detached from a group whose termination hook was skipped, or could not be looked up. */
    readonly hooks?: HooksSkipped;
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
 *
 * A waiting warning waits here: a direct invocation has no queue to come back through, and
 * Lambda's own retries come 1 and 2 minutes later, past the 60 s the instance has to leave
 * service. The wait holds one invocation for the grace (about 25 s), one concurrency slot per
 * waiting warning: queue delivery, the default, is the way through storms.
 */
export async function handleDirectEvent(
    event: unknown,
    deps: HandlerDependencies,
    reporting: Reporting = {},
): Promise<InterruptionSummary> {
    const { capacityOnInterruption, dryRun } = deps.config;
    const now = deps.now ?? Date.now;
    const parsed = parseInterruptionWarning(event);
    const requestsBefore = reporting.requests?.();
    // A console test has no `time`: its grace starts when the invocation does.
    const input = { key: DIRECT_KEY, parsed, firstSeenMs: now() };
    let calls = 0;
    let refusals = 0;
    let result: BatchResult | undefined;
    let outcome: WarningOutcome | undefined;
    for (let check = 0; check < MAX_DIRECT_CHECKS; check++) {
        result = await handleWarnings([input], deps, {
            // EventBridge's and Lambda's maximum event age already bound a direct warning's age.
            ignoreStale: false,
            dryRun,
        });
        calls += result.autoScalingCalls;
        refusals += result.refusals;
        outcome = finalDirectOutcome(
            result.outcomes.get(DIRECT_KEY) as WarningOutcome,
            parsed,
            now(),
        );
        const waitMs = outcome.action === "waiting" ? directWaitMs(outcome, now()) : undefined;
        if (waitMs === undefined || deps.remainingTimeMs() - waitMs < DIRECT_RECHECK_RESERVE_MS) {
            break;
        }
        await (deps.sleep ?? sleep)(waitMs);
    }
    const final = outcome as WarningOutcome;
    await report(
        [final],
        { ...(result as BatchResult), autoScalingCalls: calls, refusals },
        1,
        deps,
        reporting,
        requestsBefore,
    );
    if (final.action === "failed") {
        throw Object.assign(new Error(final.error.message), { name: final.error.name });
    }
    if (final.action === "waiting") {
        deps.log("WARN", { message: `Still waiting when the invocation ran out: ${final.detail}` });
        throw Object.assign(new Error(final.detail), { name: "StillWaiting" });
    }
    const summary = directSummary(final, capacityOnInterruption);
    if (final.action === "ignored" || final.action === "left-to-group") {
        deps.log("INFO", {
            eventId: parsed.eventId,
            ...summary,
            message:
                final.action === "ignored"
                    ? `Ignored the warning: ${final.reason}`
                    : "Left the warning to the group's Capacity Rebalancing",
        });
    }
    return summary;
}

// Re-checks of one direct warning: the grace's end, then a launching instance every 10 s.
const MAX_DIRECT_CHECKS = 12;
const PENDING_RECHECK_MS = 10_000;
// A re-check needs time for its lookup, its action and the response.
const DIRECT_RECHECK_RESERVE_MS = 8_000;

function directWaitMs(outcome: WarningOutcome & { action: "waiting" }, nowMs: number): number {
    return outcome.recheckAtMs === undefined
        ? PENDING_RECHECK_MS
        : Math.max(0, outcome.recheckAtMs - nowMs);
}

/** A launching instance whose notice has ended is acknowledged: no retry can drain it now. */
function finalDirectOutcome(
    outcome: WarningOutcome,
    parsed: ParsedEvent,
    nowMs: number,
): WarningOutcome {
    if (
        outcome.action !== "waiting" ||
        outcome.waitingFor !== "pending" ||
        parsed.kind !== "interruption-warning" ||
        !isStale(parsed.sentAtMs, nowMs)
    ) {
        return outcome;
    }
    return {
        action: "ignored",
        instanceId: outcome.instanceId,
        autoScalingGroupName: outcome.autoScalingGroupName,
        reason: "still-pending",
        detail: `${outcome.detail}; its notice ended first`,
    };
}

function directSummary(
    outcome: Exclude<WarningOutcome, { action: "failed" | "waiting" }>,
    capacityOnInterruption: CapacityOnInterruption,
): InterruptionSummary {
    if (outcome.action === "ignored" || outcome.action === "left-to-group") {
        return {
            instanceId: outcome.instanceId,
            ...(outcome.autoScalingGroupName === undefined
                ? {}
                : { autoScalingGroupName: outcome.autoScalingGroupName }),
            action: outcome.action,
            capacityOnInterruption,
            reason: outcome.detail,
        };
    }
    return {
        instanceId: outcome.instanceId,
        autoScalingGroupName: outcome.autoScalingGroupName,
        action: outcome.action,
        capacityOnInterruption: outcome.capacityOnInterruption,
        ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        ...(outcome.safetyNet ? { safetyNet: true } : {}),
        ...(outcome.hooks === undefined ? {} : { hooks: outcome.hooks }),
    };
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
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
    recheck?: RecheckGateway,
): Promise<SQSBatchResponse> {
    const { capacityOnInterruption, dryRun, handlerName } = deps.config;
    const records = distinctRecords(event.Records);
    const warnings = records.map(parseSqsRecord);
    const requestsBefore = reporting.requests?.();
    const result = await handleWarnings(
        warnings.map((w) => ({
            key: w.messageId,
            parsed: w.parsed,
            ...(w.queuedAtMs === undefined ? {} : { firstSeenMs: w.queuedAtMs }),
            isRetry: w.receiveCount > 1,
        })),
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
        message: `Batch of ${records.length} records: ${batchSummary(counts, dryRun)}`,
        handler: handlerName,
        capacityOnInterruption,
        records: records.length,
        uniqueInstances: new Set(
            warnings.flatMap((w) =>
                w.parsed.kind === "interruption-warning" ? [w.parsed.instanceId] : [],
            ),
        ).size,
        detached: counts.detached,
        terminated: counts.terminated,
        leftToGroup: counts.leftToGroup,
        waiting: counts.waiting,
        ...(dryRun
            ? { wouldDetach: counts.wouldDetach, wouldTerminate: counts.wouldTerminate }
            : {}),
        safetyNet: counts.safetyNet,
        hooksSkipped: counts.hooksSkipped,
        hooksUnknown: counts.hooksUnknown,
        ignored: counts.ignored,
        failed: counts.failed,
        groups: Object.fromEntries(
            counts.groups.slice(0, MAX_LISTED_IDS).map((g) => [
                g.autoScalingGroupName,
                {
                    detached: g.detached,
                    terminated: g.terminated,
                    leftToGroup: g.leftToGroup,
                    waiting: g.waiting,
                    failed: g.failed,
                },
            ]),
        ),
        autoScalingCalls: result.autoScalingCalls,
        ...(counts.failed > 0
            ? { failedInstanceIds: counts.failedInstanceIds.slice(0, MAX_LISTED_IDS) }
            : {}),
    });
    // Both after the log: neither may hold up what the batch reports, and neither needs the other.
    const [unsent] = await Promise.all([
        deadLetterLateRetries(late.retries, deadLetter, deps),
        scheduleRechecks(warnings, final, deps, recheck),
    ]);
    return {
        // A waiting record comes back for its re-check; it is neither failed nor acknowledged.
        batchItemFailures: warnings
            .filter(
                (w) =>
                    ["failed", "waiting"].includes(final.get(w.messageId)?.action ?? "") ||
                    unsent.has(w.messageId),
            )
            .map((w) => ({ itemIdentifier: w.messageId })),
    };
}

/** The batch's outcomes in words: the usual three always, the rest when they happened. */
function batchSummary(counts: Tally, dryRun: boolean | undefined): string {
    const optional: [number, string][] = [
        [counts.terminated, "terminated"],
        [counts.leftToGroup, "left to their group"],
        [counts.wouldDetach, "would be detached (dry run)"],
        [counts.wouldTerminate, "would be terminated (dry run)"],
        [counts.waiting, "waiting for a re-check"],
    ];
    return [
        `${counts.detached} detached`,
        ...optional
            .filter(([n, words]) => n > 0 || (dryRun && words === "would be detached (dry run)"))
            .map(([n, words]) => `${n} ${words}`),
        `${counts.ignoredTotal} ignored`,
        `${counts.failed} left for a retry`,
    ].join(", ");
}

/**
 * At the end of the invocation, once nothing of the batch runs any more: each record that waits
 * for its group's grace becomes visible again when the grace ends, not a visibility timeout on.
 * Best effort: a record whose change fails comes back at the queue's own visibility timeout.
 */
async function scheduleRechecks(
    warnings: readonly QueuedWarning[],
    outcomes: ReadonlyMap<string, WarningOutcome>,
    deps: HandlerDependencies,
    recheck: RecheckGateway | undefined,
): Promise<void> {
    const now = (deps.now ?? Date.now)();
    // Entry ids must be distinct and plain: the record's place in the batch is both.
    const due = warnings.flatMap((w, index): Recheck[] => {
        const outcome = outcomes.get(w.messageId);
        return outcome?.action === "waiting" && outcome.recheckAtMs !== undefined
            ? [
                  {
                      id: String(index),
                      receiptHandle: w.receiptHandle,
                      seconds: secondsUntil(outcome.recheckAtMs, now),
                  },
              ]
            : [];
    });
    if (recheck === undefined || due.length === 0) {
        return;
    }
    const budgetMs = Math.min(NOTIFY_TIMEOUT_MS, deps.remainingTimeMs() - RESPONSE_MARGIN_MS);
    if (budgetMs < MIN_BEST_EFFORT_MS) {
        deps.log("WARN", {
            message: `Skipped bringing ${due.length} re-check(s) forward: too little time left; they come back at the queue's visibility timeout`,
        });
        return;
    }
    const signal = AbortSignal.timeout(budgetMs);
    const unchanged: string[] = [];
    await Promise.all(
        chunk(due, MAX_VISIBILITY_ENTRIES).map(async (entries) => {
            try {
                unchanged.push(...(await recheck.schedule(entries, signal)));
            } catch (error) {
                unchanged.push(...entries.map((e) => e.id));
                deps.log("WARN", {
                    message:
                        "ChangeMessageVisibilityBatch failed; those records come back at the queue's visibility timeout",
                    error: describeError(error),
                });
            }
        }),
    );
    if (unchanged.length > 0) {
        deps.log("WARN", {
            message: `${unchanged.length} re-check(s) were not brought forward; they come back at the queue's visibility timeout`,
        });
    }
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
