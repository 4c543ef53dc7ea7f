/**
 * The SpotInterruptionHandler's arguments: their types, defaults and validation. Pure, so that a
 * mistake fails `pulumi preview` with a message that names the argument and how to fix it.
 */
import type * as pulumi from "@pulumi/pulumi";
import {
    argumentError,
    integerInRange,
    quoteAll,
    validateAutoScalingGroupName,
} from "./argument-checks";
import {
    type FaultInjectionArgs,
    type FaultInjectionSettings,
    resolveFaultInjectionSettings,
} from "./fault-injection";
import { type MonitoringSettings, resolveReporting } from "./reporting-settings";
import {
    CAPACITY_ON_INTERRUPTION_CHOICES,
    type CapacityOnInterruption,
    INTERRUPTION_NOTICE_MS,
    isCapacityOnInterruption,
} from "../handler/decision";

/** How warnings reach the function. */
export const Delivery = {
    /** The rule sends warnings to an SQS queue that the function drains in batches (default). */
    Queue: "queue",
    /** The rule invokes the function once per warning. */
    Direct: "direct",
} as const;
export type Delivery = (typeof Delivery)[keyof typeof Delivery];
export const DELIVERY_CHOICES: readonly Delivery[] = Object.values(Delivery);

/** Node.js runtimes the handler supports; both ship AWS SDK v3, which the archive relies on. */
export const HandlerRuntime = {
    Nodejs24: "nodejs24.x",
    Nodejs22: "nodejs22.x",
} as const;
export type HandlerRuntime = (typeof HandlerRuntime)[keyof typeof HandlerRuntime];
export const HANDLER_RUNTIMES: readonly HandlerRuntime[] = Object.values(HandlerRuntime);

/** Retention values CloudWatch Logs accepts (0 means never expire). */
export const LOG_RETENTION_DAYS = [
    0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
] as const;

/**
 * Defaults for the queued path, chosen with `npm run bench` (README, "Choosing the queue's
 * settings"): batches of up to 1000 gathered for 4 s share one lookup among many groups (0.065
 * calls per instance over 10 groups, against 0.15 with 100 and 1 s), 2 concurrent batches stay
 * inside a 10 requests/s budget, and a failed record is retried every 20 s until its notice ends.
 */
export const QUEUE_DEFAULTS = {
    batchSize: 1000,
    maximumBatchingWindowInSeconds: 4,
    maximumConcurrency: 2,
    timeoutSeconds: 20,
    visibilityTimeoutSeconds: 20,
    // Receives 20 s apart span 140 s: a failed warning is still tried until its notice ends.
    maxReceiveCount: 8,
    messageRetentionSeconds: 3600,
} as const;
/** A warning's notice: retries must go on this long before SQS may dead-letter it. */
const INTERRUPTION_NOTICE_SECONDS = INTERRUPTION_NOTICE_MS / 1000;
/** Direct delivery keeps the function's original timeout: one warning per invocation. */
export const DIRECT_TIMEOUT_SECONDS = 60;

/** Every group in the account and Region that carries a tag; with `value`, only that value. */
export interface AutoScalingGroupTag {
    /** The tag's key, 1 to 128 characters. Required. */
    readonly key: string;
    /** The tag's value, at most 256 characters. Defaults to none: any value of the key counts. */
    readonly value?: string;
}

