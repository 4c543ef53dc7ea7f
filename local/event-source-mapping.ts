/**
 * A local stand-in for Lambda's SQS event source mapping with ReportBatchItemFailures on: it feeds
 * a handler from a queue in the emulator as Lambda would, so that tests and the benchmark can run
 * the whole queued pipeline (EventBridge rule → queue → mapping → handler) on one machine.
 *
 * What moto 5.2.5 does underneath, checked against the emulator:
 * - Visibility timeouts are real and timed in milliseconds: a received, undeleted message
 *   reappears once the queue's VisibilityTimeout has passed, with ApproximateReceiveCount + 1.
 * - Redrive happens on receive, as on AWS: a visible message whose receive count has reached the
 *   redrive policy's maxReceiveCount is moved to the dead-letter queue by the next ReceiveMessage
 *   on the source queue (which returns without it). It keeps its receive count in the DLQ.
 * - A long poll (WaitTimeSeconds > 0) holds local/emulator_server.py's one-request-at-a-time
 *   lock for the whole wait, stalling every other AWS call and the SendMessage that would end it.
 *   So this mapping short-polls (WaitTimeSeconds 0) and pauses briefly after an empty receive.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import {
    DeleteMessageBatchCommand,
    GetQueueAttributesCommand,
    ReceiveMessageCommand,
    SQSClient,
    type Message,
    type MessageAttributeValue,
    type SQSClientConfig,
} from "@aws-sdk/client-sqs";
import type {
    SQSBatchResponse,
    SQSEvent,
    SQSMessageAttribute,
    SQSMessageAttributes,
    SQSRecord,
    SQSRecordAttributes,
} from "aws-lambda";

/** The mapping's settings, named and bounded as in CreateEventSourceMapping. */
export interface EventSourceMappingSettings {
    /** 1..10000; over 10 needs a batching window of at least 1 s. */
    readonly batchSize: number;
    /** 0..300. */
    readonly maximumBatchingWindowInSeconds: number;
    /** 2..1000 (`scalingConfig.maximumConcurrency`): at most this many invocations in flight. */
    readonly maximumConcurrency: number;
}

/** What the handler gets besides the event: the parts of Lambda's context a batch handler uses. */
export interface InvocationContext {
    readonly awsRequestId: string;
    getRemainingTimeInMillis(): number;
}

export type SqsBatchHandler = (
    event: SQSEvent,
    context: InvocationContext,
) => Promise<SQSBatchResponse | undefined | void>; // eslint-disable-line @typescript-eslint/no-invalid-void-type

/** One finished invocation, as told to `onBatch`. */
export interface BatchInfo {
    readonly messageIds: readonly string[];
    /** "failed": the whole batch comes back; "partial": only `failedMessageIds` come back. */
    readonly outcome: "succeeded" | "partial" | "failed";
    /** Records left on the queue to reappear after its visibility timeout. */
    readonly failedMessageIds: readonly string[];
    /** Why the whole batch failed, when it did. */
    readonly error?: string;
    /** From the first record's receipt to the invocation. */
    readonly gatherMs: number;
    readonly durationMs: number;
    /** Invocations in flight when this one started, itself included. */
    readonly inFlight: number;
}

export interface EventSourceMappingStats {
    invocations: number;
    records: number;
    /** Records per invocation, in the order the invocations started. */
    batchSizes: number[];
    /** Records deleted after their invocation. */
    deleted: number;
    /** Records left for redelivery: named in batchItemFailures, or in a batch that failed whole. */
    failedRecords: number;
    /** Invocations that failed whole: a throw, a timeout or an invalid response. */
    failedBatches: number;
    /** The most invocations ever in flight at once. */
    maxInFlight: number;
    /** Records received but never invoked because the mapping stopped; they reappear later. */
    abandonedRecords: number;
    /** Failed SQS calls (receive, delete, attributes) and throwing `onBatch` callbacks. */
    errors: number;
    lastError?: string;
}

