/** The many-groups storm: 10 groups' warnings, duplicates and junk, put once to every handler's rule. */
import { performance } from "node:perf_hooks";
import { interruptionWarningEventPattern } from "../../components/spot-interruption-handler/policies";
import * as fleets from "../../emulator/fleet";
import { describeGroupState } from "../../emulator/group-state";
import type { Emulator } from "../../emulator/server";
import { freshSampleEvent } from "../../offline/sample-event";
import { duration, type Style } from "../terminal";
import * as departures from "./departures";
import type { FleetConfig } from "./flags";
import * as pipelines from "./pipelines";
import * as report from "./report";
import type { StormReport } from "./single";

/** The goals of one handler for many groups, at 10 Auto Scaling requests/s (issue 17). */
export const FLEET_GOALS = { lastOutMs: 15_000, callsPerInstance: 0.08 } as const;
/** What the single-group storm of 1000 (keep) should reach, in calls per instance. */
export const SINGLE_GROUP_CALLS_TARGET = { size: 1000, mode: "keep", callsPerInstance: 0.07 };

/** Not a warning for a real instance: the rule must drop the first, the handler ignore the others. */
export const JUNK_KINDS = [
    "rebalance-recommendation",
    "missing-instance-id",
    "not-an-instance-id",
] as const;
export type JunkKind = (typeof JUNK_KINDS)[number];

/** One event of the storm, named by the instance it is about. */
export type StormEntry = { readonly kind: "warning" | JunkKind; readonly instanceId: string };

export type StormMix = ReturnType<typeof stormMix>;

/** Every instance warned, every tenth twice, each outsider once, and ten junk of each kind; shuffled from a fixed seed. */
export function fleetStorm(
    groups: readonly (readonly string[])[],
    outsiders: readonly string[],
): StormEntry[] {
    const ours = groups.flat();
    const warning = (instanceId: string): StormEntry => ({ kind: "warning", instanceId });
    const junk = JUNK_KINDS.flatMap((kind, k) =>
        Array.from({ length: ours.length === 0 ? 0 : 10 }, (_, n) => ({
            kind,
            // Spread over the fleet: a stride coprime with most sizes.
            instanceId: ours[(k + n * JUNK_KINDS.length * 37) % ours.length],
        })),
    );
    return report.stormOrder(ours.map(warning), outsiders.map(warning), junk);
}

/** The event EC2 (or, for junk, something else) would put on the bus for an entry. */
export function stormEvent(
    { kind, instanceId }: StormEntry,
    sentAt = new Date(),
): Record<string, unknown> {
    const event = freshSampleEvent(instanceId, sentAt);
    const detail = (event.detail ?? {}) as Record<string, unknown>;
    const rest = Object.fromEntries(
        Object.entries(detail).filter(([key]) => key !== "instance-id"),
    );
    return {
        warning: event,
        "rebalance-recommendation": {
            ...event,
            "detail-type": "EC2 Instance Rebalance Recommendation",
            detail: { "instance-id": instanceId },
        },
        "missing-instance-id": { ...event, detail: rest },
        "not-an-instance-id": {
            ...event,
            detail: { ...detail, "instance-id": `${instanceId}-junk` },
        },
    }[kind];
}

/** True when the component's rule matches the event: its pattern names source and detail-type. */
export function ruleMatches(event: Record<string, unknown>): boolean {
    const { source, "detail-type": detailType } = interruptionWarningEventPattern();
    return (
        source.includes(String(event.source)) && detailType.includes(String(event["detail-type"]))
    );
}

/** Counts what `entries` hold; `ours` are the protected groups' instances. */
export function stormMix(entries: readonly StormEntry[], ours: readonly string[]) {
    const protectedIds = new Set(ours);
    const seen = new Set<string>();
    const junk = Object.fromEntries(JUNK_KINDS.map((k) => [k, 0])) as Record<JunkKind, number>;
    let [duplicates, outsiders, matched] = [0, 0, 0];
    for (const entry of entries) {
        matched += ruleMatches(stormEvent(entry)) ? 1 : 0;
        if (entry.kind !== "warning") {
            junk[entry.kind]++;
        } else if (!protectedIds.has(entry.instanceId)) {
            outsiders++;
        } else if (seen.has(entry.instanceId)) {
            duplicates++;
        } else {
            seen.add(entry.instanceId);
        }
    }
    // Duplicates warn an instance again; outsiders are the neighbour's and the standalone one's.
    return { events: entries.length, warned: seen.size, duplicates, outsiders, junk, matched };
}

/** A fresh fleet and the storm for it, with the neighbour's state before. */
export async function seedFleetStorm(emulator: Emulator, options?: fleets.GroupFleetOptions) {
    const fleet = await fleets.seedGroupFleet(emulator, options);
    const ours = fleet.instanceIds.flat();
    const outsiders = [...fleet.neighbourInstanceIds, fleet.standaloneInstanceId];
    const entries = fleetStorm(fleet.instanceIds, outsiders);
    const watched: departures.Watched = {
        ours,
        groupNames: fleet.groupNames,
        neighbourName: fleet.neighbourGroupName,
        neighbourBefore: await describeGroupState(emulator, fleet.neighbourGroupName),
    };
    return { fleet, ours, entries, mix: stormMix(entries, ours), watched };
}

