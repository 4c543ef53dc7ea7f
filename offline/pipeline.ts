/** The queued path on one machine: each handler's rule into its queues in the emulator, drained by its local mapping. */
import {
    EventBridgeClient,
    PutEventsCommand,
    PutRuleCommand,
    PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse } from "aws-lambda";
import { interruptionWarningEventPattern } from "../components/spot-interruption-handler/policies";
import type { QueueSettings } from "../components/spot-interruption-handler/args";
import { HANDLER_ENV } from "../contract";
import { clientConfigFor, required } from "../emulator/group-state";
import type { Emulator } from "../emulator/server";
import {
    type BatchInfo,
    type LocalEventSourceMapping,
    startEventSourceMapping,
} from "./event-source-mapping";
import { queueCounts, totalMessages } from "./sqs-records";
import type { HandlerArchive, Invoke } from "./handler-archive";

export interface LocalPipeline {
    readonly queueUrl: string;
    readonly deadLetterQueueUrl: string;
    readonly mapping: LocalEventSourceMapping;
    /** Puts EventBridge events on the default bus, as EC2 would send them: every rule sees them. */
    putEvents(events: readonly Record<string, unknown>[]): Promise<void>;
    /** Messages still in the events queue and in the dead-letter queue. */
    counts(): Promise<{ queued: number; deadLettered: number }>;
}

export interface LocalPipelineOptions {
    /** The component's queue settings (resolveHandlerSettings(...).queue). */
    readonly settings: QueueSettings;
    /** Extra environment for the handler, e.g. AWS_ENDPOINT_URL_AUTO_SCALING of a budget proxy. */
    readonly handlerEnvironment?: Readonly<Record<string, string>>;
    readonly onBatch?: (info: BatchInfo) => void;
    /** Names of the queues and rule, unique per emulator state. Default "spot". */
    readonly name?: string;
}

/** PutEvents' own cap per call. */
export const PUT_EVENTS_BATCH = 10;
/** One mapping's pause after an empty receive; N mappings pause N times as long, polling as one. */
const IDLE_POLL_INTERVAL_MS = 25;

/** Runs `body` with the pipeline while the mapping feeds one handler container; its value and log lines. */
export async function withLocalPipeline<T>(
    emulator: Emulator,
    archive: HandlerArchive,
    options: LocalPipelineOptions,
    body: (pipeline: LocalPipeline) => Promise<T>,
): Promise<{ value: T; logLines: string[]; logTimesMs: number[] }> {
    const members = [{ name: options.name ?? "spot", archive }];
    return withLocalPipelines(emulator, members, options, ([pipeline]) => body(pipeline));
}

