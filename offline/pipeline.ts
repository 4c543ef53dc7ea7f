/**
 * The queued path on one machine: the component's rule into its queue in the emulator, drained by
 * the local mapping into the handler. PutEvents stands in for EC2 (moto allows an `aws.` source).
 */
import {
    EventBridgeClient,
    PutEventsCommand,
    PutRuleCommand,
    PutTargetsCommand,
    type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse } from "aws-lambda";
import { interruptionWarningEventPattern } from "../components/spot-interruption-handler/policies";
import type { QueueSettings } from "../components/spot-interruption-handler/args";
import { ENV_DEAD_LETTER_QUEUE_URL, ENV_EVENTS_QUEUE_URL } from "../contract";
import type { Emulator } from "../emulator/server";
import { startEventSourceMapping } from "./event-source-mapping";
import type { HandlerArchive } from "./handler-archive";
import { type BatchInfo, type LocalEventSourceMapping } from "./event-source-mapping-options";
import { queueCounts } from "./sqs-records";
import { clientConfigFor, required } from "../emulator/group-state";

/** PutEvents' own cap per call. */
const PUT_EVENTS_BATCH = 10;

export interface LocalPipeline {
    readonly queueUrl: string;
    readonly deadLetterQueueUrl: string;
    readonly mapping: LocalEventSourceMapping;
    /** Puts EventBridge events on the default bus, as EC2 would send them. */
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

/** Runs `body` with the pipeline while the mapping feeds one handler container; its value and log lines. */
export async function withLocalPipeline<T>(
    emulator: Emulator,
    archive: HandlerArchive,
    options: LocalPipelineOptions,
    body: (pipeline: LocalPipeline) => Promise<T>,
): Promise<{ value: T; logLines: string[]; logTimesMs: number[] }> {
    const config = clientConfigFor(emulator);
    const sqs = new SQSClient(config);
    const events = new EventBridgeClient(config);
    const name = options.name ?? "spot";
    try {
        const { queue, deadLetter } = await createEventsQueues(sqs, name, options.settings);
        await createRule(events, `${name}-rule`, queue.arn);
        const environment = {
            ...emulator.environment(),
            // Late retries and re-checks go to this pipeline's queues, not the mocks' made-up ones.
            [ENV_DEAD_LETTER_QUEUE_URL]: deadLetter.url,
            [ENV_EVENTS_QUEUE_URL]: queue.url,
            ...options.handlerEnvironment,
        };
        return await archive.withContainer(environment, async (invoke) => {
            const mapping = startEventSourceMapping({
                queueUrl: queue.url,
                queueArn: queue.arn,
                region: emulator.region,
                clientConfig: config,
                settings: options.settings,
                functionTimeoutMs: archive.timeoutMs,
                handler: async (event) => (await invoke(event)) as SQSBatchResponse,
                onBatch: options.onBatch,
            });
            const total = async (url: string): Promise<number> => {
                const { visible, notVisible, delayed } = await queueCounts(sqs, url);
                return visible + notVisible + delayed;
            };
            try {
                return await body({
                    queueUrl: queue.url,
                    deadLetterQueueUrl: deadLetter.url,
                    mapping,
                    putEvents: (warnings) => putEvents(events, warnings),
                    counts: async () => ({
                        queued: await total(queue.url),
                        deadLettered: await total(deadLetter.url),
                    }),
                });
            } finally {
                await mapping.stop();
            }
        });
    } finally {
        sqs.destroy();
        events.destroy();
    }
}

/** The component's rule, with its exact pattern, targeting the events queue. */
async function createRule(
    events: EventBridgeClient,
    rule: string,
    queueArn: string,
): Promise<void> {
    const EventPattern = JSON.stringify(interruptionWarningEventPattern());
    const { RuleArn } = await events.send(new PutRuleCommand({ Name: rule, EventPattern }));
    required(RuleArn, "PutRule RuleArn");
    await events.send(
        new PutTargetsCommand({ Rule: rule, Targets: [{ Id: "events-queue", Arn: queueArn }] }),
    );
}

/** The component's events queue and its dead-letter queue, with its settings and redrive. */
export async function createEventsQueues(
    sqs: SQSClient,
    name: string,
    settings: QueueSettings,
): Promise<{ queue: { url: string; arn: string }; deadLetter: { url: string; arn: string } }> {
    const deadLetter = await createQueue(sqs, `${name}-dlq`, {});
    const queue = await createQueue(sqs, `${name}-queue`, {
        VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(settings.messageRetentionSeconds),
        RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: deadLetter.arn,
            maxReceiveCount: settings.maxReceiveCount,
        }),
    });
    return { queue, deadLetter };
}

/** Creates a queue in the emulator and reads back its ARN. */
async function createQueue(
    sqs: SQSClient,
    queueName: string,
    attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
    const created = await sqs.send(
        new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }),
    );
    const url = required(created.QueueUrl, `CreateQueue ${queueName} QueueUrl`);
    const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
    );
    return { url, arn: required(Attributes?.QueueArn, `${queueName}'s QueueArn`) };
}

/** Sends EventBridge-shaped events (source, detail-type, detail, time, resources) in tens. */
export async function putEvents(
    client: EventBridgeClient,
    events: readonly Record<string, unknown>[],
): Promise<void> {
    const entries: PutEventsRequestEntry[] = events.map((event) => ({
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
