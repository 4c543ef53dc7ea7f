/** The mixed storm: the many-groups storm's events to groups with Capacity Rebalancing, a hook or neither. */
import { performance } from "node:perf_hooks";
import * as asg from "@aws-sdk/client-auto-scaling";
import { OUT_OF_SERVICE_DEADLINE_MS } from "../../contract";
import type { ObservedRequest } from "../../emulator/fault-proxy";
import { FLEET_TAG, type GroupFleet } from "../../emulator/fleet";
import { describeGroupActions, type GroupAction, sendSpotWarning } from "../../emulator/group-side";
import { clientConfigFor, describeGroupState } from "../../emulator/group-state";
import type { Emulator } from "../../emulator/server";
import { putLifecycleHook } from "../../emulator/workshop";
import { duration, type Style } from "../terminal";
import { every, pollUntil } from "./departures";
import type { MixedConfig } from "./flags";
import * as fleets from "./fleet";
import * as pipelines from "./pipelines";
import * as report from "./report";

export const GROUP_KINDS = ["capacity-rebalancing", "termination-hook", "plain"] as const;
export type GroupKind = (typeof GROUP_KINDS)[number];

/** Per kind: out of service within the contract's 60 s; ≤ 0.08 calls each beyond a termination's one. */
export const MIXED_GOALS = { outOfServiceMs: OUT_OF_SERVICE_DEADLINE_MS, callsPerInstance: 0.08 };

/** AWS documents no reaction time for Capacity Rebalancing: we assume 2-10 s, inside the handler's grace. */
export const REACTION_DELAY_MS = { min: 2_000, max: 10_000 } as const;

/** Kinds in turn, so 10 groups are 4 Capacity Rebalancing (AWS's advice, most common), 3 hook, 3 plain. */
export function groupKinds(groups: number): GroupKind[] {
    return Array.from({ length: groups }, (_, i) => GROUP_KINDS[i % GROUP_KINDS.length]);
}

/** A reaction delay per instance in REACTION_DELAY_MS, whole ms, the same every run. */
export function reactionDelays(instanceIds: readonly string[]): Map<string, number> {
    const random = report.seededRandom(report.STORM_SEED);
    const { min, max } = REACTION_DELAY_MS;
    return new Map(instanceIds.map((id) => [id, min + Math.floor(random() * (max - min + 1))]));
}

function mapKinds<T>(value: (kind: GroupKind) => T): Record<GroupKind, T> {
    return Object.fromEntries(GROUP_KINDS.map((k) => [k, value(k)])) as Record<GroupKind, T>;
}

/** The group a request names (by name, instance or sole name); undefined for a lookup the kinds share. */
export function groupServed(
    { parameters: p }: Pick<ObservedRequest, "parameters">,
    groupOf: ReadonlyMap<string, string>,
): string | undefined {
    const member = (n: number) => p[`AutoScalingGroupNames.member.${n}`];
    const only = member(2) === undefined ? member(1) : undefined;
    return (
        p.AutoScalingGroupName ?? (p.InstanceId === undefined ? only : groupOf.get(p.InstanceId))
    );
}

/** Each kind's share of the batches' one lookup each, by the instances each batch settled, averaged. */
export function batchShares(
    logLines: readonly string[],
    kindOf: ReadonlyMap<string, GroupKind>,
): Record<GroupKind, number> | undefined {
    const totals = mapKinds(() => 0);
    let batches = 0;
    for (const entry of report.logEntries(logLines, true)) {
        const counts = mapKinds(() => 0);
        const groups = (entry.groups ?? {}) as Record<string, Record<string, number>>;
        for (const [name, outcomes] of Object.entries(groups)) {
            const kind = kindOf.get(name);
            if (kind !== undefined) {
                counts[kind] += report.sum(outcomes);
            }
        }
        const total = report.sum(counts);
        if (total > 0) {
            batches++;
            GROUP_KINDS.forEach((k) => (totals[k] += counts[k] / total));
        }
    }
    return batches === 0 ? undefined : mapKinds((k) => totals[k] / batches);
}