/** One pipeline per member (`name` unique per emulator state), each feeding its handler's container; their logs merged in time. */
export async function withLocalPipelines<T>(
    emulator: Emulator,
    members: readonly { readonly name: string; readonly archive: HandlerArchive }[],
    options: Omit<LocalPipelineOptions, "name">,
    body: (pipelines: LocalPipeline[]) => Promise<T>,
): Promise<{ value: T; logLines: string[]; logTimesMs: number[] }> {
    const { settings, onBatch } = options;
    const config = clientConfigFor(emulator);
    const sqs = new SQSClient(config);
    const events = new EventBridgeClient(config);
    const environment = { ...emulator.environment(), ...options.handlerEnvironment };
    const createQueue = async (QueueName: string, Attributes: Record<string, string>) => {
        const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName, Attributes }));
        const url = required(QueueUrl, `CreateQueue ${QueueName} QueueUrl`);
        const { Attributes: read } = await sqs.send(
            new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
        );
        return { url, arn: required(read?.QueueArn, `${QueueName}'s QueueArn`) };
    };
    const total = async (url: string) => totalMessages(await queueCounts(sqs, url));
    const EventPattern = JSON.stringify(interruptionWarningEventPattern());
    try {
        type Queue = { url: string; arn: string };
        const queues: { queue: Queue; deadLetter: Queue; environment: Record<string, string> }[] =
            [];
        for (const { name } of members) {
            const deadLetter = await createQueue(`${name}-dlq`, {});
            const queue = await createQueue(`${name}-queue`, {
                VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
                MessageRetentionPeriod: String(settings.messageRetentionSeconds),
                RedrivePolicy: JSON.stringify({
                    deadLetterTargetArn: deadLetter.arn,
                    maxReceiveCount: settings.maxReceiveCount,
                }),
            });
            // The component's rule, with its exact pattern, targeting the events queue.
            const rule = new PutRuleCommand({ Name: `${name}-rule`, EventPattern });
            required((await events.send(rule)).RuleArn, "PutRule RuleArn");
            const [Rule, Targets] = [`${name}-rule`, [{ Id: "events-queue", Arn: queue.arn }]];
            await events.send(new PutTargetsCommand({ Rule, Targets }));
            // Late retries and re-checks go to this pipeline's queues, not the mocks' made-up ones.
            const own = {
                [HANDLER_ENV.deadLetterQueueUrl]: deadLetter.url,
                [HANDLER_ENV.eventsQueueUrl]: queue.url,
            };
            queues.push({ queue, deadLetter, environment: { ...environment, ...own } });
        }
        const run = async (invokes: readonly Invoke[]) => {
            const pipelines = members.map(({ archive }, index): LocalPipeline => {
                const { queue, deadLetter, environment: own } = queues[index];
                const mapping = startEventSourceMapping({
                    queueUrl: queue.url,
                    queueArn: queue.arn,
                    region: emulator.region,
                    clientConfig: config,
                    settings,
                    functionTimeoutMs: archive.timeoutMs,
                    idlePollIntervalMs: IDLE_POLL_INTERVAL_MS * members.length,
                    handler: async (event) => {
                        // One process runs every container: set this function's environment before it reads it.
                        Object.assign(process.env, archive.environment, own);
                        return (await invokes[index](event)) as SQSBatchResponse;
                    },
                    onBatch,
                });
                return {
                    queueUrl: queue.url,
                    deadLetterQueueUrl: deadLetter.url,
                    mapping,
                    putEvents: (warnings) => put(events, warnings),
                    counts: async () => ({
                        queued: await total(queue.url),
                        deadLettered: await total(deadLetter.url),
                    }),
                };
            });
            try {
                return await body(pipelines);
            } finally {
                await Promise.all(pipelines.map((p) => p.mapping.stop()));
            }
        };
        // Containers nest, so that each gives back the environment and console it took over.
        const logs: { line: string; at: number }[] = [];
        const nest = async (invokes: readonly Invoke[]): Promise<T> => {
            const index = invokes.length;
            if (index === members.length) {
                return run(invokes);
            }
            const { value, logLines, logTimesMs } = await members[index].archive.withContainer(
                queues[index].environment,
                (invoke) => nest([...invokes, invoke]),
            );
            logs.push(...logLines.map((line, i) => ({ line, at: logTimesMs[i] })));
            return value;
        };
        const value = await nest([]);
        logs.sort((a, b) => a.at - b.at);
        return { value, logLines: logs.map((l) => l.line), logTimesMs: logs.map((l) => l.at) };
    } finally {
        sqs.destroy();
        events.destroy();
    }
}

/** Sends EventBridge-shaped events (source, detail-type, detail, time, resources) in tens. */
async function put(client: EventBridgeClient, events: readonly Record<string, unknown>[]) {
    const entries = events.map((event) => ({
        Source: String(event.source),
        DetailType: String(event["detail-type"]),
        Detail: JSON.stringify(event.detail ?? {}),
        Resources: Array.isArray(event.resources) ? event.resources.map(String) : undefined,
        Time: typeof event.time === "string" ? new Date(event.time) : undefined,
    }));
    for (let start = 0; start < entries.length; start += PUT_EVENTS_BATCH) {
        const { FailedEntryCount } = await client.send(
            new PutEventsCommand({ Entries: entries.slice(start, start + PUT_EVENTS_BATCH) }),
        );
        if (FailedEntryCount) {
            throw new Error(`PutEvents failed for ${FailedEntryCount} entries`);
        }
    }
}
