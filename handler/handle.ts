import type { AutoScalingGateway, DetachActivity } from "./auto-scaling";
import type { HandlerConfig } from "./config";
import {
    type CapacityOnInterruption,
    chunk,
    classifyCallFailure,
    decrementSlots,
    dedupeBy,
    type GroupSize,
    type IgnoreReason,
    isStale,
    judgeMembership,
    keepFallbackReason,
    MAX_DESCRIBE_INSTANCE_IDS,
    nextDetachChunk,
} from "./decision";
import { withinDeadline } from "./deadline";
import type { ParsedEvent } from "./event";

// Pulumi's closure serializer then inlines this module even from an importer's node_modules.
export const deploymentOnlyModule = true;

export type LogLevel = "INFO" | "WARN" | "ERROR";

/** A structured log entry: a message plus fields that Logs Insights can query. */
export interface LogRecord {
    readonly message: string;
    readonly [field: string]: unknown;
}

export type DecisionLogger = (level: LogLevel, record: LogRecord) => void;

/**
 * Writes a record at the console level that matches. Under Lambda's JSON log format the runtime
 * nests a lone object as the entry's `message`, so its fields stay queryable in Logs Insights;
 * anywhere else the record is written as one JSON line.
 */
export const logDecision: DecisionLogger = (level, record) => {
    const write =
        level === "ERROR" ? console.error : level === "WARN" ? console.warn : console.info;
    const lambdaFormatsJson = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === "JSON";
    write(lambdaFormatsJson ? record : JSON.stringify({ level, ...record }));
};

export interface ErrorDescription {
    readonly name: string;
    readonly message: string;
}

export interface HandlerDependencies {
    readonly config: HandlerConfig;
    readonly autoScaling: AutoScalingGateway;
    readonly log: DecisionLogger;
    /** Milliseconds until Lambda stops the invocation (`context.getRemainingTimeInMillis()`). */
    readonly remainingTimeMs: () => number;
    /** The current time, in epoch milliseconds. Defaults to Date.now. */
    readonly now?: () => number;
}

/** One warning to handle: `key` names its record in the batch (an SQS message id). */
export interface WarningInput {
    readonly key: string;
    readonly parsed: ParsedEvent;
}

/** What became of one warning. */
export type WarningOutcome =
    | {
          /** "would-detach": a dry run stopped short of the detach. */
          readonly action: "detached" | "would-detach";
          readonly instanceId: string;
          readonly capacityOnInterruption: CapacityOnInterruption;
          /** Set when decrement was configured but the instance left with keep. */
          readonly reason?: string;
          /** From the warning's `time` to the instance out of the group, when known. */
          readonly latencyMs?: number;
      }
    | {
          readonly action: "ignored";
          readonly instanceId?: string;
          readonly reason: IgnoreReason;
          readonly detail: string;
      }
    | { readonly action: "failed"; readonly instanceId: string; readonly error: ErrorDescription };

export interface BatchResult {
    /** One outcome per input, by key. */
    readonly outcomes: ReadonlyMap<string, WarningOutcome>;
    /** Auto Scaling calls made (each may include the SDK's retries). */
    readonly autoScalingCalls: number;
    /** Calls refused with a ValidationError: an instance already leaving, or MinSize. */
    readonly refusals: number;
}

export interface BatchOptions {
    /** Acknowledge, without acting, warnings older than the interruption notice. */
    readonly ignoreStale: boolean;
    /** Decide everything but make no DetachInstances call. */
    readonly dryRun?: boolean;
}

// A latency outside this range comes from a test event with an old or made-up `time`.
const MAX_PLAUSIBLE_LATENCY_MS = 3_600_000;

/**
 * Detaches the instances named by a batch of warnings from the configured group, so that their
 * target groups drain them: a handful of batched calls instead of two per warning.
 * - Never touches an instance that is not an InService or Standby member of the configured group.
 * - Never takes the group below MinSize, and never wastes a decrement.
 * - Idempotent: a duplicate finds its instance gone or leaving, and is ignored.
 * - Never throws: what a retry could still save comes back as "failed".
 */
