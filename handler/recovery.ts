/**
 * After AWS refuses a call: an instance refused, or a refusal we cannot read, is judged again on
 * a fresh read of the group; a MinSize refusal lowers the decrements; anything else is left for
 * a retry. Every path changes the plan or settles the instances: no call is ever repeated as is.
 */
import { AFTER_UNCERTAIN_ATTEMPT } from "./auto-scaling";
import { type BatchContext, dropSettled, type GroupProgress } from "./batch-context";
import { describeError, hasLeft, placeInGroups, type WarningOutcome } from "./batch-steps";
import { ACTED, type CallKind, type GroupMarks, type PlannedCall, settleActed } from "./calls";
import { decrementSlots, type GroupSnapshot } from "./decision";
import { type CallFailure, classifyCallFailure } from "./refusals";
import { type IgnoreReason } from "../contract";

export const deploymentOnlyModule = true;

/**
 * After a refused call: an instance refused, or a refusal we cannot read, is judged again on a
 * fresh read of the group; a MinSize refusal lowers the decrements on AWS's figures; anything
 * else is left for a retry. Every path changes the plan or settles the instances.
 */
export async function recoverFromRefusal(
    kind: CallKind,
    call: PlannedCall,
    error: unknown,
    progress: GroupProgress,
    context: BatchContext,
    marks: GroupMarks,
): Promise<void> {
    const failure = classifyCallFailure(describeError(error));
    context.refusals += failure.kind === "retryable" ? 0 : 1;
    const refusedHere =
        failure.kind === "instance-refused" && call.instanceIds.includes(failure.instanceId);
    if (refusedHere || failure.kind === "unknown-refusal") {
        await rejudgeOnFreshGroup(
            kind,
            call,
            failure,
            isAfterUncertainAttempt(error),
            progress,
            context,
            marks,
        );
        return;
    }
    if (failure.kind === "below-min-size" && call.decrement) {
        // Another batch decremented first, or AWS counts units we cannot see: fewer decrements.
        progress.size = failure.size ?? progress.size;
        const slots = failure.size === undefined ? 0 : decrementSlots(failure.size);
        progress.slots = kind === "terminate" ? 0 : Math.max(0, Math.min(slots, call.units - 1));
        return;
    }
    context.fail(call.instanceIds, error, ACTED[kind].api, call.common.autoScalingGroupName);
    dropSettled(progress, call.instanceIds);
}

/**
 * A concurrent batch, a duplicate, the group itself, or our own attempt whose answer was lost got
 * there first: re-read the group in one call, and judge the call's instances again on it.
 */
async function rejudgeOnFreshGroup(
    kind: CallKind,
    call: PlannedCall,
    failure: Exclude<CallFailure, { kind: "below-min-size" | "retryable" }>,
    afterUncertainAttempt: boolean,
    progress: GroupProgress,
    context: BatchContext,
    marks: GroupMarks,
): Promise<void> {
    const groupName = call.common.autoScalingGroupName;
    const refusedId = failure.kind === "instance-refused" ? failure.instanceId : undefined;
    const refused = (instanceId: string, reason: IgnoreReason, detail: string): WarningOutcome => ({
        action: "ignored",
        instanceId,
        autoScalingGroupName: groupName,
        reason,
        detail,
    });
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
        if (failure.kind === "instance-refused" && refusedId !== undefined) {
            context.settle(refusedId, refused(refusedId, failure.reason, failure.message));
        }
        const rest = [...call.instanceIds, ...progress.toDetach.map((p) => p.instanceId)].filter(
            (id, index, all) => id !== refusedId && all.indexOf(id) === index,
        );
        context.fail(rest, describeFailure, "DescribeAutoScalingGroups", groupName);
        progress.toDetach = [];
        return;
    }
    // Only an attempt whose answer was lost can have moved them: then they are ours.
    const ours = afterUncertainAttempt ? call.instanceIds.filter((id) => hasLeft(fresh, id)) : [];
    settleActed(
        ACTED[kind].real,
        { ...call, instanceIds: ours },
        context,
        marks,
        "an earlier attempt of the same call acted; its answer was lost",
    );
    if (
        refusedId !== undefined &&
        failure.kind === "instance-refused" &&
        !ours.includes(refusedId)
    ) {
        context.settle(refusedId, refused(refusedId, failure.reason, failure.message));
    }
    const done = new Set([...ours, ...(refusedId === undefined ? [] : [refusedId])]);
    const toJudge = [...call.instanceIds, ...progress.toDetach.map((p) => p.instanceId)].filter(
        (id, index, all) => !done.has(id) && all.indexOf(id) === index,
    );
    const warnings = toJudge.flatMap((id) => {
        const warning = context.warningOf(id);
        return warning === undefined ? [] : [warning];
    });
    const now = context.deps.now ?? Date.now;
    const { settled, toAct } = placeInGroups(
        warnings,
        fresh === undefined ? [] : [fresh],
        context.deps.config.groups,
        context.deps.config,
        now(),
    );
    for (const [instanceId, outcome] of settled) {
        context.settle(instanceId, outcome);
    }
    const again = toAct.get(groupName) ?? [];
    // The instances the call named are judged again, but the same call never goes out twice.
    progress.toDetach = again.map((a) => ({
        ...a,
        safetyNet: a.safetyNet || marks.safetyNet.has(a.instanceId),
    }));
    if (fresh !== undefined) {
        progress.size = fresh;
        progress.slots = decrementSlots(fresh);
    }
}

/** A refusal after an attempt of the same call whose outcome was unknown. */
function isAfterUncertainAttempt(error: unknown): boolean {
    return (
        typeof error === "object" &&
        error !== null &&
        (error as Record<string, unknown>)[AFTER_UNCERTAIN_ATTEMPT] === true
    );
}
