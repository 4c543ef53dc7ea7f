/**
 * `npm run bench`: does the queued path survive an interruption storm? Per storm, the same
 * warnings go through `delivery: "queue"` (PutEvents → the component's rule → events queue →
 * local event source mapping → handler) and through `delivery: "direct"` (one concurrent
 * invocation per warning), each behind a fresh token-bucket Auto Scaling budget that answers as
 * AWS does when it runs out. Every verdict is read back from the emulator's state.
 *
 * Usage: npm run bench -- [--sizes 1000] [--mode keep,decrement] [--budget 10] [--json] ...
 * (`npm run bench -- --help` lists every flag).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
import * as report from "./bench-report";
import type { PathResult } from "./bench-report";
import {
    type PathRun,
    POLL_INTERVAL_MS,
    PUT_EVENTS_SENDERS,
    runDirect,
    runQueued,
} from "./bench-paths";
import { runCli } from "../cli";
import { fleetExtra, type FleetReport } from "./bench-fleet";
import { buildFleetTargets, type FleetTarget, runFleetStorm } from "./bench-fleet-run";
import { startEmulator, type Emulator } from "../../emulator/server";
import { FAULTS, startFaultProxy } from "../../emulator/fault-proxy";
import { type PathSeries, stormChartSvg } from "./bench-chart";
import { materializeHandlerArchive, type HandlerArchive } from "../../offline/handler-archive";
import { installPulumiMocks } from "../../offline/pulumi-engine";
import { colourWanted, createStyle } from "../terminal";
import { seedWorkshopEnvironment, WEB_GROUP_NAME } from "../../emulator/workshop";
import {
    type BenchOptions,
    COMMAND,
    helpText,
    type Mode,
    parseBenchFlags,
    type Path,
    type StormSpec,
} from "./bench-flags";
import { describeGroupState } from "../../emulator/group-state";
import { buildMixedTarget, type MixedTarget, runMixedStorm } from "./mixed-run";
import { MIXED_DEFAULTS } from "./mixed";
import { mixedExtra, mixedGoalsMet, type MixedReport } from "./mixed-table";

interface Target {
    readonly mode: Mode;
    readonly path: Path;
    readonly archive: HandlerArchive;
    /** Set for the queued path. */
    readonly settings?: QueueSettings;
}

