/** Lambda's SQS event source mapping with ReportBatchItemFailures, run locally against the emulator. */
// moto times visibility and redrive as AWS does, but a long poll holds its one-request lock: short polls, with pauses.
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import {
    DeleteMessageBatchCommand,
    ReceiveMessageCommand,
    SQSClient,
    type SQSClientConfig,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { judge, queueCounts, toRecord, totalMessages, type Verdict } from "./sqs-records";

/** The mapping's settings, named and bounded as in CreateEventSourceMapping. */
export interface EventSourceMappingSettings {
    /** 1..10000; over 10 needs a batching window of at least 1 s. */
    readonly batchSize: number;
    /** 0..300. */
    readonly maximumBatchingWindowInSeconds: number;
    /** 2..1000 (`scalingConfig.maximumConcurrency`): at most this many invocations in flight. */
    readonly maximumConcurrency: number;
}

/** The handler gets the parts of Lambda's context a batch handler uses. */
export type SqsBatchHandler = (
    event: SQSEvent,
    context: { readonly awsRequestId: string; getRemainingTimeInMillis(): number },
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

const newStats = () => ({
    invocations: 0,
    records: 0,
    /** Records per invocation, in the order the invocations started. */
    batchSizes: [] as number[],
    deleted: 0,
    /** Records left for redelivery: named in batchItemFailures, or in a batch that failed whole. */
    failedRecords: 0,
    /** Invocations that failed whole: a throw, a timeout or an invalid response. */
    failedBatches: 0,
    maxInFlight: 0,
    /** Records received but never invoked because the mapping stopped; they reappear later. */
    abandonedRecords: 0,
    /** Failed SQS calls (receive, delete, attributes) and throwing `onBatch` callbacks. */
    errors: 0,
    lastError: undefined as string | undefined,
});
export type EventSourceMappingStats = ReturnType<typeof newStats>;

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
    readonly onBatch?: (info: BatchInfo) => void;
    /** An invocation running longer fails whole, as at the function's timeout. Default 60 000. */
    readonly functionTimeoutMs?: number;
    /** Pause after an empty receive. Default 25 ms. */
    readonly idlePollIntervalMs?: number;
}

/** A gathered batch, the records that overflowed its payload, and how long it took to gather. */
type Batch = { records: SQSRecord[]; overflow: SQSRecord[]; gatherMs: number };

// ReceiveMessage's and DeleteMessageBatch's own cap; Lambda's limit on a synchronous payload.
const [MAX_RECEIVE_MESSAGES, DELETE_BATCH_SIZE, MAX_PAYLOAD_BYTES] = [10, 10, 6 * 1024 * 1024];
const ERROR_BACKOFF_MS = 200;
const DRAIN_CHECK_INTERVAL_MS = 50;
/** The mapping stops itself after this long, so a forgotten stop() cannot poll forever. */
const MAX_LIFETIME_MS = 600_000;
const EVENT_ENVELOPE_BYTES = '{"Records":[]}'.length;
const SETTINGS_LIMITS = {
    batchSize: [1, 10_000],
    maximumBatchingWindowInSeconds: [0, 300],
    maximumConcurrency: [2, 1000],
} as const;

/** Throws a RangeError, worded like Lambda's validation, for settings Lambda would refuse. */
export function validateSettings(settings: EventSourceMappingSettings): void {
    for (const [name, [min, max]] of Object.entries(SETTINGS_LIMITS)) {
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
    return new Mapping(options);
}

class Mapping implements LocalEventSourceMapping {
    readonly stats = newStats();
    private readonly sqs: SQSClient;
    private readonly abort = new AbortController();
    /** Settles when the mapping stops, to wake a poller waiting for concurrency. */
    private readonly halted = once(this.abort.signal, "abort");
    private readonly inFlight = new Set<Promise<void>>();
    private readonly lifetime: NodeJS.Timeout;
    /** One gathering loop, which keeps batch composition deterministic; Lambda starts five, which splits a burst into smaller batches. */
    private readonly poller: Promise<void>;
    private readonly idlePollIntervalMs: number;
    private readonly windowMs: number;
    /** Every loop ends by this many receives at the latest, whatever the clock does. */
    private readonly maxReceives: number;
    private running = true;
    private receives = 0;
    /** Records received and not yet handed to an invocation. */
    private held = 0;
    private stopping: Promise<void> | undefined;

    constructor(private readonly options: EventSourceMappingOptions) {
        this.sqs = new SQSClient(options.clientConfig);
        this.idlePollIntervalMs = options.idlePollIntervalMs ?? 25;
        this.windowMs = options.settings.maximumBatchingWindowInSeconds * 1000;
        this.maxReceives = Math.ceil(MAX_LIFETIME_MS / Math.max(1, this.idlePollIntervalMs)) * 10;
        // Only a safety net: unref'd so that it does not keep the process alive by itself.
        this.lifetime = setTimeout(() => this.halt(), MAX_LIFETIME_MS).unref();
        this.poller = this.poll().catch((error: unknown) => this.noteError(error));
    }

    stop(): Promise<void> {
        this.stopping ??= (async () => {
            this.halt();
            clearTimeout(this.lifetime);
            await this.poller;
            // Invocations always settle: the function timeout bounds each one.
            await Promise.allSettled([...this.inFlight]);
            this.sqs.destroy();
        })();
        return this.stopping;
    }

    async drained(timeoutMs: number): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        const maxChecks = Math.ceil(timeoutMs / DRAIN_CHECK_INTERVAL_MS) + 1;
        let last = "not checked";
        const idle = (): boolean => this.held === 0 && this.inFlight.size === 0;
        for (let check = 0; check < maxChecks; check++) {
            if (this.stopping !== undefined || !this.running) {
                throw new Error(`the mapping stopped before the queue drained (${last})`);
            }
            if (!idle()) {
                last = `${this.held} records held, ${this.inFlight.size} invocations in flight`;
            } else {
                try {
                    const counts = await queueCounts(this.sqs, this.options.queueUrl);
                    last = `visible ${counts.visible}, in flight ${counts.notVisible}, delayed ${counts.delayed}`;
                    if (totalMessages(counts) === 0 && idle()) {
                        return;
                    }
                } catch (error) {
                    this.noteError(error);
                }
            }
            if (Date.now() >= deadline) {
                break;
            }
            await this.pause(Math.min(DRAIN_CHECK_INTERVAL_MS, deadline - Date.now()));
        }
        throw new Error(`the queue did not drain within ${timeoutMs} ms (${last})`);
    }

    private halt(): void {
        this.running = false;
        this.abort.abort();
    }

    private get polling(): boolean {
        return this.running && this.receives < this.maxReceives;
    }

    /** The poller: gathers a batch, waits for a concurrency slot, starts the invocation, repeats. */
    private async poll(): Promise<void> {
        // Records that did not fit the last batch's payload start the next one, as on Lambda.
        let carried: SQSRecord[] = [];
        while (this.polling) {
            const batch = await this.gather(carried);
            carried = batch.overflow;
            if (batch.records.length === 0) {
                continue;
            }
            // Lambda's pollers wait for concurrency rather than receive more than they can invoke.
            const { maximumConcurrency } = this.options.settings;
            while (this.running && this.inFlight.size >= maximumConcurrency) {
                await Promise.race([...this.inFlight, this.halted]);
            }
            if (!this.running) {
                this.abandon(batch.records);
                break;
            }
            this.held -= batch.records.length;
            // Itself included: it joins inFlight just below.
            const invocation = this.invoke(batch, this.inFlight.size + 1).finally(() => {
                this.inFlight.delete(invocation);
            });
            this.inFlight.add(invocation);
        }
        this.abandon(carried);
    }

    /** Receives until batchSize records, the window since the first record, or the payload cap. */
    private async gather(carried: SQSRecord[]): Promise<Batch> {
        const { batchSize } = this.options.settings;
        const records: SQSRecord[] = [];
        const overflow: SQSRecord[] = [];
        let payloadBytes = EVENT_ENVELOPE_BYTES;
        // The window runs from the batch's first record, not from the first poll.
        let firstAt = carried.length > 0 ? performance.now() : undefined;
        const sinceFirst = (): number => (firstAt === undefined ? 0 : performance.now() - firstAt);
        const add = (record: SQSRecord): void => {
            const size = Buffer.byteLength(JSON.stringify(record)) + 1;
            // Lambda invokes early rather than exceed its 6 MB payload limit.
            const full = records.length > 0 && payloadBytes + size > MAX_PAYLOAD_BYTES;
            if (overflow.length > 0 || full) {
                overflow.push(record);
            } else {
                payloadBytes += size;
                records.push(record);
            }
        };
        carried.forEach(add);
        while (this.polling && overflow.length === 0 && records.length < batchSize) {
            if (firstAt !== undefined && sinceFirst() >= this.windowMs) {
                break;
            }
            const received = await this.receive(batchSize - records.length);
            if (received === undefined) {
                continue;
            }
            if (received.length > 0) {
                firstAt ??= performance.now();
                received.forEach(add);
            }
            // With no window, Lambda invokes with whatever one poll returned.
            if (this.windowMs === 0 && records.length > 0) {
                break;
            }
            if (received.length === 0) {
                const windowLeft = firstAt === undefined ? Infinity : this.windowMs - sinceFirst();
                await this.pause(Math.min(this.idlePollIntervalMs, windowLeft));
            }
        }
        if (!this.running) {
            this.abandon([...records, ...overflow]);
            return { records: [], overflow: [], gatherMs: 0 };
        }
        return { records, overflow, gatherMs: sinceFirst() };
    }

    /** One ReceiveMessage for at most `wanted` records; undefined, after a pause, when it fails. */
    private async receive(wanted: number): Promise<SQSRecord[] | undefined> {
        this.receives++;
        const { queueUrl, queueArn, region } = this.options;
        try {
            const response = await this.sqs.send(
                new ReceiveMessageCommand({
                    QueueUrl: queueUrl,
                    MaxNumberOfMessages: Math.min(MAX_RECEIVE_MESSAGES, wanted),
                    // Lambda's records carry every system attribute and every message attribute.
                    MessageSystemAttributeNames: ["All"],
                    MessageAttributeNames: ["All"],
                    // A short poll (see the top): Lambda itself long-polls real SQS. No VisibilityTimeout, as Lambda sets none.
                    WaitTimeSeconds: 0,
                }),
            );
            const records = (response.Messages ?? []).map((m) => toRecord(m, queueArn, region));
            this.held += records.length;
            return records;
        } catch (error) {
            this.noteError(error);
            await this.pause(ERROR_BACKOFF_MS);
            return undefined;
        }
    }

    /** Runs the handler on a batch, deletes what succeeded and reports the outcome. */
    private async invoke({ records, gatherMs }: Batch, concurrent: number): Promise<void> {
        const stats = this.stats;
        stats.invocations++;
        stats.records += records.length;
        stats.batchSizes.push(records.length);
        stats.maxInFlight = Math.max(stats.maxInFlight, concurrent);
        const startedAt = performance.now();
        const verdict = await this.run(records);
        const durationMs = performance.now() - startedAt;
        // ReportBatchItemFailures: every record not reported as failed is deleted.
        const succeeded = records.filter((r) => !verdict.failed.has(r.messageId));
        const messageIds = records.map((r) => r.messageId);
        const failedMessageIds = messageIds.filter((id) => verdict.failed.has(id));
        // Awaited first: `stats.deleted += await …` would read the counter before the await.
        const deleted = await this.delete(succeeded);
        stats.deleted += deleted;
        stats.failedRecords += records.length - succeeded.length;
        const failedWhole = verdict.error !== undefined;
        stats.failedBatches += failedWhole ? 1 : 0;
        const outcome =
            failedMessageIds.length === 0 ? "succeeded" : failedWhole ? "failed" : "partial";
        try {
            this.options.onBatch?.({
                messageIds,
                outcome,
                failedMessageIds,
                error: verdict.error,
                gatherMs,
                durationMs,
                inFlight: concurrent,
            });
        } catch (error) {
            this.noteError(error);
        }
    }

    /** The handler's verdict on the batch: a throw or a timeout fails it whole. */
    private async run(records: SQSRecord[]): Promise<Verdict> {
        const timeoutMs = this.options.functionTimeoutMs ?? 60_000;
        const deadline = Date.now() + timeoutMs;
        // Lambda hands the function JSON, so the handler gets its own copy of plain data.
        const event = JSON.parse(JSON.stringify({ Records: records })) as SQSEvent;
        const context = {
            awsRequestId: randomUUID(),
            getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        };
        try {
            const handled = Promise.resolve().then(() => this.options.handler(event, context));
            return judge(await withTimeout(handled, timeoutMs), records);
        } catch (error) {
            return {
                failed: new Set(records.map((r) => r.messageId)),
                error: `the function failed: ${errorText(error)}`,
            };
        }
    }

    /** Deletes in DeleteMessageBatch's chunks; how many SQS confirmed. Failed records keep their visibility, so they reappear. */
    private async delete(records: readonly SQSRecord[]): Promise<number> {
        let deleted = 0;
        for (let start = 0; start < records.length; start += DELETE_BATCH_SIZE) {
            // Ids only need to be unique within the request.
            const Entries = records
                .slice(start, start + DELETE_BATCH_SIZE)
                .map((record, index) => ({
                    Id: String(index),
                    ReceiptHandle: record.receiptHandle,
                }));
            try {
                const { Successful = [], Failed = [] } = await this.sqs.send(
                    new DeleteMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries }),
                );
                deleted += Successful.length;
                for (const failure of Failed) {
                    this.noteError(
                        new Error(`DeleteMessageBatch: ${failure.Code}: ${failure.Message}`),
                    );
                }
            } catch (error) {
                this.noteError(error);
            }
        }
        return deleted;
    }

    private abandon(records: readonly SQSRecord[]): void {
        this.held -= records.length;
        this.stats.abandonedRecords += records.length;
    }

    private noteError(error: unknown): void {
        this.stats.errors++;
        this.stats.lastError = errorText(error);
    }

    /** Sleeps, but wakes at once when the mapping stops. */
    private async pause(ms: number): Promise<void> {
        if (this.running && ms > 0) {
            // Rejects when aborted by stop(), which only ends the pause early.
            await sleep(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
        }
    }
}

/** Rejects as Lambda reports a function that ran past its timeout; the promise itself runs on. */
async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
    const timer = new AbortController();
    const timedOut = sleep(timeoutMs, undefined, { signal: timer.signal }).then(() => {
        throw new Error(`Task timed out after ${timeoutMs / 1000} seconds`);
    });
    try {
        return await Promise.race([promise, timedOut]);
    } finally {
        timer.abort();
    }
}

function errorText(error: unknown): string {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
