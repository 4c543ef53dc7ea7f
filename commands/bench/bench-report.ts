/**
 * `npm run bench`'s figures, goals and output: what one storm did on one path, judged against the
 * goals the queued path must meet, laid out side by side per storm, or as JSON. Its flags are in
 * bench-flags.ts.
 */
import { percentile, sum } from "./stats";

// The storms' own reports use them as report.sum and report.percentile.
export { percentile, sum } from "./stats";
import * as os from "node:os";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
import type { GroupState } from "../../emulator/group-state";
import { type Style, table } from "../terminal";
import type { Mode, Path, StormSpec } from "./bench-flags";

// The bench's whole surface stays importable from here, where bench-storm.ts imports it.

/** The goals, set at a budget of 10 Auto Scaling requests/s. */
export const GOALS = { budget: 10, lastOutMs: 20_000, callsPerInstance: 0.15 } as const;

/** What one storm did on one path; every figure is read from the emulator, the proxy or the mapping. */
export interface PathResult {
    readonly path: Path;
    /** Unique instances of our group that were warned. */
    readonly warned: number;
    /** Warnings sent: ours, their duplicates, and the outsiders'. */
    readonly warnings: number;
    /** From the first warning's PutEvents start to the last one's end (direct: all invoked at once, 0). */
    readonly sentMs: number;
    /** From the first warning sent to the last warned instance out of the group; null if some stayed. */
    readonly lastOutMs: number | null;
    /** Per warned instance, from its first warning's PutEvents (or invoke) start to its leaving. */
    readonly latencyMs: { p50: number; p95: number; p99: number } | null;
    /** Auto Scaling requests forwarded to the emulator, per action. */
    readonly served: Record<string, number>;
    readonly throttled: Record<string, number>;
    /** Forwarded requests the emulator answered with HTTP 400 or above, per action. */
    readonly refused: Record<string, number>;
    readonly callsPerInstance: number;
    /** Instances the handler reported as detached: exactly once means this equals `warned`. */
    readonly detachedByHandler: number;
    readonly invocations: number;
    readonly recordsPerInvocation: { mean: number; max: number };
    /** Queue: ms from a batch's first record to its invocation, and each invocation's run time. */
    readonly invocationMs: { meanGather: number; meanRun: number; maxRun: number };
    /** Queue: records left for a retry. Direct: invocations that threw. */
    readonly failed: number;
    /** Warned instances still in the group at the end. */
    readonly left: number;
    /** Queue: messages in the dead-letter queue at the end. Direct: null (no queue). */
    readonly deadLettered: number | null;
    /** Queue: messages still in the events queue at the end. */
    readonly stillQueued: number | null;
    readonly minSize: number;
    readonly desiredBefore: number;
    readonly desiredAfter: number;
    readonly neighbourUntouched: boolean;
    /** Membership polls of the emulator, and their mean duration (they hold its lock). */
    readonly polls: { count: number; meanMs: number };
    /** The whole run of this path, seeding included. */
    readonly wallMs: number;
    readonly goals: readonly Goal[];
}

export type GoalKey = "lastOut" | "calls" | "deadLettered" | "neighbour" | "desired" | "left";

export interface Goal {
    readonly key: GoalKey;
    readonly name: string;
    readonly met: boolean;
}

export interface StormReport extends StormSpec {
    readonly budget: number;
    readonly results: readonly PathResult[];
}

/** The same group, sizes and members alike, whatever order its instances were listed in. */
export function sameState(a: GroupState, b: GroupState): boolean {
    const normal = (g: GroupState) =>
        JSON.stringify({
            ...g,
            instances: [...g.instances].sort((x, y) => x.instanceId.localeCompare(y.instanceId)),
        });
    return normal(a) === normal(b);
}