export interface SpotInterruptionHandlerArgs {
    /**
     * Name of the Auto Scaling group whose Spot instances are detached on an interruption
     * warning: 1 to 255 characters, no colon, no surrounding whitespace. Defaults to none;
     * exactly one of autoScalingGroupName, autoScalingGroupNames and autoScalingGroupTag is required.
     */
    readonly autoScalingGroupName?: pulumi.Input<string>;
    /**
     * Names of up to 100 groups that one handler protects, each as autoScalingGroupName, with one
     * lookup per batch for all of them. Defaults to none.
     */
    readonly autoScalingGroupNames?: pulumi.Input<string>[];
    /**
     * Protect every group that carries this tag (in this account and Region), as it is when the
     * warning arrives: opt a group in by tagging it, with no deployment. Defaults to none.
     */
    readonly autoScalingGroupTag?: AutoScalingGroupTag;
    /**
     * What the group does when an instance is detached: "keep" keeps desired capacity, so the
     * group launches a replacement; "decrement" shrinks the group (never below MinSize: the rest
     * leave with "keep"). Defaults to "keep".
     */
    readonly capacityOnInterruption?: CapacityOnInterruption;
    /**
     * How warnings reach the function: "queue" (an SQS queue drained in batches, which survives
     * interruption storms) or "direct" (one invocation per warning). Defaults to "queue".
     */
    readonly delivery?: Delivery;
    /** Lambda runtime. Defaults to "nodejs24.x"; "nodejs22.x" also works. */
    readonly runtime?: HandlerRuntime;
    /** Retention of the function's log group, in days (a CloudWatch Logs value). Defaults to 30. */
    readonly logRetentionInDays?: number;
    /** Function timeout in seconds, 10 to 900. Defaults to 20 with queue delivery, 60 with direct. */
    readonly timeoutSeconds?: number;
    /** Function memory in MB, 128 to 10240. Defaults to 256. */
    readonly memorySizeMb?: number;
    /**
     * How long EventBridge (and, with direct delivery, Lambda) keeps retrying one warning, in
     * seconds, 60 to 120. Defaults to 120: a warning older than its own notice is worthless.
     */
    readonly maximumEventAgeInSeconds?: number;
    /** Queue delivery: most records per invocation, 1 to 10000. Defaults to 1000. */
    readonly batchSize?: number;
    /**
     * Queue delivery: seconds to gather a batch, 0 to 300; at least 1 when batchSize is over 10.
     * Defaults to 4.
     */
    readonly maximumBatchingWindowInSeconds?: number;
    /** Queue delivery: most concurrent invocations, 2 to 1000. Defaults to 2. */
    readonly maximumConcurrency?: number;
    /**
     * Queue delivery: seconds a failed record stays hidden before its retry, at least
     * timeoutSeconds and at most 43200. Defaults to 20.
     */
    readonly visibilityTimeoutSeconds?: number;
    /**
     * Queue delivery: deliveries of one record before it is dead-lettered, 1 to 1000, and enough
     * that (maxReceiveCount − 1) × visibilityTimeoutSeconds outlasts the 120 s notice. Defaults to 8.
     */
    readonly maxReceiveCount?: number;
    /**
     * Queue delivery: seconds the events queue keeps a record, 60 to 1209600 and at least
     * visibilityTimeoutSeconds × maxReceiveCount. Defaults to 3600.
     */
    readonly messageRetentionSeconds?: number;
    /**
     * Concurrency reserved for the function, so that other functions cannot starve it; with queue
     * delivery at least maximumConcurrency. Defaults to none: small accounts cannot reserve any.
     */
    readonly reservedConcurrentExecutions?: number;
    /**
     * Decide, log and count everything, but detach nothing: the role may not even detach. Roll
     * out on a production group with this on, watch the dashboard, then turn it off.
     * Defaults to false.
     */
    readonly dryRun?: boolean;
    /** Alarms and a dashboard. Defaults to true. */
    readonly monitoring?: boolean;
    /** ARNs the alarms notify, e.g. an SNS topic wired to chat. Defaults to none. */
    readonly alarmActions?: pulumi.Input<string>[];
    /**
     * An email address to notify: creates an encrypted SNS topic with an email subscription (to
     * confirm from the inbox) and makes it an alarm action. Defaults to none.
     */
    readonly notificationEmail?: string;
    /**
     * Publish one message per batch that detached instances to the notificationEmail topic.
     * Requires notificationEmail. Defaults to false.
     */
    readonly notifyOnDetach?: boolean;
    /**
     * A target group the group serves: the dashboard then shows its healthy hosts and requests.
     * Defaults to none.
     */
    readonly targetGroupArn?: pulumi.Input<string>;
    /**
     * Queue delivery: the alarm on warnings waiting in the events queue fires above this age, in
     * seconds, 1 to 100, well inside the two-minute notice. Defaults to 30.
     */
    readonly queueAgeAlarmSeconds?: number;
    /**
     * An AWS FIS experiment template that sends real Spot interruptions to the group's running
     * Spot instances, with its own role, for `npm run simulate -- --fis`. Defaults to none.
     */
    readonly faultInjection?: FaultInjectionArgs;
    /** Tags for every taggable child resource. Defaults to none. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The groups to protect, after validation; names the caller passed as Outputs stay Inputs. */
export type GroupChoice =
    | {
          readonly kind: "names";
          /** The argument they came from, for error messages. */
          readonly argument: "autoScalingGroupName" | "autoScalingGroupNames";
          readonly names: readonly pulumi.Input<string>[];
      }
    | { readonly kind: "tag"; readonly key: string; readonly value?: string };

/** DescribeAutoScalingGroups takes at most 100 names: the one lookup per batch stays one call. */
export const MAX_GROUP_NAMES = 100;
// Lambda allows 4 KB for all of a function's environment variables; the rest need about 1 KB.
export const MAX_GROUP_NAMES_ENVIRONMENT_CHARS = 3_072;
const MAX_TAG_KEY_LENGTH = 128;
const MAX_TAG_VALUE_LENGTH = 256;
const GROUP_ARGUMENTS = [
    "autoScalingGroupName",
    "autoScalingGroupNames",
    "autoScalingGroupTag",
] as const;

/** The queued path's settings, after validation. */
export interface QueueSettings {
    readonly batchSize: number;
    readonly maximumBatchingWindowInSeconds: number;
    readonly maximumConcurrency: number;
    readonly visibilityTimeoutSeconds: number;
    readonly maxReceiveCount: number;
    readonly messageRetentionSeconds: number;
}

/** The args after validation, with every default applied. */
export interface ResolvedHandlerSettings {
    readonly groups: GroupChoice;
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly delivery: Delivery;
    readonly runtime: HandlerRuntime;
    readonly logRetentionInDays: number;
    readonly timeoutSeconds: number;
    readonly memorySizeMb: number;
    readonly maximumEventAgeInSeconds: number;
    /** Set with queue delivery only. */
    readonly queue?: QueueSettings;
    readonly reservedConcurrentExecutions?: number;
    readonly dryRun: boolean;
    /** Unset with monitoring off. */
    readonly monitoring?: MonitoringSettings;
    readonly notificationEmail?: string;
    readonly notifyOnDetach: boolean;
    /** Unset unless faultInjection.enabled. */
    readonly faultInjection?: FaultInjectionSettings;
}

const QUEUE_ONLY_ARGS = [
    "batchSize",
    "maximumBatchingWindowInSeconds",
    "maximumConcurrency",
    "visibilityTimeoutSeconds",
    "maxReceiveCount",
    "messageRetentionSeconds",
] as const;

/** Validates the plain args; a group name that is still an Output is checked once it resolves. */
export function resolveHandlerSettings(args: SpotInterruptionHandlerArgs): ResolvedHandlerSettings {
    const groups = resolveGroupChoice(args);
    const capacityOnInterruption = args.capacityOnInterruption ?? "keep";
    if (!isCapacityOnInterruption(capacityOnInterruption)) {
        throw argumentError(
            "capacityOnInterruption",
            `is ${JSON.stringify(capacityOnInterruption)}; allowed values are ${quoteAll(CAPACITY_ON_INTERRUPTION_CHOICES)}`,
        );
    }
    const delivery = args.delivery ?? Delivery.Queue;
    if (!DELIVERY_CHOICES.includes(delivery)) {
        throw argumentError(
            "delivery",
            `is ${JSON.stringify(delivery)}; allowed values are ${quoteAll(DELIVERY_CHOICES)}`,
        );
    }
    const runtime = args.runtime ?? HandlerRuntime.Nodejs24;
    if (!HANDLER_RUNTIMES.includes(runtime)) {
        throw argumentError(
            "runtime",
            `is ${JSON.stringify(runtime)}; allowed values are ${quoteAll(HANDLER_RUNTIMES)}`,
        );
    }
    const logRetentionInDays = args.logRetentionInDays ?? 30;
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionInDays)) {
        throw argumentError(
            "logRetentionInDays",
            `is ${logRetentionInDays}; CloudWatch Logs accepts ${LOG_RETENTION_DAYS.join(", ")}`,
        );
    }
    const timeoutSeconds = integerInRange(
        "timeoutSeconds",
        args.timeoutSeconds ??
            (delivery === Delivery.Queue ? QUEUE_DEFAULTS.timeoutSeconds : DIRECT_TIMEOUT_SECONDS),
        10,
        900,
    );
    const queue =
        delivery === Delivery.Queue ? resolveQueueSettings(args, timeoutSeconds) : undefined;
    if (delivery === Delivery.Direct) {
        const misplaced = QUEUE_ONLY_ARGS.filter((name) => args[name] !== undefined);
        if (misplaced.length > 0) {
            throw argumentError(
                misplaced[0],
                `applies only with delivery "queue"; remove it, or set delivery to "queue"`,
            );
        }
    }
    const reservedConcurrentExecutions =
        args.reservedConcurrentExecutions === undefined
            ? undefined
            : integerInRange(
                  "reservedConcurrentExecutions",
                  args.reservedConcurrentExecutions,
                  1,
                  10_000,
              );
    if (
        queue !== undefined &&
        reservedConcurrentExecutions !== undefined &&
        reservedConcurrentExecutions < queue.maximumConcurrency
    ) {
        throw argumentError(
            "reservedConcurrentExecutions",
            `is ${reservedConcurrentExecutions}, below maximumConcurrency ${queue.maximumConcurrency}: the mapping's invocations would be throttled; reserve at least ${queue.maximumConcurrency}`,
        );
    }
    return {
        groups,
        capacityOnInterruption,
        delivery,
        runtime,
        logRetentionInDays,
        timeoutSeconds,
        memorySizeMb: integerInRange("memorySizeMb", args.memorySizeMb ?? 256, 128, 10240),
        maximumEventAgeInSeconds: integerInRange(
            "maximumEventAgeInSeconds",
            args.maximumEventAgeInSeconds ?? 120,
            60,
            120,
        ),
        ...(queue === undefined ? {} : { queue }),
        ...(reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions }),
        ...resolveReporting(args, delivery),
        ...faultInjectionOf(args),
    };
}

