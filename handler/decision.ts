/**
 * The handler's decisions, as pure functions of the warnings and of what Auto Scaling reported.
 * Nothing here calls AWS, so every rule is unit-tested without a client.
 */

import {
    type CapacityOnInterruption,
    describeSelection,
    type GroupSelection,
    type IgnoreReason,
    INTERRUPTION_NOTICE_MS,
    type InterruptionAction,
    SAFETY_NET_GRACE_MS,
} from "../contract";

export const deploymentOnlyModule = true;

/** One group as DescribeAutoScalingGroups reports it: its sizes, members and tags. */
export interface GroupSnapshot {
    readonly name: string;
    readonly minSize: number;
    readonly desiredCapacity: number;
    /** Each member's lifecycle state, by instance id. */
    readonly instances: ReadonlyMap<string, string>;
    readonly tags: ReadonlyMap<string, string>;
    /** The group replaces a warned Spot instance by itself (CapacityRebalance). */
    readonly capacityRebalance?: boolean;
    /** Each member's WeightedCapacity, where it is not 1: sizes are then capacity units. */
    readonly weights?: ReadonlyMap<string, number>;
}

/** A member's share of the group's capacity: its WeightedCapacity, or 1. */
export function weightOf(group: GroupSnapshot | undefined, instanceId: string): number {
    return group?.weights?.get(instanceId) ?? 1;
}

/** The sizes of a group, as DescribeAutoScalingGroups (or a MinSize refusal) reports them. */
export interface GroupSize {
    readonly minSize: number;
    readonly desiredCapacity: number;
}

/** True for a group the selection chooses: never act on a group the lookup returned by mistake. */
export function isChosenGroup(group: GroupSnapshot, selection: GroupSelection): boolean {
    if (selection.kind === "names") {
        return selection.names.includes(group.name);
    }
    const value = group.tags.get(selection.key);
    return value !== undefined && (selection.value === undefined || value === selection.value);
}

/** What the selection asked for and the lookup did not find: a listed name, or the tag. */
export function missingGroups(
    selection: GroupSelection,
    found: readonly GroupSnapshot[],
): string[] {
    if (selection.kind === "tag") {
        return found.some((group) => isChosenGroup(group, selection))
            ? []
            : [describeSelection(selection)];
    }
    const names = new Set(found.map((group) => group.name));
    return selection.names.filter((name) => !names.has(name));
}

/** The chosen group of every member, by instance id: no other group's instance is ever ours. */
export function chosenGroupByMember(
    groups: readonly GroupSnapshot[],
    selection: GroupSelection,
): Map<string, GroupSnapshot> {
    const byMember = new Map<string, GroupSnapshot>();
    for (const group of groups) {
        if (!isChosenGroup(group, selection)) {
            continue;
        }
        for (const instanceId of group.instances.keys()) {
            byMember.set(instanceId, group);
        }
    }
    return byMember;
}

/** Which of the two-minute warnings EC2 sent: Capacity Rebalancing reacts to Spot ones only. */
export type WarningKind = "spot" | "capacity-reservation";

/** One warned instance, as the handler judges it. */
export interface WarnedInstance {
    readonly instanceId: string;
    readonly kind: WarningKind;
    /** When EC2 sent the warning, or failing that when the handler first saw it. */
    readonly sentAtMs?: number;
}

/** What the handler was told to do: how to take instances out, and what happens to capacity. */
export interface ActionSettings {
    readonly interruptionAction: InterruptionAction;
    readonly capacityOnInterruption: CapacityOnInterruption;
}

