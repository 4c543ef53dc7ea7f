/** A batch from the events queue: which warnings the handler acts on, how it detaches, and what it leaves for a retry. */
import * as assert from "node:assert/strict";
import {
    DescribeAutoScalingGroupsCommand,
    DetachInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import { asSqsRecord } from "../../offline/sample-event";
import { autoScalingErrors } from "../support/auto-scaling-errors";
import { autoScaling, ids, stubAutoScalingPerSuite } from "../support/auto-scaling-stub";
import { loadEvent } from "../support/events";
import { FakeAutoScaling } from "../support/fake-auto-scaling";
import {
    batchLog,
    byName,
    detachCalls,
    GROUP,
    groupOf,
    HANDLER,
    lookups,
    NOW,
    warnings,
    whenBatchArrives,
} from "../support/queued-batch";

describe("the handler, given a batch from the events queue", () => {
    stubAutoScalingPerSuite();

    describe("given duplicates, foreign, absent and malformed records", () => {
        it("detaches each of our instances once, in one lookup and one Detach, and acknowledges the rest", async () => {
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
            assert.deepEqual(lookups(), [byName(GROUP)]);
            assert.deepEqual(detachCalls(), [{ group: GROUP, ids: [a, b], decrement: false }]);
            assert.deepEqual(fake.membersOf(GROUP), []);
            assert.deepEqual(fake.membersOf("batch"), [neighbour]);
            assert.deepEqual(batchLog(logged), {
                message: "Batch of 8 records: 2 detached, 6 ignored, 0 left for a retry",
                handler: HANDLER,
                capacityOnInterruption: "keep",
                records: 8,
                uniqueInstances: 4,
                detached: 2,
                terminated: 0,
                leftToGroup: 0,
                waiting: 0,
                safetyNet: 0,
                hooksSkipped: 0,
                hooksUnknown: 0,
                ignored: { malformed: 2, duplicate: 2, "not-a-member": 2 },
                failed: 0,
                groups: {
                    [GROUP]: { detached: 2, terminated: 0, leftToGroup: 0, waiting: 0, failed: 0 },
                },
                autoScalingCalls: 2,
            });
        });

        it("logs each detach call with the scaling activities it started", async () => {
            const [a, b] = ids(2);
            groupOf([a, b], { minSize: 0, maxSize: 10, desiredCapacity: 2 });

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
        it("looks the group up once and detaches 20 per call", async () => {
            const instances = ids(120);
            const fake = groupOf(instances, { minSize: 0, maxSize: 200, desiredCapacity: 120 });

            const { response } = await whenBatchArrives(warnings(instances));

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(lookups(), [byName(GROUP)]);
            assert.deepEqual(
                detachCalls().map((c) => c.ids?.length),
                [20, 20, 20, 20, 20, 20],
            );
            assert.deepEqual(fake.membersOf(GROUP), []);
        });
    });

    describe("given an instance that started leaving between the lookup and the Detach", () => {
        it("drops the instance AWS names, re-reads the group in one call, and detaches the rest", async () => {
            const instances = ids(20);
            const fake = groupOf(instances, { minSize: 0, maxSize: 30, desiredCapacity: 20 });
            const leaving = [instances[3], instances[11]];
            // They start leaving right after our Describe, as a concurrent batch would make them.
            fake.afterNextCall("DescribeAutoScalingGroups", () => {
                for (const id of leaving) {
                    fake.instances.set(id, { group: GROUP, lifecycleState: "Terminating" });
                }
            });

            const { response, logged } = await whenBatchArrives(warnings(instances));

            const detached = instances.filter((id) => !leaving.includes(id));
            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(lookups(), [
                byName(GROUP),
                { AutoScalingGroupNames: [GROUP], MaxRecords: 100 },
            ]);
            assert.deepEqual(detachCalls(), [
                { group: GROUP, ids: instances, decrement: false },
                { group: GROUP, ids: detached, decrement: false },
            ]);
            assert.deepEqual(fake.membersOf(GROUP), leaving);
            assert.deepEqual(batchLog(logged)?.ignored, { "not-in-service": 2 });
        });
    });

    describe("given decrement mode and a group whose MinSize allows only some decrements", () => {
        it("decrements desired − MinSize instances and detaches the rest with keep", async () => {
            const instances = ids(12);
            const fake = groupOf(instances, { minSize: 2, maxSize: 20, desiredCapacity: 10 });

            const { response, logged } = await whenBatchArrives(warnings(instances), {
                capacityOnInterruption: "decrement",
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.equal(lookups().length, 1);
            assert.deepEqual(detachCalls(), [
                { group: GROUP, ids: instances.slice(0, 8), decrement: true },
                { group: GROUP, ids: instances.slice(8), decrement: false },
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
            const fake = groupOf(instances, { minSize: 2, maxSize: 20, desiredCapacity: 10 });
            // Another batch takes 5 decrements right after we read the sizes.
            fake.afterNextCall("DescribeAutoScalingGroups", () => {
                fake.groups.set(GROUP, { minSize: 2, maxSize: 20, desiredCapacity: 5, tags: {} });
            });

            const { response } = await whenBatchArrives(warnings(instances), {
                capacityOnInterruption: "decrement",
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(detachCalls(), [
                { group: GROUP, ids: instances, decrement: true },
                { group: GROUP, ids: instances.slice(0, 3), decrement: true },
                { group: GROUP, ids: instances.slice(3), decrement: false },
            ]);
            assert.equal(fake.groups.get(GROUP)?.desiredCapacity, 2);
            assert.deepEqual(fake.membersOf(GROUP), []);
        });
    });

    describe("given faults that a retry could fix", () => {
        it("reports every record of the batch when its one lookup is throttled", async () => {
            const instances = ids(60);
            const fake = groupOf(instances, { minSize: 0, maxSize: 100, desiredCapacity: 60 });
            autoScaling
                .on(DescribeAutoScalingGroupsCommand)
                .rejects(autoScalingErrors.throttling());

            const { response, logged } = await whenBatchArrives([
                ...warnings(instances),
                asSqsRecord("not json", { messageId: "junk" }),
            ]);

            assert.deepEqual(
                response.batchItemFailures,
                instances.map((_, i) => ({ itemIdentifier: `m${i}` })),
            );
            assert.deepEqual(detachCalls(), []);
            assert.deepEqual(fake.membersOf(GROUP), instances);
            const errors = logged.filter((l) => l.level === "ERROR").map((l) => l.record);
            assert.deepEqual(errors[0], {
                message:
                    "DescribeAutoScalingGroups failed for 60 instance(s); they are left for a retry",
                instanceIds: instances,
                error: { name: "Throttling", message: "Rate exceeded" },
            });
            assert.equal(batchLog(logged)?.failed, 60);
        });

        it("reports only the records of the Detach call that failed, when half the batch fails", async () => {
            const instances = ids(40);
            const fake = groupOf(instances, { minSize: 0, maxSize: 100, desiredCapacity: 40 });
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
            groupOf([a], { minSize: 0, maxSize: 2, desiredCapacity: 1 });
            autoScaling.on(DetachInstancesCommand).rejects(autoScalingErrors.unknownValidation());

            const { response } = await whenBatchArrives(warnings([a]));

            assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: "m0" }] });
        });
    });

    describe("given too little time left in the invocation", () => {
        it("starts no call it cannot finish, and reports every record for a retry", async () => {
            const instances = ids(3);
            groupOf(instances, { minSize: 0, maxSize: 5, desiredCapacity: 3 });

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
                .on(DescribeAutoScalingGroupsCommand)
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
                deadLetter: {
                    sendBatch: async (entries) => {
                        sent.push(...entries.map((e) => e.body));
                        return new Map();
                    },
                },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(autoScaling.calls(), []);
            assert.deepEqual(sent, []);
            assert.deepEqual(batchLog(logged)?.ignored, { stale: 1 });
        });

        // Late retries, dead-lettered through SendMessageBatch: tests/unit/late-retries.test.ts.
    });

    describe("given a dry run", () => {
        it("decides everything, splits decrements as it would, and detaches nothing", async () => {
            const instances = ids(5);
            const fake = groupOf(instances, { minSize: 2, maxSize: 10, desiredCapacity: 5 });
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
});
