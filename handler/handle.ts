import {
    AFTER_UNCERTAIN_ATTEMPT,
    type AutoScalingGateway,
    type DetachActivity,
} from "./auto-scaling";
import type { HandlerConfig } from "./config";
import {
    describeError,
    hasLeft,
    placeInGroups,
    screenWarnings,
    type WarningInput,
    type WarningOutcome,
} from "./batch-steps";
import {
    classifyCallFailure,
    decrementSlots,
    type GroupSize,
    type GroupSnapshot,
    keepFallbackReason,
    missingGroups,
    nextDetachChunk,
    type PendingDetach,
} from "./decision";
import { withinDeadline } from "./deadline";
import { type CapacityOnInterruption, describeSelection, type GroupSelection } from "../types";

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

export interface HandlerDependencies {
    readonly config: HandlerConfig;
    readonly autoScaling: AutoScalingGateway;
    readonly log: DecisionLogger;
    /** Milliseconds until Lambda stops the invocation (`context.getRemainingTimeInMillis()`). */
    readonly remainingTimeMs: () => number;
    /** The current time, in epoch milliseconds. Defaults to Date.now. */
    readonly now?: () => number;
}

export interface BatchResult {
    /** One outcome per input, by key. */
    readonly outcomes: ReadonlyMap<string, WarningOutcome>;
    /** Auto Scaling calls made (each may include the SDK's retries). */
    readonly autoScalingCalls: number;
    /** Calls refused with a ValidationError: an instance already leaving, or MinSize. */
    readonly refusals: number;
    /** What the selection names and the batch's lookup did not find; empty without a lookup. */
    readonly missingGroups: readonly string[];
}

export interface BatchOptions {
    /** Acknowledge, without acting, warnings older than the interruption notice. */
    readonly ignoreStale: boolean;
    /** Decide everything but make no DetachInstances call. */
    readonly dryRun?: boolean;
}

// A latency outside this range comes from a test event with an old or made-up `time`.
const MAX_PLAUSIBLE_LATENCY_MS = 3_600_000;
// Groups detached from at once: their calls overlap, and the SDK's adaptive retry paces them all.
const CONCURRENT_GROUPS = 4;
// Bounds a tag lookup: 50 pages of 100 groups.
const MAX_LOOKUP_PAGES = 50;

/** A DetachInstances refusal after an attempt of the same call whose outcome was unknown. */
function isAfterUncertainAttempt(error: unknown): boolean {
    return (
        typeof error === "object" &&
        error !== null &&
        (error as Record<string, unknown>)[AFTER_UNCERTAIN_ATTEMPT] === true
    );
}

