/**
 * The contract between the component and the Lambda code: the warnings the rule matches, the
 * groups a handler protects, how it acts on them, the environment that configures the function,
 * and the metrics it emits. Neither side owns it, and it imports nothing.
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

/** What the group does when one of its instances leaves: keep desired capacity, or shrink. */
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

/**
 * Which Auto Scaling groups one handler protects: a list of names, or every group with a tag. The
 * one shape from the arguments through IAM to the environment: generic over the name, so that the
 * component carries names that are still Outputs until they resolve; the function sees strings.
 */
export type GroupSelection<Name = string> =
    | { readonly kind: "names"; readonly names: readonly Name[] }
    | { readonly kind: "tag"; readonly key: string; readonly value?: string };

/**
 * DescribeAutoScalingGroups: at most 100 names per call, and at most 100 groups per page. A list
 * of names stays within one call, so that a batch looks up its groups once.
 */
export const MAX_DESCRIBED_GROUPS = 100;

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

/**
 * How the handler takes a warned instance out of service. "auto" works with each group's own
 * machinery: a Spot warning on a group with Capacity Rebalancing is left to the group (with a
 * safety net), a group with a termination lifecycle hook is terminated through the group so the
 * hook runs, and any other group is detached in batches.
 */
export const InterruptionAction = {
    /** Decide per group and per warning (the default). */
    Auto: "auto",
    /** Always DetachInstances, 20 to a call: lifecycle hooks are skipped. */
    Detach: "detach",
    /** Always TerminateInstanceInAutoScalingGroup, one call per instance: hooks run. */
    Terminate: "terminate",
} as const;
export type InterruptionAction = (typeof InterruptionAction)[keyof typeof InterruptionAction];

export const INTERRUPTION_ACTION_CHOICES: readonly InterruptionAction[] =
    Object.values(InterruptionAction);

export function isInterruptionAction(value: unknown): value is InterruptionAction {
    return INTERRUPTION_ACTION_CHOICES.includes(value as InterruptionAction);
}

/** Within this long of a warning's `time`, its instance must be out of service. */
export const OUT_OF_SERVICE_DEADLINE_MS = 60_000;
/**
 * How long a group with Capacity Rebalancing gets to start its own termination before the safety
 * net acts. The group reacts to the warning itself, within seconds; the queued re-check can come
 * up to SQS_POLLER_WAIT_MS plus the batching window later, and must still act before the deadline.
 */
export const SAFETY_NET_GRACE_MS = 25_000;
/** Lambda's SQS poller long-polls: on a quiet queue a visible record may wait this long. */
export const SQS_POLLER_WAIT_MS = 20_000;
/** What the safety net's own calls and the function's start take, at most, once invoked. */
export const SAFETY_NET_ACTION_MS = 5_000;

/** The environment variables through which the component configures the function. */
export const HANDLER_ENV = {
    autoScalingGroupNames: "AUTO_SCALING_GROUP_NAMES",
    autoScalingGroupTag: "AUTO_SCALING_GROUP_TAG",
    capacityOnInterruption: "CAPACITY_ON_INTERRUPTION",
    interruptionAction: "INTERRUPTION_ACTION",
    deadLetterQueueUrl: "DEAD_LETTER_QUEUE_URL",
    /** Queue delivery: where a waiting warning's visibility is shortened to its re-check time. */
    eventsQueueUrl: "EVENTS_QUEUE_URL",
    dryRun: "DRY_RUN",
    handlerName: "HANDLER_NAME",
    notifyTopicArn: "NOTIFY_TOPIC_ARN",
} as const;

/** The environment that configures the function for a selection of groups. */
export function groupSelectionEnvironment(selection: GroupSelection): Record<string, string> {
    return selection.kind === "names"
        ? { [HANDLER_ENV.autoScalingGroupNames]: JSON.stringify(selection.names) }
        : {
              [HANDLER_ENV.autoScalingGroupTag]: JSON.stringify(
                  selection.value === undefined
                      ? { key: selection.key }
                      : { key: selection.key, value: selection.value },
              ),
          };
}

/**
 * Why a warning was acknowledged without the handler moving its instance. "stale": older than
 * the notice on its first receive; "late-retry": a retry that came too late, sent to the
 * dead-letter queue; "standby" and "retained": the instance already serves no traffic and is
 * outside desired capacity; "still-pending": the notice ended while the instance was launching.
 */
export type IgnoreReason =
    | "malformed"
    | "stale"
    | "late-retry"
    | "duplicate"
    | "not-a-member"
    | "not-in-service"
    | "standby"
    | "retained"
    | "still-pending";

export const IGNORE_REASONS: readonly IgnoreReason[] = [
    "malformed",
    "stale",
    "late-retry",
    "duplicate",
    "not-a-member",
    "not-in-service",
    "standby",
    "retained",
    "still-pending",
];

export const METRICS_NAMESPACE = "SpotInterruptionHandler";
/** Every document carries it: one deployment's figures, whichever groups it protects. */
export const HANDLER_DIMENSION = "Handler";
export const GROUP_DIMENSION = "AutoScalingGroupName";
export const REASON_DIMENSION = "Reason";

/** Every metric the handler emits, by name, with its unit. */
export const HANDLER_METRICS = {
    WarningsReceived: "Count",
    Detached: "Count",
    Terminated: "Count",
    LeftToGroup: "Count",
    WouldDetach: "Count",
    WouldTerminate: "Count",
    Ignored: "Count",
    Waiting: "Count",
    Failed: "Count",
    SafetyNet: "Count",
    HooksSkipped: "Count",
    HooksUnknown: "Count",
    BatchSize: "Count",
    AutoScalingCalls: "Count",
    Throttles: "Count",
    Refusals: "Count",
    MissingGroups: "Count",
    DetachLatency: "Milliseconds",
} as const;
export type HandlerMetricName = keyof typeof HANDLER_METRICS;
