import * as assert from "node:assert/strict";
import { QUEUE_DEFAULTS } from "../../components/spot-interruption-handler/args";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import type { AutoScalingGateway } from "../../handler/auto-scaling";
import { createDeadLetterGateway, createSqsClient } from "../../handler/dead-letter";
import { handleSqsBatch } from "../../handler/queue-batch";
import { CONCURRENT_SENDS } from "../../handler/late-retries";
import type { LogLevel, LogRecord } from "../../handler/log";
import { asSqsRecord, freshSampleEvent } from "../../offline/sample-event";
import { ids } from "../support/auto-scaling-stub";
import { type SqsStandIn, startSqsStandIn } from "../support/sqs-stand-in";

const NOW = Date.parse("2026-11-28T01:00:00Z");
// Older than the two-minute notice: every retry of it comes too late.
const STALE = new Date(NOW - 180_000);

/** Retries (second receives) of warnings whose notice has ended, message ids m0, m1, … */
function lateRetries(n: number): SQSRecord[] {
    return ids(n).map((id, i) =>
        asSqsRecord(freshSampleEvent(id, STALE), { messageId: `m${i}`, receiveCount: 2 }),
    );
}

// A stale retry costs the batch one lookup, in case its instance is still launching: none is.
const noAutoScaling: AutoScalingGateway = {
    describeGroups: async () => ({ groups: [] }),
    detachInstances: async () => assert.fail("no detach expected"),
    terminateInstance: async () => assert.fail("no termination expected"),
    hasTerminationHook: async () => assert.fail("no hook lookup expected"),
};

interface Invocation {
    response: SQSBatchResponse;
    /** What Lambda's timeout still left when the handler returned. */
    remainingAtReturnMs: number;
    wallMs: number;
    logged: { level: LogLevel; record: LogRecord; atMs: number }[];
    emitted: { line: string; atMs: number }[];
}

/** One invocation with `timeoutMs` to run, its dead-letter queue on the stand-in, over HTTP. */
async function invoke(
    records: SQSRecord[],
    standIn: SqsStandIn | undefined,
    timeoutMs: number,
): Promise<Invocation> {
    const logged: Invocation["logged"] = [];
    const emitted: Invocation["emitted"] = [];
    const client = createSqsClient({
        region: "eu-west-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        // The SDK warns that the QueueUrl's host is not SQS's: that is this test's point.
        logger: {
            debug: () => undefined,
            info: () => undefined,
            warn: () => undefined,
            error: () => undefined,
        },
    });
    const startedAt = performance.now();
    const remainingTimeMs = () => timeoutMs - (performance.now() - startedAt);
    try {
        const response = await handleSqsBatch(
            { Records: records },
            {
                config: {
                    groups: { kind: "names", names: ["web"] },
                    handlerName: "project/dev/spot",
                    capacityOnInterruption: "keep",
                    interruptionAction: "auto",
                },
                autoScaling: noAutoScaling,
                log: (level, record) => logged.push({ level, record, atMs: performance.now() }),
                remainingTimeMs,
                now: () => NOW,
            },
            standIn === undefined ? undefined : createDeadLetterGateway(client, standIn.queueUrl()),
            { emit: (line) => emitted.push({ line, atMs: performance.now() }) },
        );
        return {
            response,
            remainingAtReturnMs: remainingTimeMs(),
            wallMs: performance.now() - startedAt,
            logged,
            emitted,
        };
    } finally {
        client.destroy();
    }
}

const failedIds = (response: SQSBatchResponse) =>
    response.batchItemFailures.map((f) => f.itemIdentifier);
const lateRetryCount = (emitted: Invocation["emitted"]) =>
    emitted
        .map(({ line }) => JSON.parse(line) as Record<string, unknown>)
        .find((doc) => doc.Reason === "late-retry")?.Ignored;
const batchLog = (logged: Invocation["logged"]) =>
    logged.find((l) => /^Batch of/.test(l.record.message));

