import * as assert from "node:assert/strict";
import {
    AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DetachInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { createAutoScalingGateway } from "../../handler/auto-scaling";
import { type DeadLetterGateway } from "../../handler/dead-letter";
import { handleSqsBatch } from "../../handler/queue-batch";
import { type Reporting } from "../../handler/reporting";
import { type LogLevel, type LogRecord } from "../../handler/log";
import { asSqsRecord, freshSampleEvent } from "../../local";
import { autoScalingErrors } from "../support/auto-scaling-errors";
import { loadEvent } from "../support/events";
import { FakeAutoScaling } from "../support/fake-auto-scaling";
import { type CapacityOnInterruption, type GroupSelection } from "../../contract";

const GROUP = "web";
const HANDLER = "project/dev/spot";
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
        groups = { kind: "names", names: [GROUP] },
    }: {
        groups?: GroupSelection;
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
            config: {
                groups,
                handlerName: HANDLER,
                capacityOnInterruption,
                interruptionAction: "detach",
                dryRun,
            },
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

const lookups = () =>
    autoScaling.commandCalls(DescribeAutoScalingGroupsCommand).map((c) => c.args[0].input);
const detachCalls = () =>
    autoScaling.commandCalls(DetachInstancesCommand).map((c) => ({
        group: c.args[0].input.AutoScalingGroupName,
        ids: c.args[0].input.InstanceIds,
        decrement: c.args[0].input.ShouldDecrementDesiredCapacity,
    }));
const byName = (...names: string[]) => ({ AutoScalingGroupNames: names, MaxRecords: 100 });
const batchLog = (logged: { record: LogRecord }[]) =>
    logged.map((l) => l.record).find((r) => r.message.startsWith("Batch of"));

describe("the handler, given a batch from the events queue", () => {
    before(() => {
        autoScaling = mockClient(AutoScalingClient);
    });
    beforeEach(() => autoScaling.reset());
    after(() => autoScaling.restore());

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
        it("looks the group up once and detaches 20 per call", async () => {
            const instances = ids(120);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 200, desiredCapacity: 120 })
                .members(GROUP, instances)
                .install(autoScaling);

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
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 30, desiredCapacity: 20 })
                .members(GROUP, instances)
                .install(autoScaling);
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
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 2, maxSize: 20, desiredCapacity: 10 })
                .members(GROUP, instances)
                .install(autoScaling);

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
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 2, maxSize: 20, desiredCapacity: 10 })
                .members(GROUP, instances)
                .install(autoScaling);
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
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 100, desiredCapacity: 60 })
                .members(GROUP, instances)
                .install(autoScaling);
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

            const [counts, ...more] = emitted.map((line) => JSON.parse(line));
            assert.deepEqual(
                [counts.Handler, counts.WarningsReceived, counts.Detached, counts.Ignored],
                [HANDLER, 5, 2, 3],
            );
            assert.deepEqual(
                [counts.Failed, counts.AutoScalingCalls, counts.MissingGroups],
                [0, 2, 0],
            );
            assert.deepEqual(
                more.filter((d) => d.Reason !== undefined).map((d) => [d.Reason, d.Ignored]),
                [
                    ["malformed", 1],
                    ["duplicate", 1],
                    ["not-a-member", 1],
                ],
            );
            assert.deepEqual(
                more
                    .filter((d) => d.AutoScalingGroupName !== undefined)
                    .map((d) => [d.Handler, d.AutoScalingGroupName, d.Detached, d.Failed]),
                [[HANDLER, GROUP, 2, 0]],
            );
            assert.deepEqual(counts.DetachLatency, [5_000, 5_000]);
            assert.deepEqual(published, [
                {
                    subject: "Spot interruption: 2 left web",
                    message: JSON.stringify({
                        handler: HANDLER,
                        capacityOnInterruption: "keep",
                        detached: 2,
                        terminated: 0,
                        groups: { [GROUP]: 2 },
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

    describe("given one handler for many groups", () => {
        const sizes = { minSize: 0, maxSize: 100, desiredCapacity: 30 };

        it("by list: one lookup for every listed group, detaches per group, and never touches an unlisted one", async () => {
            const [a1, a2, b1, c1, loose] = ids(5);
            const fake = new FakeAutoScaling()
                .group("a", sizes)
                .group("b", sizes)
                .group("c", sizes)
                .members("a", [a1, a2])
                .members("b", [b1])
                .members("c", [c1])
                .install(autoScaling);

            const { response, logged } = await whenBatchArrives(warnings([a1, b1, c1, a2, loose]), {
                groups: { kind: "names", names: ["a", "b"] },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(lookups(), [byName("a", "b")]);
            assert.deepEqual(detachCalls(), [
                { group: "a", ids: [a1, a2], decrement: false },
                { group: "b", ids: [b1], decrement: false },
            ]);
            assert.deepEqual(
                ["a", "b", "c"].map((g) => fake.membersOf(g)),
                [[], [], [c1]],
            );
            assert.deepEqual(batchLog(logged)?.ignored, { "not-a-member": 2 });
            assert.equal(batchLog(logged)?.autoScalingCalls, 3);
        });

        it("by tag and value: filters on tag:<key>, and leaves a group with another value alone", async () => {
            const [w1, w2, api1] = ids(3);
            const fake = new FakeAutoScaling()
                .group("web-1", sizes, { "spot-handler": "web" })
                .group("web-2", sizes, { "spot-handler": "web" })
                .group("api", sizes, { "spot-handler": "api" })
                .members("web-1", [w1])
                .members("web-2", [w2])
                .members("api", [api1])
                .install(autoScaling);

            const { response } = await whenBatchArrives(warnings([w1, api1, w2]), {
                groups: { kind: "tag", key: "spot-handler", value: "web" },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(lookups(), [
                { Filters: [{ Name: "tag:spot-handler", Values: ["web"] }], MaxRecords: 100 },
            ]);
            assert.deepEqual(
                ["web-1", "web-2", "api"].map((g) => fake.membersOf(g)),
                [[], [], [api1]],
            );
        });

        it("by tag key alone: filters on tag-key, so any value counts", async () => {
            const [x, y, untagged] = ids(3);
            const fake = new FakeAutoScaling()
                .group("x", sizes, { "spot-handler": "web" })
                .group("y", sizes, { "spot-handler": "" })
                .group("plain", sizes)
                .members("x", [x])
                .members("y", [y])
                .members("plain", [untagged])
                .install(autoScaling);

            await whenBatchArrives(warnings([x, y, untagged]), {
                groups: { kind: "tag", key: "spot-handler" },
            });

            assert.deepEqual(lookups(), [
                { Filters: [{ Name: "tag-key", Values: ["spot-handler"] }], MaxRecords: 100 },
            ]);
            assert.deepEqual(
                ["x", "y", "plain"].map((g) => fake.membersOf(g)),
                [[], [], [untagged]],
            );
        });

        it("pages a tag lookup past 100 groups with NextToken", async () => {
            const fake = new FakeAutoScaling();
            const instances = ids(150);
            instances.forEach((id, i) =>
                fake.group(`g${i}`, sizes, { team: "web" }).members(`g${i}`, [id]),
            );
            fake.install(autoScaling);

            const { response } = await whenBatchArrives(warnings([instances[149], instances[0]]), {
                groups: { kind: "tag", key: "team", value: "web" },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(
                lookups().map((l) => l.NextToken),
                [undefined, "100"],
            );
            assert.deepEqual([fake.membersOf("g0"), fake.membersOf("g149")], [[], []]);
        });

        it("respects each group's own MinSize in decrement mode", async () => {
            const tight = ids(4);
            const loose = ids(4, 100);
            const fake = new FakeAutoScaling()
                .group("tight", { minSize: 3, maxSize: 10, desiredCapacity: 4 })
                .group("loose", { minSize: 0, maxSize: 10, desiredCapacity: 4 })
                .members("tight", tight)
                .members("loose", loose)
                .install(autoScaling);

            const { response } = await whenBatchArrives(warnings([...tight, ...loose]), {
                groups: { kind: "names", names: ["tight", "loose"] },
                capacityOnInterruption: "decrement",
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(detachCalls(), [
                { group: "tight", ids: tight.slice(0, 1), decrement: true },
                { group: "loose", ids: loose, decrement: true },
                { group: "tight", ids: tight.slice(1), decrement: false },
            ]);
            assert.deepEqual(
                [
                    fake.groups.get("tight")?.desiredCapacity,
                    fake.groups.get("loose")?.desiredCapacity,
                ],
                [3, 0],
            );
        });

        it("acknowledges Retained and Standby instances without a call or a decrement", async () => {
            const [serving, retained, standby] = ids(3);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 10, desiredCapacity: 1 })
                .members(GROUP, [serving])
                .members(GROUP, [retained], "Terminating:Retained")
                .members(GROUP, [standby], "Standby")
                .install(autoScaling);
            const emitted: string[] = [];

            const { response } = await whenBatchArrives(warnings([retained, standby, serving]), {
                capacityOnInterruption: "decrement",
                reporting: { emit: (line) => emitted.push(line) },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(detachCalls(), [{ group: GROUP, ids: [serving], decrement: true }]);
            assert.equal(fake.groups.get(GROUP)?.desiredCapacity, 0);
            assert.deepEqual(fake.membersOf(GROUP).sort(), [retained, standby].sort());
            const reasons = emitted.map((line) => JSON.parse(line)).filter((d) => d.Reason);
            assert.deepEqual(
                reasons.map((d) => [d.Reason, d.Ignored]),
                [
                    ["standby", 1],
                    ["retained", 1],
                ],
            );
        });

        it("counts a listed group that does not exist, at ERROR and in MissingGroups", async () => {
            const [a] = ids(1);
            new FakeAutoScaling().group(GROUP, sizes).members(GROUP, [a]).install(autoScaling);
            const emitted: string[] = [];

            const { logged } = await whenBatchArrives(warnings([a]), {
                groups: { kind: "names", names: [GROUP, "web-typo"] },
                reporting: { emit: (line) => emitted.push(line) },
            });

            const [counts] = emitted.map((line) => JSON.parse(line));
            assert.deepEqual([counts.MissingGroups, counts.Detached], [1, 1]);
            const error = logged.find((l) => l.level === "ERROR")?.record;
            assert.deepEqual(error?.missingGroups, ["web-typo"]);
        });

        it("makes no call at all for a batch without a usable warning", async () => {
            const { response } = await whenBatchArrives([
                asSqsRecord("not json", { messageId: "m0" }),
                asSqsRecord(loadEvent("rebalance-recommendation", ids(1)[0]), { messageId: "m1" }),
            ]);

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(autoScaling.calls(), []);
        });

        it("handles an interruptible Capacity Reservation warning as it handles a Spot one", async () => {
            const [a] = ids(1);
            const fake = new FakeAutoScaling()
                .group(GROUP, sizes)
                .members(GROUP, [a])
                .install(autoScaling);
            const event = {
                ...loadEvent("capacity-reservation-interruption-warning", a),
                time: new Date(NOW - 5_000).toISOString(),
            };

            const { response } = await whenBatchArrives([asSqsRecord(event, { messageId: "m0" })]);

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(fake.membersOf(GROUP), []);
        });
    });

    describe("given a notification topic that never answers", () => {
        it("bounds the publish by the time left, so the invocation answers inside its deadline", async () => {
            const [a] = ids(1);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 10, desiredCapacity: 1 })
                .members(GROUP, [a])
                .install(autoScaling);
            const startedAt = Date.now();
            // 2.5 s left: 1.5 s stays for the answer, so the publish gets at most 1 s.
            const remainingTimeMs = () => 2_500 - (Date.now() - startedAt);
            let aborted = false;

            const { response, logged } = await whenBatchArrives(warnings([a]), {
                remainingTimeMs,
                reporting: {
                    notifier: {
                        publish: (_subject, _message, signal) =>
                            new Promise((_, reject) =>
                                signal.addEventListener("abort", () => {
                                    aborted = true;
                                    reject(signal.reason);
                                }),
                            ),
                    },
                },
            });

            assert.ok(aborted, "the publish was not aborted");
            assert.ok(remainingTimeMs() >= 1_400, `only ${remainingTimeMs()} ms left to answer`);
            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(fake.membersOf(GROUP), []);
            assert.ok(logged.some((l) => /notification failed/.test(l.record.message)));
        });

        it("skips the publish, saying so, when no time is left for it", async () => {
            const [a] = ids(1);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 10, desiredCapacity: 1 })
                .members(GROUP, [a])
                .install(autoScaling);
            let published = 0;

            const { logged } = await whenBatchArrives(warnings([a]), {
                // Time enough for the two calls; once the instance is out, under 250 ms to spare.
                remainingTimeMs: () => (fake.membersOf(GROUP).length > 0 ? 20_000 : 1_600),
                reporting: { notifier: { publish: async () => void published++ } },
            });

            assert.equal(published, 0);
            assert.ok(logged.some((l) => /Skipped the detach notification/.test(l.record.message)));
        });
    });
});
