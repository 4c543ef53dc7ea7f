/**
 * The queued path's settings, and the timing rules that tie them to the two-minute notice and to
 * the Capacity Rebalancing safety net. Pure: every rule is a figure computed from the contract.
 */
import { handlerArgumentError, integerInRange } from "./argument-checks";
import {
    INTERRUPTION_NOTICE_MS,
    OUT_OF_SERVICE_DEADLINE_MS,
    SAFETY_NET_ACTION_MS,
    SAFETY_NET_GRACE_MS,
    SQS_POLLER_WAIT_MS,
} from "../../contract";
import { QUEUE_DEFAULTS, type QueueSettings, type SpotInterruptionHandlerArgs } from "./args";

const NOTICE_SECONDS = INTERRUPTION_NOTICE_MS / 1000;
const POLLER_WAIT_SECONDS = SQS_POLLER_WAIT_MS / 1000;

/**
 * The longest batching window the safety net allows: its re-check comes at the grace's end, plus
 * up to one long poll, plus the window, and must still act before the out-of-service deadline.
 */
export const MAX_SAFE_WINDOW_SECONDS =
    (OUT_OF_SERVICE_DEADLINE_MS - SAFETY_NET_GRACE_MS - SQS_POLLER_WAIT_MS - SAFETY_NET_ACTION_MS) /
    1000;

/**
 * The longest a lone warning may wait for its batch and then its invocation: half the notice, so
 * that an attempt running to its timeout still leaves a retry (one visibility timeout, itself at
 * least window + timeout, later) inside the notice.
 */
export const MAX_FIRST_ATTEMPT_SECONDS = NOTICE_SECONDS / 2;

/**
 * Receives a waiting or failed warning gets, at the fewest, within its notice: one may come early
 * (a waiting warning's visibility is shortened once, to its grace's end), the rest a visibility
 * timeout apart, so the last of maxReceiveCount comes (maxReceiveCount − 2) timeouts after the first.
 */
export function deadLetteredAfterSeconds(maxReceiveCount: number, visibility: number): number {
    return (maxReceiveCount - 2) * visibility;
}

/**
 * How long SQS must keep a record for it to be dead-lettered rather than expire: maxReceiveCount
 * receives, each up to one long poll after the record is visible and each hiding it one
 * visibility timeout, and the long poll of the receive that moves it.
 */
export function minRetentionSeconds(maxReceiveCount: number, visibility: number): number {
    return maxReceiveCount * (visibility + POLLER_WAIT_SECONDS) + POLLER_WAIT_SECONDS;
}

