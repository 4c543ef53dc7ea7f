import {
    type BatchOptions,
    type BatchContext,
    type BatchResult,
    type HandlerDependencies,
    openBatch,
} from "./batch-context";
import { placeInGroups, stillPending, type WarningInput } from "./batch-steps";
import { type GroupSnapshot, missingGroups } from "./decision";
import { actOnGroup } from "./group-actions";
import { describeSelection, type GroupSelection } from "../contract";

export const deploymentOnlyModule = true;

// Groups acted on at once: their calls overlap, and the SDK's adaptive retry paces them all.
const CONCURRENT_GROUPS = 4;
// Bounds a tag lookup: 50 pages of 100 groups.
const MAX_LOOKUP_PAGES = 50;

/**
 * Takes the instances named by a batch of warnings out of service, working with each group's
 * own machinery: one DescribeAutoScalingGroups for the whole batch, then per group what it needs.
 * - A Spot warning on a group with Capacity Rebalancing (keep) is left to the group, and
 *   re-checked after a grace: the safety net acts if the instance is still InService.
 * - A group with a termination hook is terminated through the group, so that the hook runs.
 * - Any other group is detached, 20 instances to a call.
 * - A launching instance waits; Standby and Retained ones cost no call.
 * - Never touches an instance that is not a member of a chosen group, never takes a group below
 *   its MinSize, and never repeats a refused call as it was.
 * - Never throws: what a retry could still save comes back as "failed" or "waiting".
 */
export async function handleWarnings(
    inputs: readonly WarningInput[],
    deps: HandlerDependencies,
    options: BatchOptions,
): Promise<BatchResult> {
    const { context, warnings, stale, result } = openBatch(inputs, deps, options);
    if (warnings.length === 0 && stale.length === 0) {
        return result([]);
    }
    const selection = deps.config.groups;
    let groups: GroupSnapshot[];
    try {
        groups = await lookUpGroups(selection, context);
    } catch (error) {
        context.fail(
            warnings.map((w) => w.instanceId),
            error,
            "DescribeAutoScalingGroups",
        );
        return result([]);
    }
    const missing = reportMissingGroups(selection, groups, context);
    for (const warning of stale) {
        const outcome = stillPending(warning, groups, selection);
        if (outcome !== undefined) {
            context.settleKey(warning.key, outcome);
        }
    }
    const now = deps.now ?? Date.now;
    const { settled, toAct } = placeInGroups(warnings, groups, selection, deps.config, now());
    for (const [instanceId, outcome] of settled) {
        context.settle(instanceId, outcome);
    }
    const byName = new Map(groups.map((g) => [g.name, g]));
    await forEachConcurrently([...toAct], CONCURRENT_GROUPS, ([name, instances]) =>
        actOnGroup(byName.get(name) as GroupSnapshot, instances, context),
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
export async function forEachConcurrently<T>(
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
