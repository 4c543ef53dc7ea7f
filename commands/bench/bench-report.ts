/**
 * `npm run bench`'s flags, figures, goals and output: what one storm did on one path, judged
 * against the goals the queued path must meet, laid out side by side per storm, or as JSON.
 */
import * as os from "node:os";
import { parseArgs } from "node:util";
import type { QueueSettings } from "../../components/handler-settings";
import { type Style, table } from "../terminal";

export type Path = "queue" | "direct";
export type Mode = "keep" | "decrement";

export const PATHS: readonly Path[] = ["queue", "direct"];
export const MODES: readonly Mode[] = ["keep", "decrement"];
export const COMMAND = "npm run bench";

/** The goals, set at a budget of 10 Auto Scaling requests/s. */
export const GOALS = { budget: 10, lastOutMs: 20_000, callsPerInstance: 0.15 } as const;
const DEFAULT_SIZES: Record<Mode, number> = { keep: 1000, decrement: 500 };
/** Keep-mode replacements all land in the first /20 subnet (4091 addresses), with a third of the group. */
const MAX_SIZE = 3000;

export interface StormSpec {
    readonly mode: Mode;
    /** Instances of our group, every one warned. */
    readonly size: number;
}

export interface BenchOptions {
    readonly storms: StormSpec[];
    readonly paths: Path[];
    readonly budget: number;
    readonly batchSize: number;
    readonly window: number;
    readonly concurrency: number;
    readonly json: boolean;
}

const FLAGS: Record<string, readonly [syntax: string, help: string]> = {
    sizes: [
        "N[,N...]",
        `Warned instances of the web group per storm, whole numbers 1 to ${MAX_SIZE}; every instance of the group is warned. Default: 1000 in keep mode, 500 in decrement mode.`,
    ],
    mode: [
        "keep|decrement|keep,decrement",
        "Capacity on interruption: keep (the group launches replacements) or decrement (a group whose MinSize is half its size). Default: keep,decrement.",
    ],
    budget: [
        "N",
        "Auto Scaling requests/s the shared token bucket refills (its burst is as many), 1 to 1000; beyond it, Throttling as AWS answers. Default: 10.",
    ],
    "batch-size": ["N", "Queue: most records per invocation, 1 to 10000. Default: 100."],
    window: [
        "S",
        "Queue: batching window in seconds, 0 to 300; at least 1 when --batch-size is over 10. Default: 1.",
    ],
    concurrency: ["N", "Queue: maximum concurrent invocations, 2 to 1000. Default: 2."],
    paths: ["queue|direct|queue,direct", "Delivery paths to run side by side. Default: both."],
    json: ["", "Print JSON on stdout instead of tables; progress stays on stderr."],
    help: ["", "Show this help and exit."],
};
const syntax = (name: string): string => `--${name} ${FLAGS[name]?.[0] ?? ""}`.trim();

export function helpText(): string {
    return [
        `Usage: ${COMMAND} -- [flags]`,
        "",
        "Interruption storms through the queued and the direct path, side by side, against the",
        "emulator behind an Auto Scaling budget. Each storm warns every instance of the web group,",
        "every tenth of them twice, and every instance of the neighbouring batch group.",
        "",
        table(
            ["FLAG", "WHAT IT DOES"],
            Object.entries(FLAGS).flatMap(([name, [, help]]) =>
                wrap(help, 64).map((line, i) => [i === 0 ? syntax(name) : "", line]),
            ),
            2,
        ),
        "",
        "Goals (queued path, at 10 requests/s): last warned instance out of the group in under 20 s,",
        "at most 0.15 Auto Scaling calls per instance, nothing dead-lettered, the neighbour group",
        "untouched, and in decrement mode desired capacity exactly MinSize.",
        "Exit status: 0 when the queued path meets every goal, 1 when it misses one, 2 for a bad flag.",
        "",
    ].join("\n");
}

/** Splits `text` into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string[] {
    const lines = [""];
    for (const word of text.split(" ")) {
        const last = lines[lines.length - 1];
        if (last !== "" && last.length + 1 + word.length > width) {
            lines.push(word);
        } else {
            lines[lines.length - 1] = last === "" ? word : `${last} ${word}`;
        }
    }
    return lines;
}

/** A bad flag or value; the message names the flag and what it allows. */
export class UsageError extends Error {}