/** Exactly one of the three ways to choose groups, each checked as far as its plain parts go. */
export function resolveGroupChoice(args: SpotInterruptionHandlerArgs): GroupChoice {
    const given = GROUP_ARGUMENTS.filter((name) => args[name] !== undefined && args[name] !== null);
    if (given.length === 0) {
        throw argumentError(
            "autoScalingGroupName",
            "is required: pass the name of the Auto Scaling group to protect, or autoScalingGroupNames (a list), or autoScalingGroupTag ({ key, value })",
        );
    }
    if (given.length > 1) {
        throw argumentError(
            given[1],
            `cannot be combined with ${given[0]}: pass exactly one of ${GROUP_ARGUMENTS.join(", ")}`,
        );
    }
    if (args.autoScalingGroupTag !== undefined) {
        return resolveGroupTag(args.autoScalingGroupTag);
    }
    if (args.autoScalingGroupName !== undefined) {
        const name = args.autoScalingGroupName;
        if (typeof name === "string") {
            validateAutoScalingGroupName(name);
        }
        return { kind: "names", argument: "autoScalingGroupName", names: [name] };
    }
    const names = args.autoScalingGroupNames;
    if (!Array.isArray(names) || names.length === 0 || names.length > MAX_GROUP_NAMES) {
        throw argumentError(
            "autoScalingGroupNames",
            `${Array.isArray(names) ? `has ${names.length} names` : `is ${JSON.stringify(names)}`}; pass a list of 1 to ${MAX_GROUP_NAMES} group names, or autoScalingGroupTag for more`,
        );
    }
    const plain = names.filter((name): name is string => typeof name === "string");
    plain.forEach((name) =>
        validateAutoScalingGroupName(name, `autoScalingGroupNames[${names.indexOf(name)}]`),
    );
    validateGroupNameList(plain);
    return { kind: "names", argument: "autoScalingGroupNames", names };
}

