/**
 * The SpotInterruptionHandler's arguments, their choices and constants, and the settings they
 * resolve to. Validation and defaults live in `settings.ts`.
 */
import type * as pulumi from "@pulumi/pulumi";
import {
    type CapacityOnInterruption,
    type GroupSelection,
    type InterruptionAction,
    MAX_DESCRIBED_GROUPS,
} from "../../contract";
import type { FaultInjectionArgs, FaultInjectionSettings } from "./fault-injection";

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

/** The function's instruction set. */
export const HandlerArchitecture = {
    /** Graviton: cheaper per GB-second; the handler is plain JavaScript (the default). */
    Arm64: "arm64",
    X86_64: "x86_64",
} as const;
export type HandlerArchitecture = (typeof HandlerArchitecture)[keyof typeof HandlerArchitecture];
export const HANDLER_ARCHITECTURES: readonly HandlerArchitecture[] =
    Object.values(HandlerArchitecture);

/** Retention values CloudWatch Logs accepts (0 means never expire). */
export const LOG_RETENTION_DAYS = [
    0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
] as const;

/**
 * Defaults for the queued path, chosen with `npm run bench` (docs/storms.md, "Choosing the queue's
 * settings"): batches of up to 1000 gathered for 4 s share one lookup among many groups (0.065
 * calls per instance over 10 groups, against 0.15 with 100 and 1 s), 2 concurrent batches stay
 * inside a 10 requests/s budget, and a failed record is retried every 20 s until its notice ends.
 * The function's timeout (16 s, twice the largest batch measured, 8.2 s) and the window (4 s)
 * add up to the visibility timeout: a record never becomes visible while its own batch runs.
 */
export const QUEUE_DEFAULTS = {
    batchSize: 1000,
    maximumBatchingWindowInSeconds: 4,
    maximumConcurrency: 2,
    timeoutSeconds: 16,
    visibilityTimeoutSeconds: 20,
    // (8 − 2) × 20 s = 120 s: even with one early re-check, receives span the whole notice.
    maxReceiveCount: 8,
    messageRetentionSeconds: 3600,
} as const;
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
     * How the handler takes a warned instance out of service. "auto" works with each group's own
     * machinery: a Spot warning on a group with Capacity Rebalancing (with "keep") is left to the
     * group, which terminates and replaces the instance itself, and the handler acts only if the
     * instance is still InService 25 s after the warning; a group with a termination lifecycle
     * hook is terminated through the group (up to 20 instances a batch), so the hook runs; any
     * other group is detached, 20 instances a call. "detach" always detaches (skipping hooks, as
     * before "auto" existed); "terminate" always terminates, one call per instance.
     * Defaults to "auto".
     */
    readonly interruptionAction?: InterruptionAction;
    /**
     * How warnings reach the function: "queue" (an SQS queue drained in batches, which survives
     * interruption storms) or "direct" (one invocation per warning). Defaults to "queue".
     */
    readonly delivery?: Delivery;
    /** Lambda runtime. Defaults to "nodejs24.x"; "nodejs22.x" also works. */
    readonly runtime?: HandlerRuntime;
    /**
     * The function's instruction set, "arm64" or "x86_64". Defaults to "arm64": Lambda charges
     * about 20% less per GB-second on Graviton, and the handler has no native code to port.
     */
    readonly architecture?: HandlerArchitecture;
    /**
     * ARN of a managed IAM policy set as the permissions boundary of every role the component
     * creates (the function's and, with faultInjection, FIS's), for accounts whose guardrails
     * refuse roles without one. Defaults to none.
     */
    readonly permissionsBoundary?: pulumi.Input<string>;
    /** Retention of the function's log group, in days (a CloudWatch Logs value). Defaults to 30. */
    readonly logRetentionInDays?: number;
    /**
     * Function timeout in seconds, 10 to 900; with queue delivery, at most 60 minus
     * maximumBatchingWindowInSeconds. Defaults to 16 with queue delivery, 60 with direct.
     */
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
     * Queue delivery: seconds to gather a batch, 0 to 10 (the safety net's re-check must still act
     * within 60 s of a warning); at least 1 when batchSize is over 10. Defaults to 4.
     */
    readonly maximumBatchingWindowInSeconds?: number;
    /** Queue delivery: most concurrent invocations, 2 to 1000. Defaults to 2. */
    readonly maximumConcurrency?: number;
    /**
     * Queue delivery: seconds a failed record stays hidden before its retry, at least
     * timeoutSeconds + maximumBatchingWindowInSeconds and at most 43200. Defaults to 20, or that
     * sum when it is longer.
     */
    readonly visibilityTimeoutSeconds?: number;
    /**
     * Queue delivery: deliveries of one record before it is dead-lettered, 1 to 1000, and enough
     * that (maxReceiveCount − 2) × visibilityTimeoutSeconds outlasts the 120 s notice (one re-check
     * may come early). Defaults to 8.
     */
    readonly maxReceiveCount?: number;
    /**
     * Queue delivery: seconds the events queue keeps a record, 60 to 1209600 and at least
     * maxReceiveCount × (visibilityTimeoutSeconds + 20) + 20, the time its receives can take with
     * Lambda's 20 s long polls. Defaults to 3600.
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
    /**
     * ARNs the alarms notify, e.g. an SNS topic wired to chat: at most 5, CloudWatch's limit per
     * alarm, or 4 with notificationEmail, whose topic is one more. Defaults to none.
     */
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
     * seconds, at most 119 and above the age a warning deliberately left waiting for a re-check
     * can reach (2 × window + 2 × visibility + 20, 68 s with the defaults). Defaults to 75.
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

/** The argument that chose the groups, for error messages about a name known only later. */
export type GroupArgument =
    "autoScalingGroupName" | "autoScalingGroupNames" | "autoScalingGroupTag";

/** The most names a list may hold: the one lookup per batch stays one call. */
export const MAX_GROUP_NAMES = MAX_DESCRIBED_GROUPS;

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
    /** The groups to protect; names the caller passed as Outputs stay Inputs. */
    readonly groups: GroupSelection<pulumi.Input<string>>;
    readonly groupArgument: GroupArgument;
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly interruptionAction: InterruptionAction;
    readonly delivery: Delivery;
    readonly runtime: HandlerRuntime;
    readonly architecture: HandlerArchitecture;
    /** Unset: the roles get no boundary. */
    readonly permissionsBoundary?: pulumi.Input<string>;
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

/** Monitoring's settings, after validation. */
export interface MonitoringSettings {
    /** Set with queue delivery. */
    readonly queueAgeAlarmSeconds?: number;
}
