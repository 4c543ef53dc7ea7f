import * as assert from "node:assert/strict";
import {
    AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DescribeLifecycleHooksCommand,
    DetachInstancesCommand,
    TerminateInstanceInAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { autoScalingErrors } from "../support/auto-scaling-errors";
import { autoScaling, stubAutoScalingPerSuite } from "../support/auto-scaling-stub";
import { TERMINATING_TRANSITION } from "../../handler/auto-scaling";
import { FakeAutoScaling } from "../support/fake-auto-scaling";

const GROUP = "web";
const [A, B, C] = ["i-0000000000000000a", "i-0000000000000000b", "i-0000000000000000c"];
const SIZES = { minSize: 2, maxSize: 6, desiredCapacity: 3 };

const client = new AutoScalingClient({ region: "eu-west-1" });

const describeGroup = async () => {
    const answer = await client.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }),
    );
    const group = answer.AutoScalingGroups?.[0];
    assert.ok(group);
    return group;
};
/** The group's desired capacity and its members as "<id> <state>". */
const membership = async () => {
    const group = await describeGroup();
    return {
        desiredCapacity: group.DesiredCapacity,
        instances: (group.Instances ?? []).map((i) => `${i.InstanceId} ${i.LifecycleState}`),
    };
};
const detach = (instanceIds: string[], decrement: boolean) =>
    client.send(
        new DetachInstancesCommand({
            AutoScalingGroupName: GROUP,
            InstanceIds: instanceIds,
            ShouldDecrementDesiredCapacity: decrement,
        }),
    );
const terminate = (instanceId: string, decrement: boolean) =>
    client.send(
        new TerminateInstanceInAutoScalingGroupCommand({
            InstanceId: instanceId,
            ShouldDecrementDesiredCapacity: decrement,
        }),
    );

async function assertRefusedWith(call: Promise<unknown>, expected: Error): Promise<void> {
    await assert.rejects(call, (error: Error) => {
        assert.equal(error.name, expected.name);
        assert.equal(error.message, expected.message);
        return true;
    });
}

