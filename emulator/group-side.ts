/** The group's own side (group_side.py) through /_emulator/: Spot warnings, group actions, lifecycle states. */
import { setTimeout as delay } from "node:timers/promises";
import type { LifecycleState } from "@aws-sdk/client-auto-scaling";
import type { Emulator } from "./server";

/** What moved an instance out of service, as the group's state shows it. */
export interface GroupAction {
    readonly instanceId: string;
    readonly groupName: string;
    readonly by: "CapacityRebalancing" | "TerminateInstanceInAutoScalingGroup" | "DetachInstances";
    /** Terminating:Wait (still a member, its hooks running), Terminating or Detached (gone). */
    readonly lifecycleState: "Terminating:Wait" | "Terminating" | "Detached";
    /** The group's termination hooks that ran for it, by name. */
    readonly hooksRun: string[];
    /** The instances launched in its place (none after a decrement; FakeAutoScaling launches none on a detach). */
    readonly replacements: string[];
}

export interface SpotWarningOptions {
    /** How long the group takes to react, 0-600000 ms. Default 0. */
    readonly reactAfterMs?: number;
    /** False: the group does nothing, even with Capacity Rebalancing. Default true. */
    readonly groupReacts?: boolean;
}

export interface SpotWarningAnswer {
    readonly instanceId: string;
    /** The instance's group, or null for an instance in no group. */
    readonly groupName: string | null;
    readonly capacityRebalance: boolean;
    /** "scheduled": the group will act after reactAfterMs; "none": it never will. */
    readonly reaction: "scheduled" | "none";
}

/** AWS's lifecycle states as group_side.py takes them: no warm pool or root volume replacement. */
export type LifecycleStateName = Exclude<
    LifecycleState,
    `Warmed:${string}` | `ReplacingRootVolume${string}` | "RootVolumeReplaced"
>;

const REQUEST_TIMEOUT_MS = 5_000;
const REACTION_POLL_INTERVAL_MS = 50;
const SETTLE_TIMEOUT_MS = 10_000;

/** Tells the instance's group that EC2 sent it a Spot interruption warning (POST /_emulator/spot-warning). */
export function sendSpotWarning(
    emulator: Emulator,
    instanceId: string,
    options: SpotWarningOptions = {},
): Promise<SpotWarningAnswer> {
    // group_side.py applies the defaults.
    return call<SpotWarningAnswer>(emulator, "POST", "spot-warning", { instanceId, ...options });
}

/** Every instance the group or a Terminate call took out of service since the last reset, in order. */
export async function describeGroupActions(emulator: Emulator): Promise<{
    actions: GroupAction[];
    pendingReactions: number;
    /** Epoch ms at which each instance first left service (by the group or a call), by id. */
    outOfServiceAtMs: Record<string, number>;
}> {
    return call(emulator, "GET", "group-actions");
}

/** The group actions once no reaction is pending; throws after SETTLE_TIMEOUT_MS. */
export async function groupActionsWhenSettled(emulator: Emulator): Promise<GroupAction[]> {
    for (let poll = 0; poll <= Math.ceil(SETTLE_TIMEOUT_MS / REACTION_POLL_INTERVAL_MS); poll++) {
        const { actions, pendingReactions } = await describeGroupActions(emulator);
        if (pendingReactions === 0) return actions;
        await delay(REACTION_POLL_INTERVAL_MS);
    }
    throw new Error(`The group's reactions were still pending after ${SETTLE_TIMEOUT_MS} ms`);
}

/** Sets a member's LifecycleState in moto's backend (POST /_emulator/lifecycle-state). */
export async function setLifecycleState(
    emulator: Emulator,
    instanceId: string,
    lifecycleState: LifecycleStateName,
): Promise<void> {
    await call(emulator, "POST", "lifecycle-state", { instanceId, lifecycleState });
}

/** A request to group_side.py; a POST's body names the emulator's region too. */
async function call<T>(
    emulator: Emulator,
    method: "GET" | "POST",
    route: string,
    body?: Record<string, unknown>,
): Promise<T> {
    const response = await fetch(`${emulator.endpoint}/_emulator/${route}`, {
        method,
        ...(body && {
            body: JSON.stringify({ region: emulator.region, ...body }),
            headers: { "Content-Type": "application/json" },
        }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    if (!response.ok) {
        throw new Error(`${method} /_emulator/${route} answered HTTP ${response.status}: ${text}`);
    }
    return JSON.parse(text) as T;
}
