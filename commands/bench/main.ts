/** `npm run bench`: interruption storms against the emulator behind an Auto Scaling budget, judged from state. */
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
import { startEmulator } from "../../emulator/server";
import { type HandlerArchive, materializeHandlerArchive } from "../../offline/handler-archive";
import { installPulumiMocks } from "../../offline/pulumi-engine";
import { runCli } from "../cli";
import { colourWanted, createStyle, duration } from "../terminal";
import { POLL_INTERVAL_MS } from "./departures";
import { type BenchOptions, BENCH_COMMAND_LINE, MIXED_DEFAULTS, parseBenchFlags } from "./flags";
import * as fleet from "./fleet";
import * as mixed from "./mixed";
import { type Build, PUT_EVENTS_SENDERS } from "./pipelines";
import { runSingleStorms, stormsText } from "./single";

async function main(options: BenchOptions): Promise<boolean> {
    const startedAt = performance.now();
    const dim = createStyle(colourWanted(process.stderr)).dim;
    const progress = (message: string) => process.stderr.write(`${dim(message)}\n`);
    installPulumiMocks();
    const components = await import("../../components");
    const archives: HandlerArchive[] = [];
    let queue: QueueSettings | undefined;
    let directTimeoutMs: number | undefined;
    // Built by the component under Pulumi mocks; every archive is noted, so that it is removed whatever happens.
    const build: Build = async (name, args) => {
        const { handlerFunction } = new components.SpotInterruptionHandler(name, args);
        const archive = await materializeHandlerArchive(handlerFunction, name);
        archives.push(archive);
        const settings = components.resolveHandlerSettings(args).queue;
        queue ??= settings;
        directTimeoutMs ??= args.delivery === "direct" ? archive.timeoutMs : undefined;
        return { member: { name, archive }, settings };
    };
    const emulator = await startEmulator({ onProgress: progress });
    let single: Awaited<ReturnType<typeof runSingleStorms>>;
    let manyGroups: fleet.FleetReport | undefined;
    let mixedStorm: mixed.MixedReport | undefined;
    try {
        single = await runSingleStorms(emulator, build, options, progress);
        const { budget, fleetConfigs, mixedConfigs, queueArgs } = options;
        if (fleetConfigs.length > 0) {
            const targets = await fleet.buildFleetTargets(build, fleetConfigs, queueArgs);
            progress(`Many-groups storm:`);
            manyGroups = await fleet.runFleetStorm(emulator, targets, budget, progress);
        }
        if (mixedConfigs.length > 0) {
            const target = await mixed.buildMixedTarget(build, queueArgs);
            progress(`Mixed storm:`);
            const size = { budget, groups: MIXED_DEFAULTS.groups, size: options.groupSize };
            mixedStorm = await mixed.runMixedStorm(emulator, target, mixedConfigs, size, progress);
        }
    } finally {
        await emulator.stop();
        archives.forEach((archive) => archive.remove());
    }

    const { storms, charts } = single;
    const style = createStyle(!options.json && colourWanted(process.stdout));
    const extras = [
        fleet.fleetExtra(manyGroups, storms, style),
        mixed.mixedExtra(mixedStorm, style),
    ];
    const totalWallMs = performance.now() - startedAt;
    if (options.json) {
        const machine = {
            cpus: os.cpus().length,
            node: process.version,
            platform: process.platform,
        };
        const senders = PUT_EVENTS_SENDERS;
        const document = { date: new Date().toISOString(), machine, queue, directTimeoutMs };
        const figures = { pollIntervalMs: POLL_INTERVAL_MS, senders, totalWallMs, storms };
        const json = Object.assign({ ...document, ...figures }, ...extras.map((e) => e.json));
        process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
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
            ...extras.map((e) => e.text).filter(Boolean),
        ];
        const tables = sections.map((section) => `${section}\n\n`).join("");
        process.stdout.write(`${tables}${style.dim(notes.filter(Boolean).join("\n"))}\n`);
    }
    // On stderr, after the tables, so that --json's stdout stays one document.
    if (charts.length > 0) {
        const written = charts.map((chart) => path.relative(process.cwd(), chart));
        process.stderr.write(`Charts written: ${written.join(", ")}\n`);
    }
    const met = (goals: readonly { met: boolean }[]) => goals.every((g) => g.met);
    return (
        storms.every((s) => s.results.every((r) => r.path !== "queue" || met(r.goals))) &&
        (manyGroups?.results ?? []).every((r) => met(r.goals)) &&
        (mixedStorm?.results ?? []).every(mixed.mixedGoalsMet)
    );
}

// Every flag is checked before any work: a bad one fails at once, with exit status 2.
runCli(BENCH_COMMAND_LINE, parseBenchFlags, main);
