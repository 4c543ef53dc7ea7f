/**
 * What AWS's refusals of DetachInstances and TerminateInstanceInAutoScalingGroup mean for the
 * handler, read from AWS's error names and exact messages. Pure.
 */
import type { GroupSize } from "./decision";
import type { IgnoreReason } from "../contract";

export const deploymentOnlyModule = true;

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
    /** A ValidationError we cannot read: re-read the group and judge again, never repeat the call. */
    | { readonly kind: "unknown-refusal"; readonly message: string }
    /** Throttling, 5xx, a timeout or anything unknown: the records are left for a retry. */
    | { readonly kind: "retryable"; readonly message: string };

// Anchored on AWS's messages, which start with these words: a group name holds no spaces.
const NOT_PART_OF_GROUP = /^The instance (i-[0-9a-f]+) is not part of Auto Scaling group \S+$/;
const NOT_IN_SERVICE = /^The instance (i-[0-9a-f]+) is not in InService or Standby\.?$/;
// TerminateInstanceInAutoScalingGroup's answer for an instance no group manages.
const NOT_MANAGED =
    /^Instance Id not found - No managed instance found for instance ID:? (i-[0-9a-f]+)\.?$/;
// TerminateInstanceInAutoScalingGroup's MinSize refusal: desired capacity equals MinSize.
const TERMINATE_MIN_SIZE_REFUSAL =
    /^Currently, desiredSize equals minSize \((\d+)\)\. Terminating instance without replacement will violate group's min size constraint\./;
// AWS's whole message, anchored at both ends; group names hold no spaces, so none can fake it.
const MIN_SIZE_REFUSAL =
    /^AutoScalingGroup (\S+) has min-size=(\d+), max-size=(\d+), and desired-size=(\d+)\. To detach \d+ instances?, please update the AutoScalingGroup sizes appropriately\.?$/;

// The refusals that name one instance, and what each means for it.
const INSTANCE_REFUSALS: readonly (readonly [RegExp, IgnoreReason])[] = [
    [NOT_PART_OF_GROUP, "not-a-member"],
    [NOT_MANAGED, "not-a-member"],
    [NOT_IN_SERVICE, "not-in-service"],
];

/** Classifies an Auto Scaling error by AWS's error name and message. */
export function classifyCallFailure(error: { name?: string; message?: string }): CallFailure {
    const message = typeof error.message === "string" ? error.message : String(error.name);
    if (error.name !== "ValidationError") {
        return { kind: "retryable", message };
    }
    for (const [pattern, reason] of INSTANCE_REFUSALS) {
        const named = pattern.exec(message);
        if (named !== null) {
            return { kind: "instance-refused", instanceId: named[1], reason, message };
        }
    }
    const atMinSize = TERMINATE_MIN_SIZE_REFUSAL.exec(message);
    if (atMinSize !== null) {
        const minSize = Number(atMinSize[1]);
        return { kind: "below-min-size", size: { minSize, desiredCapacity: minSize }, message };
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
    // The group may have changed in a way we cannot read: never drop the warning, never repeat.
    return { kind: "unknown-refusal", message };
}
