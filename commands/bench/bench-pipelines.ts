/**
 * Several queued pipelines at once, for the many-groups storm: per handler the component's rule
 * (its exact pattern) on the default bus, an events queue and dead-letter queue with the
 * component's settings, a local event source mapping and a container of its own, so that one
 * PutEvents reaches every handler, as N deployed stacks' rules would. offline/pipeline.ts
 * builds one such pipeline; this builds N with the same parts.
 *
 * Every container runs in this one process, and the handler reads its configuration from
 * process.env as each invocation starts (synchronously, before its first await). So each
 * invocation first sets its own function's environment: the groups it protects, its name.
 */
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse } from "aws-lambda";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
import { interruptionWarningEventPattern } from "../../components/spot-interruption-handler/policies";
import type { Emulator } from "../../emulator/server";
import { startEventSourceMapping } from "../../offline/event-source-mapping";
import type { HandlerArchive, Invoke } from "../../offline/handler-archive";
import { createEventsQueues, putEvents } from "../../offline/pipeline";
import {
    type BatchInfo,
    type LocalEventSourceMapping,
} from "../../offline/event-source-mapping-options";
import { queueCounts } from "../../offline/sqs-records";
import { clientConfigFor } from "../../emulator/group-state";
import { ENV_EVENTS_QUEUE_URL } from "../../contract";

/** PutEvents' own cap per call. */
/** One mapping's pause after an empty receive, as the offline pipeline's mapping pauses. */
const IDLE_POLL_INTERVAL_MS = 25;

export interface PipelineMember {
    /** Unique per emulator state: names the rule and the queues. */
    readonly name: string;
    readonly archive: HandlerArchive;
}

export interface Pipelines {
    /** One mapping per member, in order. */
    readonly mappings: readonly LocalEventSourceMapping[];
    /** Puts EventBridge-shaped events on the default bus once; every rule takes its copy. */
    putEvents(events: readonly Record<string, unknown>[]): Promise<void>;
    /** Messages still in the events queues and in the dead-letter queues, all members added up. */
    counts(): Promise<{ queued: number; deadLettered: number }>;
}

export interface PipelinesOptions {
    readonly settings: QueueSettings;
    /** Extra environment for every handler, over the emulator's: e.g. AWS_ENDPOINT_URL of a budget proxy. */
    readonly handlerEnvironment: Readonly<Record<string, string>>;
    /** Told about every finished invocation, with the member's index. */
    readonly onBatch?: (member: number, info: BatchInfo) => void;
}

interface Queue {
    readonly url: string;
    readonly arn: string;
}

/**
 * Builds every member's pipeline, runs `body` while the mappings feed their containers, then
 * stops the mappings. N mappings short-poll the one-request-at-a-time emulator N times as hard
 * as one, so each pauses N × 25 ms after an empty receive: together they poll it as one does.
 * Resolves to what `body` returned and every handler's log lines, ordered by when written.
 */
export async function withPipelines<T>(
    emulator: Emulator,
    members: readonly PipelineMember[],
    options: PipelinesOptions,
    body: (pipelines: Pipelines) => Promise<T>,
): Promise<{ value: T; logLines: string[]; logTimesMs: number[] }> {
    if (members.length === 0) {
        throw new RangeError("withPipelines needs at least one member");
    }
    const config = clientConfigFor(emulator);
    const sqs = new SQSClient(config);
    const events = new EventBridgeClient(config);
    const logs: { lines: string[]; times: number[] }[] = [];
    const environment = { ...emulator.environment(), ...options.handlerEnvironment };
    try {
        const queues: { queue: Queue; deadLetter: Queue }[] = [];
        for (const { name } of members) {
            const { queue, deadLetter } = await createEventsQueues(sqs, name, options.settings);
            await events.send(
                new PutRuleCommand({
                    Name: `${name}-rule`,
                    EventPattern: JSON.stringify(interruptionWarningEventPattern()),
                }),
            );
            await events.send(
                new PutTargetsCommand({
                    Rule: `${name}-rule`,
                    Targets: [{ Id: "events-queue", Arn: queue.arn }],
                }),
            );
            queues.push({ queue, deadLetter });
        }

        const run = async (invokes: readonly Invoke[]): Promise<T> => {
            const mappings = members.map((member, index) =>
                startEventSourceMapping({
                    queueUrl: queues[index].queue.url,
                    queueArn: queues[index].queue.arn,
                    region: emulator.region,
                    clientConfig: config,
                    settings: options.settings,
                    functionTimeoutMs: member.archive.timeoutMs,
                    idlePollIntervalMs: IDLE_POLL_INTERVAL_MS * members.length,
                    handler: async (event) => {
                        // Synchronously before the invocation reads it: this function's own environment,
                        // with its real local queue, where a waiting warning's re-check is scheduled.
                        Object.assign(process.env, member.archive.environment, environment, {
                            [ENV_EVENTS_QUEUE_URL]: queues[index].queue.url,
                        });
                        return (await invokes[index](event)) as SQSBatchResponse;
                    },
                    onBatch: (info) => options.onBatch?.(index, info),
                }),
            );
            try {
                return await body({
                    mappings,
                    putEvents: (batch) => putEvents(events, batch),
                    counts: async () => {
                        let [queued, deadLettered] = [0, 0];
                        for (const { queue, deadLetter } of queues) {
                            queued += total(await queueCounts(sqs, queue.url));
                            deadLettered += total(await queueCounts(sqs, deadLetter.url));
                        }
                        return { queued, deadLettered };
                    },
                });
            } finally {
                await Promise.all(mappings.map((m) => m.stop()));
            }
        };

        // Containers nest, each loaded with its own environment; they unwind in reverse order,
        // so the environment and console each one took over are given back as they were.
        const nest = async (index: number, invokes: readonly Invoke[]): Promise<T> => {
            if (index === members.length) {
                return run(invokes);
            }
            const { value, logLines, logTimesMs } = await members[index].archive.withContainer(
                environment,
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
            value,
            logLines: merged.map((m) => m.line),
            logTimesMs: merged.map((m) => m.at),
        };
    } finally {
        sqs.destroy();
        events.destroy();
    }
}

function total(counts: { visible: number; notVisible: number; delayed: number }): number {
    return counts.visible + counts.notVisible + counts.delayed;
}
