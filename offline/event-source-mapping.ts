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
 * - A long poll (WaitTimeSeconds > 0) holds emulator/server.py's one-request-at-a-time
 *   lock for the whole wait, stalling every other AWS call and the SendMessage that would end it.
 *   So this mapping short-polls (WaitTimeSeconds 0) and pauses briefly after an empty receive.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { judge, type Verdict } from "./batch-response";
import {
    type EventSourceMappingOptions,
    type EventSourceMappingStats,
    type InvocationContext,
    type LocalEventSourceMapping,
    MAX_PAYLOAD_BYTES,
    validateSettings,
} from "./event-source-mapping-options";
import { Slots, withTimeout } from "./invocation-bounds";
import { deleteRecords, queueCounts, toRecord } from "./sqs-records";

// The mapping's whole surface stays importable from here, where the pipeline and commands import it.

const MAX_RECEIVE_MESSAGES = 10; // ReceiveMessage's own cap
const DEFAULT_FUNCTION_TIMEOUT_MS = 60_000;
const DEFAULT_IDLE_POLL_INTERVAL_MS = 25;
const DEFAULT_MAX_LIFETIME_MS = 600_000;
const ERROR_BACKOFF_MS = 200;
const DRAIN_CHECK_INTERVAL_MS = 50;
const EVENT_ENVELOPE_BYTES = '{"Records":[]}'.length;

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
        const deleted = await deleteRecords(sqs, queueUrl, succeeded, noteError);
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
