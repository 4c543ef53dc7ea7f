/**
 * `npm run bench`: does the queued path survive an interruption storm? Runs the single-group,
 * many-groups and mixed storms against the emulator, each behind a fresh token-bucket Auto
 * Scaling budget that answers as AWS does when it runs out; every verdict is read back from the
 * emulator's state. `npm run bench -- --help` lists every flag.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { startEmulator } from "../../emulator/server";
import { WEB_GROUP_NAME } from "../../emulator/workshop";
import { installPulumiMocks } from "../../offline/pulumi-engine";
import { helpText, runCli } from "../cli";
import { colourWanted, createStyle, duration } from "../terminal";
import { type PathSeries, stormChartSvg } from "./chart";
import { POLL_INTERVAL_MS } from "./departures";
import {
    type BenchOptions,
    BENCH_COMMAND_LINE,
    COMMAND,
    MIXED_DEFAULTS,
    parseBenchFlags,
} from "./flags";
import {
    buildFleetTargets,
    fleetExtra,
    type FleetReport,
    type FleetTarget,
    runFleetStorm,
} from "./fleet";
import {
    buildMixedTarget,
    type MixedReport,
    mixedExtra,
    mixedGoalsMet,
    runMixedStorm,
} from "./mixed";
import { buildHandler, PUT_EVENTS_SENDERS } from "./pipelines";
import { type PathTarget, GOALS, runPath, type StormReport, stormsText } from "./single";

async function main(options: BenchOptions): Promise<boolean> {
    const startedAt = performance.now();
    const dim = createStyle(colourWanted(process.stderr)).dim;
    const progress = (message: string) => process.stderr.write(`${dim(message)}\n`);

    installPulumiMocks();
    const components = await import("../../components");
    const queueArgs = {
        batchSize: options.batchSize,
        maximumBatchingWindowInSeconds: options.window,
        maximumConcurrency: options.concurrency,
    };
    const targets: PathTarget[] = [];
    const storms: StormReport[] = [];
    const charts: string[] = [];
    let fleetTargets: FleetTarget[] = [];
    let fleet: FleetReport | undefined;
    let mixedTarget: Awaited<ReturnType<typeof buildMixedTarget>> | undefined;
    let mixed: MixedReport | undefined;
    const emulator = await startEmulator({ onProgress: progress });
    try {
        for (const mode of new Set(options.storms.map((s) => s.mode))) {
            for (const path of options.paths) {
                const { member, settings } = await buildHandler(
                    components,
                    `bench-${path}-${mode}`,
                    {
                        autoScalingGroupName: WEB_GROUP_NAME,
                        capacityOnInterruption: mode,
                        delivery: path,
                        ...(path === "queue" ? queueArgs : {}),
                    },
                );
                targets.push({ mode, path, archive: member.archive, settings });
            }
        }
        for (const spec of options.storms) {
            progress(`Storm of ${spec.size} warned instances, ${spec.mode} mode:`);
            const runs = [];
            for (const target of targets.filter((t) => t.mode === spec.mode)) {
                runs.push(await runPath(emulator, target, spec, { ...options, progress }));
            }
            storms.push({ ...spec, budget: options.budget, results: runs.map((r) => r.result) });
            if (options.chartDirectory !== undefined) {
                const outage =
                    options.outageSeconds > 0 ? `, after a ${options.outageSeconds} s outage` : "";
                const chart = path.join(
                    options.chartDirectory,
                    `storm-${spec.size}-${spec.mode}.svg`,
                );
                fs.mkdirSync(options.chartDirectory, { recursive: true });
                fs.writeFileSync(
                    chart,
                    stormChartSvg({
                        title: `${spec.size} warned instances, ${spec.mode} mode, ${options.budget} Auto Scaling requests/s${outage}`,
                        warned: spec.size,
                        goalSeconds: GOALS.lastOutMs / 1000,
                        series: runs.map((r): PathSeries => r.series),
                    }),
                );
                charts.push(chart);
                progress(`  chart: ${path.relative(process.cwd(), chart)}`);
            }
        }
        if (options.fleetConfigs.length > 0) {
            fleetTargets = await buildFleetTargets(components, options.fleetConfigs, queueArgs);
            progress(`Many-groups storm:`);
            fleet = await runFleetStorm(emulator, fleetTargets, options.budget, progress);
        }
        if (options.mixedConfigs.length > 0) {
            mixedTarget = await buildMixedTarget(components, queueArgs);
            progress(`Mixed storm:`);
            const size = {
                budget: options.budget,
                groups: MIXED_DEFAULTS.groups,
                size: options.groupSize,
            };
            mixed = await runMixedStorm(
                emulator,
                mixedTarget,
                options.mixedConfigs,
                size,
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
    const extras = [fleetExtra(fleet, storms, style), mixedExtra(mixed, style)];
    const queue =
        targets.find((t) => t.settings !== undefined)?.settings ??
        fleetTargets[0]?.settings ??
        mixedTarget?.settings;
    const directTimeoutMs = targets.find((t) => t.path === "direct")?.archive.timeoutMs;
    const totalWallMs = performance.now() - startedAt;
    if (options.json) {
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
            pollIntervalMs: POLL_INTERVAL_MS,
            senders: PUT_EVENTS_SENDERS,
            totalWallMs,
            storms,
            ...Object.assign({}, ...extras.map((e) => e.json)),
        };
        process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    } else {
        const notes = [
            queue &&
                `Queue: batch size ${queue.batchSize}, window ${queue.maximumBatchingWindowInSeconds} s, maximum concurrency ${queue.maximumConcurrency}, visibility ${queue.visibilityTimeoutSeconds} s, dead-lettered after ${queue.maxReceiveCount} receives. Warnings are put by ${PUT_EVENTS_SENDERS} senders at once, 10 per PutEvents.`,
            directTimeoutMs &&
                `Direct: every warning invoked at once in one container (one SDK client, so one adaptive-retry rate limiter, where Lambda would run many), each bounded by the function's ${directTimeoutMs / 1000} s timeout; Lambda's asynchronous retries of failed invocations are not modelled.`,
            `Departures: timed by the handler's own detach log entries, confirmed by polling the group straight from the emulator every ${POLL_INTERVAL_MS} ms. The emulator is moto on this machine, one request at a time.`,
            `Total wall time ${duration(totalWallMs)}.`,
        ];
        const sections = [
            ...stormsText(storms, style),
            ...extras.map((e) => e.text).filter((t) => t !== ""),
        ];
        process.stdout.write(
            sections.map((s) => `${s}\n\n`).join("") +
                `${style.dim(notes.filter(Boolean).join("\n"))}\n`,
        );
    }
    // On stderr, after the tables, so that --json's stdout stays one document.
    if (charts.length > 0) {
        process.stderr.write(
            `Charts written: ${charts.map((c) => path.relative(process.cwd(), c)).join(", ")}\n`,
        );
    }
    return (
        storms.every((s) =>
            s.results.every((r) => r.path !== "queue" || r.goals.every((g) => g.met)),
        ) &&
        (fleet?.results ?? []).every((r) => r.goals.every((g) => g.met)) &&
        (mixed?.results ?? []).every(mixedGoalsMet)
    );
}

/** Checks every flag before any work: a bad one fails at once, with exit status 2. */
runCli(COMMAND, async () => {
    const options = parseBenchFlags(process.argv.slice(2));
    if (options === "help") {
        process.stdout.write(helpText(BENCH_COMMAND_LINE));
        return true;
    }
    return main(options);
});