/** The checks a list of names needs once it is known: no repeats, and room in the environment. */
export function validateGroupNameList(names: readonly string[]): readonly string[] {
    const repeated = names.find((name, index) => names.indexOf(name) !== index);
    if (repeated !== undefined) {
        throw argumentError(
            "autoScalingGroupNames",
            `names ${JSON.stringify(repeated)} twice: list each group once`,
        );
    }
    const chars = JSON.stringify(names).length;
    if (chars > MAX_GROUP_NAMES_ENVIRONMENT_CHARS) {
        throw argumentError(
            "autoScalingGroupNames",
            `takes ${chars} characters of the function's environment, over the ${MAX_GROUP_NAMES_ENVIRONMENT_CHARS} it may use of Lambda's 4 KB: tag the groups and pass autoScalingGroupTag instead`,
        );
    }
    return names;
}

function resolveGroupTag(tag: AutoScalingGroupTag): GroupChoice {
    const argument = "autoScalingGroupTag";
    if (typeof tag !== "object" || tag === null || Array.isArray(tag)) {
        throw argumentError(argument, `is ${JSON.stringify(tag)}; pass { key, value? }`);
    }
    const unknown = Object.keys(tag).find((field) => field !== "key" && field !== "value");
    if (unknown !== undefined) {
        throw argumentError(argument, `has "${unknown}"; it takes only "key" and "value"`);
    }
    const { key, value } = tag;
    if (typeof key !== "string" || key.trim() === "" || key.length > MAX_TAG_KEY_LENGTH) {
        throw argumentError(
            `${argument}.key`,
            `is ${JSON.stringify(key)}; pass the tag's key, 1 to ${MAX_TAG_KEY_LENGTH} characters`,
        );
    }
    if (key !== key.trim()) {
        throw argumentError(
            `${argument}.key`,
            `${JSON.stringify(key)} has surrounding whitespace: pass the tag's exact key, ${JSON.stringify(key.trim())}`,
        );
    }
    if (value === undefined) {
        return { kind: "tag", key };
    }
    if (typeof value !== "string" || value.length > MAX_TAG_VALUE_LENGTH) {
        throw argumentError(
            `${argument}.value`,
            `is ${JSON.stringify(value)}; pass the tag's value (at most ${MAX_TAG_VALUE_LENGTH} characters), or leave it out to match any value`,
        );
    }
    return { kind: "tag", key, value };
}