/** One warning entry's instance; none for junk. */
export const warnedBy = (e: StormEntry) => (e.kind === "warning" ? e.instanceId : undefined);

/** What one configuration did with the many-groups storm. */
export type FleetResult = FleetReport["results"][number];
export type FleetReport = Awaited<ReturnType<typeof runFleetStorm>>;

/** One handler for many groups is judged; per-group handlers are the comparison, with no goals. */
export function judgeFleetGoals(
    config: FleetConfig,
    r: Omit<departures.DepartureFigures, "goals"> & { deadLettered: number },
    budget: number,
): report.Goal[] {
    const more = { deadLettered: r.deadLettered, left: true } as const;
    return config === "per-group" ? [] : departures.departureGoals(r, FLEET_GOALS, budget, more);
}

/** The single-group storm of 1000 in keep mode, queued: its calls per instance against 0.07. */
export function singleGroupTarget(storms: readonly StormReport[]) {
    const { size, mode, callsPerInstance: target } = SINGLE_GROUP_CALLS_TARGET;
    const storm = storms.find((s) => s.size === size && s.mode === mode);
    const queue = storm?.results.find((r) => r.path === "queue");
    const calls = queue && (report.sum(queue.served) + report.sum(queue.throttled)) / queue.warned;
    return calls === undefined
        ? undefined
        : { callsPerInstance: calls, target, met: calls <= target };
}

/** One configuration: its handlers (one, or one per group) and the mapping settings they share. */
export type FleetTarget = Awaited<ReturnType<typeof buildFleetTargets>>[number];

/** Each configuration's handlers: one by tag, one by list of every group, or one per group. */
export async function buildFleetTargets(
    build: pipelines.Build,
    configs: readonly FleetConfig[],
    queueArgs: pipelines.HandlerArgs,
) {
    const names = fleets.fleetGroupNames(fleets.FLEET_DEFAULTS.groups);
    const selections: Record<FleetConfig, pipelines.HandlerArgs[]> = {
        tag: [{ autoScalingGroupTag: { ...fleets.FLEET_TAG } }],
        list: [{ autoScalingGroupNames: names }],
        "per-group": names.map((name) => ({ autoScalingGroupName: name })),
    };
    const targets = [];
    for (const config of configs) {
        const handlers = selections[config];
        const built = [];
        for (const [index, selection] of handlers.entries()) {
            const name = `bench-fleet-${config}${handlers.length > 1 ? `-${index + 1}` : ""}`;
            built.push(
                await pipelines.buildQueuedHandler(build, name, { ...selection, ...queueArgs }),
            );
        }
        targets.push({ config, members: built.map((b) => b.member), settings: built[0].settings });
    }
    return targets;
}

/** What the emulator said to the handler's tag lookups, against the seed. */
async function tagLookup(emulator: Emulator, fleet: fleets.GroupFleet) {
    const { key, value } = fleet.tag;
    const matching = (Name: string, Values: string[]) =>
        fleets.groupNamesMatching(emulator, [{ Name, Values }]);
    const tagValue = await matching(`tag:${key}`, [value]);
    const tagKey = await matching("tag-key", [key]);
    const expected = fleet.groupNames;
    const same = (a: readonly string[], b: readonly string[]) =>
        JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
    const correct =
        same(tagValue, expected) && same(tagKey, [...expected, fleet.neighbourGroupName]);
    return { expected, tagValue, tagKey, correct };
}

/** Runs the storm once per target, each from a fresh seed and budget. */
export async function runFleetStorm(
    emulator: Emulator,
    targets: readonly FleetTarget[],
    budget: number,
    progress: (message: string) => void,
) {
    const results = [];
    let lookup: Awaited<ReturnType<typeof tagLookup>> | undefined;
    let mix: StormMix | undefined;
    for (const { config, members, settings } of targets) {
        const wallStart = performance.now();
        const label = `${config} (${members.length} handler${members.length === 1 ? "" : "s"})`;
        await emulator.reset();
        const { groups, size } = fleets.FLEET_DEFAULTS;
        progress(`  ${label}: seeding ${groups} groups of ${size}...`);
        const seeded = await seedFleetStorm(emulator);
        const { entries, watched } = seeded;
        const seedMs = performance.now() - wallStart;
        lookup ??= await tagLookup(emulator, seeded.fleet);
        mix = seeded.mix;
        const proxyOptions = { budget: { requestsPerSecond: budget } };
        const result = await pipelines.withBudget(emulator, proxyOptions, async (proxy) => {
            progress(`  ${label}: ${entries.length} events...`);
            const run = await pipelines.runQueued(emulator, members, settings, proxy, {
                entries,
                instanceOf: warnedBy,
                put: (chunk, put) => put(chunk.map((e) => stormEvent(e))),
                watch: departures.watchDepartures(emulator, watched, config, proxy, progress),
            });
            const departed = departures.departed(run);
            const r = {
                config,
                // Each handler has its own rule, events queue and mapping; one PutEvents reaches all.
                handlers: members.length,
                events: entries.length,
                ...(await departures.departureFigures(emulator, watched, departed, proxy, true)),
                // Redeliveries included; what the rules should have queued.
                records: { received: run.records, expected: seeded.mix.matched * members.length },
                deadLettered: run.deadLettered,
                stillQueued: run.stillQueued,
                seedMs,
                wallMs: performance.now() - wallStart,
            };
            return { ...r, goals: judgeFleetGoals(config, r, budget) };
        });
        results.push(result);
    }
    if (lookup === undefined || mix === undefined) {
        throw new RangeError("runFleetStorm needs at least one target");
    }
    return { ...fleets.FLEET_DEFAULTS, budget, mix, tagLookup: lookup, results };
}

