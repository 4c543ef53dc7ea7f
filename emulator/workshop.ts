/** The seed workshop's CloudFormation stack, in the emulator, and the seeding steps fleet.ts shares. */
import {
    AutoScalingClient,
    AttachInstancesCommand,
    CreateAutoScalingGroupCommand,
    type CreateAutoScalingGroupCommandInput,
    type LaunchTemplateOverrides,
    UpdateAutoScalingGroupCommand,
    type MixedInstancesPolicy,
    PutLifecycleHookCommand,
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
import { TERMINATING_TRANSITION } from "../handler/auto-scaling";
import { clientConfigFor, required } from "./group-state";

/** A VPC over three zones, a target group and a Spot "web" group, with neighbours to leave alone. */
export interface WorkshopEnvironment extends Network {
    /** HTTP:80, health check "/", deregistration delay 120 s. */
    readonly targetGroupArn: string;
    /** Spot-only mixed instances group attached to the target group. */
    readonly webGroupName: string;
    /** A second group with a plain launch template. */
    readonly otherGroupName: string;
    /** An EC2 instance in no group. */
    readonly standaloneInstanceId: string;
}

export interface WorkshopSeedOptions {
    /** The web group's sizes (the web tier's by default) and CapacityRebalance (default false). */
    webGroup?: Partial<WebGroup>;
}

type WebGroup = typeof DEFAULT_WEB_GROUP & { capacityRebalance: boolean };

/** A VPC with one /20 subnet in each of the region's zones a, b and c, and a launch template. */
export interface Network {
    readonly vpcId: string;
    readonly subnetIds: string[];
    readonly launchTemplateId: string;
}

/** The SDK clients a seed talks to the emulator with. */
export interface SeedClients {
    readonly ec2: EC2Client;
    readonly autoScaling: AutoScalingClient;
    readonly elbv2: ElasticLoadBalancingV2Client;
}

export const WEB_GROUP_NAME = "web";
export const OTHER_GROUP_NAME = "batch";
export const DEREGISTRATION_DELAY_SECONDS = 120;
/** The SpotWebTier's defaults, so that the emulated group has the shape `pulumi up` builds. */
export const WEB_TIER_DEFAULTS = resolveWebTierSettings({});
/** The overrides of the web group, in priority order: the web tier's default types. */
export const WEB_INSTANCE_TYPES = DEFAULT_INSTANCE_TYPES as readonly _InstanceType[];

const { minSize, desiredCapacity, maxSize } = WEB_TIER_DEFAULTS;
const DEFAULT_WEB_GROUP = { minSize, desiredCapacity, maxSize };
const OTHER_GROUP = { MinSize: 1, DesiredCapacity: 2, MaxSize: 4 };
// Amazon Linux 2 from moto's built-in AMI list, so it also passes MOTO_ENABLE_AMI_VALIDATION.
const IMAGE_ID = "ami-04681a1dbd79675a5";
const ZONE_SUFFIXES = ["a", "b", "c"];
const MAX_ATTACH_INSTANCE_IDS = 20; // AWS's cap per AttachInstances (moto takes more)

/** Seeds a fresh emulator (reset it to seed again: names are fixed); see createGroup for why groups start empty. */
export async function seedWorkshopEnvironment(
    emulator: Emulator,
    options: WorkshopSeedOptions = {},
): Promise<WorkshopEnvironment> {
    const webGroup = { ...DEFAULT_WEB_GROUP, capacityRebalance: false, ...options.webGroup };
    const { minSize, desiredCapacity, maxSize } = webGroup;
    if (!(0 <= minSize && minSize <= desiredCapacity && desiredCapacity <= maxSize)) {
        throw new RangeError(
            `webGroup needs 0 <= minSize <= desiredCapacity <= maxSize, got ${minSize}/${desiredCapacity}/${maxSize}`,
        );
    }
    return withSeedClients(emulator, async (clients) => {
        const network = await seedNetwork(clients.ec2, emulator.region, "workshop");
        const targetGroupArn = await seedTargetGroup(clients.elbv2, network.vpcId);
        await seedWebGroup(clients, network, targetGroupArn, webGroup);
        const { autoScaling } = clients;
        await createGroup(autoScaling, network, OTHER_GROUP_NAME, "workshop-batch", OTHER_GROUP);
        return {
            ...network,
            targetGroupArn,
            webGroupName: WEB_GROUP_NAME,
            otherGroupName: OTHER_GROUP_NAME,
            standaloneInstanceId: await launchStandalone(clients.ec2, network, "workshop"),
        };
    });
}

/** HTTP:80 with health check "/" and the workshop's deregistration delay. */
async function seedTargetGroup(
    elbv2: ElasticLoadBalancingV2Client,
    vpcId: string,
): Promise<string> {
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
    const arn = required(targetGroup.TargetGroups?.[0]?.TargetGroupArn, "TargetGroupArn");
    const delay = { Key: "deregistration_delay.timeout_seconds" };
    const Attributes = [{ ...delay, Value: String(DEREGISTRATION_DELAY_SECONDS) }];
    await elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes }));
    return arn;
}

