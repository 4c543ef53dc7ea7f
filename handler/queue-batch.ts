/**
 * A batch from the events queue: its records handled together, late retries dead-lettered,
 * waiting records brought back when their re-check is due, and what a retry could save returned.
 */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { HandlerDependencies } from "./batch-context";
import { describeError, type WarningOutcome } from "./batch-steps";
import type { DeadLetterGateway } from "./dead-letter";
import { chunk } from "./decision";
import { distinctRecords, parseSqsRecord, type QueuedWarning } from "./event";
import { handleWarnings } from "./handle";
import { deadLetterLateRetries, lateRetriesOf } from "./late-retries";
import { MAX_VISIBILITY_ENTRIES, type Recheck, type RecheckGateway, secondsUntil } from "./recheck";
import type { OutcomeCounts } from "./metrics";
import { MAX_LISTED_IDS, type Tally } from "./report";
import {
    MIN_BEST_EFFORT_MS,
    NOTIFY_TIMEOUT_MS,
    report,
    type Reporting,
    RESPONSE_MARGIN_MS,
} from "./reporting";

export const deploymentOnlyModule = true;

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
export function batchSummary(
    counts: Pick<Tally, keyof OutcomeCounts | "ignoredTotal">,
    dryRun: boolean | undefined,
): string {
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
