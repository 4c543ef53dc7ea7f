/** The group-side tests' steps on the emulator: a hook, a weighted group, membership, exact refusals. */
import { strict as assert } from "node:assert";
import {
    AttachInstancesCommand,
    AutoScalingClient,
    AutoScalingServiceException,
    CreateAutoScalingGroupCommand,
    type MixedInstancesPolicy,
    PutLifecycleHookCommand,
    UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { EC2Client, RunInstancesCommand, type _InstanceType } from "@aws-sdk/client-ec2";
import { clientConfigFor, describeGroupState, required } from "../../emulator/group-state";
import { type Emulator } from "../../emulator/server";
import { type WorkshopEnvironment } from "../../emulator/workshop";
import { TERMINATING_TRANSITION } from "../../handler/auto-scaling";

const WEIGHTED_GROUP_NAME = "weighted";
const IMAGE_ID = "ami-04681a1dbd79675a5";

/** PutLifecycleHook on the group: a termination hook unless another transition is given. */
export async function putLifecycleHook(
    emulator: Emulator,
    groupName: string,
    hookName: string,
    transition = TERMINATING_TRANSITION,
): Promise<void> {
    await withClients(emulator, (autoScaling) =>
        autoScaling.send(
            new PutLifecycleHookCommand({
                AutoScalingGroupName: groupName,
                LifecycleHookName: hookName,
                LifecycleTransition: transition,
                HeartbeatTimeout: 300,
            }),
        ),
    );
}

/** Runs `use` with an Auto Scaling and an EC2 client for the emulator, destroyed after it. */
async function withClients<T>(
    emulator: Emulator,
    use: (autoScaling: AutoScalingClient, ec2: EC2Client) => Promise<T>,
): Promise<T> {
    const autoScaling = new AutoScalingClient(clientConfigFor(emulator));
    const ec2 = new EC2Client(clientConfigFor(emulator));
    try {
        return await use(autoScaling, ec2);
    } finally {
        autoScaling.destroy();
        ec2.destroy();
    }
}

/**
 * A group weighing m7i.large 1 and m7i.2xlarge 4, in the workshop's first subnet: min 2, desired 6
 * units, max 20; its instanceIds the 4-unit instance first, then the two 1-unit ones.
 */
export async function seedWeightedGroup(
    emulator: Emulator,
    workshop: WorkshopEnvironment,
): Promise<{ name: string; instanceIds: string[] }> {
    const policy: MixedInstancesPolicy = {
        LaunchTemplate: {
            LaunchTemplateSpecification: {
                LaunchTemplateId: workshop.launchTemplateId,
                Version: "$Latest",
            },
            Overrides: [
                { InstanceType: "m7i.large", WeightedCapacity: "1" },
                { InstanceType: "m7i.2xlarge", WeightedCapacity: "4" },
            ],
        },
        InstancesDistribution: {
            OnDemandBaseCapacity: 0,
            OnDemandPercentageAboveBaseCapacity: 0,
            SpotAllocationStrategy: "price-capacity-optimized",
        },
    };
    return withClients(emulator, async (autoScaling, ec2) => {
        await autoScaling.send(
            new CreateAutoScalingGroupCommand({
                AutoScalingGroupName: WEIGHTED_GROUP_NAME,
                MixedInstancesPolicy: policy,
                MinSize: 0,
                DesiredCapacity: 0,
                MaxSize: 20,
                DesiredCapacityType: "units",
                VPCZoneIdentifier: workshop.subnetIds[0],
            }),
        );
        const launch = async (type: _InstanceType, count: number) => {
            const answer = await ec2.send(
                new RunInstancesCommand({
                    MinCount: count,
                    MaxCount: count,
                    ImageId: IMAGE_ID,
                    InstanceType: type,
                    SubnetId: workshop.subnetIds[0],
                }),
            );
            return (answer.Instances ?? []).map((i) => required(i.InstanceId, "InstanceId"));
        };
        const instanceIds = [
            ...(await launch("m7i.2xlarge", 1)),
            ...(await launch("m7i.large", 2)),
        ];
        await autoScaling.send(
            new AttachInstancesCommand({
                AutoScalingGroupName: WEIGHTED_GROUP_NAME,
                InstanceIds: instanceIds,
            }),
        );
        // Sizes in units after attaching, which counts instances; moto drops a policy not restated.
        await autoScaling.send(
            new UpdateAutoScalingGroupCommand({
                AutoScalingGroupName: WEIGHTED_GROUP_NAME,
                MinSize: 2,
                DesiredCapacity: 6,
                MixedInstancesPolicy: policy,
            }),
        );
        return { name: WEIGHTED_GROUP_NAME, instanceIds };
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
