/**
 * Whether a group has a termination lifecycle hook: DescribeLifecycleHooks, one call per group,
 * asked only for groups the handler acts on, and remembered per container for a few minutes.
 */
import type { BatchContext } from "./batch-context";

export const deploymentOnlyModule = true;

/** Hooks change with a deployment, rarely within one: a storm asks once per group. */
export const HOOK_CACHE_TTL_MS = 5 * 60_000;

/** "unknown": the lookup was throttled or denied (a permissions boundary may deny it). */
export type TerminationHooks = "present" | "absent" | "unknown";

/** What a container remembers of each group's hooks, with when it learned it. */
export interface HookCache {
    get(groupName: string, nowMs: number): boolean | undefined;
    set(groupName: string, hasHook: boolean, nowMs: number): void;
}

/** A plain closure, not a class: Pulumi's serializer drops a class's field initializers. */
export function createHookCache(): HookCache {
    const answers = new Map<string, { hasHook: boolean; atMs: number }>();
    return {
        get(groupName, nowMs) {
            const answer = answers.get(groupName);
            return answer !== undefined && nowMs - answer.atMs < HOOK_CACHE_TTL_MS
                ? answer.hasHook
                : undefined;
        },
        set(groupName, hasHook, nowMs) {
            answers.set(groupName, { hasHook, atMs: nowMs });
        },
    };
}

/** The group's termination hooks, from the cache or one call; never throws. */
export async function lookUpTerminationHooks(
    groupName: string,
    context: BatchContext,
): Promise<TerminationHooks> {
    const { deps } = context;
    const nowMs = (deps.now ?? Date.now)();
    const cached = deps.hookCache?.get(groupName, nowMs);
    if (cached !== undefined) {
        return cached ? "present" : "absent";
    }
    try {
        const hasHook = await context.call((signal) =>
            deps.autoScaling.hasTerminationHook(groupName, signal),
        );
        deps.hookCache?.set(groupName, hasHook, nowMs);
        return hasHook ? "present" : "absent";
    } catch (error) {
        deps.log("WARN", {
            message: `DescribeLifecycleHooks failed for ${groupName}: its instances are detached, which skips any termination hook it has`,
            autoScalingGroupName: groupName,
            error:
                error instanceof Error
                    ? { name: error.name, message: error.message }
                    : String(error),
        });
        return "unknown";
    }
}
