/**
 * One storm down one path, for `npm run bench`: through the queued pipeline (PutEvents from a few
 * senders at once) or straight to the handler (one invocation per warning), with each warned
 * instance's departure from the group timed by the handler's own log and confirmed by polling.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
import type { InterruptionSummary } from "../../handler/entry";
import * as report from "./bench-report";
import type { Emulator } from "../../emulator/server";
import type { FaultProxy } from "../../emulator/fault-proxy";
import type { HandlerArchive } from "../../offline/handler-archive";
import { withLocalPipeline } from "../../offline/pipeline";
import { freshSampleEvent } from "../../offline/sample-event";
import { WEB_GROUP_NAME } from "../../emulator/workshop";
import { type BatchInfo } from "../../offline/event-source-mapping-options";
import { clientConfigFor } from "../../emulator/group-state";

// Departures are timed by the handler's own detach entries; the poll only confirms them and
// shows progress, so it stays slow enough not to load the one-request-at-a-time emulator.
export const POLL_INTERVAL_MS = 1000;
const PROGRESS_INTERVAL_MS = 2000;
const PUT_EVENTS_CHUNK = 10;
export const PUT_EVENTS_SENDERS = 4;

export interface Departures {
    /** When each instance was first seen out of the group (performance.now()). */
    readonly outAt: Map<string, number>;
    /** Resolves when every instance is out, at the deadline, or once stopped. */
    readonly done: Promise<void>;
    polls(): { count: number; meanMs: number };
    /** Stops polling, after one last look if some are still in. */
    stop(): Promise<void>;
}

/**
 * Polls the groups (the web group unless told) straight from the emulator, not through the
 * budget, in one DescribeAutoScalingGroups call of at most 100 names, until `ids` are out.
 */
export function trackDepartures(
    emulator: Emulator,
    ids: readonly string[],
    deadline: number,
    onPoll: (out: number) => void,
    groupNames: readonly string[] = [WEB_GROUP_NAME],
): Departures {
    const client = new AutoScalingClient(clientConfigFor(emulator));
    const remaining = new Set(ids);
    const outAt = new Map<string, number>();
    const abort = new AbortController();
    let [count, totalMs, stopping] = [0, 0, false];
    const poll = async (): Promise<void> => {
        const startedAt = performance.now();
        const { AutoScalingGroups = [] } = await client.send(
            new DescribeAutoScalingGroupsCommand({
                AutoScalingGroupNames: [...groupNames],
                MaxRecords: 100,
            }),
        );
        const at = performance.now();
        [count, totalMs] = [count + 1, totalMs + at - startedAt];
        const members = new Set(
            AutoScalingGroups.flatMap((g) => g.Instances ?? []).map((i) => i.InstanceId),
        );
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
export interface Storm {
    readonly order: readonly string[];
    readonly ours: readonly string[];
    readonly proxy: FaultProxy;
    readonly progress: (message: string) => void;
}

/** What a path did, before it is judged against the emulator's state. */
export interface PathRun {
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

export function progressLine(
    storm: Pick<Storm, "ours" | "proxy" | "progress">,
    label: string,
    startedAt: number,
): (out: number) => void {
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
export async function runQueued(
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
                await putConcurrently(
                    storm.order,
                    (id) => id,
                    sentAt,
                    (chunk) => p.putEvents(chunk.map((id) => freshSampleEvent(id))),
                );
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
    timeDeparturesByLog(value.departures.outAt, logLines, logTimesMs);
    return {
        ...value,
        detachedByHandler: detachedInLog(logLines),
        batchSizes: value.stats.batchSizes,
        invocationMs,
        failed: value.stats.failedRecords,
        deadLettered: value.counts.deadLettered,
        stillQueued: value.counts.queued,
    };
}
/**
 * Puts `items` from PUT_EVENTS_SENDERS senders at once, as EC2's warnings arrive independently,
 * PUT_EVENTS_CHUNK to a PutEvents, noting in `sentAt` when each instance's first event left.
 * One failed put stops every sender.
 */
export async function putConcurrently<T>(
    items: readonly T[],
    /** The instance an item warns about; undefined for one that warns about none (junk). */
    instanceOf: (item: T) => string | undefined,
    sentAt: Map<string, number>,
    put: (chunk: readonly T[]) => Promise<void>,
): Promise<void> {
    const chunks = Array.from({ length: Math.ceil(items.length / PUT_EVENTS_CHUNK) }, (_, i) =>
        items.slice(i * PUT_EVENTS_CHUNK, (i + 1) * PUT_EVENTS_CHUNK),
    );
    const send = async (): Promise<void> => {
        for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) {
            const at = performance.now();
            for (const id of chunk.map(instanceOf)) {
                if (id !== undefined && !sentAt.has(id)) {
                    sentAt.set(id, at);
                }
            }
            await put(chunk).catch((error: unknown) => {
                chunks.length = 0; // the other senders stop too
                throw error;
            });
        }
    };
    await Promise.all(Array.from({ length: PUT_EVENTS_SENDERS }, send));
}

/** Instances the handlers' "Batch of" entries report as detached, added up. */
export function detachedInLog(logLines: readonly string[]): number {
    let detached = 0;
    for (const line of logLines) {
        try {
            const entry = JSON.parse(line) as { message?: string; detached?: number };
            detached += /^Batch of/.test(entry.message ?? "") ? (entry.detached ?? 0) : 0;
        } catch {
            // Not a JSON log line.
        }
    }
    return detached;
}

export async function runDirect(
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
export function timeDeparturesByLog(
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
