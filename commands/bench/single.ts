/**
 * The single-group storm: the web group's warnings go through `delivery: "queue"` (PutEvents →
 * the component's rule → events queue → local event source mapping → handler) and through
 * `delivery: "direct"` (one concurrent invocation per warning), each behind a fresh Auto Scaling
 * budget, judged from the emulator's state, and laid out side by side.
 */
import { performance } from "node:perf_hooks";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
import { FAULTS } from "../../emulator/fault-proxy";
import { describeGroupState } from "../../emulator/group-state";
import type { Emulator } from "../../emulator/server";
import { seedWorkshopEnvironment, WEB_GROUP_NAME } from "../../emulator/workshop";
import type { InterruptionSummary } from "../../handler/entry";
import type { HandlerArchive } from "../../offline/handler-archive";
import { freshSampleEvent } from "../../offline/sample-event";
import { type Style } from "../terminal";
import { type PathSeries } from "./chart";
import {
    departureFigures,
    departureProgress,
    type DepartureRun,
    detachedInLog,
    timeDeparturesByLog,
    trackDepartures,
    type Watched,
} from "./departures";
import type { Mode, Path, StormSpec } from "./flags";
import { runQueued, withBudget } from "./pipelines";
import {
    type DepartureFigures,
    departureRows,
    figuresTable,
    type Goal,
    judged,
    markGoal,
    type Row,
    stormOrder,
    sum,
    verdict,
} from "./report";
import { duration } from "../terminal";

/** The queued path's goals, set at a budget of 10 Auto Scaling requests/s. */
export const GOALS = { lastOutMs: 20_000, callsPerInstance: 0.15 } as const;

/** What one storm did on one path. */
export interface PathResult extends DepartureFigures {
    readonly path: Path;
    /** Warnings sent: ours, their duplicates, and the outsiders'. */
    readonly warnings: number;
    /** Queue: messages in the dead-letter queue at the end. Direct: null (no queue). */
    readonly deadLettered: number | null;
    /** Queue: messages still in the events queue at the end. */
    readonly stillQueued: number | null;
    readonly minSize: number;
    readonly desiredBefore: number;
    readonly desiredAfter: number;
}

export interface StormReport extends StormSpec {
    readonly budget: number;
    readonly results: readonly PathResult[];
}

export interface PathTarget {
    readonly mode: Mode;
    readonly path: Path;
    readonly archive: HandlerArchive;
    /** Set for the queued path. */
    readonly settings?: QueueSettings;
}

/** The goals of a storm on one path; direct has no queue, so a failed invocation stands for a dead letter. */
export function judgeGoals(mode: Mode, r: Omit<PathResult, "goals">, budget: number): Goal[] {
    const { lastOutMs, callsPerInstance } = GOALS;
    return judged(
        [
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
            ...(mode === "decrement"
                ? [["desired", "desired capacity = MinSize", r.desiredAfter === r.minSize] as const]
                : []),
        ],
        budget,
    );
}

/** Seeds a fresh group, sends the storm down one path, and judges what it did from state. */
export async function runPath(
    emulator: Emulator,
    target: PathTarget,
    spec: StormSpec,
    options: { budget: number; outageSeconds: number; progress: (message: string) => void },
): Promise<{ result: PathResult; series: PathSeries }> {
    const { progress } = options;
    const wallStart = performance.now();
    await emulator.reset();
    progress(`  ${target.path}: seeding a web group of ${spec.size}...`);
    const minSize = spec.mode === "decrement" ? Math.floor(spec.size / 2) : Math.min(2, spec.size);
    const seeded = await seedWorkshopEnvironment(emulator, {
        webGroup: { minSize, desiredCapacity: spec.size, maxSize: spec.size },
    });
    const before = await describeGroupState(emulator, seeded.webGroupName);
    const neighbourBefore = await describeGroupState(emulator, seeded.otherGroupName);
    const ours = before.instances.map((i) => i.instanceId);
    const watched: Watched = {
        ours,
        groupNames: [WEB_GROUP_NAME],
        neighbourName: seeded.otherGroupName,
        neighbourBefore,
    };
    const neighbours = neighbourBefore.instances.map((i) => i.instanceId);
    const order = stormOrder(ours, [...neighbours, seeded.standaloneInstanceId]);
    const outageEndsAt = performance.now() + options.outageSeconds * 1000;
    const budget = {
        budget: { requestsPerSecond: options.budget },
        // An outage: Auto Scaling throttles every request until it ends.
        plan: () => (performance.now() < outageEndsAt ? FAULTS.throttling : undefined),
    };
    return withBudget(emulator, budget, async (proxy) => {
        progress(`  ${target.path}: ${order.length} warnings...`);
        const onPoll = departureProgress(target.path, ours.length, proxy, progress);
        let queue: { deadLettered: number; stillQueued: number } | undefined;
        let run: DepartureRun;
        if (target.settings === undefined) {
            run = await runDirect(emulator, target.archive, {
                order,
                ours,
                proxyEndpoint: proxy.endpoint,
                onPoll,
            });
        } else {
            const queued = await runQueued(
                emulator,
                [{ name: `bench-${spec.mode}`, archive: target.archive }],
                target.settings,
                proxy,
                {
                    entries: order,
                    instanceOf: (id) => id,
                    put: (chunk, put) => put(chunk.map((id) => freshSampleEvent(id))),
                    watch: (_startedAt, deadline) =>
                        trackDepartures(emulator, ours, [WEB_GROUP_NAME], deadline, onPoll),
                },
            );
            const departures = queued.watch;
            timeDeparturesByLog(departures.outAt, queued.logLines, queued.logTimesMs);
            run = { ...queued, departures, detachedByHandler: detachedInLog(queued.logLines) };
            queue = queued;
        }
        const figures = await departureFigures(emulator, watched, run, proxy, false);
        const after = await describeGroupState(emulator, seeded.webGroupName);
        const result: Omit<PathResult, "goals"> = {
            path: target.path,
            warnings: order.length,
            ...figures,
            deadLettered: queue?.deadLettered ?? null,
            stillQueued: queue?.stillQueued ?? null,
            minSize: before.minSize,
            desiredBefore: before.desiredCapacity,
            desiredAfter: after.desiredCapacity,
            wallMs: performance.now() - wallStart,
        };
        const seconds = (at: number) => (at - run.startedAt) / 1000;
        return {
            result: { ...result, goals: judgeGoals(spec.mode, result, options.budget) },
            series: {
                path: target.path,
                outAtSeconds: [...run.departures.outAt.values()].map(seconds),
                throttledAtSeconds: proxy.throttledAtMs.map(seconds),
                neverLeft: figures.left,
                watchedSeconds: (performance.now() - run.startedAt) / 1000,
            },
        };
    });
}