describe("FakeAutoScaling, the group's own side", () => {
    stubAutoScalingPerSuite();

    describe("given a group with Capacity Rebalancing and a termination hook", () => {
        let fake: FakeAutoScaling;
        beforeEach(() => {
            fake = new FakeAutoScaling()
                .group(GROUP, SIZES, {}, { capacityRebalance: true })
                .members(GROUP, [A, B, C])
                .lifecycleHook(GROUP, "drain")
                .lifecycleHook(GROUP, "warm-up", "autoscaling:EC2_INSTANCE_LAUNCHING")
                .install(autoScaling);
        });

        it("says so in DescribeAutoScalingGroups, with DesiredCapacityType units", async () => {
            const group = await describeGroup();
            assert.equal(group.CapacityRebalance, true);
            assert.equal(group.DesiredCapacityType, "units");
        });

        it("takes a warned instance to Terminating:Wait, runs the termination hook only, and replaces it", async () => {
            // When the group reacts to EC2's warning for A
            const action = fake.reactToSpotWarning(A);

            // Then A waits on the hook and a replacement keeps desired capacity
            assert.ok(action);
            assert.deepEqual(
                { by: action.by, hooksRun: action.hooksRun, state: action.lifecycleState },
                { by: "CapacityRebalancing", hooksRun: ["drain"], state: "Terminating:Wait" },
            );
            assert.equal(action.replacements.length, 1);
            assert.deepEqual(await membership(), {
                desiredCapacity: 3,
                instances: [
                    `${A} Terminating:Wait`,
                    `${B} InService`,
                    `${C} InService`,
                    `${action.replacements[0]} InService`,
                ],
            });
        });

        it("does nothing for an instance the handler already took out", async () => {
            // Given A was detached first
            await detach([A], false);

            // When the group's reaction comes
            // Then there is nothing left for it to move
            assert.equal(fake.reactToSpotWarning(A), undefined);
            assert.deepEqual(
                fake.actions.map((a) => `${a.instanceId} ${a.by}`),
                [`${A} DetachInstances`],
            );
        });

        it("lists the group's hooks with their transitions", async () => {
            const answer = await client.send(
                new DescribeLifecycleHooksCommand({ AutoScalingGroupName: GROUP }),
            );
            assert.deepEqual(
                answer.LifecycleHooks?.map((h) => [h.LifecycleHookName, h.LifecycleTransition]),
                [
                    ["drain", TERMINATING_TRANSITION],
                    ["warm-up", "autoscaling:EC2_INSTANCE_LAUNCHING"],
                ],
            );
        });

        it("runs the hook for TerminateInstanceInAutoScalingGroup, and decrements instead of replacing when told", async () => {
            // When B is terminated with decrement
            const answer = await terminate(B, true);

            // Then B waits on the hook and desired capacity is down by one, with no replacement
            assert.equal(answer.Activity?.Description, `Terminating EC2 instance: ${B}`);
            assert.deepEqual(await membership(), {
                desiredCapacity: 2,
                instances: [`${A} InService`, `${B} Terminating:Wait`, `${C} InService`],
            });
            assert.deepEqual(fake.actions, [
                {
                    instanceId: B,
                    groupName: GROUP,
                    by: "TerminateInstanceInAutoScalingGroup",
                    lifecycleState: "Terminating:Wait",
                    hooksRun: ["drain"],
                    replacements: [],
                },
            ]);
        });
    });

    describe("given a group without Capacity Rebalancing or hooks", () => {
        let fake: FakeAutoScaling;
        beforeEach(() => {
            fake = new FakeAutoScaling()
                .group(GROUP, SIZES)
                .members(GROUP, [A, B, C])
                .install(autoScaling);
        });

        it("leaves a warned instance alone", async () => {
            assert.equal(fake.reactToSpotWarning(A), undefined);
            assert.equal((await describeGroup()).CapacityRebalance, false);
            assert.deepEqual((await membership()).instances, [
                `${A} InService`,
                `${B} InService`,
                `${C} InService`,
            ]);
        });

        it("terminates an instance at once without a hook, and launches its replacement", async () => {
            await terminate(A, false);

            const after = await membership();
            assert.equal(after.desiredCapacity, 3);
            assert.deepEqual(after.instances.slice(0, 2), [`${B} InService`, `${C} InService`]);
            assert.equal(after.instances.length, 3);
            assert.deepEqual(fake.actions[0]?.lifecycleState, "Terminating");
        });

        it("refuses a non-member with AWS's message", async () => {
            const stranger = "i-0000000000000000f";
            await assertRefusedWith(
                terminate(stranger, false),
                autoScalingErrors.instanceNotFound(stranger),
            );
        });

        it("refuses a decrement at MinSize with AWS's message, and changes nothing", async () => {
            // Given desired capacity down to MinSize
            await terminate(A, true);
            const atMinSize = await membership();
            assert.equal(atMinSize.desiredCapacity, 2);

            // When one more is terminated with decrement
            await assertRefusedWith(terminate(B, true), autoScalingErrors.terminateAtMinSize(2));

            // Then
            assert.deepEqual(await membership(), atMinSize);
        });

        it("terminates a Retained instance without replacing it: it no longer counted", async () => {
            fake.members(GROUP, ["i-0000000000000000d"], "Terminating:Retained");

            await terminate("i-0000000000000000d", true);

            assert.deepEqual(await membership(), {
                desiredCapacity: 3,
                instances: [`${A} InService`, `${B} InService`, `${C} InService`],
            });
        });

        it("keeps refusing to detach Pending, Pending:Wait and Terminating:Wait members", async () => {
            for (const state of ["Pending", "Pending:Wait", "Terminating:Wait"]) {
                fake.members(GROUP, [C], state);
                await assertRefusedWith(
                    detach([C], false),
                    autoScalingErrors.notInServiceOrStandby(C),
                );
            }
        });
    });

    describe("given a weighted group: min 2, desired 6 units, a 4-unit and two 1-unit instances", () => {
        let fake: FakeAutoScaling;
        beforeEach(() => {
            fake = new FakeAutoScaling()
                .group(
                    GROUP,
                    { minSize: 2, maxSize: 12, desiredCapacity: 6 },
                    {},
                    { weights: { "m7i.large": 1, "m7i.2xlarge": 4 } },
                )
                .members(GROUP, [A], "InService", "m7i.2xlarge")
                .members(GROUP, [B, C], "InService", "m7i.large")
                .install(autoScaling);
        });

        it("describes each instance's WeightedCapacity as a string", async () => {
            const group = await describeGroup();
            assert.deepEqual(
                group.Instances?.map((i) => [i.InstanceId, i.WeightedCapacity]),
                [
                    [A, "4"],
                    [B, "1"],
                    [C, "1"],
                ],
            );
        });

        it("refuses a detach with decrement below MinSize in units, with AWS's detach wording", async () => {
            // When the 4-unit instance and a 1-unit one are detached with decrement (6 - 5 < 2)
            await assertRefusedWith(
                detach([A, B], true),
                autoScalingErrors.belowMinSize(GROUP, 2, 12, 6, 2),
            );
            assert.equal((await membership()).instances.length, 3);
        });

        it("decrements a detach by the instance's units", async () => {
            await detach([A], true);
            assert.equal((await membership()).desiredCapacity, 2);
        });

        it("refuses a Terminate with decrement below MinSize in units, and replaces one's units otherwise", async () => {
            // Given desired 5 units and MinSize 2: the 4-unit instance does not fit (5 - 4 < 2)
            fake.groups.set(GROUP, {
                ...SIZES,
                desiredCapacity: 5,
                tags: {},
                weights: { "m7i.large": 1, "m7i.2xlarge": 4 },
            });
            await assertRefusedWith(
                terminate(A, true),
                autoScalingErrors.belowMinSize(GROUP, 2, 6, 5, 1),
            );

            // When it is terminated without decrement
            const answer = await terminate(A, false);

            // Then four 1-unit instances of the first type replace its 4 units
            assert.ok(answer.Activity);
            assert.equal(fake.actions[0]?.replacements.length, 4);
            assert.equal((await membership()).desiredCapacity, 5);
        });
    });

    describe("DescribeLifecycleHooks faults", () => {
        it("throttles the calls it is told to, and answers the rest", async () => {
            const fake = new FakeAutoScaling()
                .group(GROUP, SIZES)
                .lifecycleHook(GROUP, "drain")
                .throttleCalls("DescribeLifecycleHooks", [0])
                .install(autoScaling);
            const lookup = () =>
                client.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: GROUP }));

            await assertRefusedWith(lookup(), autoScalingErrors.throttling());
            assert.equal((await lookup()).LifecycleHooks?.length, 1);
            assert.equal(fake.hookLookups.length, 1);
        });

        it("refuses them all with AccessDenied when a permissions boundary denies them", async () => {
            new FakeAutoScaling().group(GROUP, SIZES).denyHookLookups().install(autoScaling);

            await assert.rejects(
                client.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: GROUP })),
                (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
                    assert.equal(error.name, "AccessDenied");
                    assert.match(error.message, /autoscaling:DescribeLifecycleHooks/);
                    assert.equal(error.$metadata?.httpStatusCode, 403);
                    return true;
                },
            );
        });
    });
});
