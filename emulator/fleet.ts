/** The bench's many-groups storm: `groups` tagged Spot groups of `size`, a neighbour tagged otherwise, one lone instance. */
import { type Filter, paginateDescribeAutoScalingGroups } from "@aws-sdk/client-auto-scaling";
import type { _InstanceType } from "@aws-sdk/client-ec2";
import { WEB_TIER_GROUP_TAG_KEY } from "../config/index";
import type { Emulator } from "./server";
import { required } from "./group-state";
import {
    createGroup,
    launchInto,
    launchStandalone,
    seedNetwork,
    withSeedClients,
} from "./workshop";

export interface GroupFleetOptions {
    /** Groups the handlers protect. Default 10. */
    readonly groups?: number;
    /** Instances in each of them. Default 100. */
    readonly size?: number;
    /** Instances in the neighbour group. Default 20. */
    readonly neighbourSize?: number;
}

export type GroupFleet = Awaited<ReturnType<typeof seedGroupFleet>>;

/** The tag every protected group carries. */
export const FLEET_TAG = { key: WEB_TIER_GROUP_TAG_KEY, value: "web" } as const;
export const FLEET_NEIGHBOUR_TAG = { key: WEB_TIER_GROUP_TAG_KEY, value: "other" } as const;
/** A group with the same tag key and another value: no handler may touch it. */
export const FLEET_NEIGHBOUR_GROUP_NAME = "other";
export const FLEET_DEFAULTS = { groups: 10, size: 100, neighbourSize: 20 } as const;
/** Each /20 subnet holds 4091 instances; keep-mode replacements all land in the first one. */
export const MAX_FLEET_INSTANCES = 3000;

const INSTANCE_TYPE: _InstanceType = "m7i.large";

/** `web-01`, `web-02`, ...: the protected groups' names, zero-padded so that they sort. */
export function fleetGroupNames(groups: number): string[] {
    const width = Math.max(2, String(groups).length);
    return Array.from({ length: groups }, (_, i) => `web-${String(i + 1).padStart(width, "0")}`);
}

/** Seeds a fresh emulator as the workshop does, minus what the handler never reads (target group, mixed policy). */
export async function seedGroupFleet(emulator: Emulator, options: GroupFleetOptions = {}) {
    const { groups, size, neighbourSize } = fleetSizes(options);
    return withSeedClients(emulator, async ({ ec2, autoScaling }) => {
        const network = await seedNetwork(ec2, emulator.region, "fleet", INSTANCE_TYPE);
        const groupNames = fleetGroupNames(groups);
        const members = [
            ...groupNames.map((name) => ({ name, size, tag: FLEET_TAG })),
            { name: FLEET_NEIGHBOUR_GROUP_NAME, size: neighbourSize, tag: FLEET_NEIGHBOUR_TAG },
        ];
        // Slot j of every group goes to subnet j mod 3; one RunInstances per subnet for them all.
        const { subnetIds } = network;
        const slots = members.flatMap((member, m) =>
            Array.from({ length: member.size }, (_, j) => ({
                m,
                subnetId: subnetIds[j % subnetIds.length],
                instanceType: INSTANCE_TYPE,
            })),
        );
        const launched = await launchInto(ec2, network, slots, "fleet");
        const ids = members.map((_, m) => launched.filter((_, i) => slots[i].m === m));
        for (const [m, { name, tag }] of members.entries()) {
            const Tags = [{ Key: tag.key, Value: tag.value, PropagateAtLaunch: false }];
            await createGroup(autoScaling, network, name, `fleet-${name}`, { Tags }, ids[m]);
        }
        return {
            ...network,
            groupNames,
            /** Each protected group's instances, in the order of groupNames. */
            instanceIds: ids.slice(0, groups),
            tag: FLEET_TAG,
            neighbourGroupName: FLEET_NEIGHBOUR_GROUP_NAME,
            neighbourInstanceIds: ids[groups],
            /** An EC2 instance in no group. */
            standaloneInstanceId: await launchStandalone(ec2, network, "fleet"),
        };
    });
}

/** The options with their defaults, refused when moto's subnets could not hold them. */
function fleetSizes(options: GroupFleetOptions): Required<GroupFleetOptions> {
    const sizes = { ...FLEET_DEFAULTS, ...options };
    const { groups, size, neighbourSize } = sizes;
    const minimums = { groups: 1, size: 1, neighbourSize: 0 };
    for (const [name, min] of Object.entries(minimums)) {
        const value = sizes[name as keyof typeof minimums];
        if (!Number.isInteger(value) || value < min) {
            throw new RangeError(`${name} must be a whole number from ${min}, not ${value}`);
        }
    }
    if (groups * size + neighbourSize > MAX_FLEET_INSTANCES) {
        throw new RangeError(
            `${groups} groups of ${size} and ${neighbourSize} neighbours exceed ${MAX_FLEET_INSTANCES} instances`,
        );
    }
    return sizes;
}

/** Every page of DescribeAutoScalingGroups for `filters`, as the handler's tag lookup reads it. */
export async function groupNamesMatching(
    emulator: Emulator,
    filters: readonly Filter[],
): Promise<string[]> {
    return withSeedClients(emulator, async ({ autoScaling }) => {
        const names: string[] = [];
        const pages = paginateDescribeAutoScalingGroups(
            { client: autoScaling, pageSize: 100 },
            { Filters: [...filters] },
        );
        for await (const page of pages) {
            for (const group of page.AutoScalingGroups ?? []) {
                names.push(required(group.AutoScalingGroupName, "AutoScalingGroupName"));
            }
        }
        return names;
    });
}