/** Every warning invoked at once in one container; each invocation ends by the function's timeout. */
async function runDirect(
    emulator: Emulator,
    archive: HandlerArchive,
    storm: {
        order: readonly string[];
        ours: readonly string[];
        proxyEndpoint: string;
        onPoll: (out: number) => void;
    },
): Promise<DepartureRun> {
    const startedAt = performance.now();
    // The handler's deadline bounds its calls, so the function's timeout bounds the watch.
    const deadline = startedAt + archive.timeoutMs + 10_000;
    const departures = trackDepartures(
        emulator,
        storm.ours,
        [WEB_GROUP_NAME],
        deadline,
        storm.onPoll,
    );
    try {
        const { results, durationsMs, logLines, logTimesMs } =
            await archive.invoke<InterruptionSummary>(
                storm.order.map((id) => freshSampleEvent(id)),
                { ...emulator.environment(), AWS_ENDPOINT_URL: storm.proxyEndpoint },
            );
        timeDeparturesByLog(departures.outAt, logLines, logTimesMs);
        return {
            startedAt,
            sentMs: 0,
            sentAt: new Map(storm.order.map((id) => [id, startedAt])),
            departures,
            detachedByHandler: results.filter(
                (r) => r.status === "fulfilled" && r.value.action === "detached",
            ).length,
            batchSizes: results.map(() => 1),
            invocationMs: durationsMs.map((run) => ({ gather: 0, run })),
            failed: results.filter((r) => r.status === "rejected").length,
        };
    } finally {
        await departures.stop();
    }
}

/** One storm, figures down, paths across; a figure with a goal is marked met or missed. */
export function stormTable(storm: StormReport, style: Style): string {
    const mark = (r: PathResult, key: string, text: string) => markGoal(r.goals, key, text, style);
    const rows: Row<PathResult>[] = [
        ...departureRows<PathResult>(style, GOALS, {
            sent: "warning",
            calls: (r) => `${sum(r.served)} served`,
            throttled: "throttled by the budget",
            detached: "detached by the handler",
        }),
        [
            "failed",
            "",
            (r) => `${r.failed} ${r.path === "direct" ? "invocations threw" : "records"}`,
        ],
        ["warned instances left in the group", "0", (r) => String(r.left)],
        [
            "dead-lettered",
            "0",
            (r) =>
                mark(
                    r,
                    "deadLettered",
                    r.deadLettered === null
                        ? `no queue (${r.failed} failed)`
                        : `${r.deadLettered}${r.stillQueued ? `, ${r.stillQueued} still queued` : ""}`,
                ),
        ],
        [
            "desired capacity before → after",
            storm.mode === "keep" ? "" : "= MinSize",
            (r) =>
                mark(r, "desired", `${r.desiredBefore} → ${r.desiredAfter} (MinSize ${r.minSize})`),
        ],
        [
            "neighbour group",
            "untouched",
            (r) => mark(r, "neighbour", r.neighbourUntouched ? "untouched" : "CHANGED"),
        ],
        ["membership polls (mean)", "", (r) => `${r.polls.count} (${duration(r.polls.meanMs)})`],
        ["wall time, seeding included", "", (r) => duration(r.wallMs)],
        ["verdict", "", (r) => verdict(r.goals, style)],
    ];
    return figuresTable(
        storm.results.map((r) => r.path.toUpperCase()),
        rows,
        storm.results,
    );
}

/** Each storm's heading and table. */
export function stormsText(storms: readonly StormReport[], style: Style): string[] {
    return storms.map((storm) => {
        const extra = (storm.results[0]?.warnings ?? storm.size) - storm.size;
        const heading = `Storm: ${storm.size} instances of web warned, ${storm.mode} mode, +${extra} duplicate and neighbour warnings; budget ${storm.budget} Auto Scaling requests/s`;
        return `${style.bold(heading)}\n${stormTable(storm, style)}`;
    });
}
