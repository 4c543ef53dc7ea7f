/** A storm through one pipeline per handler (rule, queues, mapping, container), as N stacks would run. */
import * as assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse } from "aws-lambda";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
import { interruptionWarningEventPattern } from "../../components/spot-interruption-handler/policies";
import { ENV_DEAD_LETTER_QUEUE_URL, ENV_EVENTS_QUEUE_URL } from "../../contract";
import * as faults from "../../emulator/fault-proxy";
import { clientConfigFor } from "../../emulator/group-state";
import type { Emulator } from "../../emulator/server";
import { startEventSourceMapping } from "../../offline/event-source-mapping";
import type { LocalEventSourceMapping } from "../../offline/event-source-mapping-options";
import type * as archives from "../../offline/handler-archive";
import { createEventsQueues, putEvents } from "../../offline/pipeline";
import { queueCounts } from "../../offline/sqs-records";
import type { InvocationTime } from "./report";

/** One mapping's pause after an empty receive, as the offline pipeline's mapping pauses. */
const IDLE_POLL_INTERVAL_MS = 25;
const PUT_EVENTS_CHUNK = 10;
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
    readonly watch: (startedAt: number, deadline: number) => W;
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
    const config = clientConfigFor(emulator);
    const sqs = new SQSClient(config);
    const events = new EventBridgeClient(config);
    const environment = { ...emulator.environment(), AWS_ENDPOINT_URL: proxy.endpoint };
    const batchSizes: number[] = [];
    const invocationMs: InvocationTime[] = [];
    const logs: { lines: string[]; times: number[] }[] = [];
    try {
        const pattern = JSON.stringify(interruptionWarningEventPattern());
        const pipeline = async (name: string) => {
            const { queue, deadLetter } = await createEventsQueues(sqs, name, settings);
            const Targets = [{ Id: "events-queue", Arn: queue.arn }];
            await events.send(new PutRuleCommand({ Name: `${name}-rule`, EventPattern: pattern }));
            await events.send(new PutTargetsCommand({ Rule: `${name}-rule`, Targets }));
            // Late retries and re-checks go to this pipeline's queues, not the mocks' made-up ones.
            const own = {
                [ENV_DEAD_LETTER_QUEUE_URL]: deadLetter.url,
                [ENV_EVENTS_QUEUE_URL]: queue.url,
            };
            return { queue, deadLetter, environment: own };
        };
        const queues: Awaited<ReturnType<typeof pipeline>>[] = [];
        for (const { name } of members) {
            queues.push(await pipeline(name));
        }

        const run = async (invokes: readonly archives.Invoke[]) => {
            const mappings: LocalEventSourceMapping[] = members.map((member, index) =>
                startEventSourceMapping({
                    queueUrl: queues[index].queue.url,
                    queueArn: queues[index].queue.arn,
                    region: emulator.region,
                    clientConfig: config,
                    settings,
                    functionTimeoutMs: member.archive.timeoutMs,
                    idlePollIntervalMs: IDLE_POLL_INTERVAL_MS * members.length,
                    handler: async (event) => {
                        // One process runs every container: set this function's environment before it reads it.
                        const own = queues[index].environment;
                        Object.assign(process.env, member.archive.environment, environment, own);
                        return (await invokes[index](event)) as SQSBatchResponse;
                    },
                    onBatch: (info) => {
                        batchSizes.push(info.messageIds.length);
                        invocationMs.push({ gather: info.gatherMs, run: info.durationMs });
                    },
                }),
            );
            const startedAt = performance.now();
            // Long enough for a failing record to be received maxReceiveCount times and dead-lettered.
            const { visibilityTimeoutSeconds: visibility, maxReceiveCount } = settings;
            const deadline = startedAt + visibility * maxReceiveCount * 1000 + 30_000;
            const watch = storm.watch(startedAt, deadline);
            try {
                const sentAt = await putConcurrently(storm, (chunk) => putEvents(events, chunk));
                const sentMs = performance.now() - startedAt;
                await watch.done();
                // Then let every queue settle, so that what is dead-lettered is all there is.
                const settle = Math.max(1000, deadline - performance.now());
                await Promise.all(mappings.map((m) => m.drained(settle).catch(() => {})));
                let [stillQueued, deadLettered] = [0, 0];
                for (const { queue, deadLetter } of queues) {
                    stillQueued += total(await queueCounts(sqs, queue.url));
                    deadLettered += total(await queueCounts(sqs, deadLetter.url));
                }
                const stats = mappings.map((m) => m.stats);
                return {
                    watch,
                    startedAt,
                    sentMs,
                    sentAt,
                    records: stats.reduce((n, s) => n + s.records, 0),
                    failed: stats.reduce((n, s) => n + s.failedRecords, 0),
                    deadLettered,
                    stillQueued,
                };
            } finally {
                await watch.stop();
                await Promise.all(mappings.map((m) => m.stop()));
            }
        };

        // Containers nest, so that each gives back the environment and console it took over.
        const nest = async (
            index: number,
            invokes: readonly archives.Invoke[],
        ): ReturnType<typeof run> => {
            if (index === members.length) {
                return run(invokes);
            }
            const { value, logLines, logTimesMs } = await members[index].archive.withContainer(
                { ...environment, ...queues[index].environment },
                (invoke) => nest(index + 1, [...invokes, invoke]),
            );
            logs.push({ lines: logLines, times: logTimesMs });
            return value;
        };
        const value = await nest(0, []);
        const merged = logs
            .flatMap(({ lines, times }) => lines.map((line, i) => ({ line, at: times[i] })))
            .sort((a, b) => a.at - b.at);
        return {
            ...value,
            batchSizes,
            invocationMs,
            logLines: merged.map((m) => m.line),
            logTimesMs: merged.map((m) => m.at),
        };
    } finally {
        sqs.destroy();
        events.destroy();
    }
}

/** Puts from several senders at once, as EC2's warnings arrive independently; when each instance's first left. */
async function putConcurrently<E>(
    storm: Pick<QueuedStorm<E, Watch>, "entries" | "instanceOf" | "put">,
    putEvents: PutEvents,
): Promise<Map<string, number>> {
    const sentAt = new Map<string, number>();
    const chunks = Array.from(
        { length: Math.ceil(storm.entries.length / PUT_EVENTS_CHUNK) },
        (_, i) => storm.entries.slice(i * PUT_EVENTS_CHUNK, (i + 1) * PUT_EVENTS_CHUNK),
    );
    const send = async (): Promise<void> => {
        for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) {
            const at = performance.now();
            for (const id of chunk.map(storm.instanceOf)) {
                if (id !== undefined && !sentAt.has(id)) {
                    sentAt.set(id, at);
                }
            }
            await storm.put(chunk, putEvents).catch((error: unknown) => {
                chunks.length = 0; // the other senders stop too
                throw error;
            });
        }
    };
    await Promise.all(Array.from({ length: PUT_EVENTS_SENDERS }, send));
    return sentAt;
}

const total = (c: { visible: number; notVisible: number; delayed: number }) =>
    c.visible + c.notVisible + c.delayed;