/** Seeds a fresh group, sends the storm down one path, and judges what it did from state. */
async function runPath(
    emulator: Emulator,
    target: Target,
    spec: StormSpec,
    budget: number,
    progress: (message: string) => void,
    outageSeconds = 0,
): Promise<{ result: PathResult; series: PathSeries }> {
    const wallStart = performance.now();
    await emulator.reset();
    progress(`  ${target.path}: seeding a web group of ${spec.size}...`);
    const minSize = spec.mode === "decrement" ? Math.floor(spec.size / 2) : Math.min(2, spec.size);
    const environment = await seedWorkshopEnvironment(emulator, {
        webGroup: { minSize, desiredCapacity: spec.size, maxSize: spec.size },
    });
    const { webGroupName, otherGroupName, standaloneInstanceId } = environment;
    const before = await describeGroupState(emulator, webGroupName);
    const neighbourBefore = await describeGroupState(emulator, otherGroupName);
    const ours = before.instances.map((i) => i.instanceId);
    const neighbours = neighbourBefore.instances.map((i) => i.instanceId);
    const order = report.stormOrder(ours, [...neighbours, standaloneInstanceId]);
    // A fresh budget per run: nothing carries over from the last one.
    const outageEndsAt = performance.now() + outageSeconds * 1000;
    const proxy = await startFaultProxy(emulator.endpoint, {
        budget: { requestsPerSecond: budget },
        // An outage: Auto Scaling throttles every request until it ends.
        plan: () => (performance.now() < outageEndsAt ? FAULTS.throttling : undefined),
    });
    let run: PathRun;
    try {
        progress(`  ${target.path}: ${order.length} warnings...`);
        const storm = { order, ours, proxy, progress };
        run =
            target.settings === undefined
                ? await runDirect(emulator, target.archive, storm)
                : await runQueued(emulator, target.archive, target.settings, storm);
    } finally {
        await proxy.close();
    }
    const watchedSeconds = (performance.now() - run.startedAt) / 1000;
    const after = await describeGroupState(emulator, webGroupName);
    const members = new Set(after.instances.map((i) => i.instanceId));
    const left = ours.filter((id) => members.has(id)).length;
    const { outAt } = run.departures;
    const latencies = ours.flatMap((id) => {
        const [out, sent] = [outAt.get(id), run.sentAt.get(id)];
        return out === undefined || sent === undefined ? [] : [out - sent];
    });
    const served = Object.fromEntries(proxy.served);
    const allOut = left === 0 && outAt.size === ours.length;
    const result: Omit<PathResult, "goals"> = {
        path: target.path,
        warned: ours.length,
        warnings: order.length,
        sentMs: run.sentMs,
        lastOutMs: allOut ? Math.max(...outAt.values()) - run.startedAt : null,
        latencyMs: report.percentiles(latencies),
        served,
        throttled: Object.fromEntries(proxy.throttled),
        refused: Object.fromEntries(proxy.refused),
        callsPerInstance: report.sum(served) / ours.length,
        detachedByHandler: run.detachedByHandler,
        ...report.invocationFigures(run.batchSizes, run.invocationMs),
        failed: run.failed,
        left,
        deadLettered: run.deadLettered,
        stillQueued: run.stillQueued,
        minSize: before.minSize,
        desiredBefore: before.desiredCapacity,
        desiredAfter: after.desiredCapacity,
        neighbourUntouched: report.sameState(
            neighbourBefore,
            await describeGroupState(emulator, otherGroupName),
        ),
        polls: run.departures.polls(),
        wallMs: performance.now() - wallStart,
    };
    const seconds = (at: number) => (at - run.startedAt) / 1000;
    return {
        result: { ...result, goals: report.judgeGoals(spec.mode, result, budget) },
        series: {
            path: target.path,
            outAtSeconds: [...outAt.values()].map(seconds),
            throttledAtSeconds: proxy.throttledAtMs.map(seconds),
            neverLeft: left,
            watchedSeconds,
        },
    };
}

