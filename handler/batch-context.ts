/**
 * What the steps of one batch share: the Auto Scaling calls they make (counted, and bounded by
 * the invocation's deadline), the outcomes they settle, and the result the batch returns.
 */
import type { AutoScalingGateway } from "./auto-scaling";
import {
    describeError,
    type ScreenedWarning,
    screenWarnings,
    type WarningInput,
    type WarningOutcome,
} from "./batch-steps";
import type { HandlerConfig } from "./config";
import { withinDeadline } from "./deadline";
import type { DecisionLogger } from "./log";
import type { Departure, GroupSize } from "./decision";
import type { HookCache } from "./hooks";

export const deploymentOnlyModule = true;

export interface HandlerDependencies {
    readonly config: HandlerConfig;
    readonly autoScaling: AutoScalingGateway;
    readonly log: DecisionLogger;
    /** Milliseconds until Lambda stops the invocation (`context.getRemainingTimeInMillis()`). */
    readonly remainingTimeMs: () => number;
    /** The current time, in epoch milliseconds. Defaults to Date.now. */
    readonly now?: () => number;
    /** Each group's termination hooks, kept across a container's invocations. */
    readonly hookCache?: HookCache;
    /** Waits between a direct warning's re-checks. Defaults to a timer. */
    readonly sleep?: (ms: number) => Promise<void>;
}

export interface BatchOptions {
    /** Acknowledge, without acting, warnings older than the interruption notice. */
    readonly ignoreStale: boolean;
    /** Decide everything but make no call that changes a group. */
    readonly dryRun?: boolean;
}

/**
 * TerminateInstanceInAutoScalingGroup calls one batch may start: one call per instance, so at
 * the 10 requests/s an account's Auto Scaling budget allows, about 2 s of it. The rest of a
 * group with a hook is detached, 20 to a call, and counted as hooks skipped.
 */
export const TERMINATIONS_PER_BATCH = 20;

export interface BatchResult {
    /** One outcome per input, by key. */
    readonly outcomes: ReadonlyMap<string, WarningOutcome>;
    /** Auto Scaling calls made (each may include the SDK's retries). */
    readonly autoScalingCalls: number;
    /** Calls refused with a ValidationError: an instance already leaving, or MinSize. */
    readonly refusals: number;
    /** What the selection names and the batch's lookup did not find; empty without a lookup. */
    readonly missingGroups: readonly string[];
}

export interface BatchContext {
    readonly deps: HandlerDependencies;
    readonly options: BatchOptions;
    /** Makes one Auto Scaling call inside the deadline, and counts it once started. */
    readonly call: <T>(operation: (signal: AbortSignal) => Promise<T>) => Promise<T>;
    readonly settle: (instanceId: string, outcome: WarningOutcome) => void;
    /** Settles a record by its key: a stale warning, which may share its instance with a fresh one. */
    readonly settleKey: (key: string, outcome: WarningOutcome) => void;
    /** The screened warning for an instance, to judge it again on a fresh read of its group. */
    readonly warningOf: (instanceId: string) => ScreenedWarning | undefined;
    /** Logs a failed call at ERROR and settles its instances as failed, for a retry. */
    readonly fail: (
        instanceIds: readonly string[],
        error: unknown,
        what: string,
        autoScalingGroupName?: string,
    ) => void;
    /** The warning's age, when its `time` is plausible. */
    readonly latencyOf: (instanceId: string) => { latencyMs?: number };
    refusals: number;
    /** Terminations this batch may still start in auto mode; see TERMINATIONS_PER_BATCH. */
    terminationsLeft: number;
}

export interface OpenedBatch {
    readonly context: BatchContext;
    /** The warnings left to act on: one per instance, fresh, and not already settled. */
    readonly warnings: readonly ScreenedWarning[];
    /** Warnings older than the notice: acknowledged, unless their instance is still launching. */
    readonly stale: readonly ScreenedWarning[];
    readonly result: (missingGroups: readonly string[]) => BatchResult;
}

// A latency outside this range comes from a test event with an old or made-up `time`.
const MAX_PLAUSIBLE_LATENCY_MS = 3_600_000;

/** Screens the warnings, settles what needs no call, and builds the context the steps share. */
export function openBatch(
    inputs: readonly WarningInput[],
    deps: HandlerDependencies,
    options: BatchOptions,
): OpenedBatch {
    const now = deps.now ?? Date.now;
    const { settled, unique, stale } = screenWarnings(inputs, now(), options.ignoreStale);
    const outcomes = new Map(settled);
    let autoScalingCalls = 0;
    const keyOf = new Map(unique.map((w) => [w.instanceId, w.key]));
    const byInstance = new Map(unique.map((w) => [w.instanceId, w]));
    const sentAt = new Map(unique.map((w) => [w.instanceId, w.sentAtMs]));
    const context: BatchContext = {
        deps,
        options,
        refusals: 0,
        terminationsLeft: TERMINATIONS_PER_BATCH,
        // Counted once started: a call the deadline refuses never reaches Auto Scaling.
        call: (operation) =>
            withinDeadline(deps.remainingTimeMs, (signal) => {
                autoScalingCalls++;
                return operation(signal);
            }),
        settle: (instanceId, outcome) => outcomes.set(keyOf.get(instanceId) ?? instanceId, outcome),
        settleKey: (key, outcome) => outcomes.set(key, outcome),
        warningOf: (instanceId) => byInstance.get(instanceId),
        fail: (instanceIds, error, what, autoScalingGroupName) => {
            const described = describeError(error);
            const group = autoScalingGroupName === undefined ? {} : { autoScalingGroupName };
            deps.log("ERROR", {
                message: `${what} failed for ${instanceIds.length} instance(s); they are left for a retry`,
                ...group,
                instanceIds,
                error: described,
            });
            for (const instanceId of instanceIds) {
                context.settle(instanceId, {
                    action: "failed",
                    instanceId,
                    ...group,
                    error: described,
                });
            }
        },
        latencyOf: (instanceId) => {
            const sent = sentAt.get(instanceId);
            const latencyMs = sent === undefined ? undefined : now() - sent;
            return latencyMs !== undefined &&
                latencyMs >= 0 &&
                latencyMs <= MAX_PLAUSIBLE_LATENCY_MS
                ? { latencyMs }
                : {};
        },
    };
    return {
        context,
        warnings: unique,
        stale,
        result: (missing) => ({
            outcomes,
            autoScalingCalls,
            refusals: context.refusals,
            missingGroups: missing,
        }),
    };
}

/** A group's instances still to take out, and what is known of its sizes. */
export interface GroupProgress {
    /** The group's sizes as last known: from the lookup, a re-read, or AWS's refusal. */
    size: GroupSize | undefined;
    /** Capacity units that may still leave with a decrement before MinSize. */
    slots: number;
    toDetach: Departure[];
    /** Every call AWS refused, by its request, with the refusal: none is repeated as it was. */
    readonly refusedCalls: Map<string, unknown>;
}

/** Drops settled instances from what is left to take out. */
export function dropSettled(progress: GroupProgress, instanceIds: readonly string[]): void {
    progress.toDetach = progress.toDetach.filter((p) => !instanceIds.includes(p.instanceId));
}