/** What the mixed storm saw, from the emulator, the budget proxy and the handler's log. */
export interface MixedObservation {
    readonly kindOf: ReadonlyMap<string, GroupKind>;
    /** Each warned instance's group. */
    readonly groupOf: ReadonlyMap<string, string>;
    /** Epoch ms of each warned instance's first warning, as its `time` says (whole seconds). */
    readonly warnedAtMs: ReadonlyMap<string, number>;
    readonly actions: readonly Pick<GroupAction, "instanceId" | "by">[];
    /** Epoch ms at which each instance first left service. */
    readonly outOfServiceAtMs: Readonly<Record<string, number>>;
    /** Every Auto Scaling request that reached the budget. */
    readonly requests: readonly Pick<ObservedRequest, "action" | "parameters" | "outcome">[];
    readonly logLines: readonly string[];
}

/** One kind's figures ("all" for the whole storm). */
export type KindResult = ReturnType<typeof kindResults>[number];

/** Per kind, then for the whole storm, every figure judged against MIXED_GOALS. */
export function kindResults(o: MixedObservation, budget: number) {
    const warnedOfKind = mapKinds(
        (k) => [...o.groupOf.values()].filter((g) => o.kindOf.get(g) === k).length,
    );
    const warnedTotal = report.sum(warnedOfKind);
    const shares =
        batchShares(o.logLines, o.kindOf) ??
        mapKinds((k) => (warnedTotal === 0 ? 0 : warnedOfKind[k] / warnedTotal));
    const own = mapKinds(() => ({
        served: {} as Record<string, number>,
        throttled: {} as Record<string, number>,
    }));
    let shared = 0;
    for (const { action, parameters, outcome } of o.requests) {
        const kind = o.kindOf.get(groupServed({ parameters }, o.groupOf) ?? "");
        if (outcome !== "faulted") {
            shared += kind === undefined ? 1 : 0;
            const counts = kind === undefined ? {} : own[kind][outcome];
            counts[action] = (counts[action] ?? 0) + 1;
        }
    }
    // Who took each instance out of service first: reversed, so that the first action is kept.
    const byInstance = new Map([...o.actions].reverse().map((a) => [a.instanceId, a.by]));
    const figures = (kind: GroupKind | "all") => {
        const ids = [...o.groupOf]
            .filter(([, g]) => kind === "all" || o.kindOf.get(g) === kind)
            .map(([id]) => id);
        const kinds = kind === "all" ? GROUP_KINDS : [kind];
        const served = report.addUp(kinds.map((k) => own[k].served));
        const throttled = report.addUp(kinds.map((k) => own[k].throttled));
        // Its share of the batches' lookups of every group (served and throttled).
        const sharedCalls = kind === "all" ? shared : shared * shares[kind];
        const calls = report.sum(served) + report.sum(throttled) + sharedCalls;
        const by = (what: GroupAction["by"]) =>
            ids.filter((id) => byInstance.get(id) === what).length;
        const outOfService = {
            byGroup: by("CapacityRebalancing"),
            terminated: by("TerminateInstanceInAutoScalingGroup"),
            detached: by("DetachInstances"),
        };
        const times = ids.flatMap((id) => {
            const [out, warned] = [o.outOfServiceAtMs[id], o.warnedAtMs.get(id)];
            return out === undefined || warned === undefined ? [] : [out - warned];
        });
        const perInstance = (n: number) => (ids.length === 0 ? 0 : n / ids.length);
        const time = report.percentiles(times);
        const result = {
            kind,
            groups: new Set(ids.map((id) => o.groupOf.get(id))).size,
            warned: ids.length,
            served,
            throttled,
            sharedCalls,
            callsPerInstance: perInstance(calls),
            /** Less the one TerminateInstanceInAutoScalingGroup each terminated instance needs. */
            beyondTerminationsPerInstance: perInstance(calls - outOfService.terminated),
            outOfService,
            /** Warned instances never out of service. */
            left: ids.filter((id) => o.outOfServiceAtMs[id] === undefined).length,
            /** From the warning's `time` to out of service. */
            timeToOutMs: time && { p50: time.p50, p95: time.p95, max: Math.max(...times) },
        };
        return { ...result, goals: judgeKindGoals(result, budget) };
    };
    return [...GROUP_KINDS.map(figures), figures("all")];
}

