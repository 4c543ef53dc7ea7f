/**
 * What an invocation reports besides its log lines: its metrics (EMF lines) and, when it took
 * instances out, a notification. All best effort, inside the invocation's deadline.
 */
import type { RequestCounts } from "./auto-scaling";
import type { BatchResult, HandlerDependencies } from "./batch-context";
import { describeError, type WarningOutcome } from "./batch-steps";
import { emfDocuments, type InvocationMetrics } from "./metrics";
import type { DetachNotifier } from "./notify";
import { detachNotification, tally } from "./report";

export const deploymentOnlyModule = true;

/** What an invocation reports through, besides its log: all optional, all best effort. */
export interface Reporting {
    /** Writes one raw line to standard output: how EMF metrics reach CloudWatch. */
    readonly emit?: (line: string) => void;
    /** Requests sent and throttled so far, on the client this invocation uses. */
    readonly requests?: () => RequestCounts;
    readonly notifier?: DetachNotifier;
}

export const NOTIFY_TIMEOUT_MS = 3_000;
// What an invocation keeps back after its last call, to log and return before Lambda stops it.
export const RESPONSE_MARGIN_MS = 1_500;
// A best-effort call that cannot get this long is skipped, and said so.
export const MIN_BEST_EFFORT_MS = 250;

/** Emits the invocation's metrics and, when it detached something, its notification. */
export async function report(
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
    const metrics: InvocationMetrics = {
        ...counts,
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
    };
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
