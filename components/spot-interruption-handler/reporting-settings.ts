/**
 * The handler's reporting arguments: dry run, monitoring and notifications, validated together
 * because they constrain each other.
 */
import { booleanArg, handlerArgumentError, integerInRange } from "./argument-checks";
import { INTERRUPTION_NOTICE_MS } from "../../contract";
import type {
    Delivery,
    MonitoringSettings,
    QueueSettings,
    ResolvedHandlerSettings,
    SpotInterruptionHandlerArgs,
} from "./args";
import { waitingWarningAgeSeconds } from "./queue-settings";

// Below the notice: an alarm on older warnings would page only once their instances are gone.
const MAX_QUEUE_AGE_ALARM_SECONDS = INTERRUPTION_NOTICE_MS / 1000 - 1;
// Above the waiting warnings' bound: SQS's age is approximate, and a default reads better round.
const QUEUE_AGE_ALARM_MARGIN_SECONDS = 5;

/** CloudWatch's most actions per alarm state (alarmActions, okActions); more are refused. */
export const MAX_ALARM_ACTIONS = 5;

// Deliberately loose: one @, no spaces, a dot in the domain. SNS confirms the real address.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function resolveReporting(
    args: SpotInterruptionHandlerArgs,
    delivery: Delivery,
    queue?: QueueSettings,
): Pick<ResolvedHandlerSettings, "dryRun" | "monitoring" | "notificationEmail" | "notifyOnDetach"> {
    const dryRun = booleanArg("dryRun", args.dryRun, false);
    const monitoringOn = booleanArg("monitoring", args.monitoring, true);
    const notifyOnDetach = booleanArg("notifyOnDetach", args.notifyOnDetach, false);
    const email = args.notificationEmail;
    if (email !== undefined && (typeof email !== "string" || !EMAIL_SHAPE.test(email))) {
        throw handlerArgumentError(
            "notificationEmail",
            `is ${JSON.stringify(email)}, not an email address: pass one like ops@example.com`,
        );
    }
    if (notifyOnDetach && email === undefined) {
        throw handlerArgumentError(
            "notifyOnDetach",
            "needs a topic to publish to: set notificationEmail too",
        );
    }
    if (!monitoringOn) {
        const misplaced = (
            ["alarmActions", "targetGroupArn", "queueAgeAlarmSeconds"] as const
        ).find((name) => args[name] !== undefined);
        if (misplaced !== undefined) {
            throw handlerArgumentError(
                misplaced,
                "applies only with monitoring on; remove it, or set monitoring to true",
            );
        }
        if (email !== undefined && !notifyOnDetach) {
            throw handlerArgumentError(
                "notificationEmail",
                "would receive nothing with monitoring off and notifyOnDetach off; remove it, or turn either on",
            );
        }
    }
    validateAlarmActionCount(args.alarmActions, email !== undefined);
    if (delivery === "direct" && args.queueAgeAlarmSeconds !== undefined) {
        throw handlerArgumentError(
            "queueAgeAlarmSeconds",
            `applies only with delivery "queue"; remove it`,
        );
    }
    const monitoring: MonitoringSettings | undefined = !monitoringOn
        ? undefined
        : queue === undefined
          ? {}
          : { queueAgeAlarmSeconds: resolveQueueAgeAlarm(args.queueAgeAlarmSeconds, queue) };
    return {
        dryRun,
        notifyOnDetach,
        ...(monitoring === undefined ? {} : { monitoring }),
        ...(email === undefined ? {} : { notificationEmail: email }),
    };
}

/** Refuses more actions than an alarm takes, counting the notificationEmail topic among them. */
export function validateAlarmActionCount(
    alarmActions: SpotInterruptionHandlerArgs["alarmActions"],
    withTopic: boolean,
): void {
    if (alarmActions === undefined) {
        return;
    }
    if (!Array.isArray(alarmActions)) {
        throw handlerArgumentError(
            "alarmActions",
            `is ${JSON.stringify(alarmActions)}; pass a list of up to ${MAX_ALARM_ACTIONS} ARNs`,
        );
    }
    const total = alarmActions.length + (withTopic ? 1 : 0);
    if (total > MAX_ALARM_ACTIONS) {
        const counted = withTopic
            ? `${alarmActions.length} ARNs, plus the notificationEmail topic, make ${total} actions`
            : `has ${total} ARNs`;
        throw handlerArgumentError(
            "alarmActions",
            `${counted}, but a CloudWatch alarm takes at most ${MAX_ALARM_ACTIONS}: pass at most ${MAX_ALARM_ACTIONS - (withTopic ? 1 : 0)}, or fan out through one SNS topic`,
        );
    }
}

/**
 * The warnings-waiting alarm's threshold: above the age a deliberately waiting warning can reach
 * in the metric (a page for it would be false), and below the notice.
 */
function resolveQueueAgeAlarm(given: number | undefined, queue: QueueSettings): number {
    const waiting = waitingWarningAgeSeconds(queue);
    if (waiting >= MAX_QUEUE_AGE_ALARM_SECONDS) {
        throw handlerArgumentError(
            given === undefined ? "visibilityTimeoutSeconds" : "queueAgeAlarmSeconds",
            `${given === undefined ? `is ${queue.visibilityTimeoutSeconds}` : `is ${given}`}, but with visibilityTimeoutSeconds ${queue.visibilityTimeoutSeconds} a warning left waiting for a re-check can count in the events queue's age for ${waiting} s, so no alarm below the ${MAX_QUEUE_AGE_ALARM_SECONDS + 1} s notice can tell it from a stuck one; lower visibilityTimeoutSeconds (or maximumBatchingWindowInSeconds), or set monitoring to false`,
        );
    }
    if (given === undefined) {
        const margin = waiting + QUEUE_AGE_ALARM_MARGIN_SECONDS;
        return Math.min(
            MAX_QUEUE_AGE_ALARM_SECONDS,
            Math.ceil(margin / QUEUE_AGE_ALARM_MARGIN_SECONDS) * QUEUE_AGE_ALARM_MARGIN_SECONDS,
        );
    }
    const seconds = integerInRange("queueAgeAlarmSeconds", given, 1, MAX_QUEUE_AGE_ALARM_SECONDS);
    if (seconds <= waiting) {
        throw handlerArgumentError(
            "queueAgeAlarmSeconds",
            `is ${seconds}, at or below the ${waiting} s a warning deliberately left waiting for a re-check can count in the events queue's age (window ${queue.maximumBatchingWindowInSeconds} s, visibility ${queue.visibilityTimeoutSeconds} s): the alarm would page for it; raise it above ${waiting}, at most ${MAX_QUEUE_AGE_ALARM_SECONDS}`,
        );
    }
    return seconds;
}
