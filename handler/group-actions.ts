/**
 * How one group's warned instances leave service: terminated through the group (so that its
 * termination hooks run), or detached 20 to a call, decrementing only above MinSize, and
 * recovering from each refusal with a changed plan, never the same call again.
 */
import { AFTER_UNCERTAIN_ATTEMPT, type DetachActivity } from "./auto-scaling";
import { type BatchContext, dropSettled, type GroupProgress } from "./batch-context";
import {
    type ActedAction,
    describeError,
    hasLeft,
    type HooksSkipped,
    placeInGroups,
    type ToAct,
    type WarningOutcome,
} from "./batch-steps";
import {
    type CallFailure,
    classifyCallFailure,
    decrementSlots,
    type GroupSnapshot,
    keepFallbackReason,
    nextDetachChunk,
} from "./decision";
import { lookUpTerminationHooks } from "./hooks";
import { type CapacityOnInterruption, type IgnoreReason } from "../contract";

export const deploymentOnlyModule = true;

/** One call's instances, and the fields its outcomes and log records carry. */
export interface PlannedCall {
    readonly instanceIds: readonly string[];
    readonly decrement: boolean;
    /** Capacity units the call takes off desired capacity: 0 with keep. */
    readonly units: number;
    readonly common: {
        readonly autoScalingGroupName: string;
        readonly capacityOnInterruption: CapacityOnInterruption;
        readonly reason?: string;
    };
}

/** What every outcome of one group shares: which instances the safety net took, and hooks. */
export interface GroupMarks {
    readonly safetyNet: ReadonlySet<string>;
    readonly hooks?: HooksSkipped;
}

/**
 * Takes one group's instances out of service: the action the settings choose, and in auto mode
 * a termination (while the batch's budget lasts) for a group with a termination hook.
 */
export async function actOnGroup(
    group: GroupSnapshot,
    instances: readonly ToAct[],
    context: BatchContext,
): Promise<void> {
    const { interruptionAction } = context.deps.config;
    let terminate: readonly ToAct[] = [];
    let hooks: HooksSkipped | undefined;
    if (interruptionAction === "terminate") {
        terminate = instances;
    } else if (interruptionAction === "auto") {
        const found = await lookUpTerminationHooks(group.name, context);
        if (found === "present") {
            terminate = instances.slice(0, Math.max(0, context.terminationsLeft));
            context.terminationsLeft -= terminate.length;
            hooks = terminate.length < instances.length ? "skipped" : undefined;
        } else if (found === "unknown") {
            hooks = "unknown";
        }
    }
    const marks: GroupMarks = {
        safetyNet: new Set(instances.filter((i) => i.safetyNet).map((i) => i.instanceId)),
        ...(hooks === undefined ? {} : { hooks }),
    };
    const progress: GroupProgress = {
        size: group,
        slots: decrementSlots(group),
        toDetach: [],
        refusedCalls: new Map(),
    };
    const terminated = new Set(terminate.map((i) => i.instanceId));
    await terminateEach(group.name, terminate, progress, context, marks);
    progress.toDetach.push(...instances.filter((i) => !terminated.has(i.instanceId)));
    await detachInChunks(group.name, progress, context, marks);
}

/** TerminateInstanceInAutoScalingGroup, one instance per call, in warning order. */
async function terminateEach(
    groupName: string,
    instances: readonly ToAct[],
    progress: GroupProgress,
    context: BatchContext,
    marks: GroupMarks,
): Promise<void> {
    const { capacityOnInterruption } = context.deps.config;
    for (const instance of instances) {
        progress.toDetach = [instance];
        // A refusal settles the instance or changes the plan (keep instead of decrement).
        for (let round = 0; round < 3 && progress.toDetach.length > 0; round++) {
            const call = planCall(groupName, progress.toDetach, progress, capacityOnInterruption);
            await runCall("terminate", call, progress, context, marks);
        }
    }
    progress.toDetach = [];
}

/** DetachInstances, 20 to a call, splitting decrement from keep on the group's own sizes. */
async function detachInChunks(
    groupName: string,
    progress: GroupProgress,
    context: BatchContext,
    marks: GroupMarks,
): Promise<void> {
    const { capacityOnInterruption } = context.deps.config;
    // Each round settles a chunk or at least one instance, or lowers `slots`.
    const maxRounds = 3 * progress.toDetach.length + 3;
    for (let round = 0; progress.toDetach.length > 0 && round < maxRounds; round++) {
        const call = planCall(groupName, progress.toDetach, progress, capacityOnInterruption);
        await runCall("detach", call, progress, context, marks);
    }
    if (progress.toDetach.length > 0) {
        context.fail(
            progress.toDetach.map((p) => p.instanceId),
            new Error("too many refusals in one batch"),
            "DetachInstances",
            groupName,
        );
        progress.toDetach = [];
    }
}

