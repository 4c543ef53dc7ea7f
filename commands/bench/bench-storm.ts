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
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import type { QueueSettings } from "../../components/handler-settings";
import type { InterruptionSummary } from "../../handler/entry";
import * as report from "./bench-report";
import type { BenchOptions, Mode, Path, PathResult, StormSpec } from "./bench-report";
import { runCli } from "../cli";
import { startEmulator, type Emulator } from "../../local/emulator";
import { startFaultProxy, type FaultProxy } from "../../local/fault-proxy";
import { materializeHandlerArchive, type HandlerArchive } from "../../local/handler-archive";
import type { BatchInfo } from "../../local/event-source-mapping";
import { withLocalPipeline } from "../../local/local-pipeline";
import { installPulumiMocks } from "../../local/offline-engine";
import { freshSampleEvent } from "../../local/sample-event";
import { colourWanted, createStyle } from "../terminal";
import {
    clientConfigFor,
    describeGroupState,
    type GroupState,
    seedWorkshopEnvironment,
    WEB_GROUP_NAME,
} from "../../local/workshop-environment";

// Departures are timed by the handler's own detach entries; the poll only confirms them and
// shows progress, so it stays slow enough not to load the one-request-at-a-time emulator.
const POLL_INTERVAL_MS = 1000;
const PROGRESS_INTERVAL_MS = 2000;
const PUT_EVENTS_CHUNK = 10;
const PUT_EVENTS_SENDERS = 4;

interface Departures {
    /** When each instance was first seen out of the group (performance.now()). */
    readonly outAt: Map<string, number>;
    /** Resolves when every instance is out, at the deadline, or once stopped. */
    readonly done: Promise<void>;
    polls(): { count: number; meanMs: number };
    /** Stops polling, after one last look if some are still in. */
    stop(): Promise<void>;
}

/** Polls the web group straight from the emulator (not through the budget) until `ids` are out. */
function trackDepartures(
    emulator: Emulator,
    ids: readonly string[],
    deadline: number,
    onPoll: (out: number) => void,
): Departures {
    const client = new AutoScalingClient(clientConfigFor(emulator));
    const remaining = new Set(ids);
    const outAt = new Map<string, number>();
    const abort = new AbortController();
    let [count, totalMs, stopping] = [0, 0, false];
    const poll = async (): Promise<void> => {
        const startedAt = performance.now();
        const { AutoScalingGroups = [] } = await client.send(
            new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [WEB_GROUP_NAME] }),
        );
        const at = performance.now();
        [count, totalMs] = [count + 1, totalMs + at - startedAt];
        const members = new Set((AutoScalingGroups[0]?.Instances ?? []).map((i) => i.InstanceId));
        for (const id of remaining) {
            if (!members.has(id)) {
                remaining.delete(id);
                outAt.set(id, at);
            }
        }
        onPoll(outAt.size);
    };
    const done = (async () => {
        const maxPolls = Math.ceil((deadline - performance.now()) / POLL_INTERVAL_MS) + 1;
        for (let n = 0; n < maxPolls && remaining.size > 0 && !stopping; n++) {
            await poll().catch(() => undefined); // a failed look is only a missed sample
            if (remaining.size === 0 || performance.now() >= deadline) {
                break;
            }
            await sleep(POLL_INTERVAL_MS, undefined, { signal: abort.signal }).catch(() => {});
        }
    })();
    return {
        outAt,
        done,
        polls: () => ({ count, meanMs: count === 0 ? 0 : totalMs / count }),
        async stop() {
            stopping = true;
            abort.abort();
            await done;
            if (remaining.size > 0) {
                await poll().catch(() => undefined);
            }
            client.destroy();
        },
    };
}

interface Storm {
    readonly order: readonly string[];
    readonly ours: readonly string[];
    readonly proxy: FaultProxy;
    readonly progress: (message: string) => void;
}

