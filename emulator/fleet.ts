/**
 * A fleet of Auto Scaling groups in the emulator, for the many-groups storm of `npm run bench`:
 * `groups` Spot groups of `size` instances each, all tagged `spot-interruption-handler=web`, and
 * an unmanaged neighbour group with the same tag key and another value, plus one instance in no
 * group. Reading state back is group-state.ts's describeGroupState, one group at a time.
 */
import {
    AttachInstancesCommand,
    AutoScalingClient,
    CreateAutoScalingGroupCommand,
    DescribeAutoScalingGroupsCommand,
    type Filter,
} from "@aws-sdk/client-auto-scaling";
import {
    CreateLaunchTemplateCommand,
    CreateSubnetCommand,
    CreateVpcCommand,
    EC2Client,
    RunInstancesCommand,
    type _InstanceType,
} from "@aws-sdk/client-ec2";
import { WEB_TIER_GROUP_TAG_KEY } from "../config/index";
import { publicSubnetCidrBlock } from "../components/spot-web-tier/index";
import type { Emulator } from "./server";
import { clientConfigFor, required } from "./group-state";

export interface GroupFleetOptions {
    /** Groups the handlers protect. Default 10. */
    readonly groups?: number;
    /** Instances in each of them. Default 100. */
    readonly size?: number;
    /** Instances in the neighbour group. Default 20. */
    readonly neighbourSize?: number;
}

export interface GroupFleet {
    readonly vpcId: string;
    /** One /20 subnet in each of the region's zones a, b and c. */
    readonly subnetIds: string[];
    readonly launchTemplateId: string;
    /** The protected groups, in order: web-01, web-02, ... */
    readonly groupNames: string[];
    /** Each protected group's instances, in the order of groupNames. */
    readonly instanceIds: string[][];
    /** The tag every protected group carries. */
    readonly tag: { readonly key: string; readonly value: string };
    /** A group with the same tag key and another value: no handler may touch it. */
    readonly neighbourGroupName: string;
    readonly neighbourTag: { readonly key: string; readonly value: string };
    readonly neighbourInstanceIds: string[];
    /** An EC2 instance in no group. */
    readonly standaloneInstanceId: string;
}

export const FLEET_TAG = { key: WEB_TIER_GROUP_TAG_KEY, value: "web" } as const;
export const FLEET_NEIGHBOUR_TAG = { key: WEB_TIER_GROUP_TAG_KEY, value: "other" } as const;
export const FLEET_NEIGHBOUR_GROUP_NAME = "other";
export const FLEET_DEFAULTS = { groups: 10, size: 100, neighbourSize: 20 } as const;
/** Each /20 subnet holds 4091 instances; keep-mode replacements all land in the first one. */
export const MAX_FLEET_INSTANCES = 3000;

// Amazon Linux 2 from moto's built-in AMI list, as the workshop seed uses.
const IMAGE_ID = "ami-04681a1dbd79675a5";
const INSTANCE_TYPE: _InstanceType = "m7i.large";
const VPC_CIDR = "10.0.0.0/16";
const ZONE_SUFFIXES = ["a", "b", "c"];
/** AttachInstances takes at most 20 ids per call on AWS (moto takes more). */
const MAX_ATTACH_INSTANCE_IDS = 20;

/** `web-01`, `web-02`, ...: the protected groups' names, zero-padded so that they sort. */
export function fleetGroupNames(groups: number): string[] {
    const width = Math.max(2, String(groups).length);
    return Array.from({ length: groups }, (_, i) => `web-${String(i + 1).padStart(width, "0")}`);
}

/**
 * Seeds a fresh emulator (call `emulator.reset()` first to seed again: names are fixed).
 *
 * As the workshop seed does, and for the same moto 5.2.5 gaps: every group is created empty and
 * its instances are launched here (one RunInstances per subnet for the whole fleet, as Spot) and
 * attached 20 ids a call, instance i of a group in subnet i mod 3. The groups have no target
 * group and no mixed instances policy: the handler reads neither, and moto would only spend time
 * registering targets. MinSize is 0: the storm runs in keep mode, where it does not matter.
 */
