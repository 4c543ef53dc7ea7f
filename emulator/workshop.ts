/**
 * The seed workshop's environment in the emulator: what its CloudFormation stack creates (a VPC
 * over three zones, a target group, the Spot web group and its neighbours). Reading state back is
 * in group-state.ts.
 */
import {
    AutoScalingClient,
    AttachInstancesCommand,
    CreateAutoScalingGroupCommand,
    UpdateAutoScalingGroupCommand,
    type MixedInstancesPolicy,
} from "@aws-sdk/client-auto-scaling";
import {
    CreateLaunchTemplateCommand,
    CreateSubnetCommand,
    CreateVpcCommand,
    EC2Client,
    RunInstancesCommand,
    type _InstanceType,
} from "@aws-sdk/client-ec2";
import {
    CreateTargetGroupCommand,
    ElasticLoadBalancingV2Client,
    ModifyTargetGroupAttributesCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Emulator } from "./server";
import {
    DEFAULT_INSTANCE_TYPES,
    publicSubnetCidrBlock,
    resolveWebTierSettings,
} from "../components/spot-web-tier/index";
import { clientConfigFor, required } from "./group-state";

/**
 * What the seed workshop's CloudFormation stack provides: a VPC over three AZs, a target group
 * and a Spot "web" group, plus neighbours the handler must leave alone.
 */
export interface WorkshopEnvironment {
    readonly vpcId: string;
    /** One subnet in each of the region's zones a, b and c. */
    readonly subnetIds: string[];
    /** HTTP:80, health check "/", deregistration delay 120 s. */
    readonly targetGroupArn: string;
    readonly launchTemplateId: string;
    /** Spot-only mixed instances group attached to the target group. */
    readonly webGroupName: string;
    /** A second group with a plain launch template. */
    readonly otherGroupName: string;
    /** An EC2 instance in no group. */
    readonly standaloneInstanceId: string;
}

export interface WorkshopSeedOptions {
    webGroup?: {
        minSize?: number;
        desiredCapacity?: number;
        maxSize?: number;
        /** The web group's CapacityRebalance. Default false. */
        capacityRebalance?: boolean;
    };
}

export const WEB_GROUP_NAME = "web";
export const OTHER_GROUP_NAME = "batch";
export const DEREGISTRATION_DELAY_SECONDS = 120;
/** The SpotWebTier's defaults, so that the emulated group has the shape `pulumi up` builds. */
export const WEB_TIER_DEFAULTS = resolveWebTierSettings({});
/** The overrides of the web group, in priority order: the web tier's default types. */
export const WEB_INSTANCE_TYPES = DEFAULT_INSTANCE_TYPES as readonly _InstanceType[];

const DEFAULT_WEB_GROUP = {
    minSize: WEB_TIER_DEFAULTS.minSize,
    desiredCapacity: WEB_TIER_DEFAULTS.desiredCapacity,
    maxSize: WEB_TIER_DEFAULTS.maxSize,
};
const OTHER_GROUP = { minSize: 1, desiredCapacity: 2, maxSize: 4 };
// Amazon Linux 2 from moto's built-in AMI list, so it also passes MOTO_ENABLE_AMI_VALIDATION.
const IMAGE_ID = "ami-04681a1dbd79675a5";
const VPC_CIDR = "10.0.0.0/16";
const ZONE_SUFFIXES = ["a", "b", "c"];
/** AttachInstances takes at most 20 ids per call on AWS (moto takes more). */
const MAX_ATTACH_INSTANCE_IDS = 20;

/**
 * Seeds a fresh emulator (call `emulator.reset()` first to seed again: names are fixed).
 *
 * Gaps in moto 5.2.5 that shape this seed:
 * - A group launches every instance into the first subnet of VPCZoneIdentifier, with the launch
 *   template's instance type, ignoring the overrides. So the web group is created empty and its
 *   instances are launched here, round-robin over the subnets and override types, as Spot, and
 *   attached (AttachInstances raises desired capacity and registers them in the target group).
 * - UpdateAutoScalingGroup drops a MixedInstancesPolicy it is not given again, so raising MinSize
 *   afterwards restates the policy.
 * Replacements moto launches later (e.g. after DetachInstances without decrement) still land in
 * the first subnet with the launch template's type.
 */
