/** The single-group storm: the web group's warnings through the queued and the direct path, side by side. */
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
import { FAULTS } from "../../emulator/fault-proxy";
import { describeGroupState } from "../../emulator/group-state";
import type { Emulator } from "../../emulator/server";
import { seedWorkshopEnvironment, WEB_GROUP_NAME } from "../../emulator/workshop";
import type { InterruptionSummary } from "../../handler/entry";
import type { HandlerArchive } from "../../offline/handler-archive";
import { freshSampleEvent } from "../../offline/sample-event";
import { duration, type Style } from "../terminal";
import { stormChartSvg } from "./chart";
import * as departures from "./departures";
import type { BenchOptions, Path, StormSpec } from "./flags";
import { type Build, runQueued, withBudget } from "./pipelines";
import { figuresTable, type Row, stormOrder, sum, verdict } from "./report";

/** The queued path's goals, set at a budget of 10 Auto Scaling requests/s. */
export const GOALS = { lastOutMs: 20_000, callsPerInstance: 0.15 } as const;

/** What one path did with a storm, judged. */
export type PathResult = Awaited<ReturnType<typeof runPath>>["result"];

/** One single-group storm: its spec, the budget, and each path's result. */
export type StormReport = Awaited<ReturnType<typeof runSingleStorms>>["storms"][number];

/** Every single-group storm down every path, one handler per mode and path, with a chart per storm. */
export async function runSingleStorms(
    emulator: Emulator,
    build: Build,
    options: BenchOptions,
    progress: (message: string) => void,
) {
    const targets = [];
    for (const mode of new Set(options.storms.map((s) => s.mode))) {
        for (const delivery of options.paths) {
            const queue = delivery === "queue" ? options.queueArgs : {};
            const args = { autoScalingGroupName: WEB_GROUP_NAME, capacityOnInterruption: mode };
            const built = await build(`bench-${delivery}-${mode}`, { ...args, delivery, ...queue });
            const { archive } = built.member;
            targets.push({ mode, path: delivery, archive, settings: built.settings });
        }
    }
    const storms = [];
    const charts: string[] = [];
    for (const spec of options.storms) {
        progress(`Storm of ${spec.size} warned instances, ${spec.mode} mode:`);
        const runs = [];
        for (const target of targets.filter((t) => t.mode === spec.mode)) {
            runs.push(await runPath(emulator, target, spec, { ...options, progress }));
        }
        storms.push({ ...spec, budget: options.budget, results: runs.map((r) => r.result) });
        const folder = options.chartDirectory;
        if (folder !== undefined) {
            const outage =
                options.outageSeconds > 0 ? `, after a ${options.outageSeconds} s outage` : "";
            const chart = stormChartSvg({
                title: `${spec.size} warned instances, ${spec.mode} mode, ${options.budget} Auto Scaling requests/s${outage}`,
                warned: spec.size,
                goalSeconds: GOALS.lastOutMs / 1000,
                series: runs.map((r) => r.series),
            });
            const file = path.join(folder, `storm-${spec.size}-${spec.mode}.svg`);
            fs.mkdirSync(folder, { recursive: true });
            fs.writeFileSync(file, chart);
            charts.push(file);
            progress(`  chart: ${path.relative(process.cwd(), file)}`);
        }
    }
    return { storms, charts };
}