export async function seedGroupFleet(
    emulator: Emulator,
    options: GroupFleetOptions = {},
): Promise<GroupFleet> {
    const { groups, size, neighbourSize } = { ...FLEET_DEFAULTS, ...options };
    for (const [name, value, min] of [
        ["groups", groups, 1],
        ["size", size, 1],
        ["neighbourSize", neighbourSize, 0],
    ] as const) {
        if (!Number.isInteger(value) || value < min) {
            throw new RangeError(`${name} must be a whole number from ${min}, not ${value}`);
        }
    }
    if (groups * size + neighbourSize > MAX_FLEET_INSTANCES) {
        throw new RangeError(
            `${groups} groups of ${size} and ${neighbourSize} neighbours exceed ${MAX_FLEET_INSTANCES} instances`,
        );
    }
    const ec2 = new EC2Client(clientConfigFor(emulator));
    const autoScaling = new AutoScalingClient(clientConfigFor(emulator));
    try {
        const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: VPC_CIDR }));
        const vpcId = required(vpc.Vpc?.VpcId, "CreateVpc VpcId");
        const subnetIds: string[] = [];
        for (const [index, suffix] of ZONE_SUFFIXES.entries()) {
            const subnet = await ec2.send(
                new CreateSubnetCommand({
                    VpcId: vpcId,
                    CidrBlock: publicSubnetCidrBlock(index),
                    AvailabilityZone: `${emulator.region}${suffix}`,
                }),
            );
            subnetIds.push(required(subnet.Subnet?.SubnetId, "CreateSubnet SubnetId"));
        }
        const template = await ec2.send(
            new CreateLaunchTemplateCommand({
                LaunchTemplateName: "fleet",
                LaunchTemplateData: { ImageId: IMAGE_ID, InstanceType: INSTANCE_TYPE },
            }),
        );
        const launchTemplateId = required(
            template.LaunchTemplate?.LaunchTemplateId,
            "CreateLaunchTemplate LaunchTemplateId",
        );

        const groupNames = fleetGroupNames(groups);
        const members = [
            ...groupNames.map((name) => ({ name, size, tag: FLEET_TAG })),
            { name: FLEET_NEIGHBOUR_GROUP_NAME, size: neighbourSize, tag: FLEET_NEIGHBOUR_TAG },
        ];
        // Slot j of every group goes to subnet j mod 3; one RunInstances per subnet for them all.
        const slots = members.flatMap((member, m) =>
            Array.from({ length: member.size }, (_, j) => ({ m, j })),
        );
        const ids: string[][] = members.map(() => []);
        for (const [subnet, subnetId] of subnetIds.entries()) {
            const here = slots.filter(({ j }) => j % subnetIds.length === subnet);
            const launched = await runInstances(ec2, here.length, launchTemplateId, subnetId);
            here.forEach(({ m, j }, n) => (ids[m][j] = launched[n]));
        }
        for (const [m, member] of members.entries()) {
            await autoScaling.send(
                new CreateAutoScalingGroupCommand({
                    AutoScalingGroupName: member.name,
                    LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: "$Latest" },
                    MinSize: 0,
                    DesiredCapacity: 0,
                    MaxSize: member.size,
                    VPCZoneIdentifier: subnetIds.join(","),
                    Tags: [
                        { Key: "Name", Value: `fleet-${member.name}`, PropagateAtLaunch: true },
                        { Key: member.tag.key, Value: member.tag.value, PropagateAtLaunch: false },
                    ],
                }),
            );
            for (let start = 0; start < ids[m].length; start += MAX_ATTACH_INSTANCE_IDS) {
                await autoScaling.send(
                    new AttachInstancesCommand({
                        AutoScalingGroupName: member.name,
                        InstanceIds: ids[m].slice(start, start + MAX_ATTACH_INSTANCE_IDS),
                    }),
                );
            }
        }
        const [standaloneInstanceId] = await runInstances(
            ec2,
            1,
            launchTemplateId,
            subnetIds[1 % subnetIds.length],
            false,
        );
        return {
            vpcId,
            subnetIds,
            launchTemplateId,
            groupNames,
            instanceIds: ids.slice(0, groups),
            tag: FLEET_TAG,
            neighbourGroupName: FLEET_NEIGHBOUR_GROUP_NAME,
            neighbourTag: FLEET_NEIGHBOUR_TAG,
            neighbourInstanceIds: ids[groups],
            standaloneInstanceId,
        };
    } finally {
        ec2.destroy();
        autoScaling.destroy();
    }
}

/** One RunInstances of exactly `count` instances (none for 0); their ids, in launch order. */
async function runInstances(
    ec2: EC2Client,
    count: number,
    launchTemplateId: string,
    subnetId: string,
    spot = true,
): Promise<string[]> {
    if (count === 0) {
        return [];
    }
    const response = await ec2.send(
        new RunInstancesCommand({
            MinCount: count,
            MaxCount: count,
            LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: "$Latest" },
            SubnetId: subnetId,
            InstanceMarketOptions: spot ? { MarketType: "spot" } : undefined,
        }),
    );
    return (response.Instances ?? []).map((i) => required(i.InstanceId, "InstanceId"));
}

/**
 * The names DescribeAutoScalingGroups returns for `filters`, every page read (100 a page), as
 * the handler's tag lookup asks: the bench checks the emulator's answer against the seed.
 */
export async function groupNamesMatching(
    emulator: Emulator,
    filters: readonly Filter[],
): Promise<string[]> {
    const autoScaling = new AutoScalingClient(clientConfigFor(emulator));
    try {
        const names: string[] = [];
        let nextToken: string | undefined;
        for (let page = 0; page < 50; page++) {
            const answer = await autoScaling.send(
                new DescribeAutoScalingGroupsCommand({
                    Filters: [...filters],
                    MaxRecords: 100,
                    NextToken: nextToken,
                }),
            );
            names.push(
                ...(answer.AutoScalingGroups ?? []).map((g) =>
                    required(g.AutoScalingGroupName, "AutoScalingGroupName"),
                ),
            );
            nextToken = answer.NextToken;
            if (nextToken === undefined) {
                break;
            }
        }
        return names;
    } finally {
        autoScaling.destroy();
    }
}