/** The Spot web group, created empty, filled with instance i in subnet i mod 3 of type i mod n. */
async function seedWebGroup(
    { ec2, autoScaling }: SeedClients,
    network: Network,
    targetGroupArn: string,
    webGroup: WebGroup,
): Promise<void> {
    const { launchTemplateId, subnetIds } = network;
    const overrides = WEB_INSTANCE_TYPES.map((instanceType) => ({ InstanceType: instanceType }));
    const mixedInstancesPolicy = webTierPolicy(launchTemplateId, overrides);
    const slots = Array.from({ length: webGroup.desiredCapacity }, (_, i) => ({
        subnetId: subnetIds[i % subnetIds.length],
        instanceType: WEB_INSTANCE_TYPES[i % WEB_INSTANCE_TYPES.length],
    }));
    const instanceIds = await launchInto(ec2, network, slots, "workshop-web");
    const web = {
        MaxSize: webGroup.maxSize,
        LaunchTemplate: undefined,
        MixedInstancesPolicy: mixedInstancesPolicy,
        TargetGroupARNs: [targetGroupArn],
        CapacityRebalance: webGroup.capacityRebalance,
        HealthCheckType: "ELB",
        HealthCheckGracePeriod: 300,
    };
    await createGroup(autoScaling, network, WEB_GROUP_NAME, "workshop-web", web, instanceIds);
    // MinSize once the instances are in; moto drops a MixedInstancesPolicy an update does not restate.
    await autoScaling.send(
        new UpdateAutoScalingGroupCommand({
            AutoScalingGroupName: WEB_GROUP_NAME,
            MinSize: webGroup.minSize,
            MixedInstancesPolicy: mixedInstancesPolicy,
        }),
    );
}

/** The web tier's instances distribution over the launch template, with these overrides. */
export function webTierPolicy(
    launchTemplateId: string,
    overrides: LaunchTemplateOverrides[],
): MixedInstancesPolicy {
    return {
        LaunchTemplate: {
            LaunchTemplateSpecification: { LaunchTemplateId: launchTemplateId, Version: "$Latest" },
            Overrides: overrides,
        },
        InstancesDistribution: {
            OnDemandBaseCapacity: WEB_TIER_DEFAULTS.onDemandBaseCapacity,
            OnDemandPercentageAboveBaseCapacity:
                WEB_TIER_DEFAULTS.onDemandPercentageAboveBaseCapacity,
            SpotAllocationStrategy: WEB_TIER_DEFAULTS.spotAllocationStrategy,
        },
    };
}

/** Runs `seed` with clients for the emulator, destroyed after. */
export async function withSeedClients<T>(
    emulator: Emulator,
    seed: (clients: SeedClients) => Promise<T>,
): Promise<T> {
    const config = clientConfigFor(emulator);
    const clients: SeedClients = {
        ec2: new EC2Client(config),
        autoScaling: new AutoScalingClient(config),
        elbv2: new ElasticLoadBalancingV2Client(config),
    };
    try {
        return await seed(clients);
    } finally {
        Object.values(clients).forEach((client) => client.destroy());
    }
}

