import * as assert from "node:assert/strict";
import {
    AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DescribeAutoScalingInstancesCommand,
    DetachInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import {
    type CapacityOnInterruption,
    createAutoScalingGateway,
    type DeadLetterGateway,
    handleSqsBatch,
    type LogLevel,
    type LogRecord,
    type Reporting,
} from "../handler";
import { asSqsRecord, freshSampleEvent } from "../local";
import { autoScalingErrors } from "./support/auto-scaling-errors";
import { loadEvent } from "./support/events";
import { FakeAutoScaling } from "./support/fake-auto-scaling";

const GROUP = "web";
const NOW = Date.parse("2026-11-28T01:00:00Z");
const ids = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => `i-${(from + i).toString(16).padStart(17, "0")}`);

// Stubbed only while this file's tests run: the emulator tests need the real client.
let autoScaling: AwsClientStub<AutoScalingClient>;

/** One queued warning per instance id, message ids m0, m1, … in order. */
function warnings(instanceIds: readonly string[], sentAt = new Date(NOW - 5_000)): SQSRecord[] {
    return instanceIds.map((id, i) =>
        asSqsRecord(freshSampleEvent(id, sentAt), { messageId: `m${i}` }),
    );
}

async function whenBatchArrives(
    records: SQSRecord[],
    {
        capacityOnInterruption = "keep",
        remainingTimeMs = () => 20_000,
        deadLetter,
        dryRun = false,
        reporting = {},
    }: {
        capacityOnInterruption?: CapacityOnInterruption;
        remainingTimeMs?: () => number;
        deadLetter?: DeadLetterGateway;
        dryRun?: boolean;
        reporting?: Reporting;
    } = {},
): Promise<{ response: SQSBatchResponse; logged: { level: LogLevel; record: LogRecord }[] }> {
    const logged: { level: LogLevel; record: LogRecord }[] = [];
    const response = await handleSqsBatch(
        { Records: records },
        {
            config: { autoScalingGroupName: GROUP, capacityOnInterruption, dryRun },
            autoScaling: createAutoScalingGateway(
                new AutoScalingClient({
                    region: "eu-west-1",
                    credentials: { accessKeyId: "test", secretAccessKey: "test" },
                }),
            ),
            log: (level, record) => logged.push({ level, record }),
            remainingTimeMs,
            now: () => NOW,
        },
        deadLetter,
        reporting,
    );
    return { response, logged };
}

const describeCalls = () =>
    autoScaling
        .commandCalls(DescribeAutoScalingInstancesCommand)
        .map((c) => c.args[0].input.InstanceIds);
const detachCalls = () =>
    autoScaling.commandCalls(DetachInstancesCommand).map((c) => ({
        ids: c.args[0].input.InstanceIds,
        decrement: c.args[0].input.ShouldDecrementDesiredCapacity,
    }));
const batchLog = (logged: { record: LogRecord }[]) =>
    logged.map((l) => l.record).find((r) => r.message.startsWith("Batch of"));