export async function handleWarnings(
    inputs: readonly WarningInput[],
    deps: HandlerDependencies,
    options: BatchOptions,
): Promise<BatchResult> {
    const { autoScalingGroupName, capacityOnInterruption } = deps.config;
    const now = deps.now ?? Date.now;
    const outcomes = new Map<string, WarningOutcome>();
    let autoScalingCalls = 0;
    let refusals = 0;
    const call = <T>(operation: (signal: AbortSignal) => Promise<T>): Promise<T> => {
        autoScalingCalls++;
        return withinDeadline(deps.remainingTimeMs, operation);
    };

    const warnings: { key: string; instanceId: string; sentAtMs?: number }[] = [];
    for (const { key, parsed } of inputs) {
        if (parsed.kind === "unrecognised") {
            outcomes.set(key, { action: "ignored", reason: "malformed", detail: parsed.reason });
        } else if (options.ignoreStale && isStale(parsed.sentAtMs, now())) {
            outcomes.set(key, {
                action: "ignored",
                instanceId: parsed.instanceId,
                reason: "stale",
                detail: `the warning for ${parsed.instanceId} was sent at ${new Date(parsed.sentAtMs ?? 0).toISOString()}, more than the two-minute notice ago`,
            });
        } else {
            warnings.push({ key, instanceId: parsed.instanceId, sentAtMs: parsed.sentAtMs });
        }
    }
    const { unique, duplicates } = dedupeBy(warnings, (w) => w.instanceId);
    for (const { key, instanceId } of duplicates) {
        outcomes.set(key, {
            action: "ignored",
            instanceId,
            reason: "duplicate",
            detail: `${instanceId} is named by another record of this batch`,
        });
    }
    const keyOf = new Map(unique.map((w) => [w.instanceId, w.key]));
    const sentAt = new Map(unique.map((w) => [w.instanceId, w.sentAtMs]));
    const latencyOf = (instanceId: string): { latencyMs?: number } => {
        const sent = sentAt.get(instanceId);
        const latencyMs = sent === undefined ? undefined : now() - sent;
        return latencyMs !== undefined && latencyMs >= 0 && latencyMs <= MAX_PLAUSIBLE_LATENCY_MS
            ? { latencyMs }
            : {};
    };
    const settle = (instanceId: string, outcome: WarningOutcome) =>
        outcomes.set(keyOf.get(instanceId) ?? instanceId, outcome);
    const fail = (instanceIds: readonly string[], error: unknown, what: string) => {
        const described = describeError(error);
        deps.log("ERROR", {
            message: `${what} failed for ${instanceIds.length} instance(s); they are left for a retry`,
            autoScalingGroupName,
            instanceIds,
            error: described,
        });
        for (const instanceId of instanceIds) {
            settle(instanceId, { action: "failed", instanceId, error: described });
        }
    };

    // Only InService or Standby members of our group go on to be detached.
    let toDetach: string[] = [];
    for (const ids of chunk(
        unique.map((w) => w.instanceId),
        MAX_DESCRIBE_INSTANCE_IDS,
    )) {
        try {
            const memberships = await call((signal) =>
                deps.autoScaling.describeMemberships(ids, signal),
            );
            toDetach.push(...judgeAll(ids, memberships, autoScalingGroupName, settle));
        } catch (error) {
            fail(ids, error, "DescribeAutoScalingInstances");
        }
    }

    // Only a decrement needs the group's sizes; keep spares a call from the shared budget.
    let size: GroupSize | undefined;
    if (capacityOnInterruption === "decrement" && toDetach.length > 0) {
        try {
            size = await call((signal) =>
                deps.autoScaling.describeGroupSize(autoScalingGroupName, signal),
            );
        } catch (error) {
            fail(toDetach, error, "DescribeAutoScalingGroups");
            toDetach = [];
        }
    }
    // Unknown sizes: let AWS judge, and learn the figures from a refusal.
    let slots = size === undefined ? Number.POSITIVE_INFINITY : decrementSlots(size);

    // Each round detaches a chunk, or removes at least one instance, or lowers `slots`.
    const maxRounds = 3 * toDetach.length + 3;
    for (let round = 0; toDetach.length > 0 && round < maxRounds; round++) {
        const { instanceIds, shouldDecrementDesiredCapacity } = nextDetachChunk(
            toDetach,
            capacityOnInterruption,
            slots,
        );
        const choice: CapacityOnInterruption = shouldDecrementDesiredCapacity
            ? "decrement"
            : "keep";
        const reason =
            capacityOnInterruption === "decrement" && !shouldDecrementDesiredCapacity
                ? keepFallbackReason(size)
                : undefined;
        if (options.dryRun) {
            for (const instanceId of instanceIds) {
                settle(instanceId, {
                    action: "would-detach",
                    instanceId,
                    capacityOnInterruption: choice,
                    ...(reason === undefined ? {} : { reason }),
                });
            }
            deps.log("INFO", {
                message: `Dry run: would detach ${instanceIds.length} instance(s) from AutoScaling Group ${autoScalingGroupName}`,
                autoScalingGroupName,
                capacityOnInterruption: choice,
                instanceIds,
                ...(reason === undefined ? {} : { reason }),
            });
            slots -= shouldDecrementDesiredCapacity ? instanceIds.length : 0;
            toDetach = toDetach.filter((id) => !instanceIds.includes(id));
            continue;
        }
        let activities: DetachActivity[];
        try {
            activities = await call((signal) =>
                deps.autoScaling.detachInstances(
                    autoScalingGroupName,
                    instanceIds,
                    shouldDecrementDesiredCapacity,
                    signal,
                ),
            );
        } catch (error) {
            const failure = classifyCallFailure(describeError(error));
            refusals += failure.kind === "retryable" ? 0 : 1;
            if (failure.kind === "instance-refused" && instanceIds.includes(failure.instanceId)) {
                // A concurrent batch or a duplicate got there first; re-check the rest in one call.
                settle(failure.instanceId, {
                    action: "ignored",
                    instanceId: failure.instanceId,
                    reason: failure.reason,
                    detail: failure.message,
                });
                const rest = instanceIds.filter((id) => id !== failure.instanceId);
                let stillOurs = rest;
                if (rest.length > 0) {
                    try {
                        const memberships = await call((signal) =>
                            deps.autoScaling.describeMemberships(rest, signal),
                        );
                        stillOurs = judgeAll(rest, memberships, autoScalingGroupName, settle);
                    } catch (describeFailure) {
                        fail(rest, describeFailure, "DescribeAutoScalingInstances");
                        stillOurs = [];
                    }
                }
                toDetach = [...stillOurs, ...toDetach.filter((id) => !instanceIds.includes(id))];
            } else if (failure.kind === "below-min-size" && shouldDecrementDesiredCapacity) {
                // Another batch decremented first: re-split on AWS's own figures.
                size = failure.size ?? size;
                slots = failure.size === undefined ? 0 : decrementSlots(failure.size);
            } else {
                fail(instanceIds, error, "DetachInstances");
                toDetach = toDetach.filter((id) => !instanceIds.includes(id));
            }
            continue;
        }

        for (const instanceId of instanceIds) {
            settle(instanceId, {
                action: "detached",
                instanceId,
                capacityOnInterruption: choice,
                ...(reason === undefined ? {} : { reason }),
                ...latencyOf(instanceId),
            });
        }
        deps.log(reason === undefined ? "INFO" : "WARN", {
            message:
                instanceIds.length === 1
                    ? `Instance ${instanceIds[0]} belongs to AutoScaling Group ${autoScalingGroupName}. Detaching instance...`
                    : `${instanceIds.length} instances belong to AutoScaling Group ${autoScalingGroupName}. Detaching instances...`,
            autoScalingGroupName,
            capacityOnInterruption: choice,
            instanceIds,
            activities,
            ...(reason === undefined ? {} : { reason }),
        });
        if (shouldDecrementDesiredCapacity) {
            slots -= instanceIds.length;
            size =
                size === undefined
                    ? undefined
                    : { ...size, desiredCapacity: size.desiredCapacity - instanceIds.length };
        }
        toDetach = toDetach.filter((id) => !instanceIds.includes(id));
    }
    if (toDetach.length > 0) {
        fail(toDetach, new Error("too many refusals in one batch"), "DetachInstances");
    }
    return { outcomes, autoScalingCalls, refusals };
}

/** Settles every instance that is not ours to detach; returns those that are. */
function judgeAll(
    instanceIds: readonly string[],
    memberships: ReadonlyMap<string, { autoScalingGroupName: string; lifecycleState: string }>,
    autoScalingGroupName: string,
    settle: (instanceId: string, outcome: WarningOutcome) => void,
): string[] {
    const ours: string[] = [];
    for (const instanceId of instanceIds) {
        const verdict = judgeMembership(
            instanceId,
            memberships.get(instanceId),
            autoScalingGroupName,
        );
        if (verdict.verdict === "detach") {
            ours.push(instanceId);
        } else {
            settle(instanceId, {
                action: "ignored",
                instanceId,
                reason: verdict.reason,
                detail: verdict.detail,
            });
        }
    }
    return ours;
}

export function describeError(error: unknown): ErrorDescription {
    if (error instanceof Error) {
        return { name: error.name, message: error.message };
    }
    return { name: "UnknownError", message: String(error) };
}

export { DEADLINE_EXCEEDED, deadlineExceeded } from "./deadline";
