/** The group-side tests' steps on the emulator: a hook, a weighted group, membership, exact refusals. */
import { strict as assert } from "node:assert";
import {
    AutoScalingServiceException,
    UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { describeGroupState } from "../../emulator/group-state";
import { type Emulator } from "../../emulator/server";
import {
    createGroup,
    launchInto,
    webTierPolicy,
    type WorkshopEnvironment,
    withSeedClients,
} from "../../emulator/workshop";

const WEIGHTED_GROUP_NAME = "weighted";

/**
 * A group weighing m7i.large 1 and m7i.2xlarge 4, in the workshop's first subnet: min 2, desired 6
 * units, max 20; its instanceIds the 4-unit instance first, then the two 1-unit ones.
 */
export async function seedWeightedGroup(
    emulator: Emulator,
    workshop: WorkshopEnvironment,
): Promise<{ name: string; instanceIds: string[] }> {
    const policy = webTierPolicy(workshop.launchTemplateId, [
        { InstanceType: "m7i.large", WeightedCapacity: "1" },
        { InstanceType: "m7i.2xlarge", WeightedCapacity: "4" },
    ]);
    const subnetId = workshop.subnetIds[0];
    return withSeedClients(emulator, async ({ ec2, autoScaling }) => {
        const types = ["m7i.2xlarge", "m7i.large", "m7i.large"] as const;
        const slots = types.map((instanceType) => ({ subnetId, instanceType }));
        const instanceIds = await launchInto(ec2, workshop, slots, WEIGHTED_GROUP_NAME);
        const group = {
            LaunchTemplate: undefined,
            MixedInstancesPolicy: policy,
            MaxSize: 20,
            DesiredCapacityType: "units",
            VPCZoneIdentifier: subnetId,
        };
        const name = WEIGHTED_GROUP_NAME;
        await createGroup(autoScaling, workshop, name, name, group, instanceIds);
        // Sizes in units after attaching, which counts instances; moto drops a policy not restated.
        await autoScaling.send(
            new UpdateAutoScalingGroupCommand({
                AutoScalingGroupName: name,
                MinSize: 2,
                DesiredCapacity: 6,
                MixedInstancesPolicy: policy,
            }),
        );
        return { name, instanceIds };
    });
}

/** A group's desired capacity and its members as "<instance id> <lifecycle state>", in order. */
export async function membershipOf(
    emulator: Emulator,
    groupName: string,
): Promise<{ desiredCapacity: number; instances: string[] }> {
    const group = await describeGroupState(emulator, groupName);
    return {
        desiredCapacity: group.desiredCapacity,
        instances: group.instances.map(
            (instance) => `${instance.instanceId} ${instance.lifecycleState}`,
        ),
    };
}

/** The call failed as the SDK reports AWS's refusal: same error name and message, HTTP 400. */
export async function assertRefusedWith(call: Promise<unknown>, expected: Error): Promise<void> {
    await assert.rejects(call, (error: unknown) => {
        assert.ok(error instanceof AutoScalingServiceException, String(error));
        assert.equal(error.name, expected.name);
        assert.equal(error.message, expected.message);
        assert.equal(error.$metadata.httpStatusCode, 400);
        return true;
    });
}