describe("the handler, given a batch from the events queue", () => {
    before(() => {
        autoScaling = mockClient(AutoScalingClient);
    });
    beforeEach(() => autoScaling.reset());
    after(() => autoScaling.restore());

    describe("given duplicates, foreign, absent and malformed records", () => {
        it("detaches each of our instances once, in one Describe and one Detach, and acknowledges the rest", async () => {
            const [a, b, neighbour, absent] = ids(4);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 10, desiredCapacity: 4 })
                .members(GROUP, [a, b])
                .members("batch", [neighbour])
                .install(autoScaling);
            const records = [
                ...warnings([a, b, a, neighbour, absent, b]),
                asSqsRecord("not json", { messageId: "m6" }),
                asSqsRecord(loadEvent("rebalance-recommendation", a), { messageId: "m7" }),
            ];

            const { response, logged } = await whenBatchArrives(records);

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(describeCalls(), [[a, b, neighbour, absent]]);
            assert.deepEqual(detachCalls(), [{ ids: [a, b], decrement: false }]);
            assert.deepEqual(fake.membersOf(GROUP), []);
            assert.deepEqual(fake.membersOf("batch"), [neighbour]);
            assert.deepEqual(batchLog(logged), {
                message: "Batch of 8 records: 2 detached, 6 ignored, 0 left for a retry",
                autoScalingGroupName: GROUP,
                capacityOnInterruption: "keep",
                records: 8,
                uniqueInstances: 4,
                detached: 2,
                ignored: { malformed: 2, duplicate: 2, "not-a-member": 2 },
                failed: 0,
                autoScalingCalls: 2,
            });
        });

        it("logs each detach call with the scaling activities it started", async () => {
            const [a, b] = ids(2);
            new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 10, desiredCapacity: 2 })
                .members(GROUP, [a, b])
                .install(autoScaling);

            const { logged } = await whenBatchArrives(warnings([a, b]));

            assert.deepEqual(logged[0], {
                level: "INFO",
                record: {
                    message: "2 instances belong to AutoScaling Group web. Detaching instances...",
                    autoScalingGroupName: GROUP,
                    capacityOnInterruption: "keep",
                    instanceIds: [a, b],
                    activities: [a, b].map((id) => ({
                        activityId: `activity-${id}`,
                        description: `Detaching EC2 instance: ${id}`,
                        statusCode: "InProgress",
                    })),
                },
            });
        });
    });

    describe("given 120 warnings for our group", () => {
        it("asks about 50 instances per Describe and detaches 20 per call", async () => {
            const instances = ids(120);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 200, desiredCapacity: 120 })
                .members(GROUP, instances)
                .install(autoScaling);

            const { response } = await whenBatchArrives(warnings(instances));

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(
                describeCalls().map((c) => c?.length),
                [50, 50, 20],
            );
            assert.deepEqual(
                detachCalls().map((c) => c.ids?.length),
                [20, 20, 20, 20, 20, 20],
            );
            assert.deepEqual(fake.membersOf(GROUP), []);
        });
    });

    describe("given an instance that started leaving between Describe and Detach", () => {
        it("drops the instance AWS names, re-checks the rest in one call, and detaches them", async () => {
            const instances = ids(20);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 30, desiredCapacity: 20 })
                .members(GROUP, instances)
                .install(autoScaling);
            const leaving = [instances[3], instances[11]];
            // They start leaving right after our Describe, as a concurrent batch would make them.
            fake.afterNextCall("DescribeAutoScalingInstances", () => {
                for (const id of leaving) {
                    fake.instances.set(id, { group: GROUP, lifecycleState: "Terminating" });
                }
            });

            const { response, logged } = await whenBatchArrives(warnings(instances));

            const rest = instances.filter((id) => id !== instances[3]);
            const detached = instances.filter((id) => !leaving.includes(id));
            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(describeCalls(), [instances, rest]);
            assert.deepEqual(detachCalls(), [
                { ids: instances, decrement: false },
                { ids: detached, decrement: false },
            ]);
            assert.deepEqual(fake.membersOf(GROUP), leaving);
            assert.deepEqual(batchLog(logged)?.ignored, { "not-in-service": 2 });
        });
    });

    describe("given decrement mode and a group whose MinSize allows only some decrements", () => {
        it("decrements desired − MinSize instances and detaches the rest with keep", async () => {
            const instances = ids(12);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 2, maxSize: 20, desiredCapacity: 10 })
                .members(GROUP, instances)
                .install(autoScaling);

            const { response, logged } = await whenBatchArrives(warnings(instances), {
                capacityOnInterruption: "decrement",
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.equal(autoScaling.commandCalls(DescribeAutoScalingGroupsCommand).length, 1);
            assert.deepEqual(detachCalls(), [
                { ids: instances.slice(0, 8), decrement: true },
                { ids: instances.slice(8), decrement: false },
            ]);
            assert.equal(fake.groups.get(GROUP)?.desiredCapacity, 2);
            const keepLog = logged.find((l) => l.record.capacityOnInterruption === "keep");
            assert.equal(keepLog?.level, "WARN");
            assert.equal(
                keepLog?.record.reason,
                "desired capacity 2 is at MinSize 2; kept desired capacity instead, so the group launches a replacement",
            );
        });

        it("re-splits on AWS's figures when another batch took the decrements first, wasting none", async () => {
            const instances = ids(8);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 2, maxSize: 20, desiredCapacity: 10 })
                .members(GROUP, instances)
                .install(autoScaling);
            // Another batch takes 5 decrements right after we read the sizes.
            fake.afterNextCall("DescribeAutoScalingGroups", () => {
                fake.groups.set(GROUP, { minSize: 2, maxSize: 20, desiredCapacity: 5 });
            });

            const { response } = await whenBatchArrives(warnings(instances), {
                capacityOnInterruption: "decrement",
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(detachCalls(), [
                { ids: instances, decrement: true },
                { ids: instances.slice(0, 3), decrement: true },
                { ids: instances.slice(3), decrement: false },
            ]);
            assert.equal(fake.groups.get(GROUP)?.desiredCapacity, 2);
            assert.deepEqual(fake.membersOf(GROUP), []);
        });
    });

    describe("given faults that a retry could fix", () => {
        it("reports exactly the records of a throttled Describe chunk and handles the others", async () => {
            const instances = ids(60);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 100, desiredCapacity: 60 })
                .members(GROUP, instances)
                .install(autoScaling);
            autoScaling
                .on(DescribeAutoScalingInstancesCommand, { InstanceIds: instances.slice(50) })
                .rejects(autoScalingErrors.throttling());

            const { response, logged } = await whenBatchArrives(warnings(instances));

            assert.deepEqual(
                response.batchItemFailures,
                instances.slice(50).map((_, i) => ({ itemIdentifier: `m${50 + i}` })),
            );
            assert.deepEqual(fake.membersOf(GROUP), instances.slice(50));
            const errors = logged.filter((l) => l.level === "ERROR").map((l) => l.record);
            assert.deepEqual(errors[0], {
                message:
                    "DescribeAutoScalingInstances failed for 10 instance(s); they are left for a retry",
                autoScalingGroupName: GROUP,
                instanceIds: instances.slice(50),
                error: { name: "Throttling", message: "Rate exceeded" },
            });
            assert.equal(batchLog(logged)?.failed, 10);
        });

        it("reports only the records of the Detach call that failed, when half the batch fails", async () => {
            const instances = ids(40);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 100, desiredCapacity: 40 })
                .members(GROUP, instances)
                .install(autoScaling);
            autoScaling
                .on(DetachInstancesCommand, { InstanceIds: instances.slice(20) })
                .rejects(autoScalingErrors.resourceContention());

            const { response } = await whenBatchArrives(warnings(instances));

            assert.deepEqual(
                response.batchItemFailures,
                instances.slice(20).map((_, i) => ({ itemIdentifier: `m${20 + i}` })),
            );
            assert.deepEqual(fake.membersOf(GROUP), instances.slice(20));
        });

        it("leaves a Detach refused for a reason it does not know for a retry, never dropping it", async () => {
            const [a] = ids(1);
            new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 2, desiredCapacity: 1 })
                .members(GROUP, [a])
                .install(autoScaling);
            autoScaling.on(DetachInstancesCommand).rejects(autoScalingErrors.unknownValidation());

            const { response } = await whenBatchArrives(warnings([a]));

            assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: "m0" }] });
        });
    });

    describe("given too little time left in the invocation", () => {
        it("starts no call it cannot finish, and reports every record for a retry", async () => {
            const instances = ids(3);
            new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 5, desiredCapacity: 3 })
                .members(GROUP, instances)
                .install(autoScaling);

            const { response } = await whenBatchArrives(warnings(instances), {
                remainingTimeMs: () => 1_800,
            });

            assert.deepEqual(autoScaling.calls(), []);
            assert.deepEqual(
                response.batchItemFailures.map((f) => f.itemIdentifier),
                ["m0", "m1", "m2"],
            );
        });

        it("abandons a call that hangs at the deadline, keeping time to log and answer", async () => {
            const [a] = ids(1);
            autoScaling
                .on(DescribeAutoScalingInstancesCommand)
                .callsFake(() => new Promise(() => undefined));
            const startedAt = Date.now();

            const { response, logged } = await whenBatchArrives(warnings([a]), {
                remainingTimeMs: () => 2_300 - (Date.now() - startedAt),
            });

            const elapsed = Date.now() - startedAt;
            assert.ok(elapsed >= 700 && elapsed < 1_500, `took ${elapsed} ms`);
            assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: "m0" }] });
            assert.equal(
                (logged.find((l) => l.level === "ERROR")?.record.error as { name: string }).name,
                "DeadlineExceeded",
            );
        });
    });

    describe("given warnings older than the two-minute notice", () => {
        const stale = new Date(NOW - 180_000);

        it("acknowledges a first delivery without acting on it", async () => {
            const [a] = ids(1);
            const sent: string[] = [];

            const { response, logged } = await whenBatchArrives(warnings([a], stale), {
                deadLetter: { send: async (body) => void sent.push(body) },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(autoScaling.calls(), []);
            assert.deepEqual(sent, []);
            assert.deepEqual(batchLog(logged)?.ignored, { stale: 1 });
        });

        it("dead-letters a retry that came too late, with an ERROR, so it is not lost silently", async () => {
            const [a] = ids(1);
            const [record] = warnings([a], stale);
            const retried = {
                ...record,
                attributes: { ...record.attributes, ApproximateReceiveCount: "2" },
            };
            const sent: { body: string; reason: string }[] = [];

            const { response, logged } = await whenBatchArrives([retried], {
                deadLetter: { send: async (body, reason) => void sent.push({ body, reason }) },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(sent, [
                {
                    body: record.body,
                    reason: `the warning for ${a} was sent at ${stale.toISOString()}, more than the two-minute notice ago; a retry came too late to detach it`,
                },
            ]);
            assert.ok(
                logged.some(
                    (l) =>
                        l.level === "ERROR" &&
                        /Sent to the dead-letter queue/.test(l.record.message),
                ),
            );
        });

        it("reports the record instead when dead-lettering it fails", async () => {
            const [a] = ids(1);
            const [record] = warnings([a], stale);
            const retried = {
                ...record,
                attributes: { ...record.attributes, ApproximateReceiveCount: "3" },
            };

            const { response } = await whenBatchArrives([retried], {
                deadLetter: {
                    send: async () => {
                        throw new Error("AccessDenied");
                    },
                },
            });

            assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: "m0" }] });
        });
    });

    describe("given a dry run", () => {
        it("decides everything, splits decrements as it would, and detaches nothing", async () => {
            const instances = ids(5);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 2, maxSize: 10, desiredCapacity: 5 })
                .members(GROUP, instances)
                .install(autoScaling);
            const emitted: string[] = [];

            const { response, logged } = await whenBatchArrives(warnings(instances), {
                capacityOnInterruption: "decrement",
                dryRun: true,
                reporting: { emit: (line) => emitted.push(line) },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(detachCalls(), []);
            assert.deepEqual(fake.membersOf(GROUP), instances);
            assert.deepEqual(
                logged
                    .filter((l) => /^Dry run/.test(l.record.message))
                    .map((l) => [l.record.instanceIds, l.record.capacityOnInterruption]),
                [
                    [instances.slice(0, 3), "decrement"],
                    [instances.slice(3), "keep"],
                ],
            );
            const [counts] = emitted.map((line) => JSON.parse(line));
            assert.deepEqual([counts.WouldDetach, counts.Detached], [5, 0]);
        });
    });

    describe("given metrics and notifications", () => {
        it("emits EMF whose counts add up, and one notification for the batch", async () => {
            const [a, b, neighbour] = ids(3);
            new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 10, desiredCapacity: 2 })
                .members(GROUP, [a, b])
                .members("batch", [neighbour])
                .install(autoScaling);
            const emitted: string[] = [];
            const published: { subject: string; message: string }[] = [];

            await whenBatchArrives(
                [...warnings([a, b, a, neighbour]), asSqsRecord("{}", { messageId: "m9" })],
                {
                    reporting: {
                        emit: (line) => emitted.push(line),
                        notifier: {
                            publish: async (subject, message) =>
                                void published.push({ subject, message }),
                        },
                    },
                },
            );

            const [counts, ...byReason] = emitted.map((line) => JSON.parse(line));
            assert.deepEqual(
                [counts.WarningsReceived, counts.Detached, counts.Ignored, counts.Failed],
                [5, 2, 3, 0],
            );
            assert.deepEqual(
                byReason.map((d) => [d.Reason, d.Ignored]),
                [
                    ["malformed", 1],
                    ["duplicate", 1],
                    ["not-a-member", 1],
                ],
            );
            assert.deepEqual(counts.DetachLatency, [5_000, 5_000]);
            assert.deepEqual(published, [
                {
                    subject: "Spot interruption: 2 left web",
                    message: JSON.stringify({
                        autoScalingGroupName: GROUP,
                        capacityOnInterruption: "keep",
                        detached: 2,
                        instanceIds: [a, b],
                        detachLatencyMs: { min: 5_000, max: 5_000 },
                    }),
                },
            ]);
        });

        it("never fails a record because the notification could not be published", async () => {
            const [a] = ids(1);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 10, desiredCapacity: 1 })
                .members(GROUP, [a])
                .install(autoScaling);

            const { response, logged } = await whenBatchArrives(warnings([a]), {
                reporting: {
                    notifier: {
                        publish: async () => {
                            throw Object.assign(new Error("denied"), {
                                name: "AuthorizationError",
                            });
                        },
                    },
                },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(fake.membersOf(GROUP), []);
            assert.ok(
                logged.some(
                    (l) => l.level === "WARN" && /notification failed/.test(l.record.message),
                ),
            );
        });
    });
});