/** The next call's instances: decrementing only the units that fit above MinSize. */
export function planCall(
    groupName: string,
    pending: readonly ToAct[] | GroupProgress["toDetach"],
    progress: GroupProgress,
    capacityOnInterruption: CapacityOnInterruption,
): PlannedCall {
    const chunk = nextDetachChunk(pending, capacityOnInterruption, progress.slots);
    const decrement = chunk.shouldDecrementDesiredCapacity;
    const reason =
        capacityOnInterruption === "decrement" && !decrement
            ? keepFallbackReason(progress.size)
            : undefined;
    return {
        instanceIds: chunk.instanceIds,
        decrement,
        units: chunk.units,
        common: {
            autoScalingGroupName: groupName,
            capacityOnInterruption: decrement ? "decrement" : "keep",
            ...(reason === undefined ? {} : { reason }),
        },
    };
}

type CallKind = "detach" | "terminate";

const ACTED: Record<CallKind, { real: ActedAction; dry: ActedAction; api: string }> = {
    detach: { real: "detached", dry: "would-detach", api: "DetachInstances" },
    terminate: {
        real: "terminated",
        dry: "would-terminate",
        api: "TerminateInstanceInAutoScalingGroup",
    },
};

/** Makes one call (or, in a dry run, settles it as it would go), never one AWS refused before. */
export async function runCall(
    kind: CallKind,
    call: PlannedCall,
    progress: GroupProgress,
    context: BatchContext,
    marks: GroupMarks,
): Promise<void> {
    const { instanceIds, decrement, common } = call;
    const key = `${kind}:${decrement}:${instanceIds.join(",")}`;
    const refusedBefore = progress.refusedCalls.get(key);
    if (refusedBefore !== undefined) {
        // The plan did not change since AWS refused it: its refusal stands, for a retry.
        context.fail(instanceIds, refusedBefore, ACTED[kind].api, common.autoScalingGroupName);
        dropSettled(progress, instanceIds);
        return;
    }
    if (context.options.dryRun) {
        settleActed(ACTED[kind].dry, call, context, marks);
        context.deps.log("INFO", {
            message: `Dry run: would ${kind} ${instanceIds.length} instance(s) of AutoScaling Group ${common.autoScalingGroupName}`,
            ...common,
            instanceIds,
        });
        markDeparted(progress, call);
        return;
    }
    let activities: DetachActivity[];
    try {
        activities = await context.call((signal) =>
            kind === "detach"
                ? context.deps.autoScaling.detachInstances(
                      common.autoScalingGroupName,
                      instanceIds,
                      decrement,
                      signal,
                  )
                : context.deps.autoScaling
                      .terminateInstance(instanceIds[0], decrement, signal)
                      .then((activity) => [activity]),
        );
    } catch (error) {
        progress.refusedCalls.set(key, error);
        await recoverFromRefusal(kind, call, error, progress, context, marks);
        return;
    }
    settleActed(ACTED[kind].real, call, context, marks);
    context.deps.log(common.reason === undefined ? "INFO" : "WARN", {
        message: callMessage(kind, instanceIds, common.autoScalingGroupName),
        ...common,
        instanceIds,
        ...(marks.hooks === undefined ? {} : { hooks: marks.hooks }),
        activities,
    });
    markDeparted(progress, call);
}

/** The seed workshop's words for a detach; a termination says why it goes through the group. */
function callMessage(kind: CallKind, instanceIds: readonly string[], groupName: string): string {
    if (kind === "terminate") {
        return `Instance ${instanceIds[0]} belongs to AutoScaling Group ${groupName}. Terminating it through the group, so that its termination hooks run...`;
    }
    return instanceIds.length === 1
        ? `Instance ${instanceIds[0]} belongs to AutoScaling Group ${groupName}. Detaching instance...`
        : `${instanceIds.length} instances belong to AutoScaling Group ${groupName}. Detaching instances...`;
}

function settleActed(
    action: ActedAction,
    call: PlannedCall,
    context: BatchContext,
    marks: GroupMarks,
    reason?: string,
): void {
    for (const instanceId of call.instanceIds) {
        context.settle(instanceId, {
            action,
            instanceId,
            ...call.common,
            ...(reason === undefined ? {} : { reason }),
            ...(marks.safetyNet.has(instanceId) ? { safetyNet: true } : {}),
            ...(marks.hooks !== undefined && (action === "detached" || action === "would-detach")
                ? { hooks: marks.hooks }
                : {}),
            ...context.latencyOf(instanceId),
        });
    }
}

/**
 * A call's instances left the group (or, in a dry run, would have): its decrements are spent and
 * the group's desired capacity follows, so that the next call's keep reason gives true figures.
 */
function markDeparted(progress: GroupProgress, call: PlannedCall): void {
    if (call.decrement) {
        progress.slots -= call.units;
        progress.size =
            progress.size === undefined
                ? undefined
                : { ...progress.size, desiredCapacity: progress.size.desiredCapacity - call.units };
    }
    dropSettled(progress, call.instanceIds);
}

/**
 * After a refused call: an instance refused, or a refusal we cannot read, is judged again on a
 * fresh read of the group; a MinSize refusal lowers the decrements on AWS's figures; anything
 * else is left for a retry. Every path changes the plan or settles the instances.
 */
