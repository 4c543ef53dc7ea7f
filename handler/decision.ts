/**
 * The handler's decisions, as pure functions of what Auto Scaling reported.
 * Nothing here calls AWS, so every rule is unit-tested without a client.
 */

// Pulumi's closure serializer then inlines this module even from an importer's node_modules.
export const deploymentOnlyModule = true;

/** What the group does when one of its instances is detached. */
export type CapacityOnInterruption = "keep" | "decrement";

export const CAPACITY_ON_INTERRUPTION_CHOICES: readonly CapacityOnInterruption[] = [
    "keep",
    "decrement",
];

export function isCapacityOnInterruption(value: unknown): value is CapacityOnInterruption {
    return CAPACITY_ON_INTERRUPTION_CHOICES.includes(value as CapacityOnInterruption);
}

/** An instance's membership, as DescribeAutoScalingInstances reports it. */
export interface Membership {
    readonly autoScalingGroupName: string;
    readonly lifecycleState: string;
}

/** The sizes of a group, as DescribeAutoScalingGroups reports them. */
export interface GroupSize {
    readonly minSize: number;
    readonly desiredCapacity: number;
}

export type MembershipVerdict =
    { readonly verdict: "detach" } | { readonly verdict: "ignore"; readonly reason: string };

// DetachInstances accepts only these; any other state means the instance is already leaving.
const DETACHABLE_STATES = ["InService", "Standby"];

/** Decides whether an instance is ours to detach. Never touches another group. */
export function judgeMembership(
    instanceId: string,
    membership: Membership | undefined,
    configuredGroupName: string,
): MembershipVerdict {
    if (membership === undefined) {
        return { verdict: "ignore", reason: `${instanceId} is not in any Auto Scaling group` };
    }
    if (membership.autoScalingGroupName !== configuredGroupName) {
        return {
            verdict: "ignore",
            reason: `${instanceId} belongs to Auto Scaling group ${membership.autoScalingGroupName}, not ${configuredGroupName}`,
        };
    }
    if (!DETACHABLE_STATES.includes(membership.lifecycleState)) {
        return {
            verdict: "ignore",
            reason: `${instanceId} is ${membership.lifecycleState}, not InService or Standby: it is already leaving the group`,
        };
    }
    return { verdict: "detach" };
}

export interface CapacityPlan {
    /** The choice actually applied, after any fallback. */
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly shouldDecrementDesiredCapacity: boolean;
    /** Set when the configured choice could not be honoured. */
    readonly fallbackReason?: string;
}

/**
 * Applies the keep-or-decrement choice. A decrement that would take the group below its
 * MinSize is refused by AWS, so the plan falls back to keep: the instance still leaves and
 * the group launches a replacement.
 */
export function planCapacity(
    configured: CapacityOnInterruption,
    groupSize: GroupSize | undefined,
): CapacityPlan {
    if (configured === "keep") {
        return { capacityOnInterruption: "keep", shouldDecrementDesiredCapacity: false };
    }
    if (groupSize !== undefined && groupSize.desiredCapacity - 1 < groupSize.minSize) {
        return keepInsteadOfDecrement(
            `desired capacity ${groupSize.desiredCapacity} - 1 would fall below MinSize ${groupSize.minSize}`,
        );
    }
    return { capacityOnInterruption: "decrement", shouldDecrementDesiredCapacity: true };
}

export function keepInsteadOfDecrement(why: string): CapacityPlan {
    return {
        capacityOnInterruption: "keep",
        shouldDecrementDesiredCapacity: false,
        fallbackReason: `${why}; kept desired capacity instead, so the group launches a replacement`,
    };
}

/** What a failed DetachInstances call means for the handler. */
export type DetachFailure =
    /** The instance already left the group or is leaving: a duplicate delivery, so a no-op. */
    | { readonly kind: "already-leaving"; readonly reason: string }
    /** The decrement would break MinSize (the group changed since we looked): retry with keep. */
    | { readonly kind: "below-min-size"; readonly reason: string }
    /** Anything else: rethrow so that Lambda retries and finally dead-letters the event. */
    | { readonly kind: "unexpected" };

/** Classifies a DetachInstances error by AWS's error name and message. */
export function classifyDetachFailure(error: { name?: string; message?: string }): DetachFailure {
    if (error.name !== "ValidationError" || typeof error.message !== "string") {
        return { kind: "unexpected" };
    }
    const message = error.message;
    if (/is not part of Auto Scaling group/i.test(message)) {
        return { kind: "already-leaving", reason: message };
    }
    if (/is not in InService or Standby/i.test(message)) {
        return { kind: "already-leaving", reason: message };
    }
    if (/min-size=\d+/i.test(message) || /sizes appropriately/i.test(message)) {
        return { kind: "below-min-size", reason: message };
    }
    return { kind: "unexpected" };
}
