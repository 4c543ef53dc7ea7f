/** What every storm's report shares: sample figures, the seeded shuffle, goals, log entries, tables. */
import type { GroupState } from "../../emulator/group-state";
import { type Style, table } from "../terminal";

/** Every goal was set at this Auto Scaling budget; at another they are indicative only. */
export const GOAL_BUDGET = 10;

/** The suffix a goal's name takes at a budget other than the one it was set at. */
export function atBudget(budget: number): string {
    return budget === GOAL_BUDGET ? "" : ` (set at ${GOAL_BUDGET} req/s)`;
}

export type Goal = { readonly key: string; readonly name: string; readonly met: boolean };

export const sum = (counts: Record<string, number>) =>
    Object.values(counts).reduce((a, b) => a + b, 0);
export const mean = (values: readonly number[]) =>
    values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;

/** Counts per action, added up. */
export function addUp(counts: readonly Record<string, number>[]): Record<string, number> {
    const total: Record<string, number> = {};
    for (const [action, n] of counts.flatMap((c) => Object.entries(c))) {
        total[action] = (total[action] ?? 0) + n;
    }
    return total;
}

/** p50, p95 and p99 (nearest rank) of latencies (per warning, or to out of service); null for none. */
export function percentiles(latencies: readonly number[]) {
    const sorted = [...latencies].sort((a, b) => a - b);
    const [p50, p95, p99] = [0.5, 0.95, 0.99].map((q) => sorted[Math.ceil(q * sorted.length) - 1]);
    return sorted.length === 0 ? null : { p50, p95, p99 };
}

/** Per invocation: ms gathering its batch (queue) and ms running. */
export type InvocationTime = { readonly gather: number; readonly run: number };

export function invocationFigures(batchSizes: readonly number[], times: readonly InvocationTime[]) {
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

/** The same seed every run: the same flags send the same storm, run after run. */
export const STORM_SEED = 20_201_105;

/** mulberry32: numbers in [0, 1), the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
    let state = seed;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = Math.imul(state ^ (state >>> 15), state | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
}

/** Our instances, every tenth twice, then the others (outsiders, junk), shuffled (Fisher-Yates, from a fixed seed) as EC2 might send them. */
export function stormOrder<T>(ours: readonly T[], ...others: (readonly T[])[]): T[] {
    const order = [...ours, ...ours.filter((_, i) => i % 10 === 0), ...others.flat()];
    const random = seededRandom(STORM_SEED);
    for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
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

/** A JSON entry of the handler's log, with the index of its line. */
export type LogEntry = Readonly<Record<string, unknown>> & { readonly index: number };

/** The handler's JSON log entries; other lines skipped. With `batches`, only its "Batch of" ones. */
export function logEntries(lines: readonly string[], batches = false): LogEntry[] {
    return lines.flatMap((line, index) => {
        let entry: unknown;
        try {
            entry = JSON.parse(line);
        } catch {
            return []; // not a JSON log line
        }
        if (typeof entry !== "object" || entry === null) {
            return [];
        }
        const message = (entry as { message?: unknown }).message;
        const isBatch = typeof message === "string" && message.startsWith("Batch of");
        return batches && !isBatch ? [] : [{ ...entry, index }];
    });
}

/** A number field of the handler's "Batch of" entries, added up; 0 where absent. */
export function batchTotal(lines: readonly string[], key: string): number {
    const values = logEntries(lines, true).map((entry) => entry[key]);
    return values.reduce<number>((n, value) => n + (typeof value === "number" ? value : 0), 0);
}

/** A figure marked met (✓) or missed (✗) when a goal judges it (`met` given); as is otherwise. */
export function markGoal(met: boolean | undefined, text: string, style: Style): string {
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

/** A run's last row: every goal met, or how many were missed. */
export function verdict(goals: readonly Goal[], style: Style, short = false): string {
    const missed = goals.filter((g) => !g.met).length;
    const words = short ? `${missed} missed` : `${missed} of ${goals.length} goals missed`;
    return missed === 0 ? style.green("goals met") : style.red(words);
}

/** A table row: label, goal, the cell for one run, and the key of the goal that marks it. */
export type Row<R> = readonly [label: string, goal: string, cell: (r: R) => string, key?: string];

/** Runs side by side under `headings`, figures down, each goal beside its figure. */
export function figuresTable<R extends { goals: readonly Goal[] }>(
    headings: string[],
    rows: readonly Row<R>[],
    runs: readonly R[],
    style: Style,
) {
    const cells = ([, , cell, key]: Row<R>) =>
        runs.map((r) => markGoal(r.goals.find((g) => g.key === key)?.met, cell(r), style));
    const body = rows.map((row) => [row[0], row[1], ...cells(row)]);
    return table(["", "GOAL", ...headings], body, 2);
}
