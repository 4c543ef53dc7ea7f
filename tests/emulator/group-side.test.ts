/**
 * The emulator's group side (emulator/group_side.py): what an Auto Scaling group does by itself on a
 * Spot warning with Capacity Rebalancing, its termination hooks, TerminateInstanceInAutoScalingGroup
 * and weighted capacity, judged by the group's state as DescribeAutoScalingGroups returns it.
 */
import { strict as assert } from "node:assert";
import { setTimeout as delay } from "node:timers/promises";
import {
    AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DescribeLifecycleHooksCommand,
    DetachInstancesCommand,
    TerminateInstanceInAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { clientConfigFor } from "../../emulator/group-state";
import {
    putLifecycleHook,
    seedWorkshopEnvironment,
    type WorkshopEnvironment,
} from "../../emulator/workshop";
import {
    describeGroupActions,
    groupActionsWhenSettled,
    sendSpotWarning,
    setLifecycleState,
} from "../../emulator/group-side";
import { TERMINATING_TRANSITION } from "../../handler/auto-scaling";
import { autoScalingErrors } from "../support/auto-scaling-errors";
import { assertRefusedWith, membershipOf, seedWeightedGroup } from "../support/group-side";
import { tierEmulatorForSuite } from "../support/tier-emulator";

const REACTION_MS = 300;

describe("The emulator's Auto Scaling groups, on their own side", function () {
    const tier = tierEmulatorForSuite();
    const emulator = () => tier.emulator;
    let autoScaling: AutoScalingClient;
    let workshop: WorkshopEnvironment;
    let web: string[];

    before(function () {
        autoScaling = new AutoScalingClient(clientConfigFor(emulator()));
    });

    after(function () {
        autoScaling?.destroy();
    });

    /** A fresh workshop: web at min 2, desired 4, max 12, 4 InService instances. */
    async function seed(capacityRebalance: boolean): Promise<void> {
        await emulator().reset();
        workshop = await seedWorkshopEnvironment(emulator(), {
            webGroup: { capacityRebalance },
        });
        web = (await membershipOf(emulator(), workshop.webGroupName)).instances.map(
            (line) => line.split(" ")[0],
        );
    }
    const webGroup = () => membershipOf(emulator(), workshop.webGroupName);
    const terminate = (instanceId: string, decrement: boolean) =>
        autoScaling.send(
            new TerminateInstanceInAutoScalingGroupCommand({
                InstanceId: instanceId,
                ShouldDecrementDesiredCapacity: decrement,
            }),
        );
    const detach = (groupName: string, instanceIds: string[], decrement: boolean) =>
        autoScaling.send(
            new DetachInstancesCommand({
                AutoScalingGroupName: groupName,
                InstanceIds: instanceIds,
                ShouldDecrementDesiredCapacity: decrement,
            }),
        );

    describe("given a group with Capacity Rebalancing and a termination hook", function () {
        beforeEach(async function () {
            await seed(true);
            await putLifecycleHook(emulator(), workshop.webGroupName, "drain");
            await putLifecycleHook(
                emulator(),
                workshop.webGroupName,
                "warm-up",
                "autoscaling:EC2_INSTANCE_LAUNCHING",
            );
        });

        it("says CapacityRebalance true, and lists its hooks with their transitions", async function () {
            const groups = await autoScaling.send(
                new DescribeAutoScalingGroupsCommand({
                    AutoScalingGroupNames: [workshop.webGroupName],
                }),
            );
            const hooks = await autoScaling.send(
                new DescribeLifecycleHooksCommand({ AutoScalingGroupName: workshop.webGroupName }),
            );

            assert.equal(groups.AutoScalingGroups?.[0]?.CapacityRebalance, true);
            assert.deepEqual(
                hooks.LifecycleHooks?.map((h) => [h.LifecycleHookName, h.LifecycleTransition]),
                [
                    ["drain", TERMINATING_TRANSITION],
                    ["warm-up", "autoscaling:EC2_INSTANCE_LAUNCHING"],
                ],
            );
        });

        it("moves a warned instance to Terminating:Wait after the delay, runs the termination hook only, and replaces it", async function () {
            // When EC2's warning for web[0] reaches the group, which reacts after REACTION_MS
            const answer = await sendSpotWarning(emulator(), web[0], {
                reactAfterMs: REACTION_MS,
            });

            // Then nothing moved yet
            assert.deepEqual(answer, {
                instanceId: web[0],
                groupName: workshop.webGroupName,
                capacityRebalance: true,
                reaction: "scheduled",
            });
            assert.ok((await webGroup()).instances.includes(`${web[0]} InService`));

            // And after the delay the group moved it, ran "drain", and launched a replacement
            const [action, ...others] = await groupActionsWhenSettled(emulator());
            assert.deepEqual(others, []);
            const { outOfServiceAtMs } = await describeGroupActions(emulator());
            assert.deepEqual(Object.keys(outOfServiceAtMs), [web[0]]);
            assert.deepEqual(
                { ...action, replacements: action.replacements.length },
                {
                    instanceId: web[0],
                    groupName: workshop.webGroupName,
                    by: "CapacityRebalancing",
                    lifecycleState: "Terminating:Wait",
                    hooksRun: ["drain"],
                    replacements: 1,
                },
            );
            assert.deepEqual(await webGroup(), {
                desiredCapacity: 4,
                instances: [
                    `${web[0]} Terminating:Wait`,
                    ...web.slice(1).map((id) => `${id} InService`),
                    `${action.replacements[0]} InService`,
                ],
            });
        });

        it("does nothing when the handler detached the instance first", async function () {
            // Given the warning, and the handler's detach before the group reacts
            await sendSpotWarning(emulator(), web[0], { reactAfterMs: REACTION_MS });
            await detach(workshop.webGroupName, [web[0]], true);

            // Then the group's reaction finds nothing to move, and no hook ran
            assert.deepEqual(await groupActionsWhenSettled(emulator()), [
                {
                    instanceId: web[0],
                    groupName: workshop.webGroupName,
                    by: "DetachInstances",
                    lifecycleState: "Detached",
                    hooksRun: [],
                    replacements: [],
                },
            ]);
            assert.equal((await webGroup()).desiredCapacity, 3);
        });

        it("does nothing when the test says the group does not react, leaving the handler's safety net to act", async function () {
            const answer = await sendSpotWarning(emulator(), web[0], {
                reactAfterMs: 0,
                groupReacts: false,
            });
            await delay(REACTION_MS);

            assert.equal(answer.reaction, "none");
            assert.deepEqual(await groupActionsWhenSettled(emulator()), []);
            assert.ok((await webGroup()).instances.includes(`${web[0]} InService`));
        });

        it("runs the hook for TerminateInstanceInAutoScalingGroup, and decrements instead of replacing when told", async function () {
            const answer = await terminate(web[1], true);

            assert.equal(answer.Activity?.Description, `Terminating EC2 instance: ${web[1]}`);
            assert.deepEqual(await webGroup(), {
                desiredCapacity: 3,
                instances: web.map(
                    (id, i) => `${id} ${i === 1 ? "Terminating:Wait" : "InService"}`,
                ),
            });
            assert.deepEqual((await describeGroupActions(emulator())).actions, [
                {
                    instanceId: web[1],
                    groupName: workshop.webGroupName,
                    by: "TerminateInstanceInAutoScalingGroup",
                    lifecycleState: "Terminating:Wait",
                    hooksRun: ["drain"],
                    replacements: [],
                },
            ]);
        });

        it("forgets a pending reaction on reset", async function () {
            await sendSpotWarning(emulator(), web[0], { reactAfterMs: REACTION_MS });
            await emulator().reset();

            const { actions, pendingReactions, outOfServiceAtMs } =
                await describeGroupActions(emulator());
            assert.deepEqual([actions, pendingReactions, outOfServiceAtMs], [[], 0, {}]);
        });
    });

    describe("given a group with Capacity Rebalancing and no hook", function () {
        beforeEach(async function () {
            await seed(true);
        });

        it("takes a warned instance out (Terminating while it drains from its target group) and replaces it", async function () {
            await sendSpotWarning(emulator(), web[0], { reactAfterMs: 0 });
            const [action] = await groupActionsWhenSettled(emulator());

            assert.equal(action.lifecycleState, "Terminating");
            assert.deepEqual(action.hooksRun, []);
            const after = await webGroup();
            assert.equal(after.desiredCapacity, 4);
            // The web group has a target group: the instance stays Terminating (assumption 24).
            assert.deepEqual(after.instances, [
                `${web[0]} Terminating`,
                ...web.slice(1).map((id) => `${id} InService`),
                `${action.replacements[0]} InService`,
            ]);
        });
    });

    describe("given a group without Capacity Rebalancing", function () {
        beforeEach(async function () {
            await seed(false);
            await putLifecycleHook(emulator(), workshop.webGroupName, "drain");
        });

        it("says CapacityRebalance false and leaves a warned instance InService", async function () {
            const answer = await sendSpotWarning(emulator(), web[0], { reactAfterMs: 0 });
            await delay(REACTION_MS);

            assert.deepEqual([answer.capacityRebalance, answer.reaction], [false, "none"]);
            assert.deepEqual(await groupActionsWhenSettled(emulator()), []);
            assert.deepEqual(
                (await webGroup()).instances,
                web.map((id) => `${id} InService`),
            );
        });

        it("refuses Terminate for a non-member, and a decrement at MinSize, in AWS's words", async function () {
            // Given desired capacity brought down to MinSize (2)
            await terminate(web[0], true);
            await terminate(web[1], true);
            const atMinSize = await webGroup();
            assert.equal(atMinSize.desiredCapacity, 2);

            // Then
            await assertRefusedWith(
                terminate(workshop.standaloneInstanceId, false),
                autoScalingErrors.instanceNotFound(workshop.standaloneInstanceId),
            );
            await assertRefusedWith(
                terminate(web[2], true),
                autoScalingErrors.terminateAtMinSize(2),
            );
            assert.deepEqual(await webGroup(), atMinSize);
        });

        it("lets a test put members in states moto never reports; Detach still refuses them, Terminate takes a Retained one without replacing it", async function () {
            await setLifecycleState(emulator(), web[0], "Pending:Wait");
            await setLifecycleState(emulator(), web[1], "Terminating:Retained");

            await assertRefusedWith(
                detach(workshop.webGroupName, [web[0]], false),
                autoScalingErrors.notInServiceOrStandby(web[0]),
            );
            await terminate(web[1], false);

            const [action] = (await describeGroupActions(emulator())).actions;
            assert.deepEqual(
                [action.instanceId, action.lifecycleState, action.hooksRun, action.replacements],
                [web[1], "Terminating", [], []],
            );
        });
    });

    describe("given a weighted group: min 2, desired 6 units, one 4-unit and two 1-unit instances", function () {
        let weighted: { name: string; instanceIds: string[] };

        beforeEach(async function () {
            await seed(false);
            weighted = await seedWeightedGroup(emulator(), workshop);
        });

        it("returns each instance's WeightedCapacity and the group's DesiredCapacityType", async function () {
            const answer = await autoScaling.send(
                new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [weighted.name] }),
            );
            const group = answer.AutoScalingGroups?.[0];

            assert.equal(group?.DesiredCapacityType, "units");
            assert.equal(group?.DesiredCapacity, 6);
            assert.deepEqual(
                group?.Instances?.map((i) => [i.InstanceId, i.WeightedCapacity]),
                [
                    [weighted.instanceIds[0], "4"],
                    [weighted.instanceIds[1], "1"],
                    [weighted.instanceIds[2], "1"],
                ],
            );
        });

        it("refuses a decrement below MinSize counted in units, with AWS's detach wording, and decrements by units", async function () {
            const [big, small] = weighted.instanceIds;

            await assertRefusedWith(
                detach(weighted.name, [big, small], true),
                autoScalingErrors.belowMinSize(weighted.name, 2, 20, 6, 2),
            );
            await detach(weighted.name, [big], true);

            assert.deepEqual(await membershipOf(emulator(), weighted.name), {
                desiredCapacity: 2,
                instances: weighted.instanceIds.slice(1).map((id) => `${id} InService`),
            });
        });
    });
});
