/**
 * The many-groups storm of `npm run bench`, the pure parts: what it sends (warnings for 10 groups,
 * 10% duplicates, the neighbours' and junk), the goals it is judged by, and its table. Running it
 * against the emulator is bench-fleet-run.ts.
 */
import { interruptionWarningEventPattern } from "../../components/spot-interruption-handler/policies";
import { FLEET_TAG } from "../../emulator/fleet";
import { freshSampleEvent } from "../../offline/sample-event";
import { type Style, table } from "../terminal";
import type { FleetConfig } from "./bench-flags";
import {
    type Goal,
    type GoalKey,
    type PathResult,
    seconds,
    seededShuffle,
    type StormReport,
    sum,
    markGoal,
    perAction,
} from "./bench-report";

/** The goals of one handler for many groups, at 10 Auto Scaling requests/s (issue 17). */
export const FLEET_GOALS = { budget: 10, lastOutMs: 15_000, callsPerInstance: 0.08 } as const;
/** What the single-group storm of 1000 (keep) should reach, in calls per instance. */
export const SINGLE_GROUP_CALLS_TARGET = { size: 1000, mode: "keep", callsPerInstance: 0.07 };

/**
 * Events that are not a well-formed warning for a real instance. A rebalance recommendation is
 * put on the bus too: the rule must not match it, so it never reaches a queue. The other two
 * match the rule (its pattern reads only source and detail-type), and the handler must ignore
 * them as malformed.
 */
export type JunkKind = "rebalance-recommendation" | "missing-instance-id" | "not-an-instance-id";
export const JUNK_KINDS: readonly JunkKind[] = [
    "rebalance-recommendation",
    "missing-instance-id",
    "not-an-instance-id",
];

/** One event of the storm, named by the instance it is about. */
export interface StormEntry {
    readonly kind: "warning" | JunkKind;
    readonly instanceId: string;
}

/** What a storm is made of. */
export interface StormMix {
    /** Events put on the bus. */
    readonly events: number;
    /** Unique instances of the protected groups, each warned. */
    readonly warned: number;
    /** Second warnings for an instance already warned. */
    readonly duplicates: number;
    /** Warnings for instances outside the protected groups: the neighbour's and a standalone one. */
    readonly outsiders: number;
    readonly junk: Readonly<Record<JunkKind, number>>;
    /** Events the component's rule matches, so each handler's queue receives. */
    readonly matched: number;
}

/**
 * Every instance of `groups` warned once, every tenth of them (counted across the fleet) twice,
 * one warning per outsider, and `junkPerKind` events of each junk kind about instances of the
 * groups; shuffled from a fixed seed, as EC2 might send them.
 */
export function fleetStorm(
    groups: readonly (readonly string[])[],
    outsiders: readonly string[],
    junkPerKind = 10,
): StormEntry[] {
    const ours = groups.flat();
    const warning = (instanceId: string): StormEntry => ({ kind: "warning", instanceId });
    const junk = JUNK_KINDS.flatMap((kind, k) =>
        Array.from({ length: ours.length === 0 ? 0 : junkPerKind }, (_, n) => ({
            kind,
            // Spread over the fleet: a stride coprime with most sizes.
            instanceId: ours[(k + n * JUNK_KINDS.length * 37) % ours.length],
        })),
    );
    return seededShuffle([
        ...ours.map(warning),
        ...ours.filter((_, i) => i % 10 === 0).map(warning),
        ...outsiders.map(warning),
        ...junk,
    ]);
}

/** The event EC2 (or, for junk, something else) would put on the bus for an entry. */
export function stormEvent(entry: StormEntry, sentAt = new Date()): Record<string, unknown> {
    const event = freshSampleEvent(entry.instanceId, sentAt);
    const detail = (event.detail ?? {}) as Record<string, unknown>;
    switch (entry.kind) {
        case "warning":
            return event;
        case "rebalance-recommendation":
            return {
                ...event,
                "detail-type": "EC2 Instance Rebalance Recommendation",
                detail: { "instance-id": entry.instanceId },
            };
        case "missing-instance-id": {
            const rest = { ...detail };
            Reflect.deleteProperty(rest, "instance-id");
            return { ...event, detail: rest };
        }
        case "not-an-instance-id":
            return { ...event, detail: { ...detail, "instance-id": `${entry.instanceId}-junk` } };
    }
}

/** True when the component's rule matches the event: its pattern names source and detail-type. */
export function ruleMatches(event: Record<string, unknown>): boolean {
    const pattern = interruptionWarningEventPattern();
    return (
        pattern.source.includes(String(event.source)) &&
        pattern["detail-type"].includes(String(event["detail-type"]))
    );
}

/** Counts what `entries` hold; `ours` are the protected groups' instances. */
export function stormMix(entries: readonly StormEntry[], ours: readonly string[]): StormMix {
    const protectedIds = new Set(ours);
    const seen = new Set<string>();
    const junk: Record<JunkKind, number> = {
        "rebalance-recommendation": 0,
        "missing-instance-id": 0,
        "not-an-instance-id": 0,
    };
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
    return { events: entries.length, warned: seen.size, duplicates, outsiders, junk, matched };
}