export async function recoverFromRefusal(
    kind: CallKind,
    call: PlannedCall,
    error: unknown,
    progress: GroupProgress,
    context: BatchContext,
    marks: GroupMarks,
): Promise<void> {
    const failure = classifyCallFailure(describeError(error));
    context.refusals += failure.kind === "retryable" ? 0 : 1;
    const refusedHere =
        failure.kind === "instance-refused" && call.instanceIds.includes(failure.instanceId);
    if (refusedHere || failure.kind === "unknown-refusal") {
        await rejudgeOnFreshGroup(
            kind,
            call,
            failure,
            isAfterUncertainAttempt(error),
            progress,
            context,
            marks,
        );
        return;
    }
    if (failure.kind === "below-min-size" && call.decrement) {
        // Another batch decremented first, or AWS counts units we cannot see: fewer decrements.
        progress.size = failure.size ?? progress.size;
        const slots = failure.size === undefined ? 0 : decrementSlots(failure.size);
        progress.slots = kind === "terminate" ? 0 : Math.max(0, Math.min(slots, call.units - 1));
        return;
    }
    context.fail(call.instanceIds, error, ACTED[kind].api, call.common.autoScalingGroupName);
    dropSettled(progress, call.instanceIds);
}

/**
 * A concurrent batch, a duplicate, the group itself, or our own attempt whose answer was lost got
 * there first: re-read the group in one call, and judge the call's instances again on it.
 */
async function rejudgeOnFreshGroup(
    kind: CallKind,
    call: PlannedCall,
    failure: Exclude<CallFailure, { kind: "below-min-size" | "retryable" }>,
    afterUncertainAttempt: boolean,
    progress: GroupProgress,
    context: BatchContext,
    marks: GroupMarks,
): Promise<void> {
    const groupName = call.common.autoScalingGroupName;
    const refusedId = failure.kind === "instance-refused" ? failure.instanceId : undefined;
    const refused = (instanceId: string, reason: IgnoreReason, detail: string): WarningOutcome => ({
        action: "ignored",
        instanceId,
        autoScalingGroupName: groupName,
        reason,
        detail,
    });
    let fresh: GroupSnapshot | undefined;
    try {
        const { groups } = await context.call((signal) =>
            context.deps.autoScaling.describeGroups(
                { kind: "names", names: [groupName] },
                undefined,
                signal,
            ),
        );
        fresh = groups.find((g) => g.name === groupName);
    } catch (describeFailure) {
        if (failure.kind === "instance-refused" && refusedId !== undefined) {
            context.settle(refusedId, refused(refusedId, failure.reason, failure.message));
        }
        const rest = [...call.instanceIds, ...progress.toDetach.map((p) => p.instanceId)].filter(
            (id, index, all) => id !== refusedId && all.indexOf(id) === index,
        );
        context.fail(rest, describeFailure, "DescribeAutoScalingGroups", groupName);
        progress.toDetach = [];
        return;
    }
    // Only an attempt whose answer was lost can have moved them: then they are ours.
    const ours = afterUncertainAttempt ? call.instanceIds.filter((id) => hasLeft(fresh, id)) : [];
    settleActed(
        ACTED[kind].real,
        { ...call, instanceIds: ours },
        context,
        marks,
        "an earlier attempt of the same call acted; its answer was lost",
    );
    if (
        refusedId !== undefined &&
        failure.kind === "instance-refused" &&
        !ours.includes(refusedId)
    ) {
        context.settle(refusedId, refused(refusedId, failure.reason, failure.message));
    }
    const done = new Set([...ours, ...(refusedId === undefined ? [] : [refusedId])]);
    const toJudge = [...call.instanceIds, ...progress.toDetach.map((p) => p.instanceId)].filter(
        (id, index, all) => !done.has(id) && all.indexOf(id) === index,
    );
    const warnings = toJudge.flatMap((id) => {
        const warning = context.warningOf(id);
        return warning === undefined ? [] : [warning];
    });
    const now = context.deps.now ?? Date.now;
    const { settled, toAct } = placeInGroups(
        warnings,
        fresh === undefined ? [] : [fresh],
        context.deps.config.groups,
        context.deps.config,
        now(),
    );
    for (const [instanceId, outcome] of settled) {
        context.settle(instanceId, outcome);
    }
    const again = toAct.get(groupName) ?? [];
    // The instances the call named are judged again, but the same call never goes out twice.
    progress.toDetach = again.map((a) => ({
        ...a,
        safetyNet: a.safetyNet || marks.safetyNet.has(a.instanceId),
    }));
    if (fresh !== undefined) {
        progress.size = fresh;
        progress.slots = decrementSlots(fresh);
    }
}

/** A refusal after an attempt of the same call whose outcome was unknown. */
function isAfterUncertainAttempt(error: unknown): boolean {
    return (
        typeof error === "object" &&
        error !== null &&
        (error as Record<string, unknown>)[AFTER_UNCERTAIN_ATTEMPT] === true
    );
}
