/**
 * Lambda's SQS event source mapping with ReportBatchItemFailures, run locally against the emulator,
 * so that the whole queued pipeline runs on one machine. moto 5.2.5 times visibility timeouts and
 * redrives on receive as AWS does, but a long poll holds server.py's one-request lock for its whole
 * wait, so this mapping short-polls (WaitTimeSeconds 0) and pauses briefly after an empty receive.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import {
    assertIntegerIn,
    type EventSourceMappingOptions,
    type EventSourceMappingStats,
    type LocalEventSourceMapping,
    MAX_PAYLOAD_BYTES,
    validateSettings,
} from "./event-source-mapping-options";
import { deleteRecords, queueCounts, toRecord } from "./sqs-records";

const MAX_RECEIVE_MESSAGES = 10; // ReceiveMessage's own cap
const ERROR_BACKOFF_MS = 200;
const DRAIN_CHECK_INTERVAL_MS = 50;
const EVENT_ENVELOPE_BYTES = '{"Records":[]}'.length;

/** Which records of a batch come back to the queue, and why the whole batch failed if it did. */
export interface Verdict {
    readonly failed: ReadonlySet<string>;
    readonly error?: string;
}

/** A gathered batch, the records that overflowed its payload, and how long it took to gather. */
interface Batch {
    readonly records: SQSRecord[];
    readonly overflow: SQSRecord[];
    readonly gatherMs: number;
}

export function startEventSourceMapping(
    options: EventSourceMappingOptions,
): LocalEventSourceMapping {
    validateSettings(options.settings);
    assertIntegerIn("pollers", options.pollers ?? 1, 1, 100);
    assertIntegerIn("waitTimeSeconds", options.waitTimeSeconds ?? 0, 0, 20);
    return new Mapping(options);
}

class Mapping implements LocalEventSourceMapping {
    readonly stats: EventSourceMappingStats = {
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
    private readonly sqs: SQSClient;
    private readonly abort = new AbortController();
    private readonly slots: Slots;
    private readonly inFlight = new Set<Promise<void>>();
    private readonly lifetime: NodeJS.Timeout;
    private readonly pollers: Promise<void>[];
    private readonly functionTimeoutMs: number;
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
        this.slots = new Slots(options.settings.maximumConcurrency);
        this.functionTimeoutMs = options.functionTimeoutMs ?? 60_000;
        this.idlePollIntervalMs = options.idlePollIntervalMs ?? 25;
        this.windowMs = options.settings.maximumBatchingWindowInSeconds * 1000;
        const maxLifetimeMs = options.maxLifetimeMs ?? 600_000;
        this.maxReceives = Math.ceil(maxLifetimeMs / Math.max(1, this.idlePollIntervalMs)) * 10;
        // Only a safety net: unref'd so that it does not keep the process alive by itself.
        this.lifetime = setTimeout(() => this.halt(), maxLifetimeMs).unref();
        this.pollers = Array.from({ length: options.pollers ?? 1 }, () =>
            this.poll().catch((error: unknown) => this.noteError(error)),
        );
    }

    stop(): Promise<void> {
        this.stopping ??= (async () => {
            this.halt();
            clearTimeout(this.lifetime);
            await Promise.all(this.pollers);
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
                    if (counts.visible + counts.notVisible + counts.delayed === 0 && idle()) {
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
        this.slots.cancelWaiters();
    }

    private get polling(): boolean {
        return this.running && this.receives < this.maxReceives;
    }

    /** One poller: gathers a batch, waits for a concurrency slot, starts the invocation, repeats. */
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
            if (!(this.running && (await this.slots.acquire()))) {
                this.abandon(batch.records);
                break;
            }
            this.held -= batch.records.length;
            const invocation = this.invoke(batch).finally(() => {
                this.slots.release();
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
        const { queueUrl, queueArn, region, waitTimeSeconds = 0 } = this.options;
        try {
            const response = await this.sqs.send(
                new ReceiveMessageCommand({
                    QueueUrl: queueUrl,
                    MaxNumberOfMessages: Math.min(MAX_RECEIVE_MESSAGES, wanted),
                    // Lambda's records carry every system attribute and every message attribute.
                    MessageSystemAttributeNames: ["All"],
                    MessageAttributeNames: ["All"],
                    // Short poll by default (see the top); no VisibilityTimeout, as Lambda sets none.
                    WaitTimeSeconds: waitTimeSeconds,
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
    private async invoke({ records, gatherMs }: Batch): Promise<void> {
        const stats = this.stats;
        stats.invocations++;
        stats.records += records.length;
        stats.batchSizes.push(records.length);
        const concurrent = this.slots.inUse;
        stats.maxInFlight = Math.max(stats.maxInFlight, concurrent);
        const startedAt = performance.now();
        const verdict = await this.run(records);
        const durationMs = performance.now() - startedAt;
        // ReportBatchItemFailures: every record not reported as failed is deleted.
        const succeeded = records.filter((r) => !verdict.failed.has(r.messageId));
        const messageIds = records.map((r) => r.messageId);
        const failedMessageIds = messageIds.filter((id) => verdict.failed.has(id));
        // Awaited first: `stats.deleted += await …` would read the counter before the await.
        const deleted = await deleteRecords(this.sqs, this.options.queueUrl, succeeded, (error) =>
            this.noteError(error),
        );
        stats.deleted += deleted;
        stats.failedRecords += records.length - succeeded.length;
        if (verdict.error !== undefined) {
            stats.failedBatches++;
        }
        try {
            this.options.onBatch?.({
                messageIds,
                outcome:
                    failedMessageIds.length === 0
                        ? "succeeded"
                        : verdict.error !== undefined
                          ? "failed"
                          : "partial",
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
        const deadline = Date.now() + this.functionTimeoutMs;
        // Lambda hands the function JSON, so the handler gets its own copy of plain data.
        const event = JSON.parse(JSON.stringify({ Records: records })) as SQSEvent;
        const context = {
            awsRequestId: randomUUID(),
            getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        };
        try {
            const handled = Promise.resolve().then(() => this.options.handler(event, context));
            return judge(await withTimeout(handled, this.functionTimeoutMs), records);
        } catch (error) {
            return {
                failed: new Set(records.map((r) => r.messageId)),
                error: `the function failed: ${errorText(error)}`,
            };
        }
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

/** Lambda's reading of a response: no failures listed is success; anything malformed fails all. */
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
    const failures = (wire as { batchItemFailures?: unknown }).batchItemFailures ?? [];
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

/** maximumConcurrency: a counting semaphore whose waiters can all be turned away at once. */
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
            next(true); // The slot passes straight to the next waiter.
        } else {
            this.used--;
        }
    }

    cancelWaiters(): void {
        this.cancelled = true;
        this.waiters.splice(0).forEach((waiter) => waiter(false));
    }
}

/** Rejects as Lambda reports a function that ran past its timeout; the promise itself runs on. */
async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
        const message = `Task timed out after ${timeoutMs / 1000} seconds`;
        timer = setTimeout(() => reject(new Error(message)), timeoutMs);
    });
    try {
        return await Promise.race([promise, timedOut]);
    } finally {
        clearTimeout(timer);
    }
}

function errorText(error: unknown): string {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
