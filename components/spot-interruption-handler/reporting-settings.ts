/**
 * The handler's reporting arguments: dry run, monitoring and notifications, validated together
 * because they constrain each other.
 */
import { argumentError, booleanArg, integerInRange } from "../shared/argument-checks";
import type {
    Delivery,
    MonitoringSettings,
    ResolvedHandlerSettings,
    SpotInterruptionHandlerArgs,
} from "./args";

/** CloudWatch's most actions per alarm state (alarmActions, okActions); more are refused. */
export const MAX_ALARM_ACTIONS = 5;

// Deliberately loose: one @, no spaces, a dot in the domain. SNS confirms the real address.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function resolveReporting(
    args: SpotInterruptionHandlerArgs,
    delivery: Delivery,
): Pick<ResolvedHandlerSettings, "dryRun" | "monitoring" | "notificationEmail" | "notifyOnDetach"> {
    const dryRun = booleanArg("dryRun", args.dryRun, false);
    const monitoringOn = booleanArg("monitoring", args.monitoring, true);
    const notifyOnDetach = booleanArg("notifyOnDetach", args.notifyOnDetach, false);
    const email = args.notificationEmail;
    if (email !== undefined && (typeof email !== "string" || !EMAIL_SHAPE.test(email))) {
        throw argumentError(
            "notificationEmail",
            `is ${JSON.stringify(email)}, not an email address: pass one like ops@example.com`,
        );
    }
    if (notifyOnDetach && email === undefined) {
        throw argumentError(
            "notifyOnDetach",
            "needs a topic to publish to: set notificationEmail too",
        );
    }
    if (!monitoringOn) {
        const misplaced = (
            ["alarmActions", "targetGroupArn", "queueAgeAlarmSeconds"] as const
        ).find((name) => args[name] !== undefined);
        if (misplaced !== undefined) {
            throw argumentError(
                misplaced,
                "applies only with monitoring on; remove it, or set monitoring to true",
            );
        }
        if (email !== undefined && !notifyOnDetach) {
            throw argumentError(
                "notificationEmail",
                "would receive nothing with monitoring off and notifyOnDetach off; remove it, or turn either on",
            );
        }
    }
    validateAlarmActionCount(args.alarmActions, email !== undefined);
    if (delivery === "direct" && args.queueAgeAlarmSeconds !== undefined) {
        throw argumentError(
            "queueAgeAlarmSeconds",
            `applies only with delivery "queue"; remove it`,
        );
    }
    const monitoring: MonitoringSettings | undefined = !monitoringOn
        ? undefined
        : delivery === "queue"
          ? {
                queueAgeAlarmSeconds: integerInRange(
                    "queueAgeAlarmSeconds",
                    args.queueAgeAlarmSeconds ?? 30,
                    1,
                    100,
                ),
            }
          : {};
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
        throw argumentError(
            "alarmActions",
            `is ${JSON.stringify(alarmActions)}; pass a list of up to ${MAX_ALARM_ACTIONS} ARNs`,
        );
    }
    const total = alarmActions.length + (withTopic ? 1 : 0);
    if (total > MAX_ALARM_ACTIONS) {
        const counted = withTopic
            ? `${alarmActions.length} ARNs, plus the notificationEmail topic, make ${total} actions`
            : `has ${total} ARNs`;
        throw argumentError(
            "alarmActions",
            `${counted}, but a CloudWatch alarm takes at most ${MAX_ALARM_ACTIONS}: pass at most ${MAX_ALARM_ACTIONS - (withTopic ? 1 : 0)}, or fan out through one SNS topic`,
        );
    }
}
