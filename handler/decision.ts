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
} from "../contract";

export const deploymentOnlyModule = true;

/** Auto Scaling's limits per call. */
export const MAX_DETACH_INSTANCE_IDS = 20;
/** DescribeAutoScalingGroups: at most 100 names per call, and at most 100 groups per page. */
export const MAX_DESCRIBED_GROUPS = 100;

/** One group as DescribeAutoScalingGroups reports it: its sizes, members and tags. */
export interface GroupSnapshot {
    readonly name: string;
    readonly minSize: number;
    readonly desiredCapacity: number;
    /** Each member's lifecycle state, by instance id. */
    readonly instances: ReadonlyMap<string, string>;
    readonly tags: ReadonlyMap<string, string>;
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

/** A warned instance's place in the chosen groups. */
export interface Membership {
    readonly autoScalingGroupName: string;
    readonly lifecycleState: string;
}

/** Every member of the chosen groups, by instance id. */
export function membershipsOf(
    groups: readonly GroupSnapshot[],
    selection: GroupSelection,
): Map<string, Membership> {
    const memberships = new Map<string, Membership>();
    for (const group of groups) {
        if (!isChosenGroup(group, selection)) {
            continue;
        }
        for (const [instanceId, lifecycleState] of group.instances) {
            memberships.set(instanceId, { autoScalingGroupName: group.name, lifecycleState });
        }
    }
    return memberships;
}

export type MembershipVerdict =
    | {
          readonly verdict: "detach";
          readonly autoScalingGroupName: string;
          /** False for a Retained instance: it no longer counts toward desired capacity. */
          readonly mayDecrement: boolean;
      }
    | { readonly verdict: "ignore"; readonly reason: IgnoreReason; readonly detail: string };

// DetachInstances accepts these; any other state means the instance is already leaving.
const DETACHABLE_STATES = ["InService", "Standby"];
// Retained instances don't count toward desired capacity: detach them, but never with a decrement.
const KEEP_ONLY_STATES = ["Terminating:Retained"];

/** Decides whether an instance is ours to detach. Never touches a group the selection left out. */
export function judgeMembership(
    instanceId: string,
    membership: Membership | undefined,
    selection: GroupSelection,
): MembershipVerdict {
    if (membership === undefined) {
        return {
            verdict: "ignore",
            reason: "not-a-member",
            detail: `${instanceId} is not a member of ${describeSelection(selection)}`,
        };
    }
    const { autoScalingGroupName, lifecycleState } = membership;
    if (DETACHABLE_STATES.includes(lifecycleState)) {
        return { verdict: "detach", autoScalingGroupName, mayDecrement: true };
    }
    if (KEEP_ONLY_STATES.includes(lifecycleState)) {
        return { verdict: "detach", autoScalingGroupName, mayDecrement: false };
    }
    return {
        verdict: "ignore",
        reason: "not-in-service",
        detail: `${instanceId} is ${lifecycleState} in ${autoScalingGroupName}, not InService or Standby: it is already leaving the group`,
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

/** How many more instances may leave with a decrement before the group would fall below MinSize. */
export function decrementSlots(size: GroupSize): number {
    return Math.max(0, size.desiredCapacity - size.minSize);
}

export interface DetachChunk {
    readonly instanceIds: string[];
    readonly shouldDecrementDesiredCapacity: boolean;
}

/** An instance waiting to be detached from its group. */
export interface PendingDetach {
    readonly instanceId: string;
    readonly mayDecrement: boolean;
}

/**
 * The next DetachInstances call for one group's instances still to detach. In decrement mode the
 * first `slots` instances that may decrement leave with a decrement and the rest with keep, so
 * the group never goes below MinSize and no decrement is wasted; keep mode never decrements.
 */
export function nextDetachChunk(
    pending: readonly PendingDetach[],
    capacityOnInterruption: CapacityOnInterruption,
    slots: number,
): DetachChunk {
    const decrementable = pending.filter((p) => p.mayDecrement);
    if (capacityOnInterruption === "decrement" && slots > 0 && decrementable.length > 0) {
        return {
            instanceIds: decrementable
                .slice(0, Math.min(MAX_DETACH_INSTANCE_IDS, slots))
                .map((p) => p.instanceId),
            shouldDecrementDesiredCapacity: true,
        };
    }
    return {
        instanceIds: pending.slice(0, MAX_DETACH_INSTANCE_IDS).map((p) => p.instanceId),
        shouldDecrementDesiredCapacity: false,
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

/** What a failed Auto Scaling call means for the handler. */
export type CallFailure =
    /** AWS named one instance that may not be detached: it left, or is leaving, the group. */
    | {
          readonly kind: "instance-refused";
          readonly instanceId: string;
          readonly reason: IgnoreReason;
          readonly message: string;
      }
    /** A decrement would break MinSize: the group changed since we looked. Figures when given. */
    | { readonly kind: "below-min-size"; readonly size?: GroupSize; readonly message: string }
    /** Throttling, 5xx, a timeout or anything unknown: the records are left for a retry. */
    | { readonly kind: "retryable"; readonly message: string };

// Anchored on AWS's messages, which start with these words: a group name holds no spaces.
const NOT_PART_OF_GROUP = /^The instance (i-[0-9a-f]+) is not part of Auto Scaling group \S+$/;
const NOT_IN_SERVICE = /^The instance (i-[0-9a-f]+) is not in InService or Standby\.?$/;
// AWS's whole message, anchored at both ends; group names hold no spaces, so none can fake it.
const MIN_SIZE_REFUSAL =
    /^AutoScalingGroup (\S+) has min-size=(\d+), max-size=(\d+), and desired-size=(\d+)\. To detach \d+ instances?, please update the AutoScalingGroup sizes appropriately\.?$/;

/** Classifies an Auto Scaling error by AWS's error name and message. */
export function classifyCallFailure(error: { name?: string; message?: string }): CallFailure {
    const message = typeof error.message === "string" ? error.message : String(error.name);
    if (error.name !== "ValidationError") {
        return { kind: "retryable", message };
    }
    const notMember = NOT_PART_OF_GROUP.exec(message);
    if (notMember !== null) {
        return {
            kind: "instance-refused",
            instanceId: notMember[1],
            reason: "not-a-member",
            message,
        };
    }
    const notInService = NOT_IN_SERVICE.exec(message);
    if (notInService !== null) {
        return {
            kind: "instance-refused",
            instanceId: notInService[1],
            reason: "not-in-service",
            message,
        };
    }
    if (/sizes appropriately/i.test(message) || /min-size=\d+/i.test(message)) {
        const figures = MIN_SIZE_REFUSAL.exec(message);
        return figures === null
            ? { kind: "below-min-size", message }
            : {
                  kind: "below-min-size",
                  size: { minSize: Number(figures[2]), desiredCapacity: Number(figures[4]) },
                  message,
              };
    }
    // An unknown ValidationError may be fixed by a change on our side: never drop the warning.
    return { kind: "retryable", message };
}