/** Seeds a fresh group, sends the storm down one path, and judges what it did from state. */
export async function runPath(
    emulator: Emulator,
    target: { path: Path; archive: HandlerArchive; settings?: QueueSettings },
    spec: StormSpec,
    options: { budget: number; outageSeconds: number; progress: (message: string) => void },
) {
    const { progress } = options;
    const wallStart = performance.now();
    await emulator.reset();
    progress(`  ${target.path}: seeding a web group of ${spec.size}...`);
    const minSize = spec.mode === "decrement" ? Math.floor(spec.size / 2) : Math.min(2, spec.size);
    const seeded = await seedWorkshopEnvironment(emulator, {
        webGroup: { minSize, desiredCapacity: spec.size, maxSize: spec.size },
    });
    const before = await describeGroupState(emulator, WEB_GROUP_NAME);
    const neighbourName = seeded.otherGroupName;
    const neighbourBefore = await describeGroupState(emulator, neighbourName);
    const ours = before.instances.map((i) => i.instanceId);
    const watched = { ours, groupNames: [WEB_GROUP_NAME], neighbourName, neighbourBefore };
    const outsiders = [
        ...neighbourBefore.instances.map((i) => i.instanceId),
        seeded.standaloneInstanceId,
    ];
    const order = stormOrder(ours, outsiders);
    const outageEndsAt = performance.now() + options.outageSeconds * 1000;
    const budget = {
        budget: { requestsPerSecond: options.budget },
        // An outage: Auto Scaling throttles every request until it ends.
        plan: () => (performance.now() < outageEndsAt ? FAULTS.throttling : undefined),
    };
    return withBudget(emulator, budget, async (proxy) => {
        progress(`  ${target.path}: ${order.length} warnings...`);
        const track = departures.watchDepartures(emulator, watched, target.path, proxy, progress);
        const members = [{ name: `bench-${spec.mode}`, archive: target.archive }];
        const queue =
            target.settings &&
            (await runQueued(emulator, members, target.settings, proxy, {
                entries: order,
                instanceOf: (id) => id,
                put: (chunk, put) => put(chunk.map((id) => freshSampleEvent(id))),
                watch: track,
            }));
        const run = queue
            ? departures.departed(queue)
            : await runDirect(emulator, target.archive, order, proxy.endpoint, track);
        const watchedSeconds = (performance.now() - run.startedAt) / 1000;
        const figures = await departures.departureFigures(emulator, watched, run, proxy, false);
        const after = await describeGroupState(emulator, WEB_GROUP_NAME);
        const result = {
            path: target.path,
            // Ours, their duplicates, and the outsiders'.
            warnings: order.length,
            ...figures,
            // Queue: messages left in the dead-letter queue, and in the events queue. Direct: null.
            deadLettered: queue?.deadLettered ?? null,
            stillQueued: queue?.stillQueued ?? null,
            minSize: before.minSize,
            desiredBefore: before.desiredCapacity,
            desiredAfter: after.desiredCapacity,
            wallMs: performance.now() - wallStart,
        };
        const seconds = (at: number) => (at - run.startedAt) / 1000;
        // Direct has no queue, so a failed invocation stands for a dead letter.
        const more = {
            deadLettered: result.deadLettered ?? result.failed,
            desired: spec.mode === "decrement" ? result.desiredAfter === result.minSize : undefined,
        };
        return {
            result: {
                ...result,
                goals: departures.departureGoals(result, GOALS, options.budget, more),
            },
            series: {
                path: target.path,
                outAtSeconds: [...run.departures.outAt.values()].map(seconds),
                throttledAtSeconds: proxy.throttledAtMs.map(seconds),
                neverLeft: figures.left,
                watchedSeconds,
            },
        };
    });
}

/** Every warning invoked at once in one container, each ending by the function's timeout. */
async function runDirect(
    emulator: Emulator,
    archive: HandlerArchive,
    order: readonly string[],
    endpoint: string,
    track: (deadline: number) => departures.Departures,
): Promise<departures.DepartureRun> {
    const startedAt = performance.now();
    // The handler's deadline bounds its calls, so the function's timeout bounds the watch.
    const watch = track(startedAt + archive.timeoutMs + 10_000);
    try {
        const { results, durationsMs, logLines, logTimesMs } =
            await archive.invoke<InterruptionSummary>(
                order.map((id) => freshSampleEvent(id)),
                { ...emulator.environment(), AWS_ENDPOINT_URL: endpoint },
            );
        departures.timeDeparturesByLog(watch.outAt, logLines, logTimesMs);
        const fulfilled = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
        return {
            startedAt,
            sentMs: 0,
            sentAt: new Map(order.map((id) => [id, startedAt])),
            departures: watch,
            detachedByHandler: fulfilled.filter((summary) => summary.action === "detached").length,
            batchSizes: results.map(() => 1),
            invocationMs: durationsMs.map((run) => ({ gather: 0, run })),
            failed: results.length - fulfilled.length,
        };
    } finally {
        await watch.stop();
    }
}

/** Each storm's heading, then its table: figures down, paths across, each judged figure marked. */
export function stormsText(storms: readonly StormReport[], style: Style): string[] {
    return storms.map((storm) => {
        const rows: Row<PathResult>[] = [
            ...departures.departureRows<PathResult>(GOALS, {
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
                ({ deadLettered: dead, stillQueued: still, failed }) =>
                    dead === null
                        ? `no queue (${failed} failed)`
                        : `${dead}${still ? `, ${still} still queued` : ""}`,
                "deadLettered",
            ],
            [
                "desired capacity before → after",
                storm.mode === "keep" ? "" : "= MinSize",
                (r) => `${r.desiredBefore} → ${r.desiredAfter} (MinSize ${r.minSize})`,
                "desired",
            ],
            [
                "neighbour group",
                "untouched",
                (r) => (r.neighbourUntouched ? "untouched" : "CHANGED"),
                "neighbour",
            ],
            [
                "membership polls (mean)",
                "",
                (r) => `${r.polls.count} (${duration(r.polls.meanMs)})`,
            ],
            ["wall time, seeding included", "", (r) => duration(r.wallMs)],
            ["verdict", "", (r) => verdict(r.goals, style)],
        ];
        const extra = (storm.results[0]?.warnings ?? storm.size) - storm.size;
        const heading = `Storm: ${storm.size} instances of web warned, ${storm.mode} mode, +${extra} duplicate and neighbour warnings; budget ${storm.budget} Auto Scaling requests/s`;
        const headings = storm.results.map((r) => r.path.toUpperCase());
        return `${style.bold(heading)}\n${figuresTable(headings, rows, storm.results, style)}`;
    });
}
