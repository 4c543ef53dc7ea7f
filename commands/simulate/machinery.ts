/**
 * What the handler should do with the console test's warning, and the verdict on what it did.
 * The console test's warning is not one EC2 sent: a group's Capacity Rebalancing never sees it,
 * so where the handler leaves a Spot warning to the group, its safety net must act at the
 * grace's end. Pure.
 */
import { leftToGroupByDefault } from "../../handler/decision";
import {
    type CapacityOnInterruption,
    type InterruptionAction,
    SAFETY_NET_GRACE_MS,
} from "../../contract";
import type { DecisionSummary } from "./simulate-log";

/** How the handler takes the console test's instance out. */
export type ExpectedPath =
    /** At once: detached, or terminated through a group with a termination hook. */
    | { readonly kind: "at-once" }
    /** Left to the group for the grace, which never reacts to a test's warning: the safety net. */
    | { readonly kind: "safety-net"; readonly graceMs: number };

/**
 * The handler's own rule (handler/decision.ts), applied to the function's settings and the group.
 *
 * @example
 * expectedPath({ interruptionAction: "auto", capacityOnInterruption: "keep" }, { name: "web", capacityRebalance: true });
 * // { kind: "safety-net", graceMs: 25000 }
 */
export function expectedPath(
    settings: {
        readonly interruptionAction: InterruptionAction;
        readonly capacityOnInterruption: CapacityOnInterruption;
    },
    group: { readonly name: string; readonly capacityRebalance: boolean },
): ExpectedPath {
    const snapshot = {
        name: group.name,
        minSize: 0,
        desiredCapacity: 0,
        instances: new Map<string, string>(),
        tags: new Map<string, string>(),
        capacityRebalance: group.capacityRebalance,
    };
    // The console test sends the seed's Spot warning, the only kind a group reacts to.
    return leftToGroupByDefault(snapshot, "spot", settings)
        ? { kind: "safety-net", graceMs: SAFETY_NET_GRACE_MS }
        : { kind: "at-once" };
}

/** The expectation in words, for the plan step. */
export function describeExpectation(path: ExpectedPath, groupName: string): string {
    return path.kind === "at-once"
        ? `Expected: the handler takes it out of ${groupName} at once (detached, or terminated through the group if it has a termination hook)`
        : `Expected: ${groupName} has Capacity Rebalancing, so the handler leaves the Spot warning to the group for its ${Math.round(path.graceMs / 1000)} s grace; this warning is not one EC2 sent, so the group never reacts, and the handler's safety net takes the instance out at the grace's end`;
}

/** What the handler did, as the report's verdict says it; "hook ran" only when a poll saw it. */
export function verdictOf(decision: DecisionSummary, hookSeen: boolean): string {
    const hook = hookSeen ? " (hook ran)" : "";
    switch (decision.action) {
        case "detached":
            return decision.safetyNet
                ? "left it to the group, then the safety net detached it"
                : "detached it";
        case "terminated":
            return decision.safetyNet
                ? `left it to the group, then the safety net terminated it through the group${hook}`
                : `terminated it through the group${hook}`;
        case "would-detach":
            return `would have detached it (DRY_RUN=true)${decision.safetyNet ? ", by the safety net" : ""}`;
        case "would-terminate":
            return `would have terminated it through the group (DRY_RUN=true)${decision.safetyNet ? ", by the safety net" : ""}`;
        case "left-to-group":
            return "left it to the group, whose Capacity Rebalancing terminated and replaced it";
        default:
            return decision.action;
    }
}
