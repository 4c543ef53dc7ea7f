/**
 * The pure steps of a batch, and the outcomes they settle: screening (malformed, stale,
 * duplicates) and placing each warned instance in its chosen group. No AWS call here.
 */
import {
    dedupeBy,
    type GroupSnapshot,
    isStale,
    judgeMembership,
    membershipsOf,
    type PendingDetach,
} from "./decision";
import type { ParsedEvent } from "./event";
import { type CapacityOnInterruption, type GroupSelection, type IgnoreReason } from "../contract";

export const deploymentOnlyModule = true;

export interface ErrorDescription {
    readonly name: string;
    readonly message: string;
}

/** One warning to handle: `key` names its record in the batch (an SQS message id). */
export interface WarningInput {
    readonly key: string;
    readonly parsed: ParsedEvent;
}

/** What became of one warning. */
export type WarningOutcome =
    | {
          /** "would-detach": a dry run stopped short of the detach. */
          readonly action: "detached" | "would-detach";
          readonly instanceId: string;
          readonly autoScalingGroupName: string;
          readonly capacityOnInterruption: CapacityOnInterruption;
          /** Set when decrement was configured but the instance left with keep. */
          readonly reason?: string;
          /** From the warning's `time` to the instance out of the group, when known. */
          readonly latencyMs?: number;
      }
    | {
          readonly action: "ignored";
          readonly instanceId?: string;
          /** Set when the instance is in a chosen group (not-in-service). */
          readonly autoScalingGroupName?: string;
          readonly reason: IgnoreReason;
          readonly detail: string;
      }
    | {
          readonly action: "failed";
          readonly instanceId: string;
          /** Set once the lookup placed the instance in a chosen group. */
          readonly autoScalingGroupName?: string;
          readonly error: ErrorDescription;
      };

/** A warning that survived screening: its record, its instance and when it was sent. */
export interface ScreenedWarning {
    readonly key: string;
    readonly instanceId: string;
    readonly sentAtMs?: number;
}

/**
 * Settles what needs no AWS call: malformed records, stale warnings and duplicates within the
 * batch (EventBridge and SQS both deliver at least once). Pure.
 */
export function screenWarnings(
    inputs: readonly WarningInput[],
    nowMs: number,
    ignoreStale: boolean,
): { settled: Map<string, WarningOutcome>; unique: ScreenedWarning[] } {
    const settled = new Map<string, WarningOutcome>();
    const warnings: ScreenedWarning[] = [];
    for (const { key, parsed } of inputs) {
        if (parsed.kind === "unrecognised") {
            settled.set(key, { action: "ignored", reason: "malformed", detail: parsed.reason });
        } else if (ignoreStale && isStale(parsed.sentAtMs, nowMs)) {
            settled.set(key, {
                action: "ignored",
                instanceId: parsed.instanceId,
                reason: "stale",
                detail: `the warning for ${parsed.instanceId} was sent at ${new Date(parsed.sentAtMs ?? 0).toISOString()}, more than the two-minute notice ago`,
            });
        } else {
            warnings.push({ key, instanceId: parsed.instanceId, sentAtMs: parsed.sentAtMs });
        }
    }
    const { unique, duplicates } = dedupeBy(warnings, (w) => w.instanceId);
    for (const { key, instanceId } of duplicates) {
        settled.set(key, {
            action: "ignored",
            instanceId,
            reason: "duplicate",
            detail: `${instanceId} is named by another record of this batch`,
        });
    }
    return { settled, unique };
}

/**
 * Places each warned instance in its chosen group, or settles it: pure. What comes back per
 * group is what goes on to be detached, in warning order.
 */
export function placeInGroups(
    instanceIds: readonly string[],
    groups: readonly GroupSnapshot[],
    selection: GroupSelection,
): { ignored: Map<string, WarningOutcome>; pending: Map<string, PendingDetach[]> } {
    const memberships = membershipsOf(groups, selection);
    const ignored = new Map<string, WarningOutcome>();
    const pending = new Map<string, PendingDetach[]>();
    for (const instanceId of instanceIds) {
        const membership = memberships.get(instanceId);
        const verdict = judgeMembership(instanceId, membership, selection);
        if (verdict.verdict === "detach") {
            const list = pending.get(verdict.autoScalingGroupName) ?? [];
            list.push({ instanceId, mayDecrement: verdict.mayDecrement });
            pending.set(verdict.autoScalingGroupName, list);
        } else {
            ignored.set(instanceId, {
                action: "ignored",
                instanceId,
                ...(membership === undefined
                    ? {}
                    : { autoScalingGroupName: membership.autoScalingGroupName }),
                reason: verdict.reason,
                detail: verdict.detail,
            });
        }
    }
    return { ignored, pending };
}

/** True once an instance is out of the group, or on its way out after a detach. */
export function hasLeft(group: GroupSnapshot | undefined, instanceId: string): boolean {
    const state = group?.instances.get(instanceId);
    return state === undefined || state === "Detaching" || state === "Detached";
}

export function describeError(error: unknown): ErrorDescription {
    if (error instanceof Error) {
        return { name: error.name, message: error.message };
    }
    return { name: "UnknownError", message: String(error) };
}
