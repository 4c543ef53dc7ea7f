/** The emulator's state read back (a group, an instance) and the client settings that point at it. */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import type { Emulator } from "./server";

export interface GroupState {
    name: string;
    minSize: number;
    maxSize: number;
    desiredCapacity: number;
    instances: {
        instanceId: string;
        lifecycleState: string;
        instanceType?: string;
        availabilityZone?: string;
    }[];
}

export async function describeGroupState(
    emulator: Emulator,
    groupName: string,
): Promise<GroupState> {
    const autoScaling = new AutoScalingClient(clientConfigFor(emulator));
    const response = await autoScaling
        .send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }))
        .finally(() => autoScaling.destroy());
    const group = response.AutoScalingGroups?.[0];
    if (group === undefined) {
        throw new Error(`Auto Scaling group ${groupName} does not exist`);
    }
    return {
        name: required(group.AutoScalingGroupName, "AutoScalingGroupName"),
        minSize: required(group.MinSize, "MinSize"),
        maxSize: required(group.MaxSize, "MaxSize"),
        desiredCapacity: required(group.DesiredCapacity, "DesiredCapacity"),
        instances: (group.Instances ?? []).map((instance) => ({
            instanceId: required(instance.InstanceId, "InstanceId"),
            lifecycleState: required(instance.LifecycleState, "LifecycleState"),
            instanceType: instance.InstanceType,
            availabilityZone: instance.AvailabilityZone,
        })),
    };
}

/** The EC2 state name ("running", "terminated", ...), or undefined for an unknown instance. */
export async function describeInstanceState(
    emulator: Emulator,
    instanceId: string,
): Promise<string | undefined> {
    const ec2 = new EC2Client(clientConfigFor(emulator));
    const response = await ec2
        .send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))
        .catch((error: unknown) => {
            if (error instanceof Error && error.name === "InvalidInstanceID.NotFound") return;
            throw error;
        })
        .finally(() => ec2.destroy());
    const instances = response?.Reservations?.flatMap((reservation) => reservation.Instances);
    return instances?.find((candidate) => candidate?.InstanceId === instanceId)?.State?.Name;
}

/** Explicit client settings from the emulator's environment, so process.env stays untouched. */
export function clientConfigFor(emulator: Emulator) {
    const environment = emulator.environment();
    const variable = (name: string): string => required(environment[name], name);
    return {
        endpoint: variable("AWS_ENDPOINT_URL"),
        region: variable("AWS_REGION"),
        credentials: {
            accessKeyId: variable("AWS_ACCESS_KEY_ID"),
            secretAccessKey: variable("AWS_SECRET_ACCESS_KEY"),
        },
    };
}

export function required<T>(value: T | undefined, what: string): T {
    if (value === undefined) {
        throw new Error(`The emulator's answer lacks ${what}`);
    }
    return value;
}
