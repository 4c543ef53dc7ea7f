/** A storm through one pipeline per handler (rule, queues, mapping, container), as N stacks would run. */
import * as assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
import * as faults from "../../emulator/fault-proxy";
import { chunk } from "../../handler/decision";
import type { Emulator } from "../../emulator/server";
import type { BatchInfo } from "../../offline/event-source-mapping";
import type * as archives from "../../offline/handler-archive";
import { PUT_EVENTS_BATCH, withLocalPipelines } from "../../offline/pipeline";
import type { InvocationTime } from "./report";

export const PUT_EVENTS_SENDERS = 4;

/** `name` is unique per emulator state: it names the rule and the queues. */
export type PipelineMember = { readonly name: string; readonly archive: archives.HandlerArchive };

export type PutEvents = (events: readonly Record<string, unknown>[]) => Promise<void>;

export type HandlerArgs = import("../../components").SpotInterruptionHandlerArgs;
/** Builds a handler as deployed, noting its archive for removal; its queue settings when queued. */
export type Build = (
    name: string,
    args: HandlerArgs,
) => Promise<{ member: PipelineMember; settings?: QueueSettings }>;

/** A queued handler in keep mode, as the fleet storms run. */
export async function buildQueuedHandler(build: Build, name: string, args: HandlerArgs) {
    const built = await build(name, { capacityOnInterruption: "keep", delivery: "queue", ...args });
    return { ...built, settings: built.settings ?? assert.fail(`${name} has no queue settings`) };
}

export interface QueuedStorm<E, W extends Watch> {
    readonly entries: readonly E[];
    /** The instance an entry warns about; undefined for one that warns about none (junk). */
    readonly instanceOf: (entry: E) => string | undefined;
    /** Puts one chunk's events on the bus (the mixed storm tells the group side too). */
    readonly put: (chunk: readonly E[], putEvents: PutEvents) => Promise<void>;
    /** Started as the storm starts; `done` resolves once every warned instance is out, or at the deadline. */
    readonly watch: (deadline: number) => W;
}

export type Watch = { done(): Promise<void>; stop(): Promise<void> };

/** What the pipelines did: every figure from the mappings, the queues and the handlers' logs. */
export type QueuedRun<W extends Watch> = Awaited<ReturnType<typeof runQueued<unknown, W>>>;

/** Runs `body` behind a fresh Auto Scaling budget, closing it after. */
export async function withBudget<T>(
    emulator: Emulator,
    options: faults.FaultProxyOptions,
    body: (proxy: faults.FaultProxy) => Promise<T>,
): Promise<T> {
    const proxy = await faults.startFaultProxy(emulator.endpoint, options);
    try {
        return await body(proxy);
    } finally {
        await proxy.close();
    }
}

/** Builds the pipelines, puts the storm from PUT_EVENTS_SENDERS senders, waits for the watch and the queues. */
export async function runQueued<E, W extends Watch>(
    emulator: Emulator,
    members: readonly PipelineMember[],
    settings: QueueSettings,
    proxy: faults.FaultProxy,
    storm: QueuedStorm<E, W>,
) {
    const batchSizes: number[] = [];
    const invocationMs: InvocationTime[] = [];
    const options = {
        settings,
        handlerEnvironment: { AWS_ENDPOINT_URL: proxy.endpoint },
        onBatch: (info: BatchInfo) => {
            batchSizes.push(info.messageIds.length);
            invocationMs.push({ gather: info.gatherMs, run: info.durationMs });
        },
    };
    const run = await withLocalPipelines(emulator, members, options, async (pipelines) => {
        const startedAt = performance.now();
        // Long enough for a failing record to be received maxReceiveCount times and dead-lettered.
        const { visibilityTimeoutSeconds: visibility, maxReceiveCount } = settings;
        const deadline = startedAt + visibility * maxReceiveCount * 1000 + 30_000;
        const watch = storm.watch(deadline);
        try {
            const sentAt = await putConcurrently(storm, pipelines[0].putEvents);
            const sentMs = performance.now() - startedAt;
            await watch.done();
            // Then let every queue settle, so that what is dead-lettered is all there is.
            const settle = Math.max(1000, deadline - performance.now());
            await Promise.all(pipelines.map((p) => p.mapping.drained(settle).catch(() => {})));
            const totals = { records: 0, failed: 0, deadLettered: 0, stillQueued: 0 };
            for (const { counts, mapping } of pipelines) {
                const { queued, deadLettered } = await counts();
                totals.records += mapping.stats.records;
                totals.failed += mapping.stats.failedRecords;
                totals.deadLettered += deadLettered;
                totals.stillQueued += queued;
            }
            return { watch, startedAt, sentMs, sentAt, ...totals };
        } finally {
            await watch.stop();
        }
    });
    return {
        ...run.value,
        batchSizes,
        invocationMs,
        logLines: run.logLines,
        logTimesMs: run.logTimesMs,
    };
}

/** Puts from several senders at once, as EC2's warnings arrive independently; when each instance's first left. */
async function putConcurrently<E>(
    storm: Pick<QueuedStorm<E, Watch>, "entries" | "instanceOf" | "put">,
    putEvents: PutEvents,
): Promise<Map<string, number>> {
    const sentAt = new Map<string, number>();
    const chunks = chunk(storm.entries, PUT_EVENTS_BATCH);
    const send = async (): Promise<void> => {
        for (let batch = chunks.shift(); batch !== undefined; batch = chunks.shift()) {
            const at = performance.now();
            for (const id of batch.map(storm.instanceOf)) {
                if (id !== undefined && !sentAt.has(id)) {
                    sentAt.set(id, at);
                }
            }
            await storm.put(batch, putEvents).catch((error: unknown) => {
                chunks.length = 0; // the other senders stop too
                throw error;
            });
        }
    };
    await Promise.all(Array.from({ length: PUT_EVENTS_SENDERS }, send));
    return sentAt;
}