const HEADINGS = { tag: "TAG (ONE HANDLER)", list: "LIST (ONE HANDLER)", "per-group": "PER GROUP" };

/** The configurations side by side, figures down; a figure with a goal is marked met or missed. */
export function fleetTable(storm: FleetReport, style: Style): string {
    const rows: report.Row<FleetResult>[] = [
        ["handlers (rule, queue, mapping each)", "", (r) => String(r.handlers)],
        ...departures.departureRows<FleetResult>(FLEET_GOALS, {
            sent: "event",
            calls: (r) => `${report.sum(r.served)} + ${report.sum(r.throttled)} throttled`,
            throttled: "  throttled per action",
            detached: "detached by the handlers",
        }),
        [
            "records to the handlers (rules should queue)",
            "",
            ({ records: n }) => `${n.received} (${n.expected})`,
        ],
        ["failed records", "", (r) => String(r.failed)],
        ["warned instances left in their groups", "0", (r) => String(r.left), "left"],
        [
            "dead-lettered",
            "0",
            (r) => `${r.deadLettered}${r.stillQueued ? `, ${r.stillQueued} still queued` : ""}`,
            "deadLettered",
        ],
        [
            "neighbour group (tag value other)",
            "untouched",
            (r) => (r.neighbourUntouched ? "untouched" : "CHANGED"),
            "neighbour",
        ],
        ["wall time (seeding)", "", (r) => `${duration(r.wallMs)} (${duration(r.seedMs)})`],
        [
            "verdict",
            "",
            (r) =>
                r.goals.length === 0 ? "comparison, not judged" : report.verdict(r.goals, style),
        ],
    ];
    const headings = storm.results.map((r) => HEADINGS[r.config]);
    return report.figuresTable(headings, rows, storm.results, style);
}

/** The many-groups storm and the single-group target, as the report's JSON fields and text. */
export function fleetExtra(
    fleet: FleetReport | undefined,
    storms: readonly StormReport[],
    style: Style,
) {
    const target = singleGroupTarget(storms);
    const lines: string[] = [];
    if (fleet !== undefined) {
        const { tagLookup: lookup, mix } = fleet;
        const handlers = fleet.results.find((r) => r.config === "per-group")?.handlers;
        const perGroup =
            handlers === undefined
                ? ""
                : ` The ${handlers} per-group mappings each pause ${handlers} × 25 ms after an empty receive, so that together they poll the one-request-at-a-time emulator as one mapping does.`;
        lines.push(
            style.bold(
                `Many-groups storm: ${fleet.groups} groups × ${fleet.size} instances warned, keep mode, +${mix.duplicates} duplicates, ${mix.outsiders} neighbour warnings, ${report.sum(mix.junk)} junk events (${mix.matched} of ${mix.events} events match the rule); budget ${fleet.budget} Auto Scaling requests/s`,
            ),
            fleetTable(fleet, style),
            "",
            style.dim(
                `The emulator's tag lookups: tag:${fleets.FLEET_TAG.key}=${fleets.FLEET_TAG.value} answered ${lookup.tagValue.length} groups, tag-key ${lookup.tagKey.length} (the ${lookup.expected.length} protected groups and the neighbour expected): ${lookup.correct ? "as AWS would" : "WRONG, so the verdicts above rest on the groups' state alone"}.\n` +
                    `Every handler has its own rule, events queue and mapping, with the same settings; one PutEvents reaches every rule.${perGroup} Calls per instance count every request that reached the budget, served or throttled.`,
            ),
        );
    }
    if (target !== undefined) {
        const { size, mode } = SINGLE_GROUP_CALLS_TARGET;
        const figure = `${target.callsPerInstance.toFixed(3)} calls per instance (served + throttled), target ≤ ${target.target}`;
        const marked = report.markGoal(target.met, figure, style);
        lines.push(`Single-group storm of ${size}, ${mode} mode, queued: ${marked}`);
    }
    const json = {
        ...(fleet && { manyGroups: fleet }),
        ...(target && { singleGroupTarget: target }),
    };
    return { json, text: lines.join("\n") };
}