export function resolveQueueSettings(
    args: SpotInterruptionHandlerArgs,
    timeoutSeconds: number,
): QueueSettings {
    const batchSize = integerInRange(
        "batchSize",
        args.batchSize ?? QUEUE_DEFAULTS.batchSize,
        1,
        10_000,
    );
    const window = integerInRange(
        "maximumBatchingWindowInSeconds",
        args.maximumBatchingWindowInSeconds ?? QUEUE_DEFAULTS.maximumBatchingWindowInSeconds,
        0,
        300,
    );
    if (batchSize > 10 && window < 1) {
        throw handlerArgumentError(
            "maximumBatchingWindowInSeconds",
            `is ${window}, but Lambda requires at least 1 for a batchSize over 10 (${batchSize}); raise it or lower batchSize to 10`,
        );
    }
    if (window > MAX_SAFE_WINDOW_SECONDS) {
        throw handlerArgumentError(
            "maximumBatchingWindowInSeconds",
            `is ${window}, over ${MAX_SAFE_WINDOW_SECONDS}: the Capacity Rebalancing safety net re-checks a warning ${SAFETY_NET_GRACE_MS / 1000} s after it, may wait ${POLLER_WAIT_SECONDS} s for Lambda's poller and then the window, and needs ${SAFETY_NET_ACTION_MS / 1000} s to act, all within ${OUT_OF_SERVICE_DEADLINE_MS / 1000} s; lower it to at most ${MAX_SAFE_WINDOW_SECONDS}`,
        );
    }
    if (window + timeoutSeconds > MAX_FIRST_ATTEMPT_SECONDS) {
        // Name what the caller chose: the window, unless only the timeout was set.
        const named =
            args.maximumBatchingWindowInSeconds === undefined && args.timeoutSeconds !== undefined
                ? "timeoutSeconds"
                : "maximumBatchingWindowInSeconds";
        throw handlerArgumentError(
            named,
            `leaves a lone warning waiting up to maximumBatchingWindowInSeconds ${window} + timeoutSeconds ${timeoutSeconds} = ${window + timeoutSeconds} s for its first attempt, over ${MAX_FIRST_ATTEMPT_SECONDS} s (half the ${NOTICE_SECONDS} s notice): an attempt that runs to its timeout would leave no retry inside the notice; lower either so that they sum to at most ${MAX_FIRST_ATTEMPT_SECONDS}`,
        );
    }
    const held = timeoutSeconds + window;
    const visibilityTimeoutSeconds = integerInRange(
        "visibilityTimeoutSeconds",
        args.visibilityTimeoutSeconds ?? Math.max(QUEUE_DEFAULTS.visibilityTimeoutSeconds, held),
        0,
        43_200,
    );
    if (visibilityTimeoutSeconds < timeoutSeconds) {
        throw handlerArgumentError(
            "visibilityTimeoutSeconds",
            `is ${visibilityTimeoutSeconds}, shorter than timeoutSeconds ${timeoutSeconds}: Lambda refuses to map a queue whose visibility timeout is shorter than the function's timeout; raise it to at least ${held} (timeoutSeconds + maximumBatchingWindowInSeconds)`,
        );
    }
    if (visibilityTimeoutSeconds < held) {
        throw handlerArgumentError(
            "visibilityTimeoutSeconds",
            `is ${visibilityTimeoutSeconds}, shorter than timeoutSeconds ${timeoutSeconds} + maximumBatchingWindowInSeconds ${window} = ${held}: the mapping may hold a record for the whole window before the function's timeout starts, so the record could become visible again, and be received again, while its own batch still runs; raise it to at least ${held}`,
        );
    }
    const maxReceiveCount = integerInRange(
        "maxReceiveCount",
        args.maxReceiveCount ?? QUEUE_DEFAULTS.maxReceiveCount,
        1,
        1000,
    );
    const lastTryAfter = deadLetteredAfterSeconds(maxReceiveCount, visibilityTimeoutSeconds);
    if (lastTryAfter < NOTICE_SECONDS) {
        const needed = 2 + Math.ceil(NOTICE_SECONDS / visibilityTimeoutSeconds);
        throw handlerArgumentError(
            "maxReceiveCount",
            `is ${maxReceiveCount}: with visibilityTimeoutSeconds ${visibilityTimeoutSeconds}, SQS could dead-letter a waiting or failed warning ${Math.max(0, lastTryAfter)} s after its first receive ((maxReceiveCount − 2) × visibilityTimeoutSeconds, since one re-check may come early), while its ${NOTICE_SECONDS} s notice still runs; raise it to at least ${needed}`,
        );
    }
    const messageRetentionSeconds = integerInRange(
        "messageRetentionSeconds",
        args.messageRetentionSeconds ?? QUEUE_DEFAULTS.messageRetentionSeconds,
        60,
        1_209_600,
    );
    const retentionNeeded = minRetentionSeconds(maxReceiveCount, visibilityTimeoutSeconds);
    if (messageRetentionSeconds < retentionNeeded) {
        throw handlerArgumentError(
            "messageRetentionSeconds",
            `is ${messageRetentionSeconds}, less than the ${retentionNeeded} s that maxReceiveCount ${maxReceiveCount} receives can take (each up to ${POLLER_WAIT_SECONDS} s of Lambda's long poll plus visibilityTimeoutSeconds ${visibilityTimeoutSeconds}, and one more poll): SQS would delete a record before its retries end, without dead-lettering it; raise it to at least ${retentionNeeded}`,
        );
    }
    return {
        batchSize,
        maximumBatchingWindowInSeconds: window,
        maximumConcurrency: integerInRange(
            "maximumConcurrency",
            args.maximumConcurrency ?? QUEUE_DEFAULTS.maximumConcurrency,
            2,
            1000,
        ),
        visibilityTimeoutSeconds,
        maxReceiveCount,
        messageRetentionSeconds,
    };
}

/**
 * How long a deliberately waiting warning (a grace, or an instance still Pending) can count in
 * the events queue's ApproximateAgeOfOldestMessage. SQS's developer guide ("Available CloudWatch
 * metrics for Amazon SQS"): after a message is received three times (or more) and not deleted,
 * the metric points at the next-oldest message not received more than three times. So it counts
 * until its third receive: its first delivery (one window), two visibility timeouts, one long
 * poll, and the window again.
 */
export function waitingWarningAgeSeconds(queue: QueueSettings): number {
    const window = queue.maximumBatchingWindowInSeconds;
    return window + 2 * queue.visibilityTimeoutSeconds + POLLER_WAIT_SECONDS + window;
}