export type MembershipVerdict =
    /** Take it out of service now; `safetyNet` when the group was given its chance and did not. */
    | {
          readonly verdict: "act";
          readonly autoScalingGroupName: string;
          readonly safetyNet: boolean;
      }
    /** Leave the record for a re-check: the group's own reaction, or an instance still launching. */
    | {
          readonly verdict: "wait";
          readonly autoScalingGroupName: string;
          readonly waitingFor: WaitingFor;
          /** When a re-check is due; unset for a Pending instance (the queue's own cadence). */
          readonly recheckAtMs?: number;
          readonly detail: string;
      }
    /** The group itself is taking the instance out: Capacity Rebalancing acted. */
    | {
          readonly verdict: "left-to-group";
          readonly autoScalingGroupName: string;
          readonly detail: string;
      }
    | { readonly verdict: "ignore"; readonly reason: IgnoreReason; readonly detail: string };

export type WaitingFor = "capacity-rebalancing" | "pending";

// A launching instance: registered with the load balancer just before it becomes InService.
const PENDING_STATES = ["Pending", "Pending:Wait", "Pending:Proceed"];

export function isPendingState(lifecycleState: string): boolean {
    return PENDING_STATES.includes(lifecycleState);
}
// The group's own termination, after its deregistration has begun.
const TERMINATING_STATES = ["Terminating", "Terminating:Wait", "Terminating:Proceed"];

/**
 * True when the group replaces this warned instance by itself: AWS documents that a group with
 * Capacity Rebalancing calls its termination hook and launches a replacement on the Spot
 * warning. A decrement asks for less capacity, which that reaction would not give.
 */
export function leftToGroupByDefault(
    group: GroupSnapshot,
    kind: WarningKind,
    settings: ActionSettings,
): boolean {
    return (
        settings.interruptionAction === "auto" &&
        settings.capacityOnInterruption === "keep" &&
        kind === "spot" &&
        group.capacityRebalance === true
    );
}

/**
 * Decides what becomes of one warned instance. Never touches a group the selection left out;
 * Standby and Retained instances already serve no traffic and sit outside desired capacity.
 */
export function judgeMembership(
    warning: WarnedInstance,
    group: GroupSnapshot | undefined,
    selection: GroupSelection,
    settings: ActionSettings,
    nowMs: number,
): MembershipVerdict {
    const { instanceId } = warning;
    const lifecycleState = group?.instances.get(instanceId);
    if (group === undefined || lifecycleState === undefined) {
        return {
            verdict: "ignore",
            reason: "not-a-member",
            detail: `${instanceId} is not a member of ${describeSelection(selection)}`,
        };
    }
    const autoScalingGroupName = group.name;
    const where = `${instanceId} is ${lifecycleState} in ${autoScalingGroupName}`;
    const groupActs = leftToGroupByDefault(group, warning.kind, settings);
    if (lifecycleState === "InService") {
        const graceEndsMs = (warning.sentAtMs ?? nowMs) + SAFETY_NET_GRACE_MS;
        if (!groupActs) {
            return { verdict: "act", autoScalingGroupName, safetyNet: false };
        }
        if (nowMs < graceEndsMs) {
            return {
                verdict: "wait",
                autoScalingGroupName,
                waitingFor: "capacity-rebalancing",
                recheckAtMs: graceEndsMs,
                detail: `${where}, whose Capacity Rebalancing terminates and replaces it on the warning: re-checked at ${new Date(graceEndsMs).toISOString()}`,
            };
        }
        return { verdict: "act", autoScalingGroupName, safetyNet: true };
    }
    if (isPendingState(lifecycleState)) {
        return {
            verdict: "wait",
            autoScalingGroupName,
            waitingFor: "pending",
            detail: `${where}: it is still launching, and is acted on once it is InService`,
        };
    }
    if (lifecycleState === "Standby") {
        return {
            verdict: "ignore",
            reason: "standby",
            detail: `${where}: it serves no traffic and is outside desired capacity already`,
        };
    }
    if (lifecycleState === "Terminating:Retained") {
        return {
            verdict: "ignore",
            reason: "retained",
            detail: `${where}: it is deregistered and outside desired capacity already`,
        };
    }
    if (groupActs && TERMINATING_STATES.includes(lifecycleState)) {
        return {
            verdict: "left-to-group",
            autoScalingGroupName,
            detail: `${where}: its group's Capacity Rebalancing is terminating and replacing it`,
        };
    }
    return {
        verdict: "ignore",
        reason: "not-in-service",
        detail: `${where}, not InService: it is already leaving the group`,
    };
}

