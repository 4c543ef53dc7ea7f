/**
 * What a container remembers of whether each group has a termination lifecycle hook: one
 * DescribeLifecycleHooks per group, kept for a few minutes across invocations.
 */
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
