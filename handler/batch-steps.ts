/**
 * The pure steps of a batch, and the outcomes they settle: screening (malformed, stale,
 * duplicates) and placing each warned instance in its chosen group. No AWS call here.
 */
import {
    type ActionSettings,
    chosenGroupByMember,
    dedupeBy,
    type Departure,
    type GroupSnapshot,
    isPendingState,
    isStale,
    judgeMembership,
    type WaitingFor,
    type WarnedInstance,
    weightOf,
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
    /** When the handler's side first saw it (SQS's SentTimestamp): the grace's start without `time`. */
    readonly firstSeenMs?: number;
    /** A record delivered before: if it is stale, its instance may have been waiting to launch. */
    readonly isRetry?: boolean;
}

/** How an instance was taken out of service, or would have been in a dry run. */
export type ActedAction = "detached" | "terminated" | "would-detach" | "would-terminate";

/** Why a group with a termination hook had an instance detached, skipping the hook. */
export type HooksSkipped =
    /** The termination budget of the batch was spent. */
    | "skipped"
    /** DescribeLifecycleHooks was throttled or denied. */
    | "unknown";

/** What became of one warning. */
export type WarningOutcome =
    | {
          readonly action: ActedAction;
          readonly instanceId: string;
          readonly autoScalingGroupName: string;
          readonly capacityOnInterruption: CapacityOnInterruption;
          /** Set when decrement was configured but the instance left with keep. */
          readonly reason?: string;
          /** From the warning's `time` to the instance out of service, when known. */
          readonly latencyMs?: number;
          /** The group had Capacity Rebalancing and its grace passed with the instance InService. */
          readonly safetyNet?: true;
          /** Detached although the group may have a termination hook. */
          readonly hooks?: HooksSkipped;
      }
    | {
          /** The group's Capacity Rebalancing took the instance out itself. */
          readonly action: "left-to-group";
          readonly instanceId: string;
          readonly autoScalingGroupName: string;
          readonly detail: string;
      }
    | {
          /** Left for a re-check: neither failed nor acknowledged. */
          readonly action: "waiting";
          readonly instanceId: string;
          readonly autoScalingGroupName: string;
          readonly waitingFor: WaitingFor;
          /** When the re-check is due; unset for a Pending instance. */
          readonly recheckAtMs?: number;
          readonly detail: string;
      }
    | {
          readonly action: "ignored";
          readonly instanceId?: string;
          /** Set when the instance is in a chosen group (not-in-service, standby, …). */
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
export interface ScreenedWarning extends WarnedInstance {
    readonly key: string;
}

/**
 * Settles what needs no AWS call: malformed records, stale warnings and duplicates within the
 * batch (EventBridge and SQS both deliver at least once). Pure.
 */
export function screenWarnings(
    inputs: readonly WarningInput[],
    nowMs: number,
    ignoreStale: boolean,
): {
    settled: Map<string, WarningOutcome>;
    unique: ScreenedWarning[];
    /** Stale retries: each is judged once more, in case its instance is still launching. */
    stale: ScreenedWarning[];
} {
    const settled = new Map<string, WarningOutcome>();
    const warnings: ScreenedWarning[] = [];
    const stale: ScreenedWarning[] = [];
    for (const { key, parsed, firstSeenMs, isRetry } of inputs) {
        if (parsed.kind === "unrecognised") {
            settled.set(key, { action: "ignored", reason: "malformed", detail: parsed.reason });
            continue;
        }
        const warning: ScreenedWarning = {
            key,
            instanceId: parsed.instanceId,
            kind: parsed.warning,
            sentAtMs: parsed.sentAtMs ?? firstSeenMs,
        };
        if (ignoreStale && isStale(parsed.sentAtMs, nowMs)) {
            settled.set(key, {
                action: "ignored",
                instanceId: parsed.instanceId,
                reason: "stale",
                detail: `the warning for ${parsed.instanceId} was sent at ${new Date(parsed.sentAtMs ?? 0).toISOString()}, more than the two-minute notice ago`,
            });
            if (isRetry === true) {
                stale.push(warning);
            }
        } else {
            warnings.push(warning);
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
    return { settled, unique, stale };
}

/** What placing a batch's warnings decided: what is settled, and what each group must act on. */
export interface Placement {
    readonly settled: Map<string, WarningOutcome>;
    /** Per group, its instances to take out now, in warning order. */
    readonly toAct: Map<string, ToAct[]>;
}

/** An instance to take out of service, and why now. */
export interface ToAct extends Departure {
    readonly safetyNet: boolean;
}

/**
 * Places each warned instance in its chosen group and judges it there: pure. What comes back per
 * group is what goes on to be taken out, in warning order; everything else is settled by id.
 */
export function placeInGroups(
    warnings: readonly WarnedInstance[],
    groups: readonly GroupSnapshot[],
    selection: GroupSelection,
    settings: ActionSettings,
    nowMs: number,
): Placement {
    const byMember = chosenGroupByMember(groups, selection);
    const settled = new Map<string, WarningOutcome>();
    const toAct = new Map<string, ToAct[]>();
    for (const warning of warnings) {
        const { instanceId } = warning;
        const group = byMember.get(instanceId);
        const verdict = judgeMembership(warning, group, selection, settings, nowMs);
        if (verdict.verdict === "act") {
            const list = toAct.get(verdict.autoScalingGroupName) ?? [];
            list.push({
                instanceId,
                weight: weightOf(group, instanceId),
                safetyNet: verdict.safetyNet,
            });
            toAct.set(verdict.autoScalingGroupName, list);
        } else if (verdict.verdict === "wait") {
            settled.set(instanceId, {
                action: "waiting",
                instanceId,
                autoScalingGroupName: verdict.autoScalingGroupName,
                waitingFor: verdict.waitingFor,
                ...(verdict.recheckAtMs === undefined ? {} : { recheckAtMs: verdict.recheckAtMs }),
                detail: verdict.detail,
            });
        } else if (verdict.verdict === "left-to-group") {
            settled.set(instanceId, {
                action: "left-to-group",
                instanceId,
                autoScalingGroupName: verdict.autoScalingGroupName,
                detail: verdict.detail,
            });
        } else {
            settled.set(instanceId, {
                action: "ignored",
                instanceId,
                ...(group === undefined ? {} : { autoScalingGroupName: group.name }),
                reason: verdict.reason,
                detail: verdict.detail,
            });
        }
    }
    return { settled, toAct };
}

/**
 * A stale warning whose instance is still launching: acknowledged, never dead-lettered, since
 * the notice ended while the instance was Pending and no retry could drain it.
 */
export function stillPending(
    warning: WarnedInstance,
    groups: readonly GroupSnapshot[],
    selection: GroupSelection,
): WarningOutcome | undefined {
    const group = chosenGroupByMember(groups, selection).get(warning.instanceId);
    const state = group?.instances.get(warning.instanceId);
    if (group === undefined || state === undefined || !isPendingState(state)) {
        return undefined;
    }
    return stillPendingOutcome(
        warning.instanceId,
        group.name,
        `${warning.instanceId} is still ${state} in ${group.name} as its notice ends: it never served traffic`,
    );
}

/** A launching instance whose notice ended: acknowledged, since no retry could drain it now. */
export function stillPendingOutcome(
    instanceId: string,
    autoScalingGroupName: string | undefined,
    detail: string,
): WarningOutcome {
    return { action: "ignored", instanceId, autoScalingGroupName, reason: "still-pending", detail };
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
