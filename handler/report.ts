/**
 * What an invocation reports: its outcomes tallied once, for the batch's log entry, its metrics
 * and its notification. Pure.
 */
import { IGNORE_REASONS, type IgnoreReason } from "./decision";
import type { WarningOutcome } from "./handle";
import type { InvocationMetrics } from "./metrics";

// Pulumi's closure serializer then inlines this module even from an importer's node_modules.
export const deploymentOnlyModule = true;

/** Lists of ids in a log entry or notification stop here: the counts stay exact. */
export const MAX_LISTED_IDS = 100;

export interface Tally {
    readonly received: number;
    readonly detached: number;
    readonly wouldDetach: number;
    readonly failed: number;
    /** In IGNORE_REASONS order, reasons with none left out. */
    readonly ignored: Partial<Record<IgnoreReason, number>>;
    readonly ignoredTotal: number;
    readonly detachedInstanceIds: readonly string[];
    readonly failedInstanceIds: readonly string[];
    readonly detachLatencyMs: readonly number[];
}

/** Counts each record's final outcome once: received = detached + wouldDetach + ignored + failed. */
export function tally(outcomes: readonly WarningOutcome[]): Tally {
    const ignored: Partial<Record<IgnoreReason, number>> = {};
    const detachedInstanceIds: string[] = [];
    const failedInstanceIds: string[] = [];
    const detachLatencyMs: number[] = [];
    let wouldDetach = 0;
    for (const outcome of outcomes) {
        if (outcome.action === "detached") {
            detachedInstanceIds.push(outcome.instanceId);
            if (outcome.latencyMs !== undefined) {
                detachLatencyMs.push(outcome.latencyMs);
            }
        } else if (outcome.action === "would-detach") {
            wouldDetach++;
        } else if (outcome.action === "failed") {
            failedInstanceIds.push(outcome.instanceId);
        } else if (outcome.action === "ignored") {
            ignored[outcome.reason] = (ignored[outcome.reason] ?? 0) + 1;
        }
    }
    const ordered = Object.fromEntries(
        IGNORE_REASONS.filter((r) => ignored[r] !== undefined).map((r) => [r, ignored[r]]),
    );
    return {
        received: outcomes.length,
        detached: detachedInstanceIds.length,
        wouldDetach,
        failed: failedInstanceIds.length,
        ignored: ordered,
        ignoredTotal: Object.values(ignored).reduce((sum, n) => sum + (n ?? 0), 0),
        detachedInstanceIds,
        failedInstanceIds,
        detachLatencyMs,
    };
}

export interface InvocationFacts {
    readonly autoScalingGroupName: string;
    readonly timestampMs: number;
    readonly batchSize: number;
    readonly autoScalingCalls: number;
    readonly throttles: number;
    readonly refusals: number;
}

export function invocationMetrics(counts: Tally, facts: InvocationFacts): InvocationMetrics {
    return {
        ...facts,
        received: counts.received,
        detached: counts.detached,
        wouldDetach: counts.wouldDetach,
        failed: counts.failed,
        ignored: counts.ignored,
        detachLatencyMs: counts.detachLatencyMs,
    };
}

/** The SNS message for a batch that detached instances: a subject, and a JSON body. */
export function detachNotification(
    counts: Tally,
    config: { autoScalingGroupName: string; capacityOnInterruption: string },
): { subject: string; message: string } {
    const latencies = [...counts.detachLatencyMs].sort((a, b) => a - b);
    return {
        // SNS subjects: at most 100 ASCII characters.
        subject: `Spot interruption: ${counts.detached} left ${config.autoScalingGroupName}`.slice(
            0,
            100,
        ),
        message: JSON.stringify({
            autoScalingGroupName: config.autoScalingGroupName,
            capacityOnInterruption: config.capacityOnInterruption,
            detached: counts.detached,
            instanceIds: counts.detachedInstanceIds.slice(0, MAX_LISTED_IDS),
            ...(latencies.length > 0
                ? {
                      detachLatencyMs: {
                          min: Math.round(latencies[0]),
                          max: Math.round(latencies[latencies.length - 1]),
                      },
                  }
                : {}),
        }),
    };
}