export async function seedWorkshopEnvironment(
    emulator: Emulator,
    options: WorkshopSeedOptions = {},
): Promise<WorkshopEnvironment> {
    const webGroup = { ...DEFAULT_WEB_GROUP, ...options.webGroup };
    assertValidCapacity(webGroup);

    const ec2 = new EC2Client(clientConfigFor(emulator));
    const autoScaling = new AutoScalingClient(clientConfigFor(emulator));
    const elbv2 = new ElasticLoadBalancingV2Client(clientConfigFor(emulator));
    try {
        const vpc = await ec2.send(
            new CreateVpcCommand({
                CidrBlock: VPC_CIDR,
                TagSpecifications: [{ ResourceType: "vpc", Tags: [nameTag("workshop")] }],
            }),
        );
        const vpcId = required(vpc.Vpc?.VpcId, "CreateVpc VpcId");

        const subnetIds: string[] = [];
        for (const [index, suffix] of ZONE_SUFFIXES.entries()) {
            const subnet = await ec2.send(
                new CreateSubnetCommand({
                    VpcId: vpcId,
                    // A /20, as the SpotWebTier builds: a /24 holds too few for a storm.
                    CidrBlock: publicSubnetCidrBlock(index),
                    AvailabilityZone: `${emulator.region}${suffix}`,
                    TagSpecifications: [
                        { ResourceType: "subnet", Tags: [nameTag(`workshop-${suffix}`)] },
                    ],
                }),
            );
            subnetIds.push(required(subnet.Subnet?.SubnetId, "CreateSubnet SubnetId"));
        }

        const template = await ec2.send(
            new CreateLaunchTemplateCommand({
                LaunchTemplateName: "workshop",
                LaunchTemplateData: { ImageId: IMAGE_ID, InstanceType: WEB_INSTANCE_TYPES[0] },
            }),
        );
        const launchTemplateId = required(
            template.LaunchTemplate?.LaunchTemplateId,
            "CreateLaunchTemplate LaunchTemplateId",
        );

        const targetGroup = await elbv2.send(
            new CreateTargetGroupCommand({
                Name: "workshop-web",
                Protocol: "HTTP",
                Port: 80,
                VpcId: vpcId,
                TargetType: "instance",
                HealthCheckProtocol: "HTTP",
                HealthCheckPath: "/",
            }),
        );
        const targetGroupArn = required(
            targetGroup.TargetGroups?.[0]?.TargetGroupArn,
            "CreateTargetGroup TargetGroupArn",
        );
        await elbv2.send(
            new ModifyTargetGroupAttributesCommand({
                TargetGroupArn: targetGroupArn,
                Attributes: [
                    {
                        Key: "deregistration_delay.timeout_seconds",
                        Value: String(DEREGISTRATION_DELAY_SECONDS),
                    },
                ],
            }),
        );

        const mixedInstancesPolicy: MixedInstancesPolicy = {
            LaunchTemplate: {
                LaunchTemplateSpecification: {
                    LaunchTemplateId: launchTemplateId,
                    Version: "$Latest",
                },
                Overrides: WEB_INSTANCE_TYPES.map((instanceType) => ({
                    InstanceType: instanceType,
                })),
            },
            InstancesDistribution: {
                OnDemandBaseCapacity: WEB_TIER_DEFAULTS.onDemandBaseCapacity,
                OnDemandPercentageAboveBaseCapacity:
                    WEB_TIER_DEFAULTS.onDemandPercentageAboveBaseCapacity,
                SpotAllocationStrategy: WEB_TIER_DEFAULTS.spotAllocationStrategy,
            },
        };
        const vpcZoneIdentifier = subnetIds.join(",");
        await autoScaling.send(
            new CreateAutoScalingGroupCommand({
                AutoScalingGroupName: WEB_GROUP_NAME,
                MixedInstancesPolicy: mixedInstancesPolicy,
                MinSize: 0,
                DesiredCapacity: 0,
                MaxSize: webGroup.maxSize,
                VPCZoneIdentifier: vpcZoneIdentifier,
                TargetGroupARNs: [targetGroupArn],
                CapacityRebalance: options.webGroup?.capacityRebalance ?? false,
                HealthCheckType: "ELB",
                HealthCheckGracePeriod: 300,
                Tags: [{ ...nameTag("workshop-web"), PropagateAtLaunch: true }],
            }),
        );
        // Instance i: subnet i mod 3, override type i mod n. One RunInstances per subnet and type
        // (a thousand seed in seconds), then AttachInstances in that order, 20 ids a call as on AWS.
        const web = { launchTemplateId, name: "workshop-web", spot: true };
        const [zones, types] = [subnetIds.length, WEB_INSTANCE_TYPES.length];
        const indices = [...Array(webGroup.desiredCapacity).keys()];
        const webInstanceIds: string[] = [];
        for (const [subnet, subnetId] of subnetIds.entries()) {
            for (const [type, instanceType] of WEB_INSTANCE_TYPES.entries()) {
                const at = indices.filter((i) => i % zones === subnet && i % types === type);
                const ids = await runInstances(ec2, at.length, { ...web, subnetId, instanceType });
                at.forEach((index, n) => (webInstanceIds[index] = ids[n]));
            }
        }
        for (let start = 0; start < webInstanceIds.length; start += MAX_ATTACH_INSTANCE_IDS) {
            await autoScaling.send(
                new AttachInstancesCommand({
                    AutoScalingGroupName: WEB_GROUP_NAME,
                    InstanceIds: webInstanceIds.slice(start, start + MAX_ATTACH_INSTANCE_IDS),
                }),
            );
        }
        await autoScaling.send(
            new UpdateAutoScalingGroupCommand({
                AutoScalingGroupName: WEB_GROUP_NAME,
                MinSize: webGroup.minSize,
                MixedInstancesPolicy: mixedInstancesPolicy,
            }),
        );

        await autoScaling.send(
            new CreateAutoScalingGroupCommand({
                AutoScalingGroupName: OTHER_GROUP_NAME,
                LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: "$Latest" },
                MinSize: OTHER_GROUP.minSize,
                DesiredCapacity: OTHER_GROUP.desiredCapacity,
                MaxSize: OTHER_GROUP.maxSize,
                VPCZoneIdentifier: vpcZoneIdentifier,
                Tags: [{ ...nameTag("workshop-batch"), PropagateAtLaunch: true }],
            }),
        );

        const [standaloneInstanceId] = await runInstances(ec2, 1, {
            launchTemplateId,
            subnetId: subnetIds[1 % subnetIds.length],
            instanceType: "t3.micro",
            name: "workshop-standalone",
            spot: false,
        });

        return {
            vpcId,
            subnetIds,
            targetGroupArn,
            launchTemplateId,
            webGroupName: WEB_GROUP_NAME,
            otherGroupName: OTHER_GROUP_NAME,
            standaloneInstanceId,
        };
    } finally {
        ec2.destroy();
        autoScaling.destroy();
        elbv2.destroy();
    }
}