/** Every flag is checked here, before any work; "help" when --help was asked for. */
export function parseFlags(argv: readonly string[]): BenchOptions | "help" {
    let values: Record<string, string | boolean | undefined>;
    try {
        ({ values } = parseArgs({
            args: [...argv],
            options: Object.fromEntries(
                Object.entries(FLAGS).map(([name, [value]]) => [
                    name,
                    {
                        type: value === "" ? ("boolean" as const) : ("string" as const),
                        ...(name === "help" ? { short: "h" } : {}),
                    },
                ]),
            ),
            strict: true,
            allowPositionals: false,
        }));
    } catch (error) {
        throw new UsageError(readableParseError(error));
    }
    if (values.help === true) {
        return "help";
    }
    const text = (flag: string): string | undefined => values[flag] as string | undefined;
    const sizes = text("sizes")
        ?.split(",")
        .map((size) => whole("sizes", size, 1, MAX_SIZE, text("sizes")));
    const batchSize = whole("batch-size", text("batch-size") ?? "100", 1, 10_000);
    const window = whole("window", text("window") ?? "1", 0, 300);
    if (batchSize > 10 && window < 1) {
        throw new UsageError(
            `--window must be at least 1 with a --batch-size over 10 (Lambda's rule), not ${window}; use --window 1 or --batch-size 10`,
        );
    }
    const budget = text("budget") ?? "10";
    if (!/^\d+(\.\d+)?$/.test(budget) || Number(budget) < 1 || Number(budget) > 1000) {
        throw new UsageError(
            `--budget takes requests per second, a number from 1 to 1000 (e.g. --budget 10); not "${budget}"`,
        );
    }
    return {
        storms: choices("mode", text("mode"), MODES).flatMap((mode) =>
            (sizes ?? [DEFAULT_SIZES[mode]]).map((size) => ({ mode, size })),
        ),
        paths: choices("paths", text("paths"), PATHS),
        budget: Number(budget),
        batchSize,
        window,
        concurrency: whole("concurrency", text("concurrency") ?? "2", 2, 1000),
        json: values.json === true,
    };
}

function whole(flag: string, value: string, min: number, max: number, all = value): number {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
        const what = flag === "sizes" ? "comma-separated whole numbers" : "a whole number";
        throw new UsageError(`--${flag} takes ${what} from ${min} to ${max}; not "${all}"`);
    }
    return Number(value);
}

function choices<T extends string>(
    flag: string,
    value: string | undefined,
    allowed: readonly T[],
): T[] {
    const picked = value?.split(",") ?? allowed;
    if (picked.some((v) => !allowed.includes(v as T))) {
        throw new UsageError(
            `--${flag} takes ${allowed.join(", ")} or both as ${allowed.join(",")}; not "${value}"`,
        );
    }
    return allowed.filter((a) => picked.includes(a));
}

/** node:util parseArgs's messages, reworded to name the flag and its values. */
function readableParseError(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
    const flag = quoted.split(/[ =]/)[0];
    const all = `the flags are ${Object.keys(FLAGS)
        .map((name) => `--${name}`)
        .join(", ")}`;
    switch ((error as { code?: string }).code) {
        case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
            return `unknown flag ${flag}; ${all} (see ${COMMAND} -- --help)`;
        case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
            return `unexpected argument "${quoted}"; ${all}, each with its value`;
        case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
            return /does not take an argument/.test(message)
                ? `${flag} takes no value; write just ${flag}`
                : `${flag} needs a value: ${syntax(flag.replace(/^-+/, ""))}`;
        default:
            return message;
    }
}

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

export type GoalKey = "lastOut" | "calls" | "deadLettered" | "neighbour" | "desired";

export interface Goal {
    readonly key: GoalKey;
    readonly name: string;
    readonly met: boolean;
}

export interface StormReport extends StormSpec {
    readonly budget: number;
    readonly results: readonly PathResult[];
}

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export function mean(values: readonly number[]): number {
    return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

export function sum(counts: Record<string, number>): number {
    return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Our instances, every tenth twice, and the outsiders', shuffled (mulberry32) as EC2 might send them. */
export function stormOrder(ours: readonly string[], outsiders: readonly string[]): string[] {
    const order = [...ours, ...ours.filter((_, i) => i % 10 === 0), ...outsiders];
    let state = 20_201_105; // fixed: the same flags send the same storm, run after run
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

/** One storm, figures down, paths across; a figure with a goal is marked met or missed. */
export function stormTable(storm: StormReport, style: Style): string {
    const column = (r: PathResult): string[] => {
        const mark = (key: GoalKey, text: string): string => {
            const met = r.goals.find((g) => g.key === key)?.met;
            return met === undefined
                ? text
                : met
                  ? `${text} ${style.green("✓")}`
                  : style.red(`${text} ✗`);
        };
        const perAction = (counts: Record<string, number>): string =>
            Object.entries(counts)
                .map(([action, n]) => `${action.replace("AutoScaling", "…")} ${n}`)
                .join(", ") || "0";
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
}

/** Tables and notes on stdout, or one JSON document. */
export function printReports(storms: readonly StormReport[], context: ReportContext): void {
    const { json, style, queueSettings: queue, directTimeoutMs, ...rest } = context;
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
        };
        process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
        return;
    }
    for (const storm of storms) {
        const extra = (storm.results[0]?.warnings ?? storm.size) - storm.size;
        const heading = `Storm: ${storm.size} instances of web warned, ${storm.mode} mode, +${extra} duplicate and neighbour warnings; budget ${storm.budget} Auto Scaling requests/s`;
        process.stdout.write(`${style.bold(heading)}\n${stormTable(storm, style)}\n\n`);
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
