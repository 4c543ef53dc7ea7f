import * as assert from "node:assert/strict";
import {
    all,
    AZ_TOKEN,
    build,
    givenDefaultTier,
    invoked,
    describeTier,
    components,
    one,
    TUNED_ARGS,
} from "./support";

describeTier("SpotWebTier network", () => {
    describe("given no args (every default)", () => {
        // Given a Region with four zones, When the tier is built with no args
        givenDefaultTier();

        it("creates a new VPC with one public subnet in each of 3 regular, available zones", () => {
            // Then the zones come from the available, non-opt-in zones
            assert.deepEqual(invoked.find((c) => c.token === AZ_TOKEN)?.inputs, {
                state: "available",
                filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
            });
            assert.deepEqual(one("aws:ec2/vpc:Vpc").inputs, {
                cidrBlock: "10.0.0.0/16",
                enableDnsSupport: true,
                enableDnsHostnames: true,
                tags: { Name: "web-vpc" },
            });
            // And the default count, 3, reaches the subnets: the first three of four zones
            assert.deepEqual(
                all("aws:ec2/subnet:Subnet").map((s) => s.inputs),
                ["a", "b", "c"].map((zone, i) => ({
                    vpcId: "web-vpc-id",
                    cidrBlock: `10.0.${i * 16}.0/20`,
                    availabilityZone: `eu-west-1${zone}`,
                    mapPublicIpOnLaunch: true,
                    tags: { Name: `web-public-${i}` },
                })),
            );
        });

        it("routes every public subnet to the internet through an internet gateway", () => {
            assert.deepEqual(one("aws:ec2/internetGateway:InternetGateway").inputs, {
                vpcId: "web-vpc-id",
                tags: { Name: "web-igw" },
            });
            assert.deepEqual(one("aws:ec2/routeTable:RouteTable").inputs.routes, [
                { cidrBlock: "0.0.0.0/0", gatewayId: "web-igw-id" },
            ]);
            assert.deepEqual(
                all("aws:ec2/routeTableAssociation:RouteTableAssociation").map((a) => a.inputs),
                [0, 1, 2].map((i) => ({
                    subnetId: `web-public-${i}-id`,
                    routeTableId: "web-public-rt-id",
                })),
            );
        });
    });

    describe("given 2 zones, a 30 s delay, instance requirements and lowest-price over 4 pools", () => {
        before(async () => {
            await build("tuned", TUNED_ARGS);
        });

        it("puts the subnets, and so the load balancer and the group, in exactly 2 zones", () => {
            assert.deepEqual(
                all("aws:ec2/subnet:Subnet").map((s) => s.inputs.availabilityZone),
                ["eu-west-1a", "eu-west-1b"],
            );
            assert.deepEqual(one("aws:autoscaling/group:Group").inputs.vpcZoneIdentifiers, [
                "tuned-public-0-id",
                "tuned-public-1-id",
            ]);
        });
    });

    describe("given an existing VPC and two of its subnets", () => {
        before(async () => {
            await build("existing", {
                vpcId: "vpc-0default",
                subnetIds: ["subnet-0a", "subnet-0b"],
            });
        });

        it("creates no network: no VPC, subnets, gateway or routes", () => {
            for (const type of [
                "aws:ec2/vpc:Vpc",
                "aws:ec2/subnet:Subnet",
                "aws:ec2/internetGateway:InternetGateway",
                "aws:ec2/routeTable:RouteTable",
                "aws:ec2/routeTableAssociation:RouteTableAssociation",
            ]) {
                assert.deepEqual(all(type), [], `no ${type}`);
            }
            assert.equal(
                invoked.some((c) => c.token === AZ_TOKEN),
                false,
            );
        });

        it("puts the load balancer, the target group, the security groups and the group in them", () => {
            assert.deepEqual(one("aws:lb/loadBalancer:LoadBalancer").inputs.subnets, [
                "subnet-0a",
                "subnet-0b",
            ]);
            assert.deepEqual(one("aws:autoscaling/group:Group").inputs.vpcZoneIdentifiers, [
                "subnet-0a",
                "subnet-0b",
            ]);
            assert.equal(one("aws:lb/targetGroup:TargetGroup").inputs.vpcId, "vpc-0default");
            assert.deepEqual(
                all("aws:ec2/securityGroup:SecurityGroup").map((g) => g.inputs.vpcId),
                ["vpc-0default", "vpc-0default"],
            );
        });
    });

    describe("pure helpers", () => {
        describe("pickAvailabilityZones", () => {
            it("takes the first zones, in order", () => {
                assert.deepEqual(components.pickAvailabilityZones(["a", "b", "c", "d"], 2), [
                    "a",
                    "b",
                ]);
            });

            it("fails naming the zones when the Region has fewer than asked", () => {
                assert.throws(
                    () => components.pickAvailabilityZones(["eu-north-1a", "eu-north-1b"], 3),
                    {
                        name: "ComponentArgsError",
                        message:
                            "SpotWebTier: [availabilityZoneCount] is 3, but the Region offers only 2 available zones (eu-north-1a, eu-north-1b)",
                    },
                );
            });
        });

        describe("publicSubnetCidrBlock", () => {
            it("gives each zone its own /20 of the VPC, without overlap", () => {
                assert.deepEqual([0, 1, 2, 15].map(components.publicSubnetCidrBlock), [
                    "10.0.0.0/20",
                    "10.0.16.0/20",
                    "10.0.32.0/20",
                    "10.0.240.0/20",
                ]);
                assert.throws(() => components.publicSubnetCidrBlock(16), RangeError);
            });
        });
    });
});