export interface LocalEventSourceMapping {
    /** Live counters; read them, don't write them. */
    readonly stats: Readonly<EventSourceMappingStats>;
    /** Resolves when the queue has shown empty (ApproximateNumberOfMessages + NotVisible + Delayed = 0) and nothing is held or in flight; rejects after timeoutMs or once the mapping has stopped. */
    drained(timeoutMs: number): Promise<void>;
    /** Stops polling and waits for in-flight invocations. Idempotent. */
    stop(): Promise<void>;
}

export interface EventSourceMappingOptions {
    readonly queueUrl: string;
    readonly queueArn: string;
    readonly region: string;
    readonly clientConfig: SQSClientConfig;
    readonly settings: EventSourceMappingSettings;
    readonly handler: SqsBatchHandler;
    /** Told about every finished invocation. */
    readonly onBatch?: (info: BatchInfo) => void;
    /** An invocation running longer fails whole, as at the function's timeout. Default 60 000. */
    readonly functionTimeoutMs?: number;
    /** Gathering loops. Default 1, which keeps batch composition deterministic; Lambda starts five, which splits a burst into smaller batches. */
    readonly pollers?: number;
    /** Pause after an empty receive. Default 25 ms. */
    readonly idlePollIntervalMs?: number;
    /** ReceiveMessage's long-poll wait, 0..20. Default 0: a long poll stalls the emulator (see the top); Lambda itself long-polls real SQS. */
    readonly waitTimeSeconds?: number;
    /** The mapping stops itself after this long, so a forgotten stop() cannot poll forever. Default 10 minutes. */
    readonly maxLifetimeMs?: number;
}

export const SETTINGS_LIMITS = {
    batchSize: { min: 1, max: 10_000 },
    maximumBatchingWindowInSeconds: { min: 0, max: 300 },
    maximumConcurrency: { min: 2, max: 1000 },
} as const;

/** Lambda's limit on a synchronous invocation's payload. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const MAX_RECEIVE_MESSAGES = 10; // ReceiveMessage's own cap
const DELETE_BATCH_SIZE = 10; // DeleteMessageBatch's own cap
const DEFAULT_FUNCTION_TIMEOUT_MS = 60_000;
const DEFAULT_IDLE_POLL_INTERVAL_MS = 25;
const DEFAULT_MAX_LIFETIME_MS = 600_000;
const ERROR_BACKOFF_MS = 200;
const DRAIN_CHECK_INTERVAL_MS = 50;
const EVENT_ENVELOPE_BYTES = '{"Records":[]}'.length;

/** Throws a RangeError, worded like Lambda's validation, for settings Lambda would refuse. */
export function validateSettings(settings: EventSourceMappingSettings): void {
    for (const [name, { min, max }] of Object.entries(SETTINGS_LIMITS)) {
        const value = settings[name as keyof EventSourceMappingSettings];
        if (!Number.isInteger(value) || value < min || value > max) {
            throw new RangeError(`${name} must be an integer from ${min} to ${max}, not ${value}`);
        }
    }
    if (settings.batchSize > 10 && settings.maximumBatchingWindowInSeconds < 1) {
        throw new RangeError(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        );
    }
}

