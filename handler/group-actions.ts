/**
 * How one group's warned instances leave service: terminated through the group (so that its
 * termination hooks run), or detached 20 to a call, decrementing only above MinSize.
 */
import type { DetachActivity } from "./auto-scaling";
import { type BatchContext, dropSettled, type GroupProgress } from "./batch-context";
import type { HooksSkipped, ToAct } from "./batch-steps";
import {
    ACTED,
    callMessage,
    type CallKind,
    type GroupMarks,
    markDeparted,
    type PlannedCall,
    planCall,
    settleActed,
} from "./calls";
import { decrementSlots, type GroupSnapshot } from "./decision";
import type { TerminationHooks } from "./hooks";
import { recoverFromRefusal } from "./recovery";

export const deploymentOnlyModule = true;

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

/** The group's termination hooks, from the container's cache or one call; never throws. */
async function lookUpTerminationHooks(
    groupName: string,
    context: BatchContext,
): Promise<TerminationHooks> {
    const { deps } = context;
    const nowMs = (deps.now ?? Date.now)();
    const cached = deps.hookCache?.get(groupName, nowMs);
    if (cached !== undefined) {
        return cached ? "present" : "absent";
    }
    try {
        const hasHook = await context.call((signal) =>
            deps.autoScaling.hasTerminationHook(groupName, signal),
        );
        deps.hookCache?.set(groupName, hasHook, nowMs);
        return hasHook ? "present" : "absent";
    } catch (error) {
        deps.log("WARN", {
            message: `DescribeLifecycleHooks failed for ${groupName}: its instances are detached, which skips any termination hook it has`,
            autoScalingGroupName: groupName,
            error:
                error instanceof Error
                    ? { name: error.name, message: error.message }
                    : String(error),
        });
        return "unknown";
    }
}
