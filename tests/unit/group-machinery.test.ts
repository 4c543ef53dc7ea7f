/**
 * A batch of queued warnings against groups with their own machinery: Capacity Rebalancing,
 * termination lifecycle hooks, launching instances and weights. The fake answers as AWS
 * documents, and every verdict is the group's state afterwards: who moved each instance, which
 * hook ran, what desired capacity is.
 */
import * as assert from "node:assert/strict";
import {
    DescribeAutoScalingGroupsCommand,
    DescribeLifecycleHooksCommand,
    DetachInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import type { DeadLetterGateway } from "../../handler/dead-letter";
import { handleSqsBatch } from "../../handler/queue-batch";
import { createHookCache } from "../../handler/hooks";
import type { Recheck, RecheckGateway } from "../../handler/recheck";
import { asSqsRecord, freshSampleEvent } from "../../offline/sample-event";
import { autoScalingErrors } from "../support/auto-scaling-errors";
import {
    autoScaling,
    ids,
    stubAutoScalingPerSuite,
    stubbedGateway,
} from "../support/auto-scaling-stub";
import { FakeAutoScaling, groupLookupAnswer } from "../support/fake-auto-scaling";
import {
    type CapacityOnInterruption,
    type InterruptionAction,
    SAFETY_NET_GRACE_MS,
} from "../../contract";

const GROUP = "web";
const NOW = Date.parse("2026-12-07T12:00:00Z");

function warned(
    instanceIds: readonly string[],
    { sentAgoMs = 5_000, receiveCount = 1, detailType = "" } = {},
): SQSRecord[] {
    return instanceIds.map((id, i) => {
        const event = freshSampleEvent(id, new Date(NOW - sentAgoMs));
        return asSqsRecord(detailType === "" ? event : { ...event, "detail-type": detailType }, {
            messageId: `m${i}`,
            receiveCount,
        });
    });
}

interface Run {
    readonly response: SQSBatchResponse;
    readonly metrics: Record<string, unknown>;
    readonly rechecks: Recheck[];
    /** The bodies sent to the dead-letter queue. */
    readonly deadLettered: string[];
}

async function whenBatchArrives(
    records: SQSRecord[],
    {
        capacityOnInterruption = "keep",
        interruptionAction = "auto",
        dryRun = false,
    }: {
        capacityOnInterruption?: CapacityOnInterruption;
        interruptionAction?: InterruptionAction;
        dryRun?: boolean;
    } = {},
): Promise<Run> {
    const emitted: string[] = [];
    const rechecks: Recheck[] = [];
    const deadLettered: string[] = [];
    const deadLetter: DeadLetterGateway = {
        sendBatch: async (entries) => {
            deadLettered.push(...entries.map((e) => e.body));
            return new Map();
        },
    };
    const recheck: RecheckGateway = {
        schedule: async (entries) => {
            rechecks.push(...entries);
            return [];
        },
    };
    const response = await handleSqsBatch(
        { Records: records },
        {
            config: {
                groups: { kind: "names", names: [GROUP] },
                handlerName: "test",
                capacityOnInterruption,
                interruptionAction,
                dryRun,
            },
            autoScaling: stubbedGateway(),
            log: () => undefined,
            remainingTimeMs: () => 16_000,
            now: () => NOW,
            hookCache: createHookCache(),
        },
        deadLetter,
        { emit: (line) => emitted.push(line) },
        recheck,
    );
    const metrics = JSON.parse(emitted[0]) as Record<string, unknown>;
    return { response, metrics, rechecks, deadLettered };
}

const failedIds = (response: SQSBatchResponse) =>
    response.batchItemFailures.map((f) => f.itemIdentifier);

describe("a batch against groups with their own machinery", () => {
    stubAutoScalingPerSuite();

    describe("given a group with Capacity Rebalancing, keep, and Spot warnings", () => {
        const [a, b] = ids(2);
        const fleet = () =>
            new FakeAutoScaling()
                .group(
                    GROUP,
                    { minSize: 0, maxSize: 10, desiredCapacity: 2 },
                    {},
                    {
                        capacityRebalance: true,
                        behindLoadBalancer: true,
                    },
                )
                .members(GROUP, [a, b])
                .install(autoScaling);

        it("leaves them to the group, neither detaching nor terminating, and re-checks when the grace ends", async () => {
            const fake = fleet();

            const { response, metrics, rechecks } = await whenBatchArrives(warned([a, b]));

            assert.deepEqual(fake.actions, [], "the handler moved nothing");
            assert.deepEqual(fake.membersOf(GROUP), [a, b]);
            assert.deepEqual(failedIds(response), ["m0", "m1"], "both come back for a re-check");
            const dueInSeconds = (SAFETY_NET_GRACE_MS - 5_000) / 1000;
            assert.deepEqual(
                rechecks.map((r) => r.seconds),
                [dueInSeconds, dueInSeconds],
            );
            assert.deepEqual([metrics.Waiting, metrics.Failed], [2, 0]);
            assert.equal(fake.hookLookups.length, 0, "no hook lookup for a group left to itself");
        });

        const recheckedAfterGrace = () =>
            warned([a, b], { sentAgoMs: SAFETY_NET_GRACE_MS + 1_000, receiveCount: 2 });

        const rechecks = [
            {
                it: "counts the group's own termination as left to the group on the re-check",
                groupTakes: [a, b],
                by: ["CapacityRebalancing", "CapacityRebalancing"],
                counted: { LeftToGroup: 2, SafetyNet: 0 },
            },
            {
                it: "acts as a safety net when the grace ends with an instance still InService",
                groupTakes: [a],
                by: ["CapacityRebalancing", "DetachInstances"],
                counted: { LeftToGroup: 1, Detached: 1, SafetyNet: 1 },
                // keep: replaced
                desiredCapacity: 2,
            },
        ];
        for (const c of rechecks) {
            it(c.it, async () => {
                const fake = fleet();
                c.groupTakes.forEach((id) => fake.reactToSpotWarning(id));

                const { response, metrics } = await whenBatchArrives(recheckedAfterGrace());

                assert.deepEqual(failedIds(response), []);
                assert.deepEqual(
                    fake.actions.map((x) => [x.instanceId, x.by]),
                    [a, b].map((id, i) => [id, c.by[i]]),
                );
                if (c.desiredCapacity !== undefined) {
                    assert.equal(fake.groups.get(GROUP)?.desiredCapacity, c.desiredCapacity);
                }
                assert.deepEqual(
                    Object.fromEntries(
                        Object.keys(c.counted).map((k) => [k, metrics[k as keyof typeof metrics]]),
                    ),
                    c.counted,
                );
            });
        }

        it("acts at once in decrement mode, shrinking the group", async () => {
            const fake = fleet();

            const { response, metrics } = await whenBatchArrives(warned([a]), {
                capacityOnInterruption: "decrement",
            });

            assert.deepEqual(failedIds(response), []);
            assert.deepEqual(fake.membersOf(GROUP), [b]);
            assert.equal(fake.groups.get(GROUP)?.desiredCapacity, 1);
            assert.deepEqual([metrics.Detached, metrics.Waiting], [1, 0]);
        });

        it("acts at once on a Capacity Reservation warning, which no group reacts to", async () => {
            const fake = fleet();

            await whenBatchArrives(
                warned([a], {
                    detailType: "EC2 Capacity Reservation Instance Interruption Warning",
                }),
            );

            assert.deepEqual(fake.membersOf(GROUP), [b]);
        });

        it("detaches at once when told to always detach", async () => {
            const fake = fleet();

            await whenBatchArrives(warned([a]), { interruptionAction: "detach" });

            assert.deepEqual(
                fake.actions.map((x) => x.by),
                ["DetachInstances"],
            );
        });
    });

    describe("given a group with a termination lifecycle hook", () => {
        const fleet = (members: readonly string[], sizes = { minSize: 0, desiredCapacity: 40 }) =>
            new FakeAutoScaling()
                .group(GROUP, { ...sizes, maxSize: 60 })
                .members(GROUP, members)
                .lifecycleHook(GROUP, "ship-logs")
                .install(autoScaling);

        it("terminates through the group, so the hook runs, and keeps capacity", async () => {
            const [a] = ids(1);
            const fake = fleet([a], { minSize: 0, desiredCapacity: 1 });

            const { metrics } = await whenBatchArrives(warned([a]));

            assert.deepEqual(
                fake.actions.map((x) => [
                    x.by,
                    x.lifecycleState,
                    x.hooksRun,
                    x.replacements.length,
                ]),
                [["TerminateInstanceInAutoScalingGroup", "Terminating:Wait", ["ship-logs"], 1]],
            );
            assert.equal(fake.groups.get(GROUP)?.desiredCapacity, 1);
            assert.deepEqual([metrics.Terminated, metrics.HooksSkipped], [1, 0]);
        });

        it("decrements through the group down to MinSize, then terminates with keep", async () => {
            const [a, b] = ids(2);
            const fake = fleet([a, b], { minSize: 1, desiredCapacity: 2 });

            await whenBatchArrives(warned([a, b]), { capacityOnInterruption: "decrement" });

            assert.deepEqual(
                fake.actions.map((x) => [x.instanceId, x.replacements.length]),
                [
                    [a, 0],
                    [b, 1],
                ],
            );
            assert.equal(fake.groups.get(GROUP)?.desiredCapacity, 1);
        });

        it("terminates 20 a batch, the budget, and detaches the rest counted as hooks skipped", async () => {
            const members = ids(30);
            const fake = fleet(members);

            const { response, metrics } = await whenBatchArrives(warned(members));

            assert.deepEqual(failedIds(response), []);
            const by = (how: string) => fake.actions.filter((x) => x.by === how).length;
            assert.equal(by("TerminateInstanceInAutoScalingGroup"), 20);
            assert.equal(by("DetachInstances"), 10);
            assert.deepEqual(
                [metrics.Terminated, metrics.Detached, metrics.HooksSkipped],
                [20, 10, 10],
            );
            assert.equal(metrics.AutoScalingCalls, 1 + 1 + 20 + 1, "lookup, hooks, 20, one detach");
        });

        it("detaches, counted as hooks unknown, when a permissions boundary denies the lookup", async () => {
            const [a] = ids(1);
            const fake = fleet([a]).denyHookLookups();

            const { metrics } = await whenBatchArrives(warned([a]));

            assert.deepEqual(
                fake.actions.map((x) => x.by),
                ["DetachInstances"],
            );
            assert.deepEqual([metrics.Detached, metrics.HooksUnknown], [1, 1]);
        });

        it("counts in a dry run what it would terminate, and moves nothing", async () => {
            const [a, b] = ids(2);
            const fake = fleet([a, b]);

            const { metrics } = await whenBatchArrives(warned([a, b]), { dryRun: true });

            assert.deepEqual(fake.actions, []);
            assert.deepEqual([metrics.WouldTerminate, metrics.WouldDetach], [2, 0]);
        });
    });

    describe("given instances that are launching, in Standby or Retained", () => {
        const [pending, standby, retained] = ids(3);
        const fleet = () =>
            new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 10, desiredCapacity: 3 })
                .members(GROUP, [pending], "Pending")
                .members(GROUP, [standby], "Standby")
                .members(GROUP, [retained], "Terminating:Retained")
                .install(autoScaling);

        it("leaves the launching one waiting, and acknowledges the others without a call", async () => {
            const fake = fleet();

            const { response, metrics } = await whenBatchArrives(
                warned([pending, standby, retained]),
                { capacityOnInterruption: "decrement" },
            );

            assert.deepEqual(failedIds(response), ["m0"]);
            assert.deepEqual(fake.actions, []);
            assert.equal(fake.groups.get(GROUP)?.desiredCapacity, 3, "no decrement taken");
            assert.deepEqual([metrics.Waiting, metrics.Ignored, metrics.Failed], [1, 2, 0]);
        });

        it("acts on the launching one once it is InService", async () => {
            const fake = fleet();
            const instance = fake.instances.get(pending);
            if (instance !== undefined) instance.lifecycleState = "InService";

            const { response } = await whenBatchArrives(warned([pending], { receiveCount: 3 }));

            assert.deepEqual(failedIds(response), []);
            assert.deepEqual(
                fake.actions.map((x) => [x.instanceId, x.by]),
                [[pending, "DetachInstances"]],
            );
        });

        it("acknowledges it, never dead-letters it, when the notice ends while it is launching", async () => {
            fleet();

            const { response, deadLettered } = await whenBatchArrives(
                warned([pending], { sentAgoMs: 125_000, receiveCount: 6 }),
            );

            assert.deepEqual(failedIds(response), []);
            assert.deepEqual(deadLettered, []);
        });
    });

    describe("given a weighted group in decrement mode", () => {
        it("counts decrements in capacity units, and never repeats a refused call", async () => {
            const [large, small] = ids(2);
            const fake = new FakeAutoScaling()
                .group(
                    GROUP,
                    { minSize: 2, maxSize: 20, desiredCapacity: 5 },
                    {},
                    {
                        weights: { "c7g.xlarge": 4, "c7g.large": 1 },
                    },
                )
                .members(GROUP, [large], "InService", "c7g.xlarge")
                .members(GROUP, [small], "InService", "c7g.large")
                .install(autoScaling);

            const { response } = await whenBatchArrives(warned([large, small]), {
                capacityOnInterruption: "decrement",
            });

            assert.deepEqual(failedIds(response), []);
            // 3 units above MinSize: the small one (1) leaves with a decrement, the large (4) with keep.
            assert.equal(fake.groups.get(GROUP)?.desiredCapacity, 4);
            assert.deepEqual(fake.membersOf(GROUP).length, 0);
        });
    });

    describe("given refusals whose figures leave the plan unchanged", () => {
        it("never repeats a refused call as it was: fewer decrements, then keep", async () => {
            const members = ids(3);
            autoScaling.on(DescribeAutoScalingGroupsCommand).resolves(
                groupLookupAnswer(GROUP, {
                    minSize: 2,
                    desiredCapacity: 10,
                    members: members.map((id) => [id, "InService"] as const),
                }),
            );
            autoScaling.on(DescribeLifecycleHooksCommand).resolves({ LifecycleHooks: [] });
            // AWS counts what we cannot see: every decrement is refused, with figures that allow it.
            autoScaling
                .on(DetachInstancesCommand, { ShouldDecrementDesiredCapacity: true })
                .rejects(autoScalingErrors.belowMinSize(GROUP, 2, 12, 10, 3));
            autoScaling
                .on(DetachInstancesCommand, { ShouldDecrementDesiredCapacity: false })
                .resolves({});

            const { response } = await whenBatchArrives(warned(members), {
                capacityOnInterruption: "decrement",
            });

            const calls = autoScaling
                .commandCalls(DetachInstancesCommand)
                .map((c) => JSON.stringify(c.args[0].input));
            assert.equal(new Set(calls).size, calls.length, `no call twice: ${calls.join(" ")}`);
            assert.ok(calls.length <= 4, `${calls.length} calls`);
            assert.match(calls[calls.length - 1], /"ShouldDecrementDesiredCapacity":false/);
            assert.deepEqual(failedIds(response), []);
        });

        it("leaves the chunk for a retry when a re-read shows nothing changed after an unknown refusal", async () => {
            const [a] = ids(1);
            autoScaling
                .on(DescribeAutoScalingGroupsCommand)
                .resolves(groupLookupAnswer(GROUP, { members: [[a, "InService"]] }));
            autoScaling.on(DescribeLifecycleHooksCommand).resolves({ LifecycleHooks: [] });
            autoScaling.on(DetachInstancesCommand).rejects(autoScalingErrors.unknownValidation());

            const { response } = await whenBatchArrives(warned([a]));

            assert.equal(autoScaling.commandCalls(DetachInstancesCommand).length, 1);
            assert.equal(autoScaling.commandCalls(DescribeAutoScalingGroupsCommand).length, 2);
            assert.deepEqual(failedIds(response), ["m0"]);
        });
    });
});
