/**
 * The mixed storm: the many-groups storm's events, through one handler by tag with
 * interruptionAction auto, to groups given Capacity Rebalancing, a termination hook or neither;
 * each Capacity Rebalancing group hears of its warnings too. Judged per kind of group from the
 * emulator's record of who took what out of service, and laid out one table per run.
 */
import { performance } from "node:perf_hooks";
import {
    AutoScalingClient,
    PutLifecycleHookCommand,
    UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { OUT_OF_SERVICE_DEADLINE_MS, SAFETY_NET_GRACE_MS } from "../../contract";
import { type ObservedRequest } from "../../emulator/fault-proxy";
import { FLEET_TAG, type GroupFleet } from "../../emulator/fleet";
import { describeGroupActions, type GroupAction, sendSpotWarning } from "../../emulator/group-side";
import { clientConfigFor, describeGroupState } from "../../emulator/group-state";
import type { Emulator } from "../../emulator/server";
import { duration, type Style } from "../terminal";
import { every, pollUntil } from "./departures";
import type { MixedConfig } from "./flags";
import { junkCount, seedFleetStorm, stormEvent, type StormMix, warnedBy } from "./fleet";
import {
    buildQueuedHandler,
    type Components,
    type HandlerArgs,
    runQueued,
    withBudget,
} from "./pipelines";
import {
    addUp,
    atBudget,
    count,
    figuresTable,
    type Goal,
    logEntries,
    markGoal,
    percentile,
    perAction,
    type Row,
    sameState,
    seededRandom,
    STORM_SEED,
    sum,
    verdict,
} from "./report";

export type GroupKind = "capacity-rebalancing" | "termination-hook" | "plain";
export const GROUP_KINDS: readonly GroupKind[] = [
    "capacity-rebalancing",
    "termination-hook",
    "plain",
];

/**
 * Judged per kind of group: every warned instance out of service within the contract's 60 s of
 * its warning, and at most 0.08 Auto Scaling calls per instance beyond the one
 * TerminateInstanceInAutoScalingGroup each terminated instance needs (it takes one instance).
 */
export const MIXED_GOALS = {
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

/** A reaction delay per instance in REACTION_DELAY_MS, whole ms, the same every run. */
export function reactionDelays(instanceIds: readonly string[]): Map<string, number> {
    const random = seededRandom(STORM_SEED);
    const { min, max } = REACTION_DELAY_MS;
    return new Map(instanceIds.map((id) => [id, min + Math.floor(random() * (max - min + 1))]));
}

function mapKinds<T>(value: (kind: GroupKind) => T): Record<GroupKind, T> {
    return Object.fromEntries(GROUP_KINDS.map((k) => [k, value(k)])) as Record<GroupKind, T>;
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
    return p["AutoScalingGroupNames.member.2"] === undefined ? only : undefined;
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
    const totals = mapKinds(() => 0);
    let batches = 0;
    for (const entry of logEntries(logLines, true)) {
        const counts = mapKinds(() => 0);
        const groups = (entry.groups ?? {}) as Record<string, Record<string, number>>;
        for (const [name, outcomes] of Object.entries(groups)) {
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
    readonly goals: readonly Goal[];
}

/** Per kind, then for the whole storm, every figure judged against MIXED_GOALS. */
export function kindResults(o: MixedObservation, budget: number): KindResult[] {
    const warnedOfKind = mapKinds(
        (k) => [...o.groupOf.values()].filter((g) => o.kindOf.get(g) === k).length,
    );
    const warnedTotal = sum(warnedOfKind);
    const shares =
        batchShares(o.logLines, o.kindOf) ??
        mapKinds((k) => (warnedTotal === 0 ? 0 : warnedOfKind[k] / warnedTotal));
    const own = mapKinds(() => ({
        served: {} as Record<string, number>,
        throttled: {} as Record<string, number>,
    }));
    let shared = 0;
    for (const request of o.requests.filter((r) => r.outcome !== "faulted")) {
        const group = groupServed(request, o.groupOf);
        const kind = group === undefined ? undefined : o.kindOf.get(group);
        if (kind === undefined) {
            shared++;
        } else if (request.outcome !== "faulted") {
            const counts = own[kind][request.outcome];
            counts[request.action] = (counts[request.action] ?? 0) + 1;
        }
    }
    const byInstance = new Map<string, GroupAction["by"]>();
    for (const action of o.actions.filter((a) => !byInstance.has(a.instanceId))) {
        byInstance.set(action.instanceId, action.by);
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
        const sorted = ids
            .flatMap(([id]) => {
                const [out, warned] = [o.outOfServiceAtMs[id], o.warnedAtMs.get(id)];
                return out === undefined || warned === undefined ? [] : [out - warned];
            })
            .sort((a, b) => a - b);
        const perInstance = (n: number) => (ids.length === 0 ? 0 : n / ids.length);
        const result: Omit<KindResult, "goals"> = {
            kind,
            groups: new Set(ids.map(([, g]) => g)).size,
            warned: ids.length,
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
export function judgeKindGoals(r: Omit<KindResult, "goals">, budget: number): Goal[] {
    const { outOfServiceMs, callsPerInstance } = MIXED_GOALS;
    return [
        {
            key: "outOfService",
            name: `every instance out of service ≤ ${outOfServiceMs / 1000} s after its warning`,
            met: r.left === 0 && (r.timeToOutMs?.max ?? Infinity) <= outOfServiceMs,
        },
        {
            key: "calls",
            name: `≤ ${callsPerInstance} calls per instance beyond one per termination${atBudget(budget)}`,
            met: r.beyondTerminationsPerInstance <= callsPerInstance,
        },
    ];
}

/** What the handler's "Batch of" entries add up to: instances the safety net took, hooks skipped. */
export function handlerTotals(logLines: readonly string[]) {
    const entries = logEntries(logLines, true);
    const total = (key: string) => entries.reduce((n, entry) => n + count(entry, key), 0);
    return {
        safetyNet: total("safetyNet"),
        hooksSkipped: total("hooksSkipped"),
        hooksUnknown: total("hooksUnknown"),
    };
}

/** What one configuration did with the mixed storm. */
export interface MixedResult extends ReturnType<typeof handlerTotals> {
    readonly config: MixedConfig;
    /** Per kind of group, then "all". */
    readonly kinds: readonly KindResult[];
    /** Events put on the bus, and how long putting them took. */
    readonly events: number;
    readonly sentMs: number;
    readonly invocations: number;
    /** Records the handler received, redeliveries (re-checks) included. */
    readonly records: number;
    /** Records returned in batchItemFailures: waiting for a re-check, or left for a retry. */
    readonly returned: number;
    readonly deadLettered: number;
    readonly stillQueued: number;
    readonly neighbourUntouched: boolean;
    readonly seedMs: number;
    readonly wallMs: number;
    /** The storm's own: nothing dead-lettered, the neighbour untouched. */
    readonly goals: readonly Goal[];
}

export interface MixedReport {
    readonly groups: number;
    readonly size: number;
    /** How many groups of each kind. */
    readonly kinds: Readonly<Record<GroupKind, number>>;
    readonly budget: number;
    readonly mix: StormMix;
    readonly reactionDelayMs: typeof REACTION_DELAY_MS;
    readonly results: readonly MixedResult[];
}

/** Nothing dead-lettered and the neighbour group untouched. */
export function judgeMixedStorm(
    r: Pick<MixedResult, "deadLettered" | "neighbourUntouched">,
): Goal[] {
    return [
        { key: "deadLettered", name: "0 dead-lettered", met: r.deadLettered === 0 },
        { key: "neighbour", name: "neighbour untouched", met: r.neighbourUntouched },
    ];
}

/** Every goal of the run met: each kind's, the whole storm's, and the storm's own. */
export function mixedGoalsMet(r: MixedResult): boolean {
    return [...r.goals, ...r.kinds.flatMap((k) => k.goals)].every((g) => g.met);
}

/** The one handler, by tag, with the default interruptionAction (auto); remove its archive after. */
export function buildMixedTarget(components: Components, queueArgs: HandlerArgs) {
    return buildQueuedHandler(components, "bench-mixed", {
        autoScalingGroupTag: { ...FLEET_TAG },
        ...queueArgs,
    });
}

/** Runs the storm once per configuration, each from a fresh seed and budget. */
export async function runMixedStorm(
    emulator: Emulator,
    target: Awaited<ReturnType<typeof buildMixedTarget>>,
    configs: readonly MixedConfig[],
    options: { budget: number; groups: number; size: number },
    progress: (message: string) => void,
): Promise<MixedReport> {
    const results: MixedResult[] = [];
    let mix: StormMix | undefined;
    for (const config of configs) {
        const wallStart = performance.now();
        await emulator.reset();
        progress(`  ${config}: seeding ${options.groups} groups of ${options.size}...`);
        const seeded = await seedFleetStorm(emulator, {
            groups: options.groups,
            size: options.size,
        });
        const { fleet, ours, entries, watched } = seeded;
        const kindOf = await applyKinds(emulator, fleet);
        const seedMs = performance.now() - wallStart;
        mix = seeded.mix;
        const groupOf = new Map(
            fleet.instanceIds.flatMap((ids, g) =>
                ids.map((id) => [id, fleet.groupNames[g]] as const),
            ),
        );
        const rebalancing = new Set(
            ours.filter((id) => kindOf.get(groupOf.get(id) ?? "") === "capacity-rebalancing"),
        );
        const delays = reactionDelays([...rebalancing]);
        const requests: ObservedRequest[] = [];
        const budget = {
            budget: { requestsPerSecond: options.budget },
            onRequest: (r: ObservedRequest) => requests.push(r),
        };
        const warnedAtMs = new Map<string, number>();
        const run = await withBudget(emulator, budget, async (proxy) => {
            progress(`  ${config}: ${entries.length} events...`);
            return runQueued(emulator, [target.member], target.settings, proxy, {
                entries,
                instanceOf: warnedBy,
                put: async (chunk, put) => {
                    const now = new Date();
                    // The group hears of EC2's warning as the handler's rule does: at once.
                    const told = chunk.flatMap((e) => {
                        if (e.kind !== "warning" || warnedAtMs.has(e.instanceId)) {
                            return [];
                        }
                        warnedAtMs.set(e.instanceId, Math.floor(now.getTime() / 1000) * 1000);
                        const reactAfterMs = delays.get(e.instanceId) ?? 0;
                        const groupReacts = config === "reacts";
                        return rebalancing.has(e.instanceId)
                            ? [
                                  sendSpotWarning(emulator, e.instanceId, {
                                      reactAfterMs,
                                      groupReacts,
                                  }),
                              ]
                            : [];
                    });
                    await Promise.all([put(chunk.map((e) => stormEvent(e, now))), ...told]);
                },
                watch: (_startedAt, deadline) => {
                    let out = 0;
                    const tick = every(
                        5000,
                        (elapsed) =>
                            `  ${config}: ${elapsed}, ${out}/${ours.length} out of service, ${requests.length} Auto Scaling calls`,
                        progress,
                    );
                    // Out of service is read from the emulator's record once the events are put.
                    const look = async () => {
                        const { outOfServiceAtMs } = await describeGroupActions(emulator);
                        out = ours.filter((id) => outOfServiceAtMs[id] !== undefined).length;
                        tick();
                        return out === ours.length;
                    };
                    return { done: () => pollUntil(deadline, look), stop: async () => {} };
                },
            });
        });
        const { actions, outOfServiceAtMs } = await describeGroupActions(emulator);
        const storm = {
            deadLettered: run.deadLettered,
            neighbourUntouched: sameState(
                watched.neighbourBefore,
                await describeGroupState(emulator, watched.neighbourName),
            ),
        };
        const observed = {
            kindOf,
            groupOf,
            warnedAtMs,
            actions,
            outOfServiceAtMs,
            requests,
            logLines: run.logLines,
        };
        results.push({
            config,
            kinds: kindResults(observed, options.budget),
            events: entries.length,
            sentMs: run.sentMs,
            invocations: run.batchSizes.length,
            records: run.records,
            returned: run.failed,
            ...handlerTotals(run.logLines),
            ...storm,
            stillQueued: run.stillQueued,
            seedMs,
            wallMs: performance.now() - wallStart,
            goals: judgeMixedStorm(storm),
        });
    }
    if (mix === undefined) {
        throw new RangeError("runMixedStorm needs at least one configuration");
    }
    const kinds = groupKinds(options.groups);
    return {
        ...options,
        kinds: mapKinds((k) => kinds.filter((x) => x === k).length),
        mix,
        reactionDelayMs: REACTION_DELAY_MS,
        results,
    };
}

/** Gives each group its kind: Capacity Rebalancing on, or a termination hook, or neither. */
async function applyKinds(emulator: Emulator, fleet: GroupFleet): Promise<Map<string, GroupKind>> {
    const kinds = groupKinds(fleet.groupNames.length);
    const autoScaling = new AutoScalingClient(clientConfigFor(emulator));
    try {
        for (const [index, name] of fleet.groupNames.entries()) {
            if (kinds[index] === "capacity-rebalancing") {
                await autoScaling.send(
                    new UpdateAutoScalingGroupCommand({
                        AutoScalingGroupName: name,
                        CapacityRebalance: true,
                    }),
                );
            } else if (kinds[index] === "termination-hook") {
                await autoScaling.send(
                    new PutLifecycleHookCommand({
                        AutoScalingGroupName: name,
                        LifecycleHookName: "drain",
                        LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
                        HeartbeatTimeout: 300,
                    }),
                );
            }
        }
    } finally {
        autoScaling.destroy();
    }
    return new Map(fleet.groupNames.map((name, index) => [name, kinds[index]]));
}

const HEADINGS: Record<KindResult["kind"], string> = {
    "capacity-rebalancing": "CAPACITY REBALANCING",
    "termination-hook": "TERMINATION HOOK",
    plain: "PLAIN",
    all: "ALL",
};

/** Who took a kind's instances out of service, in words. */
export function outOfServiceBy(r: KindResult): string {
    const { byGroup, terminated, detached } = r.outOfService;
    const parts: [number, string][] = [
        [byGroup, "the group"],
        [terminated, "terminated"],
        [detached, "detached"],
    ];
    return (
        parts
            .filter(([n]) => n > 0)
            .map(([n, words]) => `${words} ${n}`)
            .join(", ") || "none"
    );
}

/** One run: the kinds side by side, figures down; a judged figure is marked met or missed. */
export function mixedTable(result: MixedResult, style: Style): string {
    const mark = (r: KindResult, key: string, text: string) => markGoal(r.goals, key, text, style);
    const rows: Row<KindResult>[] = [
        ["groups (instances warned)", "", (r) => `${r.groups} (${r.warned})`],
        [
            "to out of service p50 / p95 / max",
            `≤ ${MIXED_GOALS.outOfServiceMs / 1000} s`,
            (r) => {
                const t = r.timeToOutMs;
                const text = t === null ? "—" : [t.p50, t.p95, t.max].map(duration).join(" / ");
                return mark(r, "outOfService", text);
            },
        ],
        ["never out of service", "0", (r) => String(r.left)],
        ["out of service by", "", outOfServiceBy],
        [
            "Auto Scaling calls per instance",
            "",
            (r) =>
                `${r.callsPerInstance.toFixed(3)} (${sum(r.served) + sum(r.throttled)} + ${r.sharedCalls.toFixed(1)})`,
        ],
        [
            "  beyond one per termination",
            `≤ ${MIXED_GOALS.callsPerInstance}`,
            (r) => mark(r, "calls", r.beyondTerminationsPerInstance.toFixed(3)),
        ],
        ["  served per action", "", (r) => perAction(r.served)],
        ["  throttled per action", "", (r) => perAction(r.throttled)],
        ["  share of the batches' lookups", "", (r) => r.sharedCalls.toFixed(1)],
        ["verdict", "", (r) => verdict(r.goals, style, true)],
    ];
    return figuresTable(
        result.kinds.map((k) => HEADINGS[k.kind]),
        rows,
        result.kinds,
    );
}

/** The mixed storm as the report's JSON field and text: per run, its heading, table and totals. */
export function mixedExtra(
    report: MixedReport | undefined,
    style: Style,
): { json: Record<string, unknown>; text: string } {
    if (report === undefined) {
        return { json: {}, text: "" };
    }
    const { mix, kinds } = report;
    const { min, max } = report.reactionDelayMs;
    const text = report.results.flatMap((r) => {
        const mark = (key: string, text: string) => markGoal(r.goals, key, text, style);
        const groupSide =
            r.config === "reacts"
                ? `Capacity Rebalancing acts ${min / 1000}-${max / 1000} s after each warning`
                : "Capacity Rebalancing never acts (the safety net's run)";
        return [
            style.bold(
                `Mixed storm, ${groupSide}: ${report.groups} groups × ${report.size} (${kinds["capacity-rebalancing"]} Capacity Rebalancing, ${kinds["termination-hook"]} termination hook, ${kinds.plain} plain), keep mode, interruptionAction auto, one handler by tag; +${mix.duplicates} duplicates, ${mix.outsiders} neighbour warnings, ${junkCount(mix)} junk events; budget ${report.budget} Auto Scaling requests/s`,
            ),
            mixedTable(r, style),
            `  safety net ${r.safetyNet}, hooks skipped ${r.hooksSkipped}, hooks unknown ${r.hooksUnknown}; ${r.invocations} invocations, ${r.records} records (re-checks included), ${r.returned} returned for a re-check or retry`,
            `  ${mark("deadLettered", `${r.deadLettered} dead-lettered`)}${r.stillQueued ? `, ${r.stillQueued} still queued` : ""}; ${mark("neighbour", `neighbour ${r.neighbourUntouched ? "untouched" : "CHANGED"}`)}; events put in ${duration(r.sentMs)}; wall ${duration(r.wallMs)} (seeding ${duration(r.seedMs)})`,
            "",
        ];
    });
    text.push(
        style.dim(
            "Calls per instance count every Auto Scaling request that reached the budget, served or throttled, hook lookups included: a request naming a group or an instance counts for its kind, and each batch's one lookup of every group is shared by the kinds of the instances it settled. Out of service: detached or terminated by the handler, or moved to Terminating by the group, timed by the emulator from the warning's `time`.",
        ),
    );
    return { json: { mixed: report }, text: text.join("\n") };
}
