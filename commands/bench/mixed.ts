/**
 * The mixed storm of `npm run bench`, the pure parts: which groups have Capacity Rebalancing, a
 * termination hook or neither, how long a reacting group takes, which kind of group each Auto
 * Scaling request served, and the per-kind figures and goals. Its table is mixed-table.ts; running
 * it against the emulator is mixed-run.ts.
 */
import type { ObservedRequest } from "../../emulator/fault-proxy";
import type { GroupAction } from "../../emulator/group-side";
import { OUT_OF_SERVICE_DEADLINE_MS, SAFETY_NET_GRACE_MS } from "../../contract";
import { percentile, sum } from "./stats";

export type GroupKind = "capacity-rebalancing" | "termination-hook" | "plain";
export const GROUP_KINDS: readonly GroupKind[] = [
    "capacity-rebalancing",
    "termination-hook",
    "plain",
];

/** "reacts": Capacity Rebalancing acts on the warning; "silent": it never does (the safety net). */
export type MixedConfig = "reacts" | "silent";
export const MIXED_CONFIGS: readonly MixedConfig[] = ["reacts", "silent"];

/** 10 groups of 100, as the many-groups storm: the same seed, so the figures compare. */
export const MIXED_DEFAULTS = { groups: 10, size: 100 } as const;

/**
 * Judged per kind of group at 10 requests/s: every warned instance out of service within the
 * contract's 60 s of its warning, and at most 0.08 Auto Scaling calls per instance beyond the one
 * TerminateInstanceInAutoScalingGroup each terminated instance needs (it takes one instance).
 */
export const MIXED_GOALS = {
    budget: 10,
    outOfServiceMs: OUT_OF_SERVICE_DEADLINE_MS,
    callsPerInstance: 0.08,
} as const;

/**
 * How long a group with Capacity Rebalancing takes to act on the warning. AWS documents no
 * figure; we assume 2 to 10 s (seeded uniform per instance): EventBridge tells the group and the
 * handler at once, and 10 s stays well inside the handler's grace.
 */
export const REACTION_DELAY_MS = { min: 2_000, max: 10_000 } as const;
if (REACTION_DELAY_MS.max >= SAFETY_NET_GRACE_MS) {
    throw new Error("a reacting group must act inside the safety net's grace");
}

/**
 * Each group's kind, in order: Capacity Rebalancing, hook, plain, again and again, so that 10
 * groups are 4 with Capacity Rebalancing (AWS's advice for Spot groups, so the most common), 3
 * with a hook (enough to spend the 20-a-batch termination budget more than once) and 3 plain.
 */
export function groupKinds(groups: number): GroupKind[] {
    return Array.from({ length: groups }, (_, i) => GROUP_KINDS[i % GROUP_KINDS.length]);
}

