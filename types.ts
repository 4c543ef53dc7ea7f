/**
 * The vocabulary the component and the Lambda code share: the warnings the rule matches, the
 * groups a handler protects, and what a detach does to capacity. Neither side owns it.
 */

// Marks a module of the Lambda code; components/spot-interruption-handler/code.ts says why.
export const deploymentOnlyModule = true;

export const INTERRUPTION_WARNING_SOURCE = "aws.ec2";
export const INTERRUPTION_WARNING_DETAIL_TYPE = "EC2 Spot Instance Interruption Warning";
/**
 * The same two-minute notice, for an instance in an interruptible Capacity Reservation, as AWS's
 * published sample names it (EC2 User Guide, "monitor-interruptible-cr"; Karpenter's rules too).
 */
export const CAPACITY_RESERVATION_WARNING_DETAIL_TYPE =
    "EC2 Capacity Reservation Instance Interruption Warning";
// The name our spec first gave it; matching it too costs nothing and can only save a warning.
const CAPACITY_RESERVATION_WARNING_ALIAS =
    "EC2 Interruptible Capacity Reservation Instance Interruption Warning";
/** Every warning the handler acts on; the rule matches exactly these. */
export const INTERRUPTION_WARNING_DETAIL_TYPES: readonly string[] = [
    INTERRUPTION_WARNING_DETAIL_TYPE,
    CAPACITY_RESERVATION_WARNING_DETAIL_TYPE,
    CAPACITY_RESERVATION_WARNING_ALIAS,
];

/** The length of a Spot interruption notice: a warning older than this can no longer be acted on. */
export const INTERRUPTION_NOTICE_MS = 120_000;

/** What the group does when one of its instances is detached. */
export const CapacityOnInterruption = {
    /** Keep desired capacity, so that the group launches a replacement. */
    Keep: "keep",
    /** Lower desired capacity by one (never below MinSize). */
    Decrement: "decrement",
} as const;
export type CapacityOnInterruption =
    (typeof CapacityOnInterruption)[keyof typeof CapacityOnInterruption];

export const CAPACITY_ON_INTERRUPTION_CHOICES: readonly CapacityOnInterruption[] =
    Object.values(CapacityOnInterruption);

export function isCapacityOnInterruption(value: unknown): value is CapacityOnInterruption {
    return CAPACITY_ON_INTERRUPTION_CHOICES.includes(value as CapacityOnInterruption);
}

/** Which Auto Scaling groups one handler protects: a list of names, or every group with a tag. */
export type GroupSelection =
    | { readonly kind: "names"; readonly names: readonly string[] }
    | { readonly kind: "tag"; readonly key: string; readonly value?: string };

/** Says the selection in words, for log entries and errors. */
export function describeSelection(selection: GroupSelection): string {
    if (selection.kind === "tag") {
        return selection.value === undefined
            ? `the groups tagged ${selection.key}`
            : `the groups tagged ${selection.key}=${selection.value}`;
    }
    return selection.names.length === 1
        ? `Auto Scaling group ${selection.names[0]}`
        : `the ${selection.names.length} listed Auto Scaling groups`;
}
