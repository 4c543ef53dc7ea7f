import { AFTER_UNCERTAIN_ATTEMPT, type DetachActivity } from "./auto-scaling";
import {
    type BatchContext,
    type BatchOptions,
    type BatchResult,
    type DetachProgress,
    type HandlerDependencies,
    openBatch,
    settled,
} from "./batch-context";
import {
    describeError,
    hasLeft,
    placeInGroups,
    type WarningInput,
    type WarningOutcome,
} from "./batch-steps";
import {
    type CallFailure,
    classifyCallFailure,
    decrementSlots,
    type GroupSnapshot,
    keepFallbackReason,
    missingGroups,
    nextDetachChunk,
    type PendingDetach,
} from "./decision";
import { type CapacityOnInterruption, describeSelection, type GroupSelection } from "../contract";

export const deploymentOnlyModule = true;

// Groups detached from at once: their calls overlap, and the SDK's adaptive retry paces them all.
const CONCURRENT_GROUPS = 4;
// Bounds a tag lookup: 50 pages of 100 groups.
const MAX_LOOKUP_PAGES = 50;

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
    const { context, instanceIds, result } = openBatch(inputs, deps, options);
    if (instanceIds.length === 0) {
        return result([]);
    }
    const selection = deps.config.groups;
    let groups: GroupSnapshot[];
    try {
        groups = await lookUpGroups(selection, context);
    } catch (error) {
        context.fail(instanceIds, error, "DescribeAutoScalingGroups");
        return result([]);
    }
    const missing = reportMissingGroups(selection, groups, context);
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
export async function lookUpGroups(
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

/** Logs, at ERROR, the chosen groups the lookup did not find; their warnings are not ours. */
function reportMissingGroups(
    selection: GroupSelection,
    groups: readonly GroupSnapshot[],
    context: BatchContext,
): string[] {
    const missing = missingGroups(selection, groups);
    if (missing.length > 0) {
        context.deps.log("ERROR", {
            message: `${missing.join(", ")} not found in this account and Region: warnings for its instances are ignored as not ours. Fix the handler's group selection`,
            missingGroups: missing,
        });
    }
    return missing;
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

/** One DetachInstances call's instances, and the fields its outcomes and log records carry. */
export interface PlannedChunk {
    readonly instanceIds: readonly string[];
    readonly decrement: boolean;
    readonly common: {
        readonly autoScalingGroupName: string;
        readonly capacityOnInterruption: CapacityOnInterruption;
        readonly reason?: string;
    };
}

/**
 * Detaches one group's warned instances, 20 to a call, splitting decrement from keep on the
 * group's own sizes, and re-reading the group (one call) when AWS refuses an instance.
 */
export async function detachFromGroup(
    group: GroupSnapshot,
    instances: readonly PendingDetach[],
    context: BatchContext,
): Promise<void> {
    const progress: DetachProgress = {
        size: group,
        slots: decrementSlots(group),
        toDetach: [...instances],
    };
    // Each round detaches a chunk, or settles at least one instance, or lowers `slots`.
    const maxRounds = 3 * instances.length + 3;
    for (let round = 0; progress.toDetach.length > 0 && round < maxRounds; round++) {
        const chunk = planChunk(group.name, progress, context.deps.config.capacityOnInterruption);
        if (context.options.dryRun) {
            dryRunChunk(chunk, progress, context);
        } else {
            await detachChunk(chunk, progress, context);
        }
    }
    if (progress.toDetach.length > 0) {
        context.fail(
            progress.toDetach.map((p) => p.instanceId),
            new Error("too many refusals in one batch"),
            "DetachInstances",
            group.name,
        );
    }
}

/** The next call's instances: up to 20, decrementing only while the group is above MinSize. */
export function planChunk(
    groupName: string,
    progress: DetachProgress,
    capacityOnInterruption: CapacityOnInterruption,
): PlannedChunk {
    const { instanceIds, shouldDecrementDesiredCapacity: decrement } = nextDetachChunk(
        progress.toDetach,
        capacityOnInterruption,
        progress.slots,
    );
    const reason =
        capacityOnInterruption === "decrement" && !decrement
            ? keepFallbackReason(progress.size)
            : undefined;
    return {
        instanceIds,
        decrement,
        common: {
            autoScalingGroupName: groupName,
            capacityOnInterruption: decrement ? "decrement" : "keep",
            ...(reason === undefined ? {} : { reason }),
        },
    };
}

/** Settles a chunk as it would be detached, and counts its decrements, without a call. */
export function dryRunChunk(chunk: PlannedChunk, progress: DetachProgress, context: BatchContext) {
    for (const instanceId of chunk.instanceIds) {
        context.settle(instanceId, { action: "would-detach", instanceId, ...chunk.common });
    }
    context.deps.log("INFO", {
        message: `Dry run: would detach ${chunk.instanceIds.length} instance(s) from AutoScaling Group ${chunk.common.autoScalingGroupName}`,
        ...chunk.common,
        instanceIds: chunk.instanceIds,
    });
    departed(progress, chunk);
}

/** One DetachInstances call: its instances settle as detached, or the refusal is recovered. */
async function detachChunk(
    chunk: PlannedChunk,
    progress: DetachProgress,
    context: BatchContext,
): Promise<void> {
    const { instanceIds, decrement, common } = chunk;
    let activities: DetachActivity[];
    try {
        activities = await context.call((signal) =>
            context.deps.autoScaling.detachInstances(
                common.autoScalingGroupName,
                instanceIds,
                decrement,
                signal,
            ),
        );
    } catch (error) {
        await recoverFromRefusal(chunk, error, progress, context);
        return;
    }
    for (const instanceId of instanceIds) {
        context.settle(instanceId, {
            action: "detached",
            instanceId,
            ...common,
            ...context.latencyOf(instanceId),
        });
    }
    context.deps.log(common.reason === undefined ? "INFO" : "WARN", {
        message:
            instanceIds.length === 1
                ? `Instance ${instanceIds[0]} belongs to AutoScaling Group ${common.autoScalingGroupName}. Detaching instance...`
                : `${instanceIds.length} instances belong to AutoScaling Group ${common.autoScalingGroupName}. Detaching instances...`,
        ...common,
        instanceIds,
        activities,
    });
    departed(progress, chunk);
}

/**
 * A chunk left the group (or, in a dry run, would have): its decrements are spent and the
 * group's desired capacity follows, so that the next chunk's keep reason gives true figures.
 */
function departed(progress: DetachProgress, { instanceIds, decrement }: PlannedChunk): void {
    if (decrement) {
        progress.slots -= instanceIds.length;
        progress.size =
            progress.size === undefined
                ? undefined
                : {
                      ...progress.size,
                      desiredCapacity: progress.size.desiredCapacity - instanceIds.length,
                  };
    }
    settled(progress, instanceIds);
}

/**
 * After a refused DetachInstances: an instance refused is judged again on a fresh read of the
 * group, a MinSize refusal re-splits on AWS's figures, and anything else is left for a retry.
 */
export async function recoverFromRefusal(
    chunk: PlannedChunk,
    error: unknown,
    progress: DetachProgress,
    context: BatchContext,
): Promise<void> {
    const failure = classifyCallFailure(describeError(error));
    context.refusals += failure.kind === "retryable" ? 0 : 1;
    if (failure.kind === "instance-refused" && chunk.instanceIds.includes(failure.instanceId)) {
        await rejudgeOnFreshGroup(
            chunk,
            failure,
            isAfterUncertainAttempt(error),
            progress,
            context,
        );
    } else if (failure.kind === "below-min-size" && chunk.decrement) {
        // Another batch decremented first: re-split on AWS's own figures.
        progress.size = failure.size ?? progress.size;
        progress.slots = failure.size === undefined ? 0 : decrementSlots(failure.size);
    } else {
        context.fail(
            chunk.instanceIds,
            error,
            "DetachInstances",
            chunk.common.autoScalingGroupName,
        );
        settled(progress, chunk.instanceIds);
    }
}

/**
 * A concurrent batch, a duplicate, or our own attempt whose answer was lost got there first:
 * re-read the group in one call, and judge the rest of the chunk on it.
 */
async function rejudgeOnFreshGroup(
    chunk: PlannedChunk,
    failure: Extract<CallFailure, { kind: "instance-refused" }>,
    afterUncertainAttempt: boolean,
    progress: DetachProgress,
    context: BatchContext,
): Promise<void> {
    const groupName = chunk.common.autoScalingGroupName;
    const refused: WarningOutcome = {
        action: "ignored",
        instanceId: failure.instanceId,
        autoScalingGroupName: groupName,
        reason: failure.reason,
        detail: failure.message,
    };
    let fresh: GroupSnapshot | undefined;
    try {
        const { groups } = await context.call((signal) =>
            context.deps.autoScaling.describeGroups(
                { kind: "names", names: [groupName] },
                undefined,
                signal,
            ),
        );
        fresh = groups.find((g) => g.name === groupName);
    } catch (describeFailure) {
        context.settle(failure.instanceId, refused);
        settled(progress, [failure.instanceId]);
        const rest = progress.toDetach.map((p) => p.instanceId);
        context.fail(rest, describeFailure, "DescribeAutoScalingGroups", groupName);
        progress.toDetach = [];
        return;
    }
    // Only an attempt whose answer was lost can have detached them: then they are ours.
    const ours = afterUncertainAttempt ? chunk.instanceIds.filter((id) => hasLeft(fresh, id)) : [];
    for (const instanceId of ours) {
        context.settle(instanceId, {
            action: "detached",
            instanceId,
            ...chunk.common,
            reason: "an earlier attempt of the same call detached it; its answer was lost",
            ...context.latencyOf(instanceId),
        });
    }
    if (!ours.includes(failure.instanceId)) {
        context.settle(failure.instanceId, refused);
    }
    settled(progress, [...ours, failure.instanceId]);
    const { ignored, pending } = placeInGroups(
        progress.toDetach.map((p) => p.instanceId),
        fresh === undefined ? [] : [fresh],
        context.deps.config.groups,
    );
    for (const [instanceId, outcome] of ignored) {
        context.settle(instanceId, outcome);
    }
    progress.toDetach = pending.get(groupName) ?? [];
    if (fresh !== undefined) {
        progress.size = fresh;
        progress.slots = decrementSlots(fresh);
    }
}

/** A DetachInstances refusal after an attempt of the same call whose outcome was unknown. */
function isAfterUncertainAttempt(error: unknown): boolean {
    return (
        typeof error === "object" &&
        error !== null &&
        (error as Record<string, unknown>)[AFTER_UNCERTAIN_ATTEMPT] === true
    );
}