/** What one configuration did with the many-groups storm; every figure from the emulator, proxy or mappings. */
export interface FleetResult {
    readonly config: FleetConfig;
    /** Handlers, each with its own rule, events queue and mapping. */
    readonly handlers: number;
    readonly warned: number;
    /** Events put on the bus (once: every rule takes its copy). */
    readonly events: number;
    readonly sentMs: number;
    readonly lastOutMs: number | null;
    readonly latencyMs: PathResult["latencyMs"];
    readonly served: Record<string, number>;
    readonly throttled: Record<string, number>;
    readonly refused: Record<string, number>;
    /** Every Auto Scaling request that reached the budget, served or throttled, per warned instance. */
    readonly callsPerInstance: number;
    readonly detachedByHandler: number;
    readonly invocations: number;
    readonly recordsPerInvocation: { mean: number; max: number };
    readonly invocationMs: PathResult["invocationMs"];
    /** Records the handlers received (redeliveries included), and what the rules should have queued. */
    readonly records: { received: number; expected: number };
    /** Records left for a retry. */
    readonly failed: number;
    /** Warned instances still in their group at the end. */
    readonly left: number;
    readonly deadLettered: number;
    readonly stillQueued: number;
    /** The neighbour group (same tag key, another value), compared before and after. */
    readonly neighbourUntouched: boolean;
    readonly polls: { count: number; meanMs: number };
    readonly seedMs: number;
    readonly wallMs: number;
    /** Judged for the tag and list handlers only: 10 per-group handlers are the comparison. */
    readonly goals: readonly Goal[];
}

export interface FleetReport {
    readonly groups: number;
    readonly size: number;
    readonly neighbourSize: number;
    readonly budget: number;
    readonly mix: StormMix;
    /** What the emulator answered to the handler's tag lookups, against the seed. */
    readonly tagLookup: {
        readonly expected: readonly string[];
        readonly tagValue: readonly string[];
        readonly tagKey: readonly string[];
        readonly correct: boolean;
    };
    readonly results: readonly FleetResult[];
}

/** One handler for many groups is judged; per-group handlers are the comparison, with no goals. */
export function judgeFleetGoals(
    config: FleetConfig,
    r: Omit<FleetResult, "goals">,
    budget: number,
): Goal[] {
    if (config === "per-group") {
        return [];
    }
    const { lastOutMs, callsPerInstance } = FLEET_GOALS;
    const goals: [GoalKey, string, boolean][] = [
        [
            "lastOut",
            `last instance out < ${lastOutMs / 1000} s`,
            (r.lastOutMs ?? Infinity) < lastOutMs,
        ],
        [
            "calls",
            `≤ ${callsPerInstance} calls per instance`,
            r.callsPerInstance <= callsPerInstance,
        ],
        ["left", "none left in their groups", r.left === 0],
        ["deadLettered", "0 dead-lettered", r.deadLettered === 0],
        ["neighbour", "neighbour untouched", r.neighbourUntouched],
    ];
    const at = budget === FLEET_GOALS.budget ? "" : ` (set at ${FLEET_GOALS.budget} req/s)`;
    return goals.map(([key, name, met]) => ({ key, name: name + at, met }));
}

/** The single-group storm of 1000 in keep mode, queued: its calls per instance against 0.07. */
export function singleGroupTarget(
    storms: readonly StormReport[],
): { callsPerInstance: number; target: number; met: boolean } | undefined {
    const { size, mode, callsPerInstance: target } = SINGLE_GROUP_CALLS_TARGET;
    const storm = storms.find((s) => s.size === size && s.mode === mode);
    const queue = storm?.results.find((r) => r.path === "queue");
    if (queue === undefined) {
        return undefined;
    }
    const callsPerInstance = (sum(queue.served) + sum(queue.throttled)) / queue.warned;
    return { callsPerInstance, target, met: callsPerInstance <= target };
}

const ROWS: readonly (readonly [label: string, goal?: string])[] = [
    ["handlers (rule, queue, mapping each)"],
    ["last warned instance out", `< ${FLEET_GOALS.lastOutMs / 1000} s`],
    ["every event sent (PutEvents) after"],
    ["per warning p50 / p95 / p99"],
    ["Auto Scaling calls per instance", `≤ ${FLEET_GOALS.callsPerInstance}`],
    ["  served per action"],
    ["  throttled per action"],
    ["refused by the emulator (HTTP ≥ 400)"],
    ["detached by the handlers"],
    ["invocations (records per invocation)"],
    ["  gathering a batch / running it (mean, max)"],
    ["records to the handlers (rules should queue)"],
    ["failed records"],
    ["warned instances left in their groups", "0"],
    ["dead-lettered", "0"],
    ["neighbour group (tag value other)", "untouched"],
    ["wall time (seeding)"],
    ["verdict"],
];

