/**
 * The local event source mapping against moto's SQS: batching, ReportBatchItemFailures,
 * redelivery after the visibility timeout, maximumConcurrency and redrive to a DLQ. Every verdict
 * is read back from the queues. Queues use 1 s visibility timeouts, so redelivery takes ~1 s.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import {
    CreateQueueCommand,
    GetQueueAttributesCommand,
    ReceiveMessageCommand,
    SendMessageBatchCommand,
    SQSClient,
    type SQSClientConfig,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { clientConfigFor } from "../../emulator/group-state";
import {
    type BatchInfo,
    type EventSourceMappingSettings,
    type LocalEventSourceMapping,
    type SqsBatchHandler,
    startEventSourceMapping,
    validateSettings,
} from "../../offline/event-source-mapping";
import { judge, queueCounts } from "../../offline/sqs-records";
import { tierEmulatorForSuite } from "../support/tier-emulator";

const DRAIN_TIMEOUT_MS = 8_000;

describe("the local SQS event source mapping", function () {
    // The first run installs moto into .venv.
    this.timeout(600_000);

    const tier = tierEmulatorForSuite();
    let clientConfig: SQSClientConfig;
    let sqs: SQSClient;
    let queueNumber = 0;
    const mappings: LocalEventSourceMapping[] = [];

    before(() => {
        clientConfig = clientConfigFor(tier.emulator);
        sqs = new SQSClient(clientConfig);
    });
    afterEach(() => Promise.all(mappings.splice(0).map((mapping) => mapping.stop())));
    after(() => sqs?.destroy());

    interface Queue {
        readonly url: string;
        readonly arn: string;
    }

    async function createQueue(
        options: {
            visibilityTimeoutSeconds?: number;
            deadLetter?: { arn: string; maxReceiveCount: number };
        } = {},
    ): Promise<Queue> {
        const attributes: Record<string, string> = {
            VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 1),
        };
        if (options.deadLetter !== undefined) {
            attributes.RedrivePolicy = JSON.stringify({
                deadLetterTargetArn: options.deadLetter.arn,
                maxReceiveCount: options.deadLetter.maxReceiveCount,
            });
        }
        const created = await sqs.send(
            new CreateQueueCommand({
                QueueName: `mapping-${++queueNumber}`,
                Attributes: attributes,
            }),
        );
        const url = created.QueueUrl ?? assert.fail("CreateQueue returned no QueueUrl");
        const { Attributes } = await sqs.send(
            new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
        );
        return { url, arn: Attributes?.QueueArn ?? assert.fail("no QueueArn") };
    }

    async function send(queue: Queue, bodies: string[]): Promise<void> {
        for (let start = 0; start < bodies.length; start += 10) {
            const response = await sqs.send(
                new SendMessageBatchCommand({
                    QueueUrl: queue.url,
                    Entries: bodies.slice(start, start + 10).map((body, index) => ({
                        Id: String(index),
                        MessageBody: body,
                        MessageAttributes: { kind: { DataType: "String", StringValue: "test" } },
                    })),
                }),
            );
            assert.equal(response.Failed?.length ?? 0, 0, JSON.stringify(response.Failed));
        }
    }

    const bodies = (count: number, prefix = "m"): string[] =>
        Array.from({ length: count }, (_, i) => `${prefix}${i}`);

    function start(
        queue: Queue,
        settings: Partial<EventSourceMappingSettings>,
        handler: SqsBatchHandler,
        onBatch?: (info: BatchInfo) => void,
    ): LocalEventSourceMapping {
        const mapping = startEventSourceMapping({
            queueUrl: queue.url,
            queueArn: queue.arn,
            region: tier.emulator.region,
            clientConfig,
            settings: {
                batchSize: 10,
                maximumBatchingWindowInSeconds: 0,
                maximumConcurrency: 2,
                ...settings,
            },
            handler,
            onBatch,
        });
        mappings.push(mapping);
        return mapping;
    }

    /** A handler that records every record it is given, with its receive count. */
    function recorder(decide: (record: SQSRecord) => "ok" | "fail" = () => "ok") {
        const seen: { body: string; receiveCount: number }[] = [];
        const events: SQSEvent[] = [];
        const handler: SqsBatchHandler = async (event) => {
            events.push(event);
            const failures = [];
            for (const record of event.Records) {
                seen.push({
                    body: record.body,
                    receiveCount: Number(record.attributes.ApproximateReceiveCount),
                });
                if (decide(record) === "fail") {
                    failures.push({ itemIdentifier: record.messageId });
                }
            }
            return { batchItemFailures: failures };
        };
        const countsOf = (body: string) =>
            seen.filter((s) => s.body === body).map((s) => s.receiveCount);
        return { handler, seen, events, countsOf };
    }

    describe("batching", () => {
        it("with no window, invokes with what one receive returned, up to batchSize", async () => {
            const queue = await createQueue();
            await send(queue, bodies(7));
            const { handler, events } = recorder();

            const mapping = start(queue, { batchSize: 3 }, handler);
            await mapping.drained(DRAIN_TIMEOUT_MS);

            assert.deepEqual(mapping.stats.batchSizes, [3, 3, 1]);
            assert.equal(mapping.stats.deleted, 7);
            assert.deepEqual(
                events.flatMap((e) => e.Records.map((r) => r.body)).sort(),
                bodies(7).sort(),
            );
        });

        it("with a window, gathers across receives until batchSize, else until the window closes", async () => {
            const queue = await createQueue({ visibilityTimeoutSeconds: 5 });
            await send(queue, bodies(23));
            const { handler } = recorder();
            const batches: BatchInfo[] = [];

            const mapping = start(
                queue,
                { batchSize: 20, maximumBatchingWindowInSeconds: 1 },
                handler,
                (info) => batches.push(info),
            );
            await mapping.drained(DRAIN_TIMEOUT_MS);

            assert.deepEqual(mapping.stats.batchSizes, [20, 3]);
            assert.ok(
                batches[0].gatherMs < 900,
                `a full batch went at once (${batches[0].gatherMs} ms)`,
            );
            assert.ok(
                batches[1].gatherMs >= 1000 && batches[1].gatherMs < 1500,
                `a short batch waited for the window (${batches[1].gatherMs} ms)`,
            );
        });

        it("hands the handler the records Lambda would, and deletes them all on success", async () => {
            const queue = await createQueue();
            await send(queue, ["hello"]);
            const { handler, events } = recorder();

            const mapping = start(queue, {}, handler);
            await mapping.drained(DRAIN_TIMEOUT_MS);

            const [record] = events[0].Records;
            assert.equal(record.eventSource, "aws:sqs");
            assert.equal(record.eventSourceARN, queue.arn);
            assert.equal(record.awsRegion, tier.emulator.region);
            assert.equal(record.body, "hello");
            assert.equal(record.md5OfBody, createHash("md5").update("hello").digest("hex"));
            assert.match(record.messageId, /^[0-9a-f-]{36}$/);
            assert.ok(record.receiptHandle.length > 0);
            assert.equal(record.attributes.ApproximateReceiveCount, "1");
            for (const name of ["SentTimestamp", "ApproximateFirstReceiveTimestamp"] as const) {
                assert.match(record.attributes[name], /^\d{13}$/);
            }
            assert.ok(record.attributes.SenderId.length > 0);
            assert.deepEqual(record.messageAttributes, {
                kind: {
                    stringValue: "test",
                    stringListValues: [],
                    binaryListValues: [],
                    dataType: "String",
                },
            });
            assert.deepEqual(mapping.stats, {
                ...mapping.stats,
                invocations: 1,
                records: 1,
                deleted: 1,
                failedRecords: 0,
                failedBatches: 0,
                errors: 0,
            });
            assert.deepEqual(await queueCounts(sqs, queue.url), {
                visible: 0,
                notVisible: 0,
                delayed: 0,
            });
        });
    });

    describe("ReportBatchItemFailures", () => {
        it("deletes the successes and redelivers only the reported failures, after the visibility timeout", async () => {
            const queue = await createQueue();
            await send(queue, bodies(6));
            const failOnce = new Set(["m1", "m4"]);
            const { handler, countsOf } = recorder((record) =>
                failOnce.has(record.body) && record.attributes.ApproximateReceiveCount === "1"
                    ? "fail"
                    : "ok",
            );
            const batches: BatchInfo[] = [];

            const startedAt = Date.now();
            const mapping = start(queue, {}, handler, (info) => batches.push(info));
            await mapping.drained(DRAIN_TIMEOUT_MS);

            assert.ok(
                Date.now() - startedAt >= 1000,
                "the failures waited out the visibility timeout",
            );
            for (const body of bodies(6)) {
                assert.deepEqual(countsOf(body), failOnce.has(body) ? [1, 2] : [1], body);
            }
            assert.equal(batches[0].outcome, "partial");
            assert.equal(batches[0].failedMessageIds.length, 2);
            assert.equal(mapping.stats.deleted, 6);
            assert.equal(mapping.stats.failedRecords, 2);
            assert.equal(mapping.stats.failedBatches, 0);
        });

        it("redelivers the whole batch, deleting nothing, when the handler throws or names an unknown or empty itemIdentifier", async () => {
            const firstResponses: Record<string, () => Promise<SQSBatchResponse>> = {
                throws: async () => {
                    throw new Error("boom");
                },
                "names no record": async () => ({
                    batchItemFailures: [{ itemIdentifier: "not-a-message-id" }],
                }),
                "names an empty id": async () => ({ batchItemFailures: [{ itemIdentifier: "" }] }),
            };
            // The cases run side by side, each on its own queue, to wait out one visibility timeout.
            await Promise.all(
                Object.entries(firstResponses).map(async ([when, firstResponse]) => {
                    const queue = await createQueue();
                    await send(queue, bodies(4));
                    const { handler: succeed, countsOf } = recorder();
                    let invocations = 0;
                    const handler: SqsBatchHandler = async (event, context) => {
                        invocations++;
                        await succeed(event, context);
                        return invocations === 1 ? firstResponse() : undefined;
                    };
                    const batches: BatchInfo[] = [];

                    const mapping = start(queue, {}, handler, (info) => batches.push(info));
                    await mapping.drained(DRAIN_TIMEOUT_MS);

                    for (const body of bodies(4)) {
                        assert.deepEqual(countsOf(body), [1, 2], `${when}: ${body}`);
                    }
                    assert.equal(batches[0].outcome, "failed", when);
                    assert.match(batches[0].error ?? "", /boom|names no record|invalid/, when);
                    assert.equal(mapping.stats.failedBatches, 1, when);
                    assert.equal(mapping.stats.failedRecords, 4, when);
                    assert.equal(
                        mapping.stats.deleted,
                        4,
                        `${when}: deleted after the second delivery`,
                    );
                }),
            );
        });

        it("moves a record that keeps failing to the dead-letter queue after maxReceiveCount receives", async () => {
            const dlq = await createQueue({ visibilityTimeoutSeconds: 30 });
            const queue = await createQueue({ deadLetter: { arn: dlq.arn, maxReceiveCount: 2 } });
            await send(queue, ["poison", "fine"]);
            const { handler, countsOf } = recorder((record) =>
                record.body === "poison" ? "fail" : "ok",
            );

            const mapping = start(queue, {}, handler);
            await mapping.drained(DRAIN_TIMEOUT_MS);

            assert.deepEqual(countsOf("poison"), [1, 2]);
            assert.deepEqual(countsOf("fine"), [1]);
            const { Messages = [] } = await sqs.send(
                new ReceiveMessageCommand({
                    QueueUrl: dlq.url,
                    MaxNumberOfMessages: 10,
                    MessageSystemAttributeNames: ["All"],
                }),
            );
            assert.deepEqual(
                Messages.map((m) => m.Body),
                ["poison"],
            );
            // moto keeps the count across the move: 2 receives in the source queue, 1 here.
            assert.equal(Messages[0].Attributes?.ApproximateReceiveCount, "3");
        });
    });

    describe("concurrency", () => {
        it("keeps gathering while invocations run, but never has more than maximumConcurrency in flight", async () => {
            const queue = await createQueue({ visibilityTimeoutSeconds: 5 });
            await send(queue, bodies(12));
            let inFlight = 0;
            let maxInFlight = 0;
            const handler: SqsBatchHandler = async () => {
                inFlight++;
                maxInFlight = Math.max(maxInFlight, inFlight);
                await delay(100);
                inFlight--;
            };

            const mapping = start(queue, { batchSize: 1, maximumConcurrency: 3 }, handler);
            await mapping.drained(DRAIN_TIMEOUT_MS);

            assert.equal(maxInFlight, 3);
            assert.equal(mapping.stats.maxInFlight, 3);
            assert.equal(mapping.stats.invocations, 12);
            assert.equal(mapping.stats.deleted, 12);
        });
    });

    describe("lifecycle", () => {
        it("drained() rejects after its timeout while records keep failing", async () => {
            const queue = await createQueue();
            await send(queue, ["poison"]);
            const { handler } = recorder(() => "fail");

            const mapping = start(queue, {}, handler);

            await assert.rejects(mapping.drained(300), /did not drain within 300 ms/);
        });

        it("stop() waits for the invocation in flight, is idempotent, and ends polling", async () => {
            const queue = await createQueue({ visibilityTimeoutSeconds: 5 });
            await send(queue, ["slow"]);
            let finished = false;
            let started!: () => void;
            const invoked = new Promise<void>((resolve) => (started = resolve));
            const mapping = start(queue, {}, async () => {
                started();
                await delay(200);
                finished = true;
            });
            await invoked;

            await Promise.all([mapping.stop(), mapping.stop()]);

            assert.ok(finished, "stop() waited for the invocation");
            assert.equal(mapping.stats.deleted, 1);
            await send(queue, ["after stop"]);
            await delay(100);
            assert.equal(mapping.stats.invocations, 1);
            await assert.rejects(mapping.drained(1_000), /stopped/);
        });
    });

    describe("settings and responses, as Lambda validates them", () => {
        const valid = { batchSize: 10, maximumBatchingWindowInSeconds: 0, maximumConcurrency: 2 };
        for (const invalid of [
            { batchSize: 0 },
            { batchSize: 10_001, maximumBatchingWindowInSeconds: 1 },
            { batchSize: 11 },
            { maximumBatchingWindowInSeconds: 301 },
            { maximumConcurrency: 1 },
            { maximumConcurrency: 1001 },
            { batchSize: 2.5 },
        ]) {
            it(`refuses ${JSON.stringify(invalid)}`, () => {
                assert.throws(() => validateSettings({ ...valid, ...invalid }), RangeError);
            });
        }

        it("accepts a batch over 10 with a window of at least 1 s", () => {
            validateSettings({ ...valid, batchSize: 10_000, maximumBatchingWindowInSeconds: 1 });
        });

        it("reads the response as Lambda does", () => {
            const records = [{ messageId: "a" }, { messageId: "b" }];
            const failedOf = (response: unknown) => {
                const verdict = judge(response, records);
                return { failed: [...verdict.failed].sort(), whole: verdict.error !== undefined };
            };
            const none = { failed: [], whole: false };
            const all = { failed: ["a", "b"], whole: true };
            assert.deepEqual(failedOf(undefined), none);
            assert.deepEqual(failedOf(null), none);
            assert.deepEqual(failedOf({}), none);
            assert.deepEqual(failedOf({ batchItemFailures: null }), none);
            assert.deepEqual(failedOf({ batchItemFailures: [] }), none);
            assert.deepEqual(failedOf({ batchItemFailures: [{ itemIdentifier: "b" }] }), {
                failed: ["b"],
                whole: false,
            });
            assert.deepEqual(failedOf({ batchItemFailures: [{ itemIdentifier: "c" }] }), all);
            assert.deepEqual(failedOf({ batchItemFailures: [{ itemIdentifier: null }] }), all);
            assert.deepEqual(failedOf({ batchItemFailures: [{ id: "a" }] }), all);
            assert.deepEqual(failedOf({ batchItemFailures: "a" }), all);
            assert.deepEqual(failedOf("a"), all);
        });
    });
});