/** One RunInstances of exactly `count` instances (none for 0); their ids. */
async function runInstances(
    ec2: EC2Client,
    count: number,
    instance: {
        launchTemplateId: string;
        subnetId: string;
        instanceType: _InstanceType;
        name: string;
        spot: boolean;
    },
): Promise<string[]> {
    if (count === 0) {
        return [];
    }
    const response = await ec2.send(
        new RunInstancesCommand({
            MinCount: count,
            MaxCount: count,
            LaunchTemplate: { LaunchTemplateId: instance.launchTemplateId, Version: "$Latest" },
            InstanceType: instance.instanceType,
            SubnetId: instance.subnetId,
            InstanceMarketOptions: instance.spot ? { MarketType: "spot" } : undefined,
            TagSpecifications: [{ ResourceType: "instance", Tags: [nameTag(instance.name)] }],
        }),
    );
    // MinCount = MaxCount: EC2 launches them all or refuses the call.
    return (response.Instances ?? []).map((i) => required(i.InstanceId, "InstanceId"));
}

function assertValidCapacity(group: {
    minSize: number;
    desiredCapacity: number;
    maxSize: number;
}): void {
    const { minSize, desiredCapacity, maxSize } = group;
    if (!(0 <= minSize && minSize <= desiredCapacity && desiredCapacity <= maxSize)) {
        throw new RangeError(
            `webGroup needs 0 <= minSize <= desiredCapacity <= maxSize, got ${minSize}/${desiredCapacity}/${maxSize}`,
        );
    }
}

function nameTag(name: string): { Key: string; Value: string } {
    return { Key: "Name", Value: name };
}
