/**
 * One call that takes instances out of a group, planned: its instances, its decrement in capacity
 * units, and how its outcomes are settled and logged once it is made (or, in a dry run, would be).
 */
import type { BatchContext, GroupProgress } from "./batch-context";
import { dropSettled } from "./batch-context";
import type { ActedAction, HooksSkipped, ToAct } from "./batch-steps";
import { keepFallbackReason, nextDetachChunk } from "./decision";
import { type CapacityOnInterruption } from "../contract";

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

export type CallKind = "detach" | "terminate";

export const ACTED: Record<CallKind, { real: ActedAction; dry: ActedAction; api: string }> = {
    detach: { real: "detached", dry: "would-detach", api: "DetachInstances" },
    terminate: {
        real: "terminated",
        dry: "would-terminate",
        api: "TerminateInstanceInAutoScalingGroup",
    },
};

/** The seed workshop's words for a detach; a termination says why it goes through the group. */
export function callMessage(
    kind: CallKind,
    instanceIds: readonly string[],
    groupName: string,
): string {
    if (kind === "terminate") {
        return `Instance ${instanceIds[0]} belongs to AutoScaling Group ${groupName}. Terminating it through the group, so that its termination hooks run...`;
    }
    return instanceIds.length === 1
        ? `Instance ${instanceIds[0]} belongs to AutoScaling Group ${groupName}. Detaching instance...`
        : `${instanceIds.length} instances belong to AutoScaling Group ${groupName}. Detaching instances...`;
}

export function settleActed(
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
export function markDeparted(progress: GroupProgress, call: PlannedCall): void {
    if (call.decrement) {
        progress.slots -= call.units;
        progress.size =
            progress.size === undefined
                ? undefined
                : { ...progress.size, desiredCapacity: progress.size.desiredCapacity - call.units };
    }
    dropSettled(progress, call.instanceIds);
}