/** Nearest-rank percentile of ascending `sorted`. */
export function mean(values: readonly number[]): number {
    return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Our instances, every tenth twice, and the outsiders', shuffled (mulberry32) as EC2 might send them. */
export function stormOrder(ours: readonly string[], outsiders: readonly string[]): string[] {
    return seededShuffle([...ours, ...ours.filter((_, i) => i % 10 === 0), ...outsiders]);
}

/** The same seed every run: the same flags send the same storm, run after run. */
const STORM_SEED = 20_201_105;

/** A Fisher-Yates shuffle of a copy of `items`, driven by mulberry32 from a fixed seed. */
export function seededShuffle<T>(items: readonly T[], seed = STORM_SEED): T[] {
    const order = [...items];
    let state = seed;
    const random = (): number => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = Math.imul(state ^ (state >>> 15), state | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
    for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
}

/** p50, p95 and p99 of per-warning latencies; null when no instance left. */
export function percentiles(latencies: readonly number[]): PathResult["latencyMs"] {
    const sorted = [...latencies].sort((a, b) => a - b);
    const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(sorted, p));
    return sorted.length === 0 ? null : { p50, p95, p99 };
}

export function invocationFigures(
    batchSizes: readonly number[],
    times: readonly { gather: number; run: number }[],
): Pick<PathResult, "invocations" | "recordsPerInvocation" | "invocationMs"> {
    const runs = times.map((t) => t.run);
    return {
        invocations: batchSizes.length,
        recordsPerInvocation: { mean: mean(batchSizes), max: Math.max(0, ...batchSizes) },
        invocationMs: {
            meanGather: mean(times.map((t) => t.gather)),
            meanRun: mean(runs),
            maxRun: Math.max(0, ...runs),
        },
    };
}

export function seconds(ms: number): string {
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** The goals of a storm on one path; direct has no queue, so a failed invocation stands for a dead letter. */
export function judgeGoals(mode: Mode, r: Omit<PathResult, "goals">, budget: number): Goal[] {
    const { lastOutMs, callsPerInstance } = GOALS;
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
        ["deadLettered", "0 dead-lettered", (r.deadLettered ?? r.failed) === 0],
        ["neighbour", "neighbour untouched", r.neighbourUntouched],
    ];
    if (mode === "decrement") {
        goals.push(["desired", "desired capacity = MinSize", r.desiredAfter === r.minSize]);
    }
    // Set at 10 requests/s: at another budget they are indicative only.
    const at = budget === GOALS.budget ? "" : ` (set at ${GOALS.budget} req/s)`;
    return goals.map(([key, name, met]) => ({ key, name: name + at, met }));
}

/** The table's rows: a figure and its goal, if it has one. */
const ROWS: readonly (readonly [label: string, goal?: string])[] = [
    ["last warned instance out", `< ${GOALS.lastOutMs / 1000} s`],
    ["every warning sent (PutEvents) after"],
    ["per warning p50 / p95 / p99"],
    ["Auto Scaling calls per instance", `≤ ${GOALS.callsPerInstance}`],
    ["  served per action"],
    ["throttled by the budget"],
    ["refused by the emulator (HTTP ≥ 400)"],
    ["detached by the handler"],
    ["invocations (records per invocation)"],
    ["  gathering a batch / running it (mean, max)"],
    ["failed"],
    ["warned instances left in the group", "0"],
    ["dead-lettered", "0"],
    ["desired capacity before → after", "= MinSize"],
    ["neighbour group", "untouched"],
    ["membership polls (mean)"],
    ["wall time, seeding included"],
    ["verdict"],
];

/** A figure marked met (✓) or missed (✗) when a goal judges it; as is otherwise. */
export function markGoal(
    goals: readonly { readonly key: string; readonly met: boolean }[],
    key: string,
    text: string,
    style: Style,
): string {
    const met = goals.find((g) => g.key === key)?.met;
    return met === undefined ? text : met ? `${text} ${style.green("✓")}` : style.red(`${text} ✗`);
}

/** Requests per Auto Scaling action, shortened for a table cell. */
export function perAction(counts: Record<string, number>): string {
    return (
        Object.entries(counts)
            .map(([action, n]) => `${action.replace("AutoScaling", "…")} ${n}`)
            .join(", ") || "0"
    );
}

/** One storm, figures down, paths across; a figure with a goal is marked met or missed. */
export function stormTable(storm: StormReport, style: Style): string {
    const column = (r: PathResult): string[] => {
        const mark = (key: GoalKey, text: string): string => markGoal(r.goals, key, text, style);
        const { invocationMs: i, recordsPerInvocation: records } = r;
        const missed = r.goals.filter((g) => !g.met).length;
        return [
            mark("lastOut", r.lastOutMs === null ? `never (${r.left} left)` : seconds(r.lastOutMs)),
            seconds(r.sentMs),
            r.latencyMs === null ? "—" : Object.values(r.latencyMs).map(seconds).join(" / "),
            mark("calls", `${r.callsPerInstance.toFixed(3)} (${sum(r.served)} served)`),
            perAction(r.served),
            perAction(r.throttled),
            perAction(r.refused),
            `${r.detachedByHandler} of ${r.warned}`,
            `${r.invocations} (mean ${records.mean.toFixed(1)}, max ${records.max})`,
            `${seconds(i.meanGather)} / ${seconds(i.meanRun)}, ${seconds(i.maxRun)}`,
            `${r.failed} ${r.path === "direct" ? "invocations threw" : "records"}`,
            String(r.left),
            mark(
                "deadLettered",
                r.deadLettered === null
                    ? `no queue (${r.failed} failed)`
                    : `${r.deadLettered}${r.stillQueued ? `, ${r.stillQueued} still queued` : ""}`,
            ),
            mark("desired", `${r.desiredBefore} → ${r.desiredAfter} (MinSize ${r.minSize})`),
            mark("neighbour", r.neighbourUntouched ? "untouched" : "CHANGED"),
            `${r.polls.count} (${seconds(r.polls.meanMs)})`,
            seconds(r.wallMs),
            missed === 0
                ? style.green("goals met")
                : style.red(`${missed} of ${r.goals.length} goals missed`),
        ];
    };
    const columns = storm.results.map(column);
    return table(
        ["", "GOAL", ...storm.results.map((r) => r.path.toUpperCase())],
        ROWS.map(([label, goal = ""], row) => [
            label,
            goal === "= MinSize" && storm.mode === "keep" ? "" : goal,
            ...columns.map((c) => c[row]),
        ]),
        2,
    );
}

export interface ReportContext {
    readonly json: boolean;
    readonly style: Style;
    readonly queueSettings?: QueueSettings;
    readonly directTimeoutMs?: number;
    readonly pollIntervalMs: number;
    /** Concurrent PutEvents senders on the queued path. */
    readonly senders: number;
    readonly totalWallMs: number;
    /** More to report beside the storms (the many-groups storm): JSON fields, and text before the notes. */
    readonly extra?: { readonly json: Record<string, unknown>; readonly text: string };
}

/** Tables and notes on stdout, or one JSON document. */
export function printReports(storms: readonly StormReport[], context: ReportContext): void {
    const { json, style, queueSettings: queue, directTimeoutMs, extra, ...rest } = context;
    if (json) {
        const machine = {
            cpus: os.cpus().length,
            node: process.version,
            platform: process.platform,
        };
        const document = {
            date: new Date().toISOString(),
            machine,
            queue,
            directTimeoutMs,
            ...rest,
            storms,
            ...extra?.json,
        };
        process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
        return;
    }
    for (const storm of storms) {
        const extra = (storm.results[0]?.warnings ?? storm.size) - storm.size;
        const heading = `Storm: ${storm.size} instances of web warned, ${storm.mode} mode, +${extra} duplicate and neighbour warnings; budget ${storm.budget} Auto Scaling requests/s`;
        process.stdout.write(`${style.bold(heading)}\n${stormTable(storm, style)}\n\n`);
    }
    if (extra !== undefined && extra.text !== "") {
        process.stdout.write(`${extra.text}\n\n`);
    }
    const notes = [
        queue &&
            `Queue: batch size ${queue.batchSize}, window ${queue.maximumBatchingWindowInSeconds} s, maximum concurrency ${queue.maximumConcurrency}, visibility ${queue.visibilityTimeoutSeconds} s, dead-lettered after ${queue.maxReceiveCount} receives. Warnings are put by ${context.senders} senders at once, 10 per PutEvents.`,
        directTimeoutMs &&
            `Direct: every warning invoked at once in one container (one SDK client, so one adaptive-retry rate limiter, where Lambda would run many), each bounded by the function's ${directTimeoutMs / 1000} s timeout; Lambda's asynchronous retries of failed invocations are not modelled.`,
        `Departures: timed by the handler's own detach log entries, confirmed by polling the group straight from the emulator every ${rest.pollIntervalMs} ms. The emulator is moto on this machine, one request at a time.`,
        `Total wall time ${seconds(rest.totalWallMs)}.`,
    ];
    process.stdout.write(`${style.dim(notes.filter(Boolean).join("\n"))}\n`);
}
