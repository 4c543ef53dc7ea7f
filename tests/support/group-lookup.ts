import {
    type AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    type DescribeAutoScalingGroupsCommandOutput,
    DescribeLifecycleHooksCommand,
    DetachInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import type { AwsClientStub } from "aws-sdk-client-mock";

/** One group as DescribeAutoScalingGroups answers for it: sizes, members in their states, tags. */
export function groupLookupAnswer(
    name: string,
    {
        minSize = 0,
        desiredCapacity = 4,
        members = [],
        tags = {},
        capacityRebalance = false,
    }: {
        minSize?: number;
        desiredCapacity?: number;
        /** Instance id and lifecycle state, e.g. ["i-…", "InService"]. */
        members?: readonly (readonly [string, string])[];
        tags?: Record<string, string>;
        /** The group replaces a warned Spot instance by itself. */
        capacityRebalance?: boolean;
    } = {},
): Pick<DescribeAutoScalingGroupsCommandOutput, "AutoScalingGroups"> {
    return {
        AutoScalingGroups: [
            {
                AutoScalingGroupName: name,
                MinSize: minSize,
                MaxSize: Math.max(12, desiredCapacity),
                DesiredCapacity: desiredCapacity,
                DefaultCooldown: 300,
                CapacityRebalance: capacityRebalance,
                AvailabilityZones: ["eu-west-1a"],
                HealthCheckType: "ELB",
                CreatedTime: new Date(0),
                Instances: members.map(([InstanceId, LifecycleState]) => ({
                    InstanceId,
                    LifecycleState: LifecycleState as "InService",
                    AvailabilityZone: "eu-west-1a",
                    HealthStatus: "HEALTHY",
                    ProtectedFromScaleIn: false,
                })),
                Tags: Object.entries(tags).map(([Key, Value]) => ({
                    Key,
                    Value,
                    ResourceId: name,
                    ResourceType: "auto-scaling-group",
                    PropagateAtLaunch: false,
                })),
            },
        ],
    };
}

/**
 * From now on, the stubbed client finds `instanceId` InService in `group`, a plain group with
 * no lifecycle hook, and every detach succeeds.
 */
export function answerWithOneMember(
    autoScaling: AwsClientStub<AutoScalingClient>,
    group: string,
    instanceId: string,
): void {
    autoScaling.reset();
    autoScaling
        .on(DescribeAutoScalingGroupsCommand)
        .resolves(groupLookupAnswer(group, { members: [[instanceId, "InService"]] }));
    autoScaling.on(DescribeLifecycleHooksCommand).resolves({ LifecycleHooks: [] });
    autoScaling.on(DetachInstancesCommand).resolves({});
}