/** Splits `items` into consecutive chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
    if (!Number.isInteger(size) || size < 1) {
        throw new RangeError(`chunk size must be a positive whole number, not ${size}`);
    }
    const chunks: T[][] = [];
    for (let start = 0; start < items.length; start += size) {
        chunks.push(items.slice(start, start + size));
    }
    return chunks;
}

/**
 * Keeps the first item per key and returns the rest as duplicates, both in input order.
 * EventBridge and SQS both deliver at least once, so one instance can arrive twice in a batch.
 */
export function dedupeBy<T>(
    items: readonly T[],
    key: (item: T) => string,
): { unique: T[]; duplicates: T[] } {
    const seen = new Set<string>();
    const unique: T[] = [];
    const duplicates: T[] = [];
    for (const item of items) {
        const k = key(item);
        if (seen.has(k)) {
            duplicates.push(item);
        } else {
            seen.add(k);
            unique.push(item);
        }
    }
    return { unique, duplicates };
}

/**
 * True when a warning sent at `sentAtMs` can no longer be acted on at `nowMs`: its instance is
 * being reclaimed already. A warning without a time is never stale (the console test has none).
 */
export function isStale(
    sentAtMs: number | undefined,
    nowMs: number,
    noticeMs = INTERRUPTION_NOTICE_MS,
): boolean {
    return sentAtMs !== undefined && nowMs - sentAtMs > noticeMs;
}

/** Capacity units that may still leave with a decrement before the group would fall below MinSize. */
export function decrementSlots(size: GroupSize): number {
    return Math.max(0, size.desiredCapacity - size.minSize);
}

/** DetachInstances' limit per call. */
export const MAX_DETACH_INSTANCE_IDS = 20;

export interface DetachChunk {
    readonly instanceIds: string[];
    readonly shouldDecrementDesiredCapacity: boolean;
    /** The capacity units the call takes off desired capacity: 0 with keep. */
    readonly units: number;
}

/** An instance still to take out of its group, and its share of the group's capacity. */
export interface Departure {
    readonly instanceId: string;
    /** Its WeightedCapacity: a decrement takes this many units off desired capacity. */
    readonly weight: number;
}

/**
 * The next DetachInstances call for one group's instances still to detach. In decrement mode the
 * instances whose units still fit above MinSize leave with a decrement, in warning order, and the
 * rest with keep, so the group never goes below MinSize and no decrement is wasted; keep mode
 * never decrements.
 */
export function nextDetachChunk(
    pending: readonly Departure[],
    capacityOnInterruption: CapacityOnInterruption,
    slots: number,
): DetachChunk {
    if (capacityOnInterruption === "decrement") {
        const fitting: Departure[] = [];
        let units = 0;
        for (const departure of pending) {
            if (fitting.length === MAX_DETACH_INSTANCE_IDS) {
                break;
            }
            if (units + departure.weight <= slots) {
                fitting.push(departure);
                units += departure.weight;
            }
        }
        if (fitting.length > 0) {
            return {
                instanceIds: fitting.map((p) => p.instanceId),
                shouldDecrementDesiredCapacity: true,
                units,
            };
        }
    }
    return {
        instanceIds: pending.slice(0, MAX_DETACH_INSTANCE_IDS).map((p) => p.instanceId),
        shouldDecrementDesiredCapacity: false,
        units: 0,
    };
}

/** Why a detach went out with keep although decrement was configured, for the log. */
export function keepFallbackReason(size: GroupSize | undefined): string {
    const figures =
        size === undefined
            ? "the group is at its MinSize"
            : `desired capacity ${size.desiredCapacity} is at MinSize ${size.minSize}`;
    return `${figures}; kept desired capacity instead, so the group launches a replacement`;
}