/** PutLifecycleHook on the group: a termination hook unless another transition is given. */
export async function putLifecycleHook(
    emulator: Emulator,
    groupName: string,
    hookName: string,
    transition = TERMINATING_TRANSITION,
): Promise<void> {
    await withSeedClients(emulator, ({ autoScaling }) =>
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

/** The VPC, its subnets (/20s, as the SpotWebTier builds: a /24 holds too few for a storm), a template. */
export async function seedNetwork(
    ec2: EC2Client,
    region: string,
    name: string,
    instanceType: _InstanceType = WEB_INSTANCE_TYPES[0],
): Promise<Network> {
    const vpc = await ec2.send(
        new CreateVpcCommand({ CidrBlock: "10.0.0.0/16", TagSpecifications: tags("vpc", name) }),
    );
    const vpcId = required(vpc.Vpc?.VpcId, "CreateVpc VpcId");
    const subnetIds: string[] = [];
    for (const [index, suffix] of ZONE_SUFFIXES.entries()) {
        const subnet = await ec2.send(
            new CreateSubnetCommand({
                VpcId: vpcId,
                CidrBlock: publicSubnetCidrBlock(index),
                AvailabilityZone: `${region}${suffix}`,
                TagSpecifications: tags("subnet", `${name}-${suffix}`),
            }),
        );
        subnetIds.push(required(subnet.Subnet?.SubnetId, "CreateSubnet SubnetId"));
    }
    const { LaunchTemplate: template } = await ec2.send(
        new CreateLaunchTemplateCommand({
            LaunchTemplateName: name,
            LaunchTemplateData: { ImageId: IMAGE_ID, InstanceType: instanceType },
        }),
    );
    return {
        vpcId,
        subnetIds,
        launchTemplateId: required(template?.LaunchTemplateId, "LaunchTemplateId"),
    };
}

/** One instance per slot, one RunInstances per subnet and type (so a thousand take seconds); ids in slot order. */
export async function launchInto(
    ec2: EC2Client,
    { launchTemplateId }: Network,
    slots: readonly { subnetId: string; instanceType: _InstanceType }[],
    name: string,
    spot = true,
): Promise<string[]> {
    const runs = new Map<string, number[]>();
    for (const [index, { subnetId, instanceType }] of slots.entries()) {
        const key = `${subnetId} ${instanceType}`;
        runs.set(key, [...(runs.get(key) ?? []), index]);
    }
    const ids: string[] = [];
    for (const indices of runs.values()) {
        const { subnetId, instanceType } = slots[indices[0]];
        const response = await ec2.send(
            new RunInstancesCommand({
                // MinCount = MaxCount: EC2 launches them all or refuses the call.
                MinCount: indices.length,
                MaxCount: indices.length,
                LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: "$Latest" },
                InstanceType: instanceType,
                SubnetId: subnetId,
                InstanceMarketOptions: spot ? { MarketType: "spot" } : undefined,
                TagSpecifications: tags("instance", name),
            }),
        );
        for (const [n, instance] of (response.Instances ?? []).entries()) {
            ids[indices[n]] = required(instance.InstanceId, "InstanceId");
        }
    }
    return ids;
}

/** An on-demand t3.micro in the second subnet and in no group. */
export async function launchStandalone(ec2: EC2Client, network: Network, name: string) {
    const slot = { subnetId: network.subnetIds[1], instanceType: "t3.micro" } as const;
    return (await launchInto(ec2, network, [slot], `${name}-standalone`, false))[0];
}

/** Empty unless `more` sizes it, then given `instanceIds`: moto 5.2.5 would launch into one subnet with one type. */
export async function createGroup(
    autoScaling: AutoScalingClient,
    { launchTemplateId, subnetIds }: Network,
    groupName: string,
    nameTagValue: string,
    more: Partial<CreateAutoScalingGroupCommandInput>,
    instanceIds: readonly string[] = [],
): Promise<void> {
    await autoScaling.send(
        new CreateAutoScalingGroupCommand({
            AutoScalingGroupName: groupName,
            LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: "$Latest" },
            MinSize: 0,
            DesiredCapacity: 0,
            MaxSize: instanceIds.length,
            VPCZoneIdentifier: subnetIds.join(","),
            ...more,
            Tags: [{ ...nameTag(nameTagValue), PropagateAtLaunch: true }, ...(more.Tags ?? [])],
        }),
    );
    for (let start = 0; start < instanceIds.length; start += MAX_ATTACH_INSTANCE_IDS) {
        const InstanceIds = instanceIds.slice(start, start + MAX_ATTACH_INSTANCE_IDS);
        await autoScaling.send(
            new AttachInstancesCommand({ AutoScalingGroupName: groupName, InstanceIds }),
        );
    }
}

const tags = (resourceType: "vpc" | "subnet" | "instance", name: string) => [
    { ResourceType: resourceType, Tags: [nameTag(name)] },
];

const nameTag = (name: string) => ({ Key: "Name", Value: name });