describe("late retries after an Auto Scaling outage longer than the notice", () => {
    let standIn: SqsStandIn | undefined;
    afterEach(async () => {
        await standIn?.stop();
        standIn = undefined;
    });

    describe("given a dead-letter queue that answers in 60 ms", () => {
        it("dead-letters 1000 late retries in one invocation, 10 to a call, and returns at least 1 s before its timeout with its metrics written", async () => {
            standIn = await startSqsStandIn({ latencyMs: 60 });
            const records = lateRetries(1000);
            // The function's own timeout: the handler returns as soon as it is done (0.9 s alone,
            // several seconds on a loaded machine), so the bound costs no wall time.
            const timeoutMs = QUEUE_DEFAULTS.timeoutSeconds * 1000;

            const run = await invoke(records, standIn, timeoutMs);

            assert.deepEqual(failedIds(run.response), []);
            assert.deepEqual(
                standIn.accepted.map((a) => a.body).sort(),
                records.map((r) => r.body).sort(),
            );
            assert.equal(standIn.calls.length, 100);
            assert.ok(standIn.calls.every((c) => c.ids.length === 10 && !c.aborted));
            assert.ok(standIn.maxInFlight() > 1 && standIn.maxInFlight() <= CONCURRENT_SENDS);
            assert.ok(
                run.remainingAtReturnMs >= 1_000,
                `returned with ${Math.round(run.remainingAtReturnMs)} ms left`,
            );
            assert.equal(lateRetryCount(run.emitted), 1000);
            const firstSend = Math.min(...standIn.calls.map((c) => c.startedAtMs));
            assert.ok(
                run.emitted.every((e) => e.atMs < firstSend),
                "metrics before any send",
            );
            assert.ok((batchLog(run.logged)?.atMs ?? Infinity) < firstSend, "batch log first");
            assert.match(
                run.logged.at(-1)?.record.message ?? "",
                /^1000 retries came after their warning's notice: 1000 sent to the dead-letter queue$/,
            );
        });
    });

    describe("given a dead-letter queue too slow for the time left", () => {
        it("aborts its calls at the response margin and returns every unsent record in batchItemFailures", async () => {
            standIn = await startSqsStandIn({ latencyMs: 10_000 });
            const records = lateRetries(30);

            const run = await invoke(records, standIn, 2_500);

            assert.deepEqual(
                failedIds(run.response),
                records.map((r) => r.messageId),
            );
            assert.equal(standIn.accepted.length, 0);
            await standIn.idle(1_000);
            assert.ok(standIn.calls.length === 3 && standIn.calls.every((c) => c.aborted));
            assert.ok(
                run.remainingAtReturnMs >= 1_000,
                `${Math.round(run.remainingAtReturnMs)} ms left`,
            );
            assert.equal(lateRetryCount(run.emitted), 30);
            const summary = run.logged.at(-1)?.record;
            assert.equal(summary?.left, 30);
            assert.equal((summary?.error as { name: string }).name, "DeadlineExceeded");
        });

        it("returns exactly the records it did not send, when only part fit", async () => {
            standIn = await startSqsStandIn({ latencyMs: 400 });
            // 30 calls, 10 at a time, of 400 ms each: about 1.2 s of work against 1 s left to send.
            const records = lateRetries(300);

            const run = await invoke(records, standIn, 2_500);

            const sent = new Set(standIn.accepted.map((a) => a.body));
            const returned = new Set(failedIds(run.response));
            assert.ok(
                sent.size > 0 && returned.size > 0,
                `${sent.size} sent, ${returned.size} returned`,
            );
            for (const record of records) {
                assert.notEqual(
                    sent.has(record.body),
                    returned.has(record.messageId),
                    record.messageId,
                );
            }
            assert.ok(
                run.remainingAtReturnMs >= 1_000,
                `${Math.round(run.remainingAtReturnMs)} ms left`,
            );
        });
    });

    describe("given a dead-letter queue that answers 200 with some entries in Failed", () => {
        it("returns only the refused records in batchItemFailures", async () => {
            const records = lateRetries(25);
            const refused = new Set([records[3].body, records[17].body]);
            standIn = await startSqsStandIn({
                latencyMs: 5,
                refuse: (body) =>
                    refused.has(body) ? { code: "InternalError", message: "try again" } : undefined,
            });

            const run = await invoke(records, standIn, 3_000);

            assert.deepEqual(failedIds(run.response), ["m3", "m17"]);
            assert.equal(standIn.accepted.length, 23);
            assert.ok(standIn.calls.every((c) => new Set(c.ids).size === c.ids.length));
            assert.match(
                standIn.accepted[0].reason ?? "",
                /more than the two-minute notice ago; a retry came too late to detach it$/,
            );
            assert.equal(run.logged.at(-1)?.record.left, 2);
        });
    });

    describe("given no dead-letter queue", () => {
        it("counts the late retries as failed and leaves them for the queue's redrive policy", async () => {
            const records = lateRetries(3);

            const run = await invoke(records, undefined, 3_000);

            assert.deepEqual(failedIds(run.response), ["m0", "m1", "m2"]);
            assert.equal(batchLog(run.logged)?.record.failed, 3);
            assert.match(
                run.logged.at(-1)?.record.message ?? "",
                /No dead-letter queue is configured/,
            );
        });
    });
});