/** Every instance out within 60 s of its warning; at most 0.08 calls each beyond terminations. */
export function judgeKindGoals(
    r: { left: number; timeToOutMs: { max: number } | null; beyondTerminationsPerInstance: number },
    budget: number,
): report.Goal[] {
    const { outOfServiceMs: ms, callsPerInstance: calls } = MIXED_GOALS;
    return [
        {
            key: "outOfService",
            name: `every instance out of service ≤ ${ms / 1000} s after its warning`,
            met: r.left === 0 && (r.timeToOutMs?.max ?? Infinity) <= ms,
        },
        {
            key: "calls",
            name: `≤ ${calls} calls per instance beyond one per termination${report.atBudget(budget)}`,
            met: r.beyondTerminationsPerInstance <= calls,
        },
    ];
}

/** What the handler's "Batch of" entries add up to: instances the safety net took, hooks skipped. */
export function handlerTotals(logLines: readonly string[]) {
    const total = (key: string) => report.batchTotal(logLines, key);
    return {
        safetyNet: total("safetyNet"),
        hooksSkipped: total("hooksSkipped"),
        hooksUnknown: total("hooksUnknown"),
    };
}

/** What one configuration did with the mixed storm: per kind of group, then "all"; the handler's totals. */
export type MixedResult = MixedReport["results"][number];

export type MixedReport = Awaited<ReturnType<typeof runMixedStorm>>;