/** Runs `work` over `items`, at most `limit` at once. */
async function forEachConcurrently<T>(
    items: readonly T[],
    limit: number,
    work: (item: T) => Promise<void>,
): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
        while (next < items.length) {
            await work(items[next++]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** What the steps of one batch share: the calls they make and the outcomes they settle. */
interface BatchContext {
    readonly deps: HandlerDependencies;
    readonly options: BatchOptions;
    readonly call: <T>(operation: (signal: AbortSignal) => Promise<T>) => Promise<T>;
    readonly settle: (instanceId: string, outcome: WarningOutcome) => void;
    readonly fail: (
        instanceIds: readonly string[],
        error: unknown,
        what: string,
        autoScalingGroupName?: string,
    ) => void;
    readonly latencyOf: (instanceId: string) => { latencyMs?: number };
    refusals: number;
}

/**
 * Detaches the instances named by a batch of warnings from the chosen groups, so that their
 * target groups drain them: one DescribeAutoScalingGroups for the whole batch, then at most one
 * DetachInstances per 20 instances of a group.
 * - Never touches an instance that is not an InService or Standby member of a chosen group.
 * - Never takes a group below its own MinSize, and never wastes a decrement.
 * - Idempotent: a duplicate finds its instance gone or leaving, and is ignored.
 * - Never throws: what a retry could still save comes back as "failed".
 */
export async function handleWarnings(
    inputs: readonly WarningInput[],
    deps: HandlerDependencies,
    options: BatchOptions,
): Promise<BatchResult> {
    const selection = deps.config.groups;
    const now = deps.now ?? Date.now;
    const { settled, unique } = screenWarnings(inputs, now(), options.ignoreStale);
    const outcomes = new Map(settled);
    let autoScalingCalls = 0;
    const keyOf = new Map(unique.map((w) => [w.instanceId, w.key]));
    const sentAt = new Map(unique.map((w) => [w.instanceId, w.sentAtMs]));
    const context: BatchContext = {
        deps,
        options,
        refusals: 0,
        // Counted once started: a call the deadline refuses never reaches Auto Scaling.
        call: (operation) =>
            withinDeadline(deps.remainingTimeMs, (signal) => {
                autoScalingCalls++;
                return operation(signal);
            }),
        settle: (instanceId, outcome) => outcomes.set(keyOf.get(instanceId) ?? instanceId, outcome),
        fail: (instanceIds, error, what, autoScalingGroupName) => {
            const described = describeError(error);
            deps.log("ERROR", {
                message: `${what} failed for ${instanceIds.length} instance(s); they are left for a retry`,
                ...(autoScalingGroupName === undefined ? {} : { autoScalingGroupName }),
                instanceIds,
                error: described,
            });
            for (const instanceId of instanceIds) {
                context.settle(instanceId, {
                    action: "failed",
                    instanceId,
                    ...(autoScalingGroupName === undefined ? {} : { autoScalingGroupName }),
                    error: described,
                });
            }
        },
        latencyOf: (instanceId) => {
            const sent = sentAt.get(instanceId);
            const latencyMs = sent === undefined ? undefined : now() - sent;
            return latencyMs !== undefined &&
                latencyMs >= 0 &&
                latencyMs <= MAX_PLAUSIBLE_LATENCY_MS
                ? { latencyMs }
                : {};
        },
    };
    const result = (missing: readonly string[]): BatchResult => ({
        outcomes,
        autoScalingCalls,
        refusals: context.refusals,
        missingGroups: missing,
    });
    if (unique.length === 0) {
        return result([]);
    }

    const instanceIds = unique.map((w) => w.instanceId);
    let groups: GroupSnapshot[];
    try {
        groups = await lookUpGroups(selection, context);
    } catch (error) {
        context.fail(instanceIds, error, "DescribeAutoScalingGroups");
        return result([]);
    }
    const missing = missingGroups(selection, groups);
    if (missing.length > 0) {
        deps.log("ERROR", {
            message: `${missing.join(", ")} not found in this account and Region: warnings for its instances are ignored as not ours. Fix the handler's group selection`,
            missingGroups: missing,
        });
    }
    const { ignored, pending } = placeInGroups(instanceIds, groups, selection);
    for (const [instanceId, outcome] of ignored) {
        context.settle(instanceId, outcome);
    }
    const byName = new Map(groups.map((g) => [g.name, g]));
    await forEachConcurrently([...pending], CONCURRENT_GROUPS, ([name, instances]) =>
        detachFromGroup(byName.get(name) as GroupSnapshot, instances, context),
    );
    return result(missing);
}

/** Every page of the chosen groups: one call for a list of names, more only past 100 groups. */
async function lookUpGroups(
    selection: GroupSelection,
    context: BatchContext,
): Promise<GroupSnapshot[]> {
    const groups: GroupSnapshot[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_LOOKUP_PAGES; page++) {
        const token = nextToken;
        const answer = await context.call((signal) =>
            context.deps.autoScaling.describeGroups(selection, token, signal),
        );
        groups.push(...answer.groups);
        nextToken = answer.nextToken;
        if (nextToken === undefined) {
            return groups;
        }
    }
    throw new Error(
        `${describeSelection(selection)} span more than ${MAX_LOOKUP_PAGES} pages of groups`,
    );
}

/**
 * Detaches one group's warned instances, 20 to a call, splitting decrement from keep on the
 * group's own sizes, and re-reading the group (one call) when AWS refuses an instance.
 */
async function detachFromGroup(
    group: GroupSnapshot,
    instances: readonly PendingDetach[],
    context: BatchContext,
): Promise<void> {
    const { deps, options, call, settle, fail } = context;
    const { capacityOnInterruption, groups: selection } = deps.config;
    const groupName = group.name;
    let size: GroupSize | undefined = group;
    let slots = decrementSlots(group);
    let toDetach = [...instances];
    const without = (ids: readonly string[]) => toDetach.filter((p) => !ids.includes(p.instanceId));

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
        const common = {
            autoScalingGroupName: groupName,
            capacityOnInterruption: choice,
            ...(reason === undefined ? {} : { reason }),
        };
        if (options.dryRun) {
            for (const instanceId of instanceIds) {
                settle(instanceId, { action: "would-detach", instanceId, ...common });
            }
            deps.log("INFO", {
                message: `Dry run: would detach ${instanceIds.length} instance(s) from AutoScaling Group ${groupName}`,
                ...common,
                instanceIds,
            });
            slots -= shouldDecrementDesiredCapacity ? instanceIds.length : 0;
            toDetach = without(instanceIds);
            continue;
        }
        let activities: DetachActivity[];
        try {
            activities = await call((signal) =>
                deps.autoScaling.detachInstances(
                    groupName,
                    instanceIds,
                    shouldDecrementDesiredCapacity,
                    signal,
                ),
            );
        } catch (error) {
            const failure = classifyCallFailure(describeError(error));
            context.refusals += failure.kind === "retryable" ? 0 : 1;
            if (failure.kind === "instance-refused" && instanceIds.includes(failure.instanceId)) {
                // A concurrent batch, a duplicate, or our own attempt whose answer was lost got
                // there first: re-read the group in one call, and judge the rest on it.
                const refused: WarningOutcome = {
                    action: "ignored",
                    instanceId: failure.instanceId,
                    autoScalingGroupName: groupName,
                    reason: failure.reason,
                    detail: failure.message,
                };
                let fresh: GroupSnapshot | undefined;
                try {
                    const { groups } = await call((signal) =>
                        deps.autoScaling.describeGroups(
                            { kind: "names", names: [groupName] },
                            undefined,
                            signal,
                        ),
                    );
                    fresh = groups.find((g) => g.name === groupName);
                } catch (describeFailure) {
                    settle(failure.instanceId, refused);
                    toDetach = without([failure.instanceId]);
                    fail(
                        toDetach.map((p) => p.instanceId),
                        describeFailure,
                        "DescribeAutoScalingGroups",
                        groupName,
                    );
                    toDetach = [];
                    continue;
                }
                const left = instanceIds.filter((id) => hasLeft(fresh, id));
                const ours = isAfterUncertainAttempt(error) ? left : [];
                for (const instanceId of ours) {
                    settle(instanceId, {
                        action: "detached",
                        instanceId,
                        ...common,
                        reason: "an earlier attempt of the same call detached it; its answer was lost",
                        ...context.latencyOf(instanceId),
                    });
                }
                if (!ours.includes(failure.instanceId)) {
                    settle(failure.instanceId, refused);
                }
                toDetach = without([...ours, failure.instanceId]);
                const { ignored, pending } = placeInGroups(
                    toDetach.map((p) => p.instanceId),
                    fresh === undefined ? [] : [fresh],
                    selection,
                );
                for (const [instanceId, outcome] of ignored) {
                    settle(instanceId, outcome);
                }
                toDetach = pending.get(groupName) ?? [];
                if (fresh !== undefined) {
                    size = fresh;
                    slots = decrementSlots(fresh);
                }
            } else if (failure.kind === "below-min-size" && shouldDecrementDesiredCapacity) {
                // Another batch decremented first: re-split on AWS's own figures.
                size = failure.size ?? size;
                slots = failure.size === undefined ? 0 : decrementSlots(failure.size);
            } else {
                fail(instanceIds, error, "DetachInstances", groupName);
                toDetach = without(instanceIds);
            }
            continue;
        }

        for (const instanceId of instanceIds) {
            settle(instanceId, {
                action: "detached",
                instanceId,
                ...common,
                ...context.latencyOf(instanceId),
            });
        }
        deps.log(reason === undefined ? "INFO" : "WARN", {
            message:
                instanceIds.length === 1
                    ? `Instance ${instanceIds[0]} belongs to AutoScaling Group ${groupName}. Detaching instance...`
                    : `${instanceIds.length} instances belong to AutoScaling Group ${groupName}. Detaching instances...`,
            ...common,
            instanceIds,
            activities,
        });
        if (shouldDecrementDesiredCapacity) {
            slots -= instanceIds.length;
            size =
                size === undefined
                    ? undefined
                    : { ...size, desiredCapacity: size.desiredCapacity - instanceIds.length };
        }
        toDetach = without(instanceIds);
    }
    if (toDetach.length > 0) {
        fail(
            toDetach.map((p) => p.instanceId),
            new Error("too many refusals in one batch"),
            "DetachInstances",
            groupName,
        );
    }
}

export { DEADLINE_EXCEEDED, deadlineExceeded } from "./deadline";
