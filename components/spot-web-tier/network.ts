/**
 * The tier's network: a new VPC with one public subnet per zone and a route to the internet, or
 * the given subnets of an existing VPC.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type ComponentArgsError, errorInApply } from "../shared/argument-checks";
import { checkFilledByProvider } from "../shared/provider-values";
import { MAX_AVAILABILITY_ZONES, VPC_CIDR_BLOCK, webTierArgumentError } from "./args";
import type { WebTierNetwork } from "./settings";

/** Tags for the child in `role`: its `Name`, `${name}-<role>`, then the caller's tags. */
export type NameTags = (role: string) => pulumi.Input<Record<string, string>>;

/** Where the load balancer and the instances go. */
export interface WebTierNetworkResources {
    readonly vpcId: pulumi.Output<string>;
    readonly subnetIds: pulumi.Output<string[]>;
    /** The new VPC; undefined with an existing one. */
    readonly vpc?: aws.ec2.Vpc;
    /** Internet-facing load balancers and launches must wait for the route to the internet. */
    readonly networkReady: pulumi.Resource[];
}

/** Builds the new VPC as children named `${name}-<role>`, or passes the existing one through. */
export function createNetwork(
    name: string,
    network: WebTierNetwork,
    named: NameTags,
    childOpts: pulumi.CustomResourceOptions & { readonly parent: pulumi.Resource },
): WebTierNetworkResources {
    if (network.kind === "existing-vpc") {
        return {
            vpcId: pulumi.output(network.vpcId),
            subnetIds: pulumi.all([...network.subnetIds]),
            networkReady: [],
        };
    }
    const networkReady: pulumi.Resource[] = [];
    const { availabilityZoneCount } = network;
    const vpc = new aws.ec2.Vpc(
        `${name}-vpc`,
        {
            cidrBlock: VPC_CIDR_BLOCK,
            enableDnsSupport: true,
            enableDnsHostnames: true,
            tags: named("vpc"),
        },
        childOpts,
    );
    // Local Zones and Wavelength Zones cannot host this tier; only regular zones count.
    const lookup = aws.getAvailabilityZonesOutput(
        {
            state: "available",
            filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
        },
        childOpts,
    );
    const zones = checkFilledByProvider(
        lookup.names,
        (names) => (Array.isArray(names) ? undefined : unlistedZonesError(availabilityZoneCount)),
        childOpts.parent,
    ).apply((names) => {
        try {
            return pickAvailabilityZones(names, availabilityZoneCount);
        } catch (error) {
            throw errorInApply(error, childOpts.parent);
        }
    });
    const internetGateway = new aws.ec2.InternetGateway(
        `${name}-igw`,
        { vpcId: vpc.id, tags: named("igw") },
        childOpts,
    );
    const routeTable = new aws.ec2.RouteTable(
        `${name}-public-rt`,
        {
            vpcId: vpc.id,
            routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: internetGateway.id }],
            tags: named("public-rt"),
        },
        childOpts,
    );
    networkReady.push(internetGateway, routeTable);
    const subnets: aws.ec2.Subnet[] = [];
    for (let i = 0; i < availabilityZoneCount; i++) {
        const subnet = new aws.ec2.Subnet(
            `${name}-public-${i}`,
            {
                vpcId: vpc.id,
                cidrBlock: publicSubnetCidrBlock(i),
                availabilityZone: zones.apply((z) => z[i]),
                // Instances need a public address to reach Systems Manager without a NAT gateway.
                mapPublicIpOnLaunch: true,
                tags: named(`public-${i}`),
            },
            childOpts,
        );
        networkReady.push(
            new aws.ec2.RouteTableAssociation(
                `${name}-public-${i}-rta`,
                { subnetId: subnet.id, routeTableId: routeTable.id },
                childOpts,
            ),
        );
        subnets.push(subnet);
    }
    return {
        vpcId: vpc.id,
        subnetIds: pulumi.all(subnets.map((s) => s.id)),
        vpc,
        networkReady,
    };
}

/** The error for a zone lookup with no names: every Region lists its zones, mocks may not. */
export function unlistedZonesError(count: number): ComponentArgsError {
    return webTierArgumentError(
        "availabilityZoneCount",
        `needs ${count} zones, but aws.getAvailabilityZones returned no names: a unit test's call mock returned none (Pulumi's documented mocks return the call's inputs). Return { names: ["eu-west-1a", "eu-west-1b", "eu-west-1c"] } for aws:index/getAvailabilityZones:getAvailabilityZones, or pass vpcId and subnetIds; until then the subnets' zones stay unknown`,
        { action: "set", value: String(count) },
    );
}

/** Takes the first `count` zones, or fails naming the zones the Region has. */
export function pickAvailabilityZones(names: readonly string[], count: number): string[] {
    if (names.length < count) {
        throw webTierArgumentError(
            "availabilityZoneCount",
            `is ${count}, but the Region offers only ${names.length} available zones (${names.join(", ")})`,
            { action: "set", value: String(names.length) },
        );
    }
    return names.slice(0, count);
}

/** The i-th /20 of VPC_CIDR_BLOCK, one per public subnet. */
export function publicSubnetCidrBlock(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= MAX_AVAILABILITY_ZONES) {
        throw new RangeError(`subnet index ${index} is outside 0 to ${MAX_AVAILABILITY_ZONES - 1}`);
    }
    return `10.0.${index * 16}.0/20`;
}