async function main(options: BenchOptions): Promise<boolean> {
    const startedAt = performance.now();
    const dim = createStyle(colourWanted(process.stderr)).dim;
    const progress = (message: string) => process.stderr.write(`${dim(message)}\n`);

    installPulumiMocks();
    const { SpotInterruptionHandler, resolveHandlerSettings } = await import("../../components");
    const queueArgs = {
        batchSize: options.batchSize,
        maximumBatchingWindowInSeconds: options.window,
        maximumConcurrency: options.concurrency,
    };
    const targets: Target[] = [];
    const reports: report.StormReport[] = [];
    const charts: string[] = [];
    let fleetTargets: FleetTarget[] = [];
    let fleet: FleetReport | undefined;
    let mixedTarget: MixedTarget | undefined;
    let mixed: MixedReport | undefined;
    const emulator = await startEmulator({ onProgress: progress });
    try {
        for (const mode of new Set(options.storms.map((s) => s.mode))) {
            for (const path of options.paths) {
                const args = {
                    autoScalingGroupName: WEB_GROUP_NAME,
                    capacityOnInterruption: mode,
                    delivery: path,
                    ...(path === "queue" ? queueArgs : {}),
                };
                const name = `bench-${path}-${mode}`;
                const { handlerFunction } = new SpotInterruptionHandler(name, args);
                const archive = await materializeHandlerArchive(handlerFunction, name);
                targets.push({ mode, path, archive, settings: resolveHandlerSettings(args).queue });
            }
        }
        for (const spec of options.storms) {
            progress(`Storm of ${spec.size} warned instances, ${spec.mode} mode:`);
            const results: PathResult[] = [];
            const series: PathSeries[] = [];
            for (const target of targets.filter((t) => t.mode === spec.mode)) {
                const run = await runPath(
                    emulator,
                    target,
                    spec,
                    options.budget,
                    progress,
                    options.outageSeconds,
                );
                results.push(run.result);
                series.push(run.series);
            }
            reports.push({ ...spec, budget: options.budget, results });
            if (options.chartDirectory !== undefined) {
                const chart = path.join(
                    options.chartDirectory,
                    `storm-${spec.size}-${spec.mode}.svg`,
                );
                const title = `${spec.size} warned instances, ${spec.mode} mode, ${options.budget} Auto Scaling requests/s${options.outageSeconds > 0 ? `, after a ${options.outageSeconds} s outage` : ""}`;
                fs.mkdirSync(options.chartDirectory, { recursive: true });
                fs.writeFileSync(
                    chart,
                    stormChartSvg({
                        title,
                        warned: spec.size,
                        goalSeconds: report.GOALS.lastOutMs / 1000,
                        series,
                    }),
                );
                charts.push(chart);
                progress(`  chart: ${path.relative(process.cwd(), chart)}`);
            }
        }
        if (options.fleetConfigs.length > 0) {
            fleetTargets = await buildFleetTargets(
                { SpotInterruptionHandler, resolveHandlerSettings },
                options.fleetConfigs,
                queueArgs,
            );
            progress(`Many-groups storm:`);
            fleet = await runFleetStorm(emulator, fleetTargets, options.budget, progress);
        }
        if (options.mixedConfigs.length > 0) {
            mixedTarget = await buildMixedTarget(
                { SpotInterruptionHandler, resolveHandlerSettings },
                queueArgs,
            );
            progress(`Mixed storm:`);
            mixed = await runMixedStorm(
                emulator,
                mixedTarget,
                options.mixedConfigs,
                { budget: options.budget, groups: MIXED_DEFAULTS.groups, size: options.groupSize },
                progress,
            );
        }
    } finally {
        await emulator.stop();
        mixedTarget?.member.archive.remove();
        targets.forEach(({ archive }) => archive.remove());
        fleetTargets.forEach(({ members }) => members.forEach(({ archive }) => archive.remove()));
    }

    const style = createStyle(!options.json && colourWanted(process.stdout));
    const extras = [fleetExtra(fleet, reports, style), mixedExtra(mixed, style)];
    report.printReports(reports, {
        json: options.json,
        style,
        extra: {
            json: Object.assign({}, ...extras.map((e) => e.json)) as Record<string, unknown>,
            text: extras
                .map((e) => e.text)
                .filter((text) => text !== "")
                .join("\n\n"),
        },
        queueSettings:
            targets.find((t) => t.settings !== undefined)?.settings ??
            fleetTargets[0]?.settings ??
            mixedTarget?.settings,
        directTimeoutMs: targets.find((t) => t.path === "direct")?.archive.timeoutMs,
        pollIntervalMs: POLL_INTERVAL_MS,
        senders: PUT_EVENTS_SENDERS,
        totalWallMs: performance.now() - startedAt,
    });
    // On stderr, after the tables, so that --json's stdout stays one document.
    if (charts.length > 0) {
        process.stderr.write(
            `Charts written: ${charts.map((chart) => path.relative(process.cwd(), chart)).join(", ")}\n`,
        );
    }
    return (
        reports.every((r) =>
            r.results.every((p) => p.path !== "queue" || p.goals.every((g) => g.met)),
        ) &&
        (fleet?.results ?? []).every((r) => r.goals.every((g) => g.met)) &&
        (mixed?.results ?? []).every(mixedGoalsMet)
    );
}

/** Checks every flag before any work: a bad one fails at once, with exit status 2. */
runCli(COMMAND, async () => {
    const options = parseBenchFlags(process.argv.slice(2));
    if (options === "help") {
        process.stdout.write(helpText());
        return true;
    }
    return main(options);
});