/** A reaction delay per instance in REACTION_DELAY_MS, whole ms, the same every run (mulberry32). */
export function reactionDelays(
    instanceIds: readonly string[],
    seed = 2_020_1105,
): Map<string, number> {
    let state = seed;
    const random = (): number => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = Math.imul(state ^ (state >>> 15), state | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
    const { min, max } = REACTION_DELAY_MS;
    return new Map(instanceIds.map((id) => [id, min + Math.floor(random() * (max - min + 1))]));
}

/**
 * The group a request serves: named by AutoScalingGroupName (DescribeLifecycleHooks,
 * DetachInstances), by its instance (TerminateInstanceInAutoScalingGroup), or as the only name
 * of a DescribeAutoScalingGroups (a re-read after a refusal); undefined for a batch's lookup of
 * every group, which the kinds share.
 */
export function groupServed(
    request: Pick<ObservedRequest, "parameters">,
    groupOfInstance: ReadonlyMap<string, string>,
): string | undefined {
    const p = request.parameters;
    if (p.AutoScalingGroupName !== undefined) {
        return p.AutoScalingGroupName;
    }
    if (p.InstanceId !== undefined) {
        return groupOfInstance.get(p.InstanceId);
    }
    const only = p["AutoScalingGroupNames.member.1"];
    return only !== undefined && p["AutoScalingGroupNames.member.2"] === undefined
        ? only
        : undefined;
}

/**
 * Each kind's share of the batches' shared lookups: a batch makes one, so it is split by the
 * instances of each kind the batch settled, per batch ("Batch of" log entries), then averaged.
 * Undefined when no batch named a protected group.
 */
export function batchShares(
    logLines: readonly string[],
    kindOf: ReadonlyMap<string, GroupKind>,
): Record<GroupKind, number> | undefined {
    const totals = noKinds();
    let batches = 0;
    for (const line of logLines) {
        let entry: { message?: unknown; groups?: Record<string, Record<string, number>> };
        try {
            entry = JSON.parse(line) as typeof entry;
        } catch {
            continue; // not a JSON log line
        }
        if (typeof entry.message !== "string" || !entry.message.startsWith("Batch of")) {
            continue;
        }
        const counts = noKinds();
        for (const [name, outcomes] of Object.entries(entry.groups ?? {})) {
            const kind = kindOf.get(name);
            if (kind !== undefined) {
                counts[kind] += sum(outcomes);
            }
        }
        const total = sum(counts);
        if (total > 0) {
            batches++;
            GROUP_KINDS.forEach((k) => (totals[k] += counts[k] / total));
        }
    }
    return batches === 0 ? undefined : mapKinds((k) => totals[k] / batches);
}

/** What the mixed storm saw, from the emulator, the budget proxy and the handler's log. */
export interface MixedObservation {
    /** Each protected group's kind, by name. */
    readonly kindOf: ReadonlyMap<string, GroupKind>;
    /** Each warned instance's group. */
    readonly groupOf: ReadonlyMap<string, string>;
    /** Epoch ms of each warned instance's first warning, as its `time` says (whole seconds). */
    readonly warnedAtMs: ReadonlyMap<string, number>;
    /** Who took each instance out of service (the emulator's group actions). */
    readonly actions: readonly Pick<GroupAction, "instanceId" | "by">[];
    /** Epoch ms at which each instance first left service. */
    readonly outOfServiceAtMs: Readonly<Record<string, number>>;
    /** Every Auto Scaling request that reached the budget. */
    readonly requests: readonly Pick<ObservedRequest, "action" | "parameters" | "outcome">[];
    readonly logLines: readonly string[];
}

/** One kind's figures ("all" for the whole storm). */
export interface KindResult {
    readonly kind: GroupKind | "all";
    readonly groups: number;
    readonly warned: number;
    /** Requests that named this kind's groups or instances, per action. */
    readonly served: Record<string, number>;
    readonly throttled: Record<string, number>;
    /** Its share of the batches' lookups of every group (served and throttled). */
    readonly sharedCalls: number;
    /** Served and throttled, its share of the lookups included, per warned instance. */
    readonly callsPerInstance: number;
    /** The same, less the one TerminateInstanceInAutoScalingGroup each terminated instance needs. */
    readonly beyondTerminationsPerInstance: number;
    readonly outOfService: {
        readonly byGroup: number;
        readonly terminated: number;
        readonly detached: number;
    };
    /** Warned instances never out of service. */
    readonly left: number;
    /** From the warning's `time` to out of service. */
    readonly timeToOutMs: {
        readonly p50: number;
        readonly p95: number;
        readonly max: number;
    } | null;
    readonly goals: readonly MixedGoal[];
}

export interface MixedGoal {
    readonly key: "outOfService" | "calls" | "deadLettered" | "neighbour";
    readonly name: string;
    readonly met: boolean;
}

/** Per kind, then for the whole storm, every figure judged against MIXED_GOALS. */
export function kindResults(o: MixedObservation, budget: number): KindResult[] {
    const split = batchShares(o.logLines, o.kindOf);
    const warnedOfKind = mapKinds(
        (k) => [...o.groupOf.values()].filter((g) => o.kindOf.get(g) === k).length,
    );
    const warnedTotal = sum(warnedOfKind);
    const shares =
        split ?? mapKinds((k) => (warnedTotal === 0 ? 0 : warnedOfKind[k] / warnedTotal));
    const own = mapKinds(() => ({
        served: {} as Record<string, number>,
        throttled: {} as Record<string, number>,
    }));
    let shared = 0;
    for (const request of o.requests) {
        const group = groupServed(request, o.groupOf);
        const kind = group === undefined ? undefined : o.kindOf.get(group);
        if (kind === undefined) {
            shared += request.outcome === "faulted" ? 0 : 1;
        } else if (request.outcome !== "faulted") {
            const counts = own[kind][request.outcome];
            counts[request.action] = (counts[request.action] ?? 0) + 1;
        }
    }
    const byInstance = new Map<string, GroupAction["by"]>();
    for (const action of o.actions) {
        if (!byInstance.has(action.instanceId)) {
            byInstance.set(action.instanceId, action.by);
        }
    }
    const figures = (kind: GroupKind | "all"): KindResult => {
        const ids = [...o.groupOf].filter(([, g]) => kind === "all" || o.kindOf.get(g) === kind);
        const kinds = kind === "all" ? GROUP_KINDS : [kind];
        const served = addUp(kinds.map((k) => own[k].served));
        const throttled = addUp(kinds.map((k) => own[k].throttled));
        const sharedCalls = kind === "all" ? shared : shared * shares[kind];
        const calls = sum(served) + sum(throttled) + sharedCalls;
        const by = (what: GroupAction["by"]) =>
            ids.filter(([id]) => byInstance.get(id) === what).length;
        const outOfService = {
            byGroup: by("CapacityRebalancing"),
            terminated: by("TerminateInstanceInAutoScalingGroup"),
            detached: by("DetachInstances"),
        };
        const times = ids.flatMap(([id]) => {
            const [out, warned] = [o.outOfServiceAtMs[id], o.warnedAtMs.get(id)];
            return out === undefined || warned === undefined ? [] : [out - warned];
        });
        const sorted = [...times].sort((a, b) => a - b);
        const warned = ids.length;
        const perInstance = (n: number) => (warned === 0 ? 0 : n / warned);
        const result: Omit<KindResult, "goals"> = {
            kind,
            groups: new Set(ids.map(([, g]) => g)).size,
            warned,
            served,
            throttled,
            sharedCalls,
            callsPerInstance: perInstance(calls),
            beyondTerminationsPerInstance: perInstance(calls - outOfService.terminated),
            outOfService,
            left: ids.filter(([id]) => o.outOfServiceAtMs[id] === undefined).length,
            timeToOutMs:
                sorted.length === 0
                    ? null
                    : {
                          p50: percentile(sorted, 50),
                          p95: percentile(sorted, 95),
                          max: sorted[sorted.length - 1],
                      },
        };
        return { ...result, goals: judgeKindGoals(result, budget) };
    };
    return [...GROUP_KINDS.map(figures), figures("all")];
}

/** Every instance out within 60 s of its warning; at most 0.08 calls each beyond terminations. */
export function judgeKindGoals(r: Omit<KindResult, "goals">, budget: number): MixedGoal[] {
    const { outOfServiceMs, callsPerInstance } = MIXED_GOALS;
    const at = budget === MIXED_GOALS.budget ? "" : ` (set at ${MIXED_GOALS.budget} req/s)`;
    const goals: MixedGoal[] = [
        {
            key: "outOfService",
            name: `every instance out of service ≤ ${outOfServiceMs / 1000} s after its warning`,
            met: r.left === 0 && (r.timeToOutMs?.max ?? Infinity) <= outOfServiceMs,
        },
        {
            key: "calls",
            name: `≤ ${callsPerInstance} calls per instance beyond one per termination${at}`,
            met: r.beyondTerminationsPerInstance <= callsPerInstance,
        },
    ];
    return goals;
}

/** What the handler's "Batch of" entries add up to: instances the safety net took, hooks skipped. */
export function handlerTotals(logLines: readonly string[]): {
    safetyNet: number;
    hooksSkipped: number;
    hooksUnknown: number;
} {
    const totals = { safetyNet: 0, hooksSkipped: 0, hooksUnknown: 0 };
    for (const line of logLines) {
        let entry: Record<string, unknown>;
        try {
            entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
            continue; // not a JSON log line
        }
        if (typeof entry.message === "string" && entry.message.startsWith("Batch of")) {
            for (const key of Object.keys(totals) as (keyof typeof totals)[]) {
                totals[key] += typeof entry[key] === "number" ? entry[key] : 0;
            }
        }
    }
    return totals;
}

function noKinds(): Record<GroupKind, number> {
    return mapKinds(() => 0);
}

function mapKinds<T>(value: (kind: GroupKind) => T): Record<GroupKind, T> {
    return Object.fromEntries(GROUP_KINDS.map((k) => [k, value(k)])) as Record<GroupKind, T>;
}

/** Counts per action, added up. */
function addUp(counts: readonly Record<string, number>[]): Record<string, number> {
    const total: Record<string, number> = {};
    for (const c of counts) {
        for (const [action, n] of Object.entries(c)) {
            total[action] = (total[action] ?? 0) + n;
        }
    }
    return total;
}
