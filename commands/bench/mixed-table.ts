/**
 * The mixed storm's report: one run per configuration, judged per kind of group and as a whole,
 * laid out as one table per run (kinds across, figures down), or as JSON fields.
 */
import { type Style, table } from "../terminal";
import type { StormMix } from "./bench-fleet";
import { markGoal, perAction, seconds } from "./bench-report";
import { sum } from "./stats";
import {
    type GroupKind,
    type KindResult,
    MIXED_GOALS,
    type MixedConfig,
    type MixedGoal,
    REACTION_DELAY_MS,
} from "./mixed";

/** What one configuration did with the mixed storm. */
export interface MixedResult {
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
    /** From the handler's "Batch of" entries. */
    readonly safetyNet: number;
    readonly hooksSkipped: number;
    readonly hooksUnknown: number;
    readonly deadLettered: number;
    readonly stillQueued: number;
    readonly neighbourUntouched: boolean;
    readonly seedMs: number;
    readonly wallMs: number;
    /** The storm's own: nothing dead-lettered, the neighbour untouched. */
    readonly goals: readonly MixedGoal[];
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
): MixedGoal[] {
    return [
        { key: "deadLettered", name: "0 dead-lettered", met: r.deadLettered === 0 },
        { key: "neighbour", name: "neighbour untouched", met: r.neighbourUntouched },
    ];
}

/** Every goal of the run met: each kind's, the whole storm's, and the storm's own. */
export function mixedGoalsMet(r: MixedResult): boolean {
    return [...r.goals, ...r.kinds.flatMap((k) => k.goals)].every((g) => g.met);
}

const HEADINGS: Record<KindResult["kind"], string> = {
    "capacity-rebalancing": "CAPACITY REBALANCING",
    "termination-hook": "TERMINATION HOOK",
    plain: "PLAIN",
    all: "ALL",
};

const ROWS: readonly (readonly [label: string, goal?: string])[] = [
    ["groups (instances warned)"],
    ["to out of service p50 / p95 / max", `≤ ${MIXED_GOALS.outOfServiceMs / 1000} s`],
    ["never out of service", "0"],
    ["out of service by"],
    ["Auto Scaling calls per instance"],
    ["  beyond one per termination", `≤ ${MIXED_GOALS.callsPerInstance}`],
    ["  served per action"],
    ["  throttled per action"],
    ["  share of the batches' lookups"],
    ["verdict"],
];

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
    const column = (r: KindResult): string[] => {
        const mark = (key: MixedGoal["key"], text: string) => markGoal(r.goals, key, text, style);
        const t = r.timeToOutMs;
        const missed = r.goals.filter((g) => !g.met).length;
        const own = sum(r.served) + sum(r.throttled);
        return [
            `${r.groups} (${r.warned})`,
            mark("outOfService", t === null ? "—" : [t.p50, t.p95, t.max].map(seconds).join(" / ")),
            String(r.left),
            outOfServiceBy(r),
            `${r.callsPerInstance.toFixed(3)} (${own} + ${r.sharedCalls.toFixed(1)})`,
            mark("calls", r.beyondTerminationsPerInstance.toFixed(3)),
            perAction(r.served),
            perAction(r.throttled),
            r.sharedCalls.toFixed(1),
            missed === 0 ? style.green("goals met") : style.red(`${missed} missed`),
        ];
    };
    const columns = result.kinds.map(column);
    return table(
        ["", "GOAL", ...result.kinds.map((k) => HEADINGS[k.kind])],
        ROWS.map(([label, goal = ""], row) => [label, goal, ...columns.map((c) => c[row])]),
        2,
    );
}

/** The heading over a run's table: what the storm held and what the groups did. */
export function mixedHeading(report: MixedReport, result: MixedResult): string {
    const { mix, kinds } = report;
    const junk = Object.values(mix.junk).reduce((a, b) => a + b, 0);
    const { min, max } = report.reactionDelayMs;
    const groupSide =
        result.config === "reacts"
            ? `Capacity Rebalancing acts ${min / 1000}-${max / 1000} s after each warning`
            : "Capacity Rebalancing never acts (the safety net's run)";
    return `Mixed storm, ${groupSide}: ${report.groups} groups × ${report.size} (${kinds["capacity-rebalancing"]} Capacity Rebalancing, ${kinds["termination-hook"]} termination hook, ${kinds.plain} plain), keep mode, interruptionAction auto, one handler by tag; +${mix.duplicates} duplicates, ${mix.outsiders} neighbour warnings, ${junk} junk events; budget ${report.budget} Auto Scaling requests/s`;
}

/** The lines under a run's table: the storm's own goals and the handler's totals. */
export function mixedFooter(result: MixedResult, style: Style): string {
    const mark = (key: MixedGoal["key"], text: string) => markGoal(result.goals, key, text, style);
    return [
        `  safety net ${result.safetyNet}, hooks skipped ${result.hooksSkipped}, hooks unknown ${result.hooksUnknown}; ${result.invocations} invocations, ${result.records} records (re-checks included), ${result.returned} returned for a re-check or retry`,
        `  ${mark("deadLettered", `${result.deadLettered} dead-lettered`)}${result.stillQueued ? `, ${result.stillQueued} still queued` : ""}; ${mark("neighbour", `neighbour ${result.neighbourUntouched ? "untouched" : "CHANGED"}`)}; events put in ${seconds(result.sentMs)}; wall ${seconds(result.wallMs)} (seeding ${seconds(result.seedMs)})`,
    ].join("\n");
}

/** The mixed storm as printReports's extra JSON field and text. */
export function mixedExtra(
    report: MixedReport | undefined,
    style: Style,
): { json: Record<string, unknown>; text: string } {
    if (report === undefined) {
        return { json: {}, text: "" };
    }
    const text = report.results.flatMap((result) => [
        style.bold(mixedHeading(report, result)),
        mixedTable(result, style),
        mixedFooter(result, style),
        "",
    ]);
    text.push(
        style.dim(
            "Calls per instance count every Auto Scaling request that reached the budget, served or throttled, hook lookups included: a request naming a group or an instance counts for its kind, and each batch's one lookup of every group is shared by the kinds of the instances it settled. Out of service: detached or terminated by the handler, or moved to Terminating by the group, timed by the emulator from the warning's `time`.",
        ),
    );
    return { json: { mixed: report }, text: text.join("\n") };
}