function faultInjectionOf(
    args: SpotInterruptionHandlerArgs,
): Pick<ResolvedHandlerSettings, "faultInjection"> {
    const faultInjection = resolveFaultInjectionSettings(args.faultInjection);
    const target = args.faultInjection?.autoScalingGroupName;
    if (faultInjection !== undefined && target === undefined && args.autoScalingGroupTag) {
        throw argumentError(
            "faultInjection.autoScalingGroupName",
            "is required with autoScalingGroupTag: name the tagged group whose instances the experiment interrupts",
        );
    }
    if (typeof target === "string") {
        validateAutoScalingGroupName(target, "faultInjection.autoScalingGroupName");
    }
    return faultInjection === undefined ? {} : { faultInjection };
}

function resolveQueueSettings(
    args: SpotInterruptionHandlerArgs,
    timeoutSeconds: number,
): QueueSettings {
    const batchSize = integerInRange(
        "batchSize",
        args.batchSize ?? QUEUE_DEFAULTS.batchSize,
        1,
        10_000,
    );
    const maximumBatchingWindowInSeconds = integerInRange(
        "maximumBatchingWindowInSeconds",
        args.maximumBatchingWindowInSeconds ?? QUEUE_DEFAULTS.maximumBatchingWindowInSeconds,
        0,
        300,
    );
    if (batchSize > 10 && maximumBatchingWindowInSeconds < 1) {
        throw argumentError(
            "maximumBatchingWindowInSeconds",
            `is ${maximumBatchingWindowInSeconds}, but Lambda requires at least 1 for a batchSize over 10 (${batchSize}); raise it or lower batchSize to 10`,
        );
    }
    const visibilityTimeoutSeconds = integerInRange(
        "visibilityTimeoutSeconds",
        args.visibilityTimeoutSeconds ??
            Math.max(QUEUE_DEFAULTS.visibilityTimeoutSeconds, timeoutSeconds),
        0,
        43_200,
    );
    if (visibilityTimeoutSeconds < timeoutSeconds) {
        throw argumentError(
            "visibilityTimeoutSeconds",
            `is ${visibilityTimeoutSeconds}, shorter than timeoutSeconds ${timeoutSeconds}: Lambda refuses to map a queue whose visibility timeout is shorter than the function's timeout; raise it to at least ${timeoutSeconds}`,
        );
    }
    const maxReceiveCount = integerInRange(
        "maxReceiveCount",
        args.maxReceiveCount ?? QUEUE_DEFAULTS.maxReceiveCount,
        1,
        1000,
    );
    const messageRetentionSeconds = integerInRange(
        "messageRetentionSeconds",
        args.messageRetentionSeconds ?? QUEUE_DEFAULTS.messageRetentionSeconds,
        60,
        1_209_600,
    );
    // The n-th receive comes (n − 1) visibility timeouts after the first: it must outlast the notice.
    const lastTryAfterSeconds = (maxReceiveCount - 1) * visibilityTimeoutSeconds;
    if (lastTryAfterSeconds < INTERRUPTION_NOTICE_SECONDS) {
        const needed = 1 + Math.ceil(INTERRUPTION_NOTICE_SECONDS / visibilityTimeoutSeconds);
        throw argumentError(
            "maxReceiveCount",
            `is ${maxReceiveCount}: with visibilityTimeoutSeconds ${visibilityTimeoutSeconds}, SQS would dead-letter a failed warning after ${lastTryAfterSeconds} s, while its two-minute notice still runs; raise it to at least ${needed}`,
        );
    }
    if (messageRetentionSeconds < visibilityTimeoutSeconds * maxReceiveCount) {
        throw argumentError(
            "messageRetentionSeconds",
            `is ${messageRetentionSeconds}, less than visibilityTimeoutSeconds × maxReceiveCount (${visibilityTimeoutSeconds * maxReceiveCount}): SQS would delete a record before its retries end, without dead-lettering it; raise it`,
        );
    }
    return {
        batchSize,
        maximumBatchingWindowInSeconds,
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

export { validateAutoScalingGroupName } from "./argument-checks";
export type { MonitoringSettings } from "./reporting-settings";