/** What a path did, before it is judged against the emulator's state. */
interface PathRun {
    readonly startedAt: number;
    readonly sentMs: number;
    /** When each instance's first warning was sent (PutEvents or invoke start). */
    readonly sentAt: ReadonlyMap<string, number>;
    readonly departures: Departures;
    readonly detachedByHandler: number;
    readonly batchSizes: readonly number[];
    /** Per invocation: ms gathering its batch (queue) and ms running. */
    readonly invocationMs: readonly { gather: number; run: number }[];
    readonly failed: number;
    readonly deadLettered: number | null;
    readonly stillQueued: number | null;
}

function progressLine(storm: Storm, label: string, startedAt: number): (out: number) => void {
    let last = startedAt;
    return (out) => {
        const now = performance.now();
        if (now - last >= PROGRESS_INTERVAL_MS) {
            last = now;
            const { served, throttled } = storm.proxy;
            storm.progress(
                `  ${label}: ${report.seconds(now - startedAt)}, ${out}/${storm.ours.length} out, ${report.sum(Object.fromEntries(served))} Auto Scaling calls served, ${report.sum(Object.fromEntries(throttled))} throttled`,
            );
        }
    };
}

async function runQueued(
    emulator: Emulator,
    archive: HandlerArchive,
    settings: QueueSettings,
    storm: Storm,
): Promise<PathRun> {
    const handlerEnvironment = { AWS_ENDPOINT_URL: storm.proxy.endpoint };
    const invocationMs: { gather: number; run: number }[] = [];
    const onBatch = (info: BatchInfo) =>
        invocationMs.push({ gather: info.gatherMs, run: info.durationMs });
    const options = { settings, handlerEnvironment, name: "bench", onBatch };
    const { value, logLines, logTimesMs } = await withLocalPipeline(
        emulator,
        archive,
        options,
        async (p) => {
            const startedAt = performance.now();
            // Long enough for a failing record to be received maxReceiveCount times and dead-lettered.
            const { visibilityTimeoutSeconds, maxReceiveCount } = settings;
            const deadline = startedAt + visibilityTimeoutSeconds * maxReceiveCount * 1000 + 30_000;
            const onPoll = progressLine(storm, "queue", startedAt);
            const departures = trackDepartures(emulator, storm.ours, deadline, onPoll);
            const sentAt = new Map<string, number>();
            try {
                // A few senders at once, as EC2's warnings arrive independently; each PutEvents takes 10.
                const chunks = Array.from(
                    { length: Math.ceil(storm.order.length / PUT_EVENTS_CHUNK) },
                    (_, i) => storm.order.slice(i * PUT_EVENTS_CHUNK, (i + 1) * PUT_EVENTS_CHUNK),
                );
                const send = async (): Promise<void> => {
                    for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) {
                        const at = performance.now();
                        for (const id of chunk.filter((id) => !sentAt.has(id))) {
                            sentAt.set(id, at);
                        }
                        await p
                            .putEvents(chunk.map((id) => freshSampleEvent(id)))
                            .catch((error) => {
                                chunks.length = 0; // the other senders stop too
                                throw error;
                            });
                    }
                };
                await Promise.all(Array.from({ length: PUT_EVENTS_SENDERS }, send));
                const sentMs = performance.now() - startedAt;
                await departures.done;
                // Then let the queue settle, so that what is dead-lettered is all there is.
                await p.mapping
                    .drained(Math.max(1000, deadline - performance.now()))
                    .catch(() => {});
                const stats = { ...p.mapping.stats };
                return { startedAt, sentMs, sentAt, departures, counts: await p.counts(), stats };
            } finally {
                await departures.stop();
            }
        },
    );
    let detachedByHandler = 0;
    for (const line of logLines) {
        try {
            const entry = JSON.parse(line) as { message?: string; detached?: number };
            detachedByHandler += /^Batch of/.test(entry.message ?? "") ? (entry.detached ?? 0) : 0;
        } catch {
            // Not a JSON log line.
        }
    }
    timeDeparturesByLog(value.departures.outAt, logLines, logTimesMs);
    return {
        ...value,
        detachedByHandler,
        batchSizes: value.stats.batchSizes,
        invocationMs,
        failed: value.stats.failedRecords,
        deadLettered: value.counts.deadLettered,
        stillQueued: value.counts.queued,
    };
}

