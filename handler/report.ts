/**
 * What an invocation reports: its outcomes tallied once, for the batch's log entry, its metrics
 * and its notification. Pure.
 */
import { IGNORE_REASONS, type IgnoreReason } from "../contract";
import type { WarningOutcome } from "./batch-steps";
import type { GroupMetrics, InvocationMetrics } from "./metrics";

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
    /** Per chosen group that any outcome names, in first-seen order. */
    readonly groups: readonly GroupMetrics[];
}

/** Counts each record's final outcome once: received = detached + wouldDetach + ignored + failed. */
export function tally(outcomes: readonly WarningOutcome[]): Tally {
    const ignored: Partial<Record<IgnoreReason, number>> = {};
    const detachedInstanceIds: string[] = [];
    const failedInstanceIds: string[] = [];
    const detachLatencyMs: number[] = [];
    const groups = new Map<string, { -readonly [K in keyof GroupMetrics]: GroupMetrics[K] }>();
    const groupOf = (name: string) => {
        let group = groups.get(name);
        if (group === undefined) {
            group = {
                autoScalingGroupName: name,
                detached: 0,
                wouldDetach: 0,
                failed: 0,
                ignored: 0,
            };
            groups.set(name, group);
        }
        return group;
    };
    let wouldDetach = 0;
    for (const outcome of outcomes) {
        const group =
            outcome.autoScalingGroupName === undefined
                ? undefined
                : groupOf(outcome.autoScalingGroupName);
        if (outcome.action === "detached") {
            detachedInstanceIds.push(outcome.instanceId);
            if (group !== undefined) group.detached++;
            if (outcome.latencyMs !== undefined) {
                detachLatencyMs.push(outcome.latencyMs);
            }
        } else if (outcome.action === "would-detach") {
            wouldDetach++;
            if (group !== undefined) group.wouldDetach++;
        } else if (outcome.action === "failed") {
            failedInstanceIds.push(outcome.instanceId);
            if (group !== undefined) group.failed++;
        } else if (outcome.action === "ignored") {
            ignored[outcome.reason] = (ignored[outcome.reason] ?? 0) + 1;
            if (group !== undefined) group.ignored++;
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
        groups: [...groups.values()],
    };
}

export interface InvocationFacts {
    readonly handlerName: string;
    readonly timestampMs: number;
    readonly batchSize: number;
    readonly autoScalingCalls: number;
    readonly throttles: number;
    readonly refusals: number;
    readonly missingGroups: number;
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
        groups: counts.groups,
    };
}

/** The SNS message for a batch that detached instances: a subject, and a JSON body. */
export function detachNotification(
    counts: Tally,
    config: { handlerName: string; capacityOnInterruption: string },
): { subject: string; message: string } {
    const latencies = [...counts.detachLatencyMs].sort((a, b) => a - b);
    const touched = counts.groups.filter((g) => g.detached > 0);
    const where =
        touched.length === 1 ? touched[0].autoScalingGroupName : `${touched.length} groups`;
    return {
        // SNS subjects: at most 100 ASCII characters.
        subject: `Spot interruption: ${counts.detached} left ${where}`.slice(0, 100),
        message: JSON.stringify({
            handler: config.handlerName,
            capacityOnInterruption: config.capacityOnInterruption,
            detached: counts.detached,
            groups: Object.fromEntries(
                touched.slice(0, MAX_LISTED_IDS).map((g) => [g.autoScalingGroupName, g.detached]),
            ),
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