/** Nothing dead-lettered and the neighbour group untouched. */
export function judgeMixedStorm(r: { deadLettered: number; neighbourUntouched: boolean }) {
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
export function buildMixedTarget(build: pipelines.Build, queueArgs: pipelines.HandlerArgs) {
    const args = { autoScalingGroupTag: { ...FLEET_TAG }, ...queueArgs };
    return pipelines.buildQueuedHandler(build, "bench-mixed", args);
}

/** Runs the storm once per configuration, each from a fresh seed and budget. */
export async function runMixedStorm(
    emulator: Emulator,
    target: Awaited<ReturnType<typeof buildMixedTarget>>,
    configs: readonly MixedConfig[],
    options: { budget: number; groups: number; size: number },
    progress: (message: string) => void,
) {
    const results = [];
    let mix: fleets.StormMix | undefined;
    for (const config of configs) {
        const wallStart = performance.now();
        await emulator.reset();
        progress(`  ${config}: seeding ${options.groups} groups of ${options.size}...`);
        const seeded = await fleets.seedFleetStorm(emulator, options);
        const { fleet, ours, entries, watched } = seeded;
        const kindOf = await applyKinds(emulator, fleet);
        const seedMs = performance.now() - wallStart;
        mix = seeded.mix;
        const groupOf = new Map(
            fleet.instanceIds.flatMap((ids, g) => ids.map((id) => [id, fleet.groupNames[g]])),
        );
        const rebalancing = new Set(
            ours.filter((id) => kindOf.get(groupOf.get(id) ?? "") === "capacity-rebalancing"),
        );
        const delays = reactionDelays([...rebalancing]);
        const requests: ObservedRequest[] = [];
        const onRequest = (r: ObservedRequest) => requests.push(r);
        const warnedAtMs = new Map<string, number>();
        /** Puts a chunk's events; the group hears of EC2's warning as the handler's rule does, at once. */
        const put = async (chunk: readonly fleets.StormEntry[], putEvents: pipelines.PutEvents) => {
            const now = new Date();
            const told = chunk.flatMap((e) => {
                if (e.kind !== "warning" || warnedAtMs.has(e.instanceId)) {
                    return [];
                }
                warnedAtMs.set(e.instanceId, Math.floor(now.getTime() / 1000) * 1000);
                const reactAfterMs = delays.get(e.instanceId) ?? 0;
                const told = { reactAfterMs, groupReacts: config === "reacts" };
                return rebalancing.has(e.instanceId)
                    ? [sendSpotWarning(emulator, e.instanceId, told)]
                    : [];
            });
            await Promise.all([putEvents(chunk.map((e) => fleets.stormEvent(e, now))), ...told]);
        };
        /** Out of service is read from the emulator's record, once the events are put. */
        const watch = (deadline: number) => {
            const tick = every(
                5000,
                progress,
                (elapsed, out) =>
                    `  ${config}: ${elapsed}, ${out}/${ours.length} out of service, ${requests.length} Auto Scaling calls`,
            );
            const look = async () => {
                const { outOfServiceAtMs } = await describeGroupActions(emulator);
                const out = ours.filter((id) => outOfServiceAtMs[id] !== undefined).length;
                tick(out);
                return out === ours.length;
            };
            return { done: () => pollUntil(deadline, look), stop: async () => {} };
        };
        const budget = { budget: { requestsPerSecond: options.budget }, onRequest };
        const run = await pipelines.withBudget(emulator, budget, (proxy) => {
            progress(`  ${config}: ${entries.length} events...`);
            const storm = { entries, instanceOf: fleets.warnedBy, put, watch };
            return pipelines.runQueued(emulator, [target.member], target.settings, proxy, storm);
        });
        const { actions, outOfServiceAtMs } = await describeGroupActions(emulator);
        const neighbourAfter = await describeGroupState(emulator, watched.neighbourName);
        const storm = {
            deadLettered: run.deadLettered,
            neighbourUntouched: report.sameState(watched.neighbourBefore, neighbourAfter),
        };
        const { logLines } = run;
        const observed = {
            kindOf,
            groupOf,
            warnedAtMs,
            actions,
            outOfServiceAtMs,
            requests,
            logLines,
        };
        results.push({
            config,
            kinds: kindResults(observed, options.budget),
            events: entries.length,
            sentMs: run.sentMs,
            invocations: run.batchSizes.length,
            // Records the handler received, re-checks included, and those returned for one or a retry.
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
    const ofKind = mapKinds((k) => kinds.filter((x) => x === k).length);
    return { ...options, kinds: ofKind, mix, reactionDelayMs: REACTION_DELAY_MS, results };
}

/** Gives each group its kind: Capacity Rebalancing on, or a termination hook, or neither. */
async function applyKinds(emulator: Emulator, fleet: GroupFleet): Promise<Map<string, GroupKind>> {
    const kinds = groupKinds(fleet.groupNames.length);
    const kindOf = new Map(fleet.groupNames.map((name, i) => [name, kinds[i]]));
    const client = new asg.AutoScalingClient(clientConfigFor(emulator));
    try {
        for (const [AutoScalingGroupName, kind] of kindOf) {
            if (kind === "capacity-rebalancing") {
                const update = { AutoScalingGroupName, CapacityRebalance: true };
                await client.send(new asg.UpdateAutoScalingGroupCommand(update));
            } else if (kind === "termination-hook") {
                await putLifecycleHook(emulator, AutoScalingGroupName, "drain");
            }
        }
    } finally {
        client.destroy();
    }
    return kindOf;
}

/** Who took a kind's instances out of service, in words. */
export function outOfServiceBy({ outOfService: o }: KindResult): string {
    const parts = { "the group": o.byGroup, terminated: o.terminated, detached: o.detached };
    const given = Object.entries(parts).filter(([, n]) => n > 0);
    return given.map(([by, n]) => `${by} ${n}`).join(", ") || "none";
}

/** One run: the kinds side by side, figures down; a judged figure is marked met or missed. */
export function mixedTable(result: MixedResult, style: Style): string {
    const { outOfServiceMs, callsPerInstance } = MIXED_GOALS;
    const rows: report.Row<KindResult>[] = [
        ["groups (instances warned)", "", (r) => `${r.groups} (${r.warned})`],
        [
            "to out of service p50 / p95 / max",
            `≤ ${outOfServiceMs / 1000} s`,
            ({ timeToOutMs: t }) =>
                t === null ? "—" : [t.p50, t.p95, t.max].map(duration).join(" / "),
            "outOfService",
        ],
        ["never out of service", "0", (r) => String(r.left)],
        ["out of service by", "", outOfServiceBy],
        [
            "Auto Scaling calls per instance",
            "",
            (r) =>
                `${r.callsPerInstance.toFixed(3)} (${report.sum(r.served) + report.sum(r.throttled)} + ${r.sharedCalls.toFixed(1)})`,
        ],
        [
            "  beyond one per termination",
            `≤ ${callsPerInstance}`,
            (r) => r.beyondTerminationsPerInstance.toFixed(3),
            "calls",
        ],
        ["  served per action", "", (r) => report.perAction(r.served)],
        ["  throttled per action", "", (r) => report.perAction(r.throttled)],
        ["  share of the batches' lookups", "", (r) => r.sharedCalls.toFixed(1)],
        ["verdict", "", (r) => report.verdict(r.goals, style, true)],
    ];
    return report.figuresTable(
        result.kinds.map((k) => k.kind.toUpperCase().replace("-", " ")),
        rows,
        result.kinds,
        style,
    );
}

/** The mixed storm as the report's JSON field and text: per run, its heading, table and totals. */
export function mixedExtra(mixed: MixedReport | undefined, style: Style) {
    if (mixed === undefined) {
        return { json: {}, text: "" };
    }
    const { mix, kinds } = mixed;
    const { min, max } = mixed.reactionDelayMs;
    const text = mixed.results.flatMap((r) => {
        const mark = (key: string, text: string) =>
            report.markGoal(r.goals.find((g) => g.key === key)?.met, text, style);
        const groupSide =
            r.config === "reacts"
                ? `Capacity Rebalancing acts ${min / 1000}-${max / 1000} s after each warning`
                : "Capacity Rebalancing never acts (the safety net's run)";
        const still = r.stillQueued ? `, ${r.stillQueued} still queued` : "";
        return [
            style.bold(
                `Mixed storm, ${groupSide}: ${mixed.groups} groups × ${mixed.size} (${kinds["capacity-rebalancing"]} Capacity Rebalancing, ${kinds["termination-hook"]} termination hook, ${kinds.plain} plain), keep mode, interruptionAction auto, one handler by tag; +${mix.duplicates} duplicates, ${mix.outsiders} neighbour warnings, ${report.sum(mix.junk)} junk events; budget ${mixed.budget} Auto Scaling requests/s`,
            ),
            mixedTable(r, style),
            `  safety net ${r.safetyNet}, hooks skipped ${r.hooksSkipped}, hooks unknown ${r.hooksUnknown}; ${r.invocations} invocations, ${r.records} records (re-checks included), ${r.returned} returned for a re-check or retry`,
            `  ${mark("deadLettered", `${r.deadLettered} dead-lettered`)}${still}; ${mark("neighbour", `neighbour ${r.neighbourUntouched ? "untouched" : "CHANGED"}`)}; events put in ${duration(r.sentMs)}; wall ${duration(r.wallMs)} (seeding ${duration(r.seedMs)})`,
            "",
        ];
    });
    text.push(
        style.dim(
            "Calls per instance count every Auto Scaling request that reached the budget, served or throttled, hook lookups included: a request naming a group or an instance counts for its kind, and each batch's one lookup of every group is shared by the kinds of the instances it settled. Out of service: detached or terminated by the handler, or moved to Terminating by the group, timed by the emulator from the warning's `time`.",
        ),
    );
    return { json: { mixed }, text: text.join("\n") };
}
