/**
 * What the steps of one batch share: the Auto Scaling calls they make (counted, and bounded by
 * the invocation's deadline), the outcomes they settle, and the result the batch returns.
 */
import type { AutoScalingGateway } from "./auto-scaling";
import {
    describeError,
    screenWarnings,
    type WarningInput,
    type WarningOutcome,
} from "./batch-steps";
import type { HandlerConfig } from "./config";
import { withinDeadline } from "./deadline";
import type { DecisionLogger } from "./log";
import type { GroupSize, PendingDetach } from "./decision";

export const deploymentOnlyModule = true;

export interface HandlerDependencies {
    readonly config: HandlerConfig;
    readonly autoScaling: AutoScalingGateway;
    readonly log: DecisionLogger;
    /** Milliseconds until Lambda stops the invocation (`context.getRemainingTimeInMillis()`). */
    readonly remainingTimeMs: () => number;
    /** The current time, in epoch milliseconds. Defaults to Date.now. */
    readonly now?: () => number;
}

export interface BatchOptions {
    /** Acknowledge, without acting, warnings older than the interruption notice. */
    readonly ignoreStale: boolean;
    /** Decide everything but make no DetachInstances call. */
    readonly dryRun?: boolean;
}

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
}

export interface OpenedBatch {
    readonly context: BatchContext;
    /** The warnings left to act on: one per instance, fresh, and not already settled. */
    readonly instanceIds: readonly string[];
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
    const { settled, unique } = screenWarnings(inputs, now(), options.ignoreStale);
    const outcomes = new Map(settled);
    let autoScalingCalls = 0;
    const keyOf = new Map(unique.map((w) => [w.instanceId, w.key]));
    const sentAt = new Map(unique.map((w) => [w.instanceId, w.sentAtMs]));
    const context: BatchContext = {
        deps,
        options,
        refusals: 0,
        // Counted once started: a call the deadline refuses never reaches Auto Scaling.
        call: (operation) =>
            withinDeadline(deps.remainingTimeMs, (signal) => {
                autoScalingCalls++;
                return operation(signal);
            }),
        settle: (instanceId, outcome) => outcomes.set(keyOf.get(instanceId) ?? instanceId, outcome),
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
        instanceIds: unique.map((w) => w.instanceId),
        result: (missing) => ({
            outcomes,
            autoScalingCalls,
            refusals: context.refusals,
            missingGroups: missing,
        }),
    };
}

/** A group's warned members not yet settled, and what is known of its sizes. */
export interface DetachProgress {
    /** The group's sizes as last known: from the lookup, a re-read, or AWS's refusal. */
    size: GroupSize | undefined;
    /** Decrements left before MinSize. */
    slots: number;
    toDetach: PendingDetach[];
}

/** Drops settled instances from what is left to detach. */
export function settled(progress: DetachProgress, instanceIds: readonly string[]): void {
    progress.toDetach = progress.toDetach.filter((p) => !instanceIds.includes(p.instanceId));
}
