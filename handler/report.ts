/**
 * What an invocation reports: its outcomes tallied once, for the batch's log entry, its metrics
 * and its notification. Pure.
 */
import { IGNORE_REASONS, type IgnoreReason } from "../contract";
import type { WarningOutcome } from "./batch-steps";
import type { GroupMetrics, OutcomeCounts, OutcomeTally } from "./metrics";

export const deploymentOnlyModule = true;

/** Lists of ids in a log entry or notification stop here: the counts stay exact. */
export const MAX_LISTED_IDS = 100;

/** The outcomes, and what the log entry and the notification list besides. */
export interface Tally extends OutcomeTally {
    readonly ignoredTotal: number;
    /** Instances the handler took out of service: detached or terminated. */
    readonly movedInstanceIds: readonly string[];
    readonly failedInstanceIds: readonly string[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// Where each action is counted; "ignored" goes by reason instead.
const COUNTED: Record<Exclude<WarningOutcome["action"], "ignored">, keyof OutcomeCounts> = {
    detached: "detached",
    terminated: "terminated",
    "left-to-group": "leftToGroup",
    "would-detach": "wouldDetach",
    "would-terminate": "wouldTerminate",
    waiting: "waiting",
    failed: "failed",
};

/** Every outcome at zero, to count from. */
export function noOutcomes(): Mutable<OutcomeCounts> {
    return {
        detached: 0,
        terminated: 0,
        leftToGroup: 0,
        wouldDetach: 0,
        wouldTerminate: 0,
        waiting: 0,
        failed: 0,
    };
}

/**
 * Counts each record's final outcome once: received = detached + terminated + leftToGroup +
 * wouldDetach + wouldTerminate + waiting + ignored + failed.
 */
export function tally(outcomes: readonly WarningOutcome[]): Tally {
    const counts = noOutcomes();
    const ignored: Partial<Record<IgnoreReason, number>> = {};
    const movedInstanceIds: string[] = [];
    const failedInstanceIds: string[] = [];
    const detachLatencyMs: number[] = [];
    const marks = { safetyNet: 0, hooksSkipped: 0, hooksUnknown: 0 };
    const groups = new Map<string, Mutable<GroupMetrics>>();
    const groupOf = (name: string) => {
        let group = groups.get(name);
        if (group === undefined) {
            group = { autoScalingGroupName: name, ...noOutcomes(), ignored: 0 };
            groups.set(name, group);
        }
        return group;
    };
    for (const outcome of outcomes) {
        const group =
            outcome.autoScalingGroupName === undefined
                ? undefined
                : groupOf(outcome.autoScalingGroupName);
        if (outcome.action === "ignored") {
            ignored[outcome.reason] = (ignored[outcome.reason] ?? 0) + 1;
            if (group !== undefined) group.ignored++;
            continue;
        }
        counts[COUNTED[outcome.action]]++;
        if (group !== undefined) group[COUNTED[outcome.action]]++;
        if (outcome.action === "failed") {
            failedInstanceIds.push(outcome.instanceId);
        }
        if (outcome.action === "detached" || outcome.action === "terminated") {
            movedInstanceIds.push(outcome.instanceId);
            if (outcome.latencyMs !== undefined) {
                detachLatencyMs.push(outcome.latencyMs);
            }
        }
        if ("safetyNet" in outcome && outcome.safetyNet === true) marks.safetyNet++;
        if ("hooks" in outcome && outcome.hooks === "skipped") marks.hooksSkipped++;
        if ("hooks" in outcome && outcome.hooks === "unknown") marks.hooksUnknown++;
    }
    const ordered = Object.fromEntries(
        IGNORE_REASONS.filter((r) => ignored[r] !== undefined).map((r) => [r, ignored[r]]),
    );
    return {
        received: outcomes.length,
        ...counts,
        ...marks,
        ignored: ordered,
        ignoredTotal: Object.values(ignored).reduce((sum, n) => sum + (n ?? 0), 0),
        movedInstanceIds,
        failedInstanceIds,
        detachLatencyMs,
        groups: [...groups.values()],
    };
}

/** The SNS message for a batch that took instances out: a subject, and a JSON body. */
export function detachNotification(
    counts: Tally,
    config: { handlerName: string; capacityOnInterruption: string },
): { subject: string; message: string } {
    const latencies = [...counts.detachLatencyMs].sort((a, b) => a - b);
    const touched = counts.groups.filter((g) => g.detached + g.terminated > 0);
    const where =
        touched.length === 1 ? touched[0].autoScalingGroupName : `${touched.length} groups`;
    const moved = counts.detached + counts.terminated;
    return {
        // SNS subjects: at most 100 ASCII characters.
        subject: `Spot interruption: ${moved} left ${where}`.slice(0, 100),
        message: JSON.stringify({
            handler: config.handlerName,
            capacityOnInterruption: config.capacityOnInterruption,
            detached: counts.detached,
            terminated: counts.terminated,
            groups: Object.fromEntries(
                touched
                    .slice(0, MAX_LISTED_IDS)
                    .map((g) => [g.autoScalingGroupName, g.detached + g.terminated]),
            ),
            instanceIds: counts.movedInstanceIds.slice(0, MAX_LISTED_IDS),
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