async function runDirect(
    emulator: Emulator,
    archive: HandlerArchive,
    storm: Storm,
): Promise<PathRun> {
    const startedAt = performance.now();
    // Each invocation ends by the function's timeout: the handler's deadline bounds its calls.
    const deadline = startedAt + archive.timeoutMs + 10_000;
    const onPoll = progressLine(storm, "direct", startedAt);
    const departures = trackDepartures(emulator, storm.ours, deadline, onPoll);
    try {
        const { results, durationsMs, logLines, logTimesMs } =
            await archive.invoke<InterruptionSummary>(
                storm.order.map((id) => freshSampleEvent(id)),
                { ...emulator.environment(), AWS_ENDPOINT_URL: storm.proxy.endpoint },
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
            deadLettered: null,
            stillQueued: null,
        };
    } finally {
        await departures.stop();
    }
}

/**
 * Times each departure by the handler's own detach entry (written as DetachInstances returned,
 * when the instance is out of the group), which is exact and costs the emulator nothing.
 */
function timeDeparturesByLog(
    outAt: Map<string, number>,
    logLines: readonly string[],
    logTimesMs: readonly number[],
): void {
    for (const [index, line] of logLines.entries()) {
        let entry: { message?: string; instanceIds?: string[] };
        try {
            entry = JSON.parse(line) as typeof entry;
        } catch {
            continue;
        }
        if (/belongs? to AutoScaling Group .*Detaching/.test(entry.message ?? "")) {
            for (const id of entry.instanceIds ?? []) {
                outAt.set(id, Math.min(outAt.get(id) ?? Infinity, logTimesMs[index]));
            }
        }
    }
}

function sameState(a: GroupState, b: GroupState): boolean {
    const normal = (g: GroupState) =>
        JSON.stringify({
            ...g,
            instances: [...g.instances].sort((x, y) => x.instanceId.localeCompare(y.instanceId)),
        });
    return normal(a) === normal(b);
}

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
): Promise<PathResult> {
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
    const proxy = await startFaultProxy(emulator.endpoint, {
        budget: { requestsPerSecond: budget },
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
        neighbourUntouched: sameState(
            neighbourBefore,
            await describeGroupState(emulator, otherGroupName),
        ),
        polls: run.departures.polls(),
        wallMs: performance.now() - wallStart,
    };
    return { ...result, goals: report.judgeGoals(spec.mode, result, budget) };
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
            for (const target of targets.filter((t) => t.mode === spec.mode)) {
                results.push(await runPath(emulator, target, spec, options.budget, progress));
            }
            reports.push({ ...spec, budget: options.budget, results });
        }
    } finally {
        await emulator.stop();
        targets.forEach(({ archive }) => archive.remove());
    }

    report.printReports(reports, {
        json: options.json,
        style: createStyle(!options.json && colourWanted(process.stdout)),
        queueSettings: targets.find((t) => t.settings !== undefined)?.settings,
        directTimeoutMs: targets.find((t) => t.path === "direct")?.archive.timeoutMs,
        pollIntervalMs: POLL_INTERVAL_MS,
        senders: PUT_EVENTS_SENDERS,
        totalWallMs: performance.now() - startedAt,
    });
    return reports.every((r) =>
        r.results.every((p) => p.path !== "queue" || p.goals.every((g) => g.met)),
    );
}

/** Checks every flag before any work: a bad one fails at once, with exit status 2. */
function start(argv: readonly string[]): void {
    let options: BenchOptions | "help";
    try {
        options = report.parseFlags(argv);
    } catch (error) {
        if (!(error instanceof report.UsageError)) {
            throw error;
        }
        process.stderr.write(`${report.COMMAND}: ${error.message}\n`);
        process.exitCode = 2;
        return;
    }
    if (options === "help") {
        process.stdout.write(report.helpText());
        return;
    }
    const chosen = options;
    runCli(report.COMMAND, () => main(chosen));
}

start(process.argv.slice(2));