const HEADINGS: Record<FleetConfig, string> = {
    tag: "TAG (ONE HANDLER)",
    list: "LIST (ONE HANDLER)",
    "per-group": "PER GROUP",
};

/** The configurations side by side, figures down; a figure with a goal is marked met or missed. */
export function fleetTable(report: FleetReport, style: Style): string {
    const column = (r: FleetResult): string[] => {
        const mark = (key: GoalKey, text: string): string => markGoal(r.goals, key, text, style);
        const { invocationMs: i, recordsPerInvocation: records } = r;
        const missed = r.goals.filter((g) => !g.met).length;
        return [
            String(r.handlers),
            mark("lastOut", r.lastOutMs === null ? `never (${r.left} left)` : seconds(r.lastOutMs)),
            seconds(r.sentMs),
            r.latencyMs === null ? "—" : Object.values(r.latencyMs).map(seconds).join(" / "),
            mark(
                "calls",
                `${r.callsPerInstance.toFixed(3)} (${sum(r.served)} + ${sum(r.throttled)} throttled)`,
            ),
            perAction(r.served),
            perAction(r.throttled),
            perAction(r.refused),
            `${r.detachedByHandler} of ${r.warned}`,
            `${r.invocations} (mean ${records.mean.toFixed(1)}, max ${records.max})`,
            `${seconds(i.meanGather)} / ${seconds(i.meanRun)}, ${seconds(i.maxRun)}`,
            `${r.records.received} (${r.records.expected})`,
            String(r.failed),
            mark("left", String(r.left)),
            mark(
                "deadLettered",
                `${r.deadLettered}${r.stillQueued ? `, ${r.stillQueued} still queued` : ""}`,
            ),
            mark("neighbour", r.neighbourUntouched ? "untouched" : "CHANGED"),
            `${seconds(r.wallMs)} (${seconds(r.seedMs)})`,
            r.goals.length === 0
                ? "comparison, not judged"
                : missed === 0
                  ? style.green("goals met")
                  : style.red(`${missed} of ${r.goals.length} goals missed`),
        ];
    };
    const columns = report.results.map(column);
    return table(
        ["", "GOAL", ...report.results.map((r) => HEADINGS[r.config])],
        ROWS.map(([label, goal = ""], row) => [label, goal, ...columns.map((c) => c[row])]),
        2,
    );
}

/** The heading over the table: what the storm held. */
export function fleetHeading(report: FleetReport): string {
    const { mix } = report;
    const junk = Object.values(mix.junk).reduce((a, b) => a + b, 0);
    return `Many-groups storm: ${report.groups} groups × ${report.size} instances warned, keep mode, +${mix.duplicates} duplicates, ${mix.outsiders} neighbour warnings, ${junk} junk events (${mix.matched} of ${mix.events} events match the rule); budget ${report.budget} Auto Scaling requests/s`;
}

/** The many-groups storm and the single-group target, as printReports's extra JSON fields and text. */
export function fleetExtra(
    fleet: FleetReport | undefined,
    storms: readonly StormReport[],
    style: Style,
): { json: Record<string, unknown>; text: string } {
    const target = singleGroupTarget(storms);
    const lines: string[] = [];
    if (fleet !== undefined) {
        const { tagLookup: lookup } = fleet;
        const handlers = fleet.results.find((r) => r.config === "per-group")?.handlers;
        lines.push(
            style.bold(fleetHeading(fleet)),
            fleetTable(fleet, style),
            "",
            style.dim(
                [
                    `The emulator's tag lookups: tag:${FLEET_TAG.key}=${FLEET_TAG.value} answered ${lookup.tagValue.length} groups, tag-key ${lookup.tagKey.length} (the ${lookup.expected.length} protected groups and the neighbour expected): ${lookup.correct ? "as AWS would" : "WRONG, so the verdicts above rest on the groups' state alone"}.`,
                    `Every handler has its own rule, events queue and mapping, with the same settings; one PutEvents reaches every rule.${handlers === undefined ? "" : ` The ${handlers} per-group mappings each pause ${handlers} × 25 ms after an empty receive, so that together they poll the one-request-at-a-time emulator as one mapping does.`} Calls per instance count every request that reached the budget, served or throttled.`,
                ].join("\n"),
            ),
        );
    }
    if (target !== undefined) {
        const figure = `${target.callsPerInstance.toFixed(3)} calls per instance (served + throttled), target ≤ ${target.target}`;
        lines.push(
            `Single-group storm of ${SINGLE_GROUP_CALLS_TARGET.size}, ${SINGLE_GROUP_CALLS_TARGET.mode} mode, queued: ${target.met ? `${figure} ${style.green("✓")}` : style.red(`${figure} ✗`)}`,
        );
    }
    return {
        json: {
            ...(fleet === undefined ? {} : { manyGroups: fleet }),
            ...(target === undefined ? {} : { singleGroupTarget: target }),
        },
        text: lines.join("\n"),
    };
}