export function startEventSourceMapping(
    options: EventSourceMappingOptions,
): LocalEventSourceMapping {
    validateSettings(options.settings);
    const { settings, queueUrl } = options;
    const functionTimeoutMs = options.functionTimeoutMs ?? DEFAULT_FUNCTION_TIMEOUT_MS;
    const idlePollIntervalMs = options.idlePollIntervalMs ?? DEFAULT_IDLE_POLL_INTERVAL_MS;
    const pollerCount = options.pollers ?? 1;
    if (!Number.isInteger(pollerCount) || pollerCount < 1 || pollerCount > 100) {
        throw new RangeError(`pollers must be an integer from 1 to 100, not ${pollerCount}`);
    }
    const waitTimeSeconds = options.waitTimeSeconds ?? 0;
    if (!Number.isInteger(waitTimeSeconds) || waitTimeSeconds < 0 || waitTimeSeconds > 20) {
        throw new RangeError(
            `waitTimeSeconds must be an integer from 0 to 20, not ${waitTimeSeconds}`,
        );
    }
    const windowMs = settings.maximumBatchingWindowInSeconds * 1000;
    const maxLifetimeMs = options.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS;
    // Every loop below ends by this many receives at the latest, whatever the clock does.
    const maxReceives = Math.ceil(maxLifetimeMs / Math.max(1, idlePollIntervalMs)) * 10;

    const sqs = new SQSClient(options.clientConfig);
    const stats: EventSourceMappingStats = {
        invocations: 0,
        records: 0,
        batchSizes: [],
        deleted: 0,
        failedRecords: 0,
        failedBatches: 0,
        maxInFlight: 0,
        abandonedRecords: 0,
        errors: 0,
    };
    const abort = new AbortController();
    const slots = new Slots(settings.maximumConcurrency);
    const inFlight = new Set<Promise<void>>();
    let running = true;
    let receives = 0;
    /** Records received and not yet handed to an invocation. */
    let held = 0;

    const halt = (): void => {
        running = false;
        abort.abort();
        slots.cancelWaiters();
    };
    const lifetime = setTimeout(halt, maxLifetimeMs);
    // Only a safety net: it must not keep the process alive by itself.
    lifetime.unref();

    const noteError = (error: unknown): void => {
        stats.errors++;
        stats.lastError =
            error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    };

    /** Sleeps, but wakes at once when the mapping stops. */
    const pause = async (ms: number): Promise<void> => {
        if (!running || ms <= 0) {
            return;
        }
        try {
            await sleep(ms, undefined, { signal: abort.signal });
        } catch {
            // Aborted by stop().
        }
    };

    const receive = async (maxMessages: number): Promise<SQSRecord[]> => {
        receives++;
        const response = await sqs.send(
            new ReceiveMessageCommand({
                QueueUrl: queueUrl,
                MaxNumberOfMessages: maxMessages,
                // Lambda's records carry every system attribute and every message attribute.
                MessageSystemAttributeNames: ["All"],
                MessageAttributeNames: ["All"],
                // Short poll by default: a long poll would hold the emulator's global lock (see the top).
                WaitTimeSeconds: waitTimeSeconds,
                // No VisibilityTimeout: Lambda leaves the queue's own in force.
            }),
        );
        return (response.Messages ?? []).map((message) =>
            toRecord(message, options.queueArn, options.region),
        );
    };

    /** One poller: gathers a batch, waits for a concurrency slot, starts the invocation, repeats. */
    const poll = async (): Promise<void> => {
        // Records that did not fit the last batch's payload start the next one, as on Lambda.
        let carried: SQSRecord[] = [];
        while (running && receives < maxReceives) {
            const batch = await gather(carried);
            carried = batch.overflow;
            if (batch.records.length === 0) {
                continue;
            }
            // Lambda's pollers wait for concurrency rather than receive more than they can invoke.
            const acquired = running && (await slots.acquire());
            if (!acquired) {
                abandon(batch.records);
                break;
            }
            held -= batch.records.length;
            const invocation = invoke(batch.records, batch.gatherMs).finally(() => {
                slots.release();
                inFlight.delete(invocation);
            });
            inFlight.add(invocation);
        }
        abandon(carried);
    };

    const abandon = (records: readonly SQSRecord[]): void => {
        held -= records.length;
        stats.abandonedRecords += records.length;
    };

    /** Receives until batchSize records, the window since the first record, or the payload cap. */
    const gather = async (
        carried: SQSRecord[],
    ): Promise<{ records: SQSRecord[]; overflow: SQSRecord[]; gatherMs: number }> => {
        const records: SQSRecord[] = [];
        const overflow: SQSRecord[] = [];
        let payloadBytes = EVENT_ENVELOPE_BYTES;
        let firstAt: number | undefined = carried.length > 0 ? performance.now() : undefined;
        const add = (record: SQSRecord): void => {
            const size = Buffer.byteLength(JSON.stringify(record)) + 1;
            // Lambda invokes early rather than exceed its 6 MB payload limit.
            if (
                overflow.length > 0 ||
                (records.length > 0 && payloadBytes + size > MAX_PAYLOAD_BYTES)
            ) {
                overflow.push(record);
                return;
            }
            payloadBytes += size;
            records.push(record);
        };
        carried.forEach(add);

        while (
            running &&
            receives < maxReceives &&
            overflow.length === 0 &&
            records.length < settings.batchSize
        ) {
            // The window runs from the batch's first record, not from the first poll.
            if (firstAt !== undefined && performance.now() - firstAt >= windowMs) {
                break;
            }
            let received: SQSRecord[];
            try {
                // ReceiveMessage returns at most 10; ask for no more than the batch still needs.
                received = await receive(
                    Math.min(MAX_RECEIVE_MESSAGES, settings.batchSize - records.length),
                );
            } catch (error) {
                noteError(error);
                await pause(ERROR_BACKOFF_MS);
                continue;
            }
            held += received.length;
            if (received.length > 0) {
                firstAt ??= performance.now();
                received.forEach(add);
            }
            // With no window, Lambda invokes with whatever one poll returned.
            if (windowMs === 0 && records.length > 0) {
                break;
            }
            if (received.length === 0) {
                const windowLeft =
                    firstAt === undefined ? Infinity : windowMs - (performance.now() - firstAt);
                await pause(Math.min(idlePollIntervalMs, windowLeft));
            }
        }
        if (!running) {
            abandon([...records, ...overflow]);
            return { records: [], overflow: [], gatherMs: 0 };
        }
        return {
            records,
            overflow,
            gatherMs: firstAt === undefined ? 0 : performance.now() - firstAt,
        };
    };

    const invoke = async (records: SQSRecord[], gatherMs: number): Promise<void> => {
        stats.invocations++;
        stats.records += records.length;
        stats.batchSizes.push(records.length);
        const concurrent = slots.inUse;
        stats.maxInFlight = Math.max(stats.maxInFlight, concurrent);

        const startedAt = performance.now();
        const deadline = Date.now() + functionTimeoutMs;
        // Lambda hands the function JSON, so the handler gets its own copy of plain data.
        const event: SQSEvent = JSON.parse(JSON.stringify({ Records: records }));
        const context: InvocationContext = {
            awsRequestId: randomUUID(),
            getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        };
        let verdict: Verdict;
        try {
            const response = await withTimeout(
                Promise.resolve().then(() => options.handler(event, context)),
                functionTimeoutMs,
            );
            verdict = judge(response, records);
        } catch (error) {
            // A throw (or a timeout) fails the whole batch: every record comes back.
            verdict = {
                failed: new Set(records.map((r) => r.messageId)),
                error: `the function failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
            };
        }
        const durationMs = performance.now() - startedAt;

        // ReportBatchItemFailures: every record not reported as failed is deleted.
        const succeeded = records.filter((r) => !verdict.failed.has(r.messageId));
        // Awaited first: `stats.deleted += await …` would read the counter before the await.
        const deleted = await deleteRecords(succeeded);
        stats.deleted += deleted;
        stats.failedRecords += records.length - succeeded.length;
        if (verdict.error !== undefined) {
            stats.failedBatches++;
        }

        if (options.onBatch !== undefined) {
            try {
                options.onBatch({
                    messageIds: records.map((r) => r.messageId),
                    outcome:
                        verdict.failed.size === 0
                            ? "succeeded"
                            : verdict.error !== undefined
                              ? "failed"
                              : "partial",
                    failedMessageIds: records
                        .filter((r) => verdict.failed.has(r.messageId))
                        .map((r) => r.messageId),
                    error: verdict.error,
                    gatherMs,
                    durationMs,
                    inFlight: concurrent,
                });
            } catch (error) {
                noteError(error);
            }
        }
    };

    /** Deletes in chunks of 10; returns how many SQS confirmed. Failed records are left alone: their visibility is not changed, so they reappear after the queue's timeout. */
    const deleteRecords = async (records: readonly SQSRecord[]): Promise<number> => {
        let deleted = 0;
        for (let start = 0; start < records.length; start += DELETE_BATCH_SIZE) {
            const chunk = records.slice(start, start + DELETE_BATCH_SIZE);
            try {
                const response = await sqs.send(
                    new DeleteMessageBatchCommand({
                        QueueUrl: queueUrl,
                        // Ids only need to be unique within the request.
                        Entries: chunk.map((record, index) => ({
                            Id: String(index),
                            ReceiptHandle: record.receiptHandle,
                        })),
                    }),
                );
                deleted += response.Successful?.length ?? 0;
                for (const failure of response.Failed ?? []) {
                    noteError(new Error(`DeleteMessageBatch: ${failure.Code}: ${failure.Message}`));
                }
            } catch (error) {
                noteError(error);
            }
        }
        return deleted;
    };

    const pollers = Array.from({ length: pollerCount }, () =>
        poll().catch((error: unknown) => noteError(error)),
    );

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
        stopping ??= (async () => {
            halt();
            clearTimeout(lifetime);
            await Promise.all(pollers);
            // Invocations always settle: the function timeout bounds each one.
            await Promise.allSettled([...inFlight]);
            sqs.destroy();
        })();
        return stopping;
    };

    const drained = async (timeoutMs: number): Promise<void> => {
        const startedAt = Date.now();
        const maxChecks = Math.ceil(timeoutMs / DRAIN_CHECK_INTERVAL_MS) + 1;
        let last = "not checked";
        for (let check = 0; check < maxChecks; check++) {
            if (stopping !== undefined || !running) {
                throw new Error(`the mapping stopped before the queue drained (${last})`);
            }
            const idle = (): boolean => held === 0 && inFlight.size === 0;
            if (idle()) {
                try {
                    const counts = await queueCounts(sqs, queueUrl);
                    last = `visible ${counts.visible}, in flight ${counts.notVisible}, delayed ${counts.delayed}`;
                    if (counts.visible + counts.notVisible + counts.delayed === 0 && idle()) {
                        return;
                    }
                } catch (error) {
                    noteError(error);
                }
            } else {
                last = `${held} records held, ${inFlight.size} invocations in flight`;
            }
            const remaining = startedAt + timeoutMs - Date.now();
            if (remaining <= 0) {
                break;
            }
            await pause(Math.min(DRAIN_CHECK_INTERVAL_MS, remaining));
        }
        throw new Error(`the queue did not drain within ${timeoutMs} ms (${last})`);
    };

    return { stats, drained, stop };
}

interface Verdict {
    readonly failed: ReadonlySet<string>;
    /** Set when the whole batch failed. */
    readonly error?: string;
}

/**
 * Reads the function's response as Lambda does with ReportBatchItemFailures: no response, or no
 * or an empty `batchItemFailures`, is complete success; a malformed response, or an
 * `itemIdentifier` that is missing, empty or names no record of the batch, fails the whole batch.
 */
export function judge(
    response: unknown,
    records: readonly Pick<SQSRecord, "messageId">[],
): Verdict {
    const all = new Set(records.map((r) => r.messageId));
    const wholeBatch = (error: string): Verdict => ({ failed: all, error });
    let wire: unknown;
    try {
        // Lambda sees the response as JSON: undefined members vanish, and so does an undefined response.
        const json = JSON.stringify(response);
        wire = json === undefined ? null : JSON.parse(json);
    } catch (error) {
        return wholeBatch(`the response is not JSON: ${String(error)}`);
    }
    if (wire === null) {
        return { failed: new Set() };
    }
    if (typeof wire !== "object" || Array.isArray(wire)) {
        return wholeBatch(`the response is not an object: ${JSON.stringify(wire)}`);
    }
    const failures = (wire as { batchItemFailures?: unknown }).batchItemFailures;
    if (failures === undefined || failures === null) {
        return { failed: new Set() };
    }
    if (!Array.isArray(failures)) {
        return wholeBatch("batchItemFailures is not a list");
    }
    const failed = new Set<string>();
    for (const failure of failures) {
        const identifier =
            typeof failure === "object" && failure !== null
                ? (failure as { itemIdentifier?: unknown }).itemIdentifier
                : undefined;
        if (typeof identifier !== "string" || identifier === "") {
            return wholeBatch(`invalid batch item failure ${JSON.stringify(failure)}`);
        }
        if (!all.has(identifier)) {
            return wholeBatch(`itemIdentifier ${identifier} names no record of the batch`);
        }
        failed.add(identifier);
    }
    return { failed };
}

/** Turns a received message into the record Lambda would put in the event. */
export function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
    const messageId = required(message.MessageId, "MessageId");
    const attributes: Partial<Record<string, string>> = message.Attributes ?? {};
    const system = (name: string): string =>
        required(attributes[name], `attribute ${name} of message ${messageId}`);
    const recordAttributes: SQSRecordAttributes = {
        ApproximateReceiveCount: system("ApproximateReceiveCount"),
        SentTimestamp: system("SentTimestamp"),
        SenderId: system("SenderId"),
        ApproximateFirstReceiveTimestamp: system("ApproximateFirstReceiveTimestamp"),
    };
    for (const name of OPTIONAL_SYSTEM_ATTRIBUTES) {
        const value = attributes[name];
        if (value !== undefined) {
            recordAttributes[name] = value;
        }
    }
    const messageAttributes: SQSMessageAttributes = {};
    for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
        messageAttributes[name] = toRecordAttribute(value);
    }
    const record: SQSRecord = {
        messageId,
        receiptHandle: required(message.ReceiptHandle, "ReceiptHandle"),
        body: message.Body ?? "",
        attributes: recordAttributes,
        messageAttributes,
        md5OfBody: required(message.MD5OfBody, "MD5OfBody"),
        eventSource: "aws:sqs",
        eventSourceARN: queueArn,
        awsRegion: region,
    };
    if (message.MD5OfMessageAttributes !== undefined) {
        record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
    }
    return record;
}

const OPTIONAL_SYSTEM_ATTRIBUTES = [
    "AWSTraceHeader",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "DeadLetterQueueSourceArn",
] as const;

/** Lambda's shape: camel-case names, base64 binaries, list members always present. */
function toRecordAttribute(value: MessageAttributeValue): SQSMessageAttribute {
    const attribute: SQSMessageAttribute = {
        stringListValues: value.StringListValues ?? [],
        binaryListValues: (value.BinaryListValues ?? []).map(base64),
        dataType: value.DataType ?? "String",
    };
    if (value.StringValue !== undefined) {
        attribute.stringValue = value.StringValue;
    }
    if (value.BinaryValue !== undefined) {
        attribute.binaryValue = base64(value.BinaryValue);
    }
    return attribute;
}

function base64(bytes: Uint8Array): string {
    return Buffer.from(bytes).toString("base64");
}

export interface QueueCounts {
    readonly visible: number;
    readonly notVisible: number;
    readonly delayed: number;
}

export async function queueCounts(sqs: SQSClient, queueUrl: string): Promise<QueueCounts> {
    const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: [
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        }),
    );
    const counts: Partial<Record<string, string>> = Attributes;
    const count = (name: string): number => Number(counts[name] ?? 0);
    return {
        visible: count("ApproximateNumberOfMessages"),
        notVisible: count("ApproximateNumberOfMessagesNotVisible"),
        delayed: count("ApproximateNumberOfMessagesDelayed"),
    };
}

/** A counting semaphore whose waiters can all be turned away at once. */
class Slots {
    private used = 0;
    private readonly waiters: ((granted: boolean) => void)[] = [];
    private cancelled = false;

    constructor(private readonly limit: number) {}

    get inUse(): number {
        return this.used;
    }

    /** Resolves true with a slot taken, or false once cancelled. */
    acquire(): Promise<boolean> {
        if (this.cancelled) {
            return Promise.resolve(false);
        }
        if (this.used < this.limit) {
            this.used++;
            return Promise.resolve(true);
        }
        return new Promise((resolve) => this.waiters.push(resolve));
    }

    release(): void {
        const next = this.waiters.shift();
        if (next !== undefined) {
            // The slot passes straight to the next waiter.
            next(true);
        } else {
            this.used--;
        }
    }

    cancelWaiters(): void {
        this.cancelled = true;
        for (const waiter of this.waiters.splice(0)) {
            waiter(false);
        }
    }
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
            () => reject(new Error(`Task timed out after ${timeoutMs / 1000} seconds`)),
            timeoutMs,
        );
    });
    try {
        return await Promise.race([promise, timedOut]);
    } finally {
        clearTimeout(timer);
    }
}

function required<T>(value: T | undefined, what: string): T {
    if (value === undefined) {
        throw new Error(`SQS returned no ${what}`);
    }
    return value;
}
