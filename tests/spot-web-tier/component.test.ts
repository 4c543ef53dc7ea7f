import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import type * as pulumi from "@pulumi/pulumi";
import {
    callMocks,
    installPulumiMocks,
    MOCK_REGION,
    recorded,
    type RecordedResource,
    registrationsSettled,
    resetRecorded,
    unwrap,
} from "../../scripts/offline-engine";

type Components = typeof import("../../components");
type SpotWebTier = InstanceType<Components["SpotWebTier"]>;
type SpotWebTierArgs = import("../../components").SpotWebTierArgs;

const COMPONENT_TYPE = "spot-interruption-handler:index:SpotWebTier";
const AZ_TOKEN = "aws:index/getAvailabilityZones:getAvailabilityZones";
const SSM_TOKEN = "aws:ssm/getParameter:getParameter";
const MOCK_AMI = "ami-0123456789abcdef0";

/** Every recorded resource of `type`, in registration order of their names. */
function all(type: string): RecordedResource[] {
    return recorded
        .filter((r) => r.type === type)
        .sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
}

/** The one recorded resource of `type`. */
function one(type: string): RecordedResource {
    const matches = all(type);
    assert.equal(matches.length, 1, `expected exactly one ${type}`);
    return matches[0];
}

function mixedInstancesPolicy(): Record<string, unknown> {
    return one("aws:autoscaling/group:Group").inputs.mixedInstancesPolicy as Record<
        string,
        unknown
    >;
}

describe("SpotWebTier", () => {
    let components: Components;
    const invoked: { token: string; inputs: Record<string, unknown> }[] = [];
    const originalCallMocks = { ...callMocks };

    /** Builds a tier, with a parent transformation that sees every child parented to it. */
    async function build(
        name: string,
        args: SpotWebTierArgs,
    ): Promise<{ tier: SpotWebTier; reachedByParent: string[] }> {
        resetRecorded();
        invoked.length = 0;
        const reachedByParent: string[] = [];
        const opts: pulumi.ComponentResourceOptions = {
            transformations: [
                (resource) => {
                    reachedByParent.push(resource.name);
                    return undefined;
                },
            ],
        };
        const tier = new components.SpotWebTier(name, args, opts);
        await unwrap(tier.url);
        await unwrap(tier.autoScalingGroup.urn);
        await registrationsSettled();
        return { tier, reachedByParent };
    }

    before(async () => {
        installPulumiMocks();
        for (const token of [AZ_TOKEN, SSM_TOKEN]) {
            const mock = originalCallMocks[token];
            callMocks[token] = (inputs) => {
                invoked.push({ token, inputs });
                return mock(inputs);
            };
        }
        components = await import("../../components");
    });

    after(() => {
        Object.assign(callMocks, originalCallMocks);
        resetRecorded();
    });

    describe("given no args (every default)", () => {
        let tier: SpotWebTier;
        let reachedByParent: string[];

        before(async () => {
            // Given a Region with four zones
            callMocks[AZ_TOKEN] = (inputs) => {
                invoked.push({ token: AZ_TOKEN, inputs });
                return { names: ["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d"] };
            };
            // When the tier is built with no args
            ({ tier, reachedByParent } = await build("web", {}));
        });

        after(() => {
            callMocks[AZ_TOKEN] = originalCallMocks[AZ_TOKEN];
        });

        it("parents every child to the component and names it web-<role>", async () => {
            const children = recorded.filter((r) => r.type !== COMPONENT_TYPE);
            assert.ok(children.length > 0);
            for (const child of children) {
                assert.ok(child.name.startsWith("web-"), `${child.name} is named after the tier`);
                assert.ok(
                    reachedByParent.includes(child.name),
                    `${child.name} is parented to the tier`,
                );
            }
            const urn = await unwrap(tier.autoScalingGroup.urn);
            assert.ok(urn.includes(`${COMPONENT_TYPE}$aws:autoscaling/group:Group::web-asg`));
        });

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

        it("admits HTTP from the internet to the load balancer, which may only reach the instances", () => {
            const rulesOf = (type: string) =>
                all(type)
                    .filter((r) => r.inputs.securityGroupId === "web-alb-sg-id")
                    .map((r) => r.inputs);
            assert.deepEqual(rulesOf("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"), [
                {
                    securityGroupId: "web-alb-sg-id",
                    description: "HTTP from the internet",
                    ipProtocol: "tcp",
                    fromPort: 80,
                    toPort: 80,
                    cidrIpv4: "0.0.0.0/0",
                },
            ]);
            assert.deepEqual(rulesOf("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"), [
                {
                    securityGroupId: "web-alb-sg-id",
                    description: "HTTP and health checks to the instances",
                    ipProtocol: "tcp",
                    fromPort: 80,
                    toPort: 80,
                    referencedSecurityGroupId: "web-instance-sg-id",
                },
            ]);
        });

        it("admits HTTP to the instances from the load balancer's security group only, and lets them out on HTTPS only", () => {
            const rulesOf = (type: string) =>
                all(type)
                    .filter((r) => r.inputs.securityGroupId === "web-instance-sg-id")
                    .map((r) => r.inputs);
            assert.deepEqual(rulesOf("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"), [
                {
                    securityGroupId: "web-instance-sg-id",
                    description: "HTTP from the load balancer only",
                    ipProtocol: "tcp",
                    fromPort: 80,
                    toPort: 80,
                    referencedSecurityGroupId: "web-alb-sg-id",
                },
            ]);
            assert.deepEqual(rulesOf("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"), [
                {
                    securityGroupId: "web-instance-sg-id",
                    description: "HTTPS to AWS APIs (Systems Manager) and package repositories",
                    ipProtocol: "tcp",
                    fromPort: 443,
                    toPort: 443,
                    cidrIpv4: "0.0.0.0/0",
                },
            ]);
            // And neither group carries inline rules that would fight the rule resources
            for (const group of all("aws:ec2/securityGroup:SecurityGroup")) {
                assert.equal(group.inputs.ingress, undefined);
                assert.equal(group.inputs.egress, undefined);
            }
        });

        it("puts an internet-facing load balancer in every public subnet, behind its own security group", () => {
            assert.deepEqual(one("aws:lb/loadBalancer:LoadBalancer").inputs, {
                loadBalancerType: "application",
                internal: false,
                securityGroups: ["web-alb-sg-id"],
                subnets: ["web-public-0-id", "web-public-1-id", "web-public-2-id"],
                dropInvalidHeaderFields: true,
                tags: {},
            });
        });

        it("drains leaving instances for 120 seconds, the interruption notice, and health-checks /", () => {
            assert.deepEqual(one("aws:lb/targetGroup:TargetGroup").inputs, {
                vpcId: "web-vpc-id",
                targetType: "instance",
                protocol: "HTTP",
                port: 80,
                deregistrationDelay: 120,
                healthCheck: {
                    enabled: true,
                    protocol: "HTTP",
                    path: "/",
                    matcher: "200",
                    interval: 10,
                    timeout: 5,
                    healthyThreshold: 2,
                    unhealthyThreshold: 2,
                },
                tags: {},
            });
        });

        it("forwards HTTP on port 80 to the target group", async () => {
            const listener = one("aws:lb/listener:Listener").inputs;
            assert.equal(listener.loadBalancerArn, await unwrap(tier.loadBalancer.arn));
            assert.equal(listener.protocol, "HTTP");
            assert.equal(listener.port, 80);
            assert.deepEqual(listener.defaultActions, [
                { type: "forward", targetGroupArn: await unwrap(tier.targetGroup.arn) },
            ]);
        });

        it("launches the latest Amazon Linux 2023 x86_64 AMI from its public SSM parameter, with IMDSv2 required", async () => {
            assert.deepEqual(invoked.find((c) => c.token === SSM_TOKEN)?.inputs, {
                name: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
            });
            const template = one("aws:ec2/launchTemplate:LaunchTemplate").inputs;
            assert.equal(template.imageId, MOCK_AMI);
            assert.deepEqual(template.metadataOptions, {
                httpEndpoint: "enabled",
                httpTokens: "required",
                httpPutResponseHopLimit: 1,
            });
            assert.deepEqual(template.vpcSecurityGroupIds, ["web-instance-sg-id"]);
            assert.deepEqual(template.iamInstanceProfile, {
                arn: await unwrap(tier.instanceProfile.arn),
            });
            // And the group's overrides, not the template, choose the instance type
            assert.equal(template.instanceType, undefined);
            assert.deepEqual(template.blockDeviceMappings, [
                {
                    deviceName: "/dev/xvda",
                    ebs: { volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
                },
            ]);
        });

        it("boots instances with the page-serving user data, base64-encoded", () => {
            const userData = one("aws:ec2/launchTemplate:LaunchTemplate").inputs.userData;
            assert.equal(
                Buffer.from(userData as string, "base64").toString("utf8"),
                components.webTierUserData(),
            );
        });

        it("gives the instances an EC2 role whose only permission is the Session Manager managed policy", () => {
            const role = one("aws:iam/role:Role").inputs;
            assert.deepEqual(JSON.parse(role.assumeRolePolicy as string), {
                Version: "2012-10-17",
                Statement: [
                    {
                        Effect: "Allow",
                        Principal: { Service: "ec2.amazonaws.com" },
                        Action: "sts:AssumeRole",
                    },
                ],
            });
            assert.deepEqual(
                all("aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((a) => a.inputs),
                [
                    {
                        role: "web-instance-role-a1b2c3d",
                        policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
                    },
                ],
            );
            assert.deepEqual(all("aws:iam/rolePolicy:RolePolicy"), []);
            assert.equal(role.managedPolicyArns, undefined);
            assert.equal(role.inlinePolicies, undefined);
            assert.deepEqual(one("aws:iam/instanceProfile:InstanceProfile").inputs, {
                role: "web-instance-role-a1b2c3d",
                tags: {},
            });
        });

        it("overrides the launch template with the 14 default types, one override each", () => {
            const launchTemplate = mixedInstancesPolicy().launchTemplate as Record<string, unknown>;
            assert.deepEqual(
                launchTemplate.overrides,
                components.DEFAULT_INSTANCE_TYPES.map((instanceType) => ({ instanceType })),
            );
            assert.equal(components.DEFAULT_INSTANCE_TYPES.length, 14);
            assert.deepEqual(launchTemplate.launchTemplateSpecification, {
                launchTemplateId: "web-lt-id",
                version: "1",
            });
        });

        it("runs all Spot, price-capacity-optimized, with no spotInstancePools", () => {
            assert.deepEqual(mixedInstancesPolicy().instancesDistribution, {
                onDemandAllocationStrategy: "prioritized",
                onDemandBaseCapacity: 0,
                onDemandPercentageAboveBaseCapacity: 0,
                spotAllocationStrategy: "price-capacity-optimized",
            });
        });

        it("rebalances capacity, trusts the load balancer's health checks and attaches the target group", async () => {
            const group = one("aws:autoscaling/group:Group").inputs;
            assert.equal(group.capacityRebalance, true);
            assert.equal(group.healthCheckType, "ELB");
            assert.equal(group.healthCheckGracePeriod, 120);
            assert.deepEqual(group.targetGroupArns, [await unwrap(tier.targetGroup.arn)]);
            assert.deepEqual(group.vpcZoneIdentifiers, [
                "web-public-0-id",
                "web-public-1-id",
                "web-public-2-id",
            ]);
            assert.deepEqual(group.instanceRefresh, {
                strategy: "Rolling",
                preferences: { minHealthyPercentage: 75 },
            });
        });

        it("sizes the group 2 / 4 / 12 and names its instances after the tier", () => {
            const group = one("aws:autoscaling/group:Group").inputs;
            assert.deepEqual([group.minSize, group.desiredCapacity, group.maxSize], [2, 4, 12]);
            assert.deepEqual(group.tags, [{ key: "Name", value: "web", propagateAtLaunch: true }]);
        });

        it("exposes the load balancer's URL and the group for the handler", async () => {
            assert.equal(
                await unwrap(tier.url),
                `http://web-alb-a1b2c3d-1234567890.${MOCK_REGION}.elb.amazonaws.com`,
            );
            assert.equal(await unwrap(tier.autoScalingGroup.name), "web-asg-a1b2c3d");
        });
    });

    describe("given 2 zones, a 30 s delay, instance requirements and lowest-price over 4 pools", () => {
        before(async () => {
            await build("tuned", {
                availabilityZoneCount: 2,
                deregistrationDelaySeconds: 30,
                instanceRequirements: {
                    vcpuCount: { min: 2, max: 4 },
                    memoryMib: { min: 4096 },
                },
                spotAllocationStrategy: "lowest-price",
                spotInstancePools: 4,
                onDemandBaseCapacity: 1,
                onDemandPercentageAboveBaseCapacity: 25,
                capacityRebalance: false,
                minSize: 1,
                maxSize: 6,
                desiredCapacity: 3,
                healthCheckGracePeriodSeconds: 300,
                tags: { team: "audio", Name: "player" },
            });
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

        it("drains for 30 seconds", () => {
            assert.equal(one("aws:lb/targetGroup:TargetGroup").inputs.deregistrationDelay, 30);
        });

        it("selects types by attributes with a single override of current-generation types", () => {
            const launchTemplate = mixedInstancesPolicy().launchTemplate as Record<string, unknown>;
            assert.deepEqual(launchTemplate.overrides, [
                {
                    instanceRequirements: {
                        vcpuCount: { min: 2, max: 4 },
                        memoryMib: { min: 4096 },
                        instanceGenerations: ["current"],
                    },
                },
            ]);
        });

        it("uses lowest-price with 4 pools, a mixed on-demand split, and lowest-price on-demand", () => {
            assert.deepEqual(mixedInstancesPolicy().instancesDistribution, {
                onDemandAllocationStrategy: "lowest-price",
                onDemandBaseCapacity: 1,
                onDemandPercentageAboveBaseCapacity: 25,
                spotAllocationStrategy: "lowest-price",
                spotInstancePools: 4,
            });
        });

        it("applies the sizes, the grace period and the rebalancing choice", () => {
            const group = one("aws:autoscaling/group:Group").inputs;
            assert.deepEqual([group.minSize, group.desiredCapacity, group.maxSize], [1, 3, 6]);
            assert.equal(group.healthCheckGracePeriod, 300);
            assert.equal(group.capacityRebalance, false);
        });

        it("propagates the caller's tags to the instances, the caller's Name winning", () => {
            assert.deepEqual(one("aws:autoscaling/group:Group").inputs.tags, [
                { key: "Name", value: "player", propagateAtLaunch: true },
                { key: "team", value: "audio", propagateAtLaunch: true },
            ]);
            assert.deepEqual(one("aws:lb/loadBalancer:LoadBalancer").inputs.tags, {
                team: "audio",
                Name: "player",
            });
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

    describe("given bad or conflicting args", () => {
        const cases: {
            when: string;
            args: SpotWebTierArgs;
            argument: string;
            message: string;
            remedy: Record<string, string>;
        }[] = [
            {
                when: "1 zone",
                args: { availabilityZoneCount: 1 },
                argument: "availabilityZoneCount",
                message:
                    "is 1; it must be a whole number from 2 to 16 (an Application Load Balancer needs at least 2)",
                remedy: { action: "set", value: "3" },
            },
            {
                when: "a fractional zone count",
                args: { availabilityZoneCount: 2.5 },
                argument: "availabilityZoneCount",
                message:
                    "is 2.5; it must be a whole number from 2 to 16 (an Application Load Balancer needs at least 2)",
                remedy: { action: "set", value: "3" },
            },
            {
                when: "a zone count with an existing VPC",
                args: {
                    availabilityZoneCount: 3,
                    vpcId: "vpc-1",
                    subnetIds: ["subnet-a", "subnet-b"],
                },
                argument: "availabilityZoneCount",
                message:
                    "applies only to a new VPC, but vpcId or subnetIds is set: the subnets choose the zones",
                remedy: { action: "unset" },
            },
            {
                when: "a VPC without subnets",
                args: { vpcId: "vpc-1" },
                argument: "subnetIds",
                message:
                    "is not set, but vpcId is: an Application Load Balancer needs at least 2 public subnets of that VPC, in different Availability Zones",
                remedy: { action: "set", path: "[0]", value: "<subnet-id>" },
            },
            {
                when: "subnets without a VPC",
                args: { subnetIds: ["subnet-a", "subnet-b"] },
                argument: "vpcId",
                message: "is not set, but subnetIds is set: name the VPC that holds those subnets",
                remedy: { action: "set", value: "<vpc-id>" },
            },
            {
                when: "an empty vpcId",
                args: { vpcId: "", subnetIds: ["subnet-a", "subnet-b"] },
                argument: "vpcId",
                message: "is empty, but subnetIds is set: name the VPC that holds those subnets",
                remedy: { action: "set", value: "<vpc-id>" },
            },
            {
                when: "an empty subnet list",
                args: { vpcId: "vpc-1", subnetIds: [] },
                argument: "subnetIds",
                message:
                    "names no subnet: an Application Load Balancer needs at least 2 public subnets of that VPC, in different Availability Zones",
                remedy: { action: "set", path: "[0]", value: "<subnet-id>" },
            },
            {
                when: "a single subnet",
                args: { vpcId: "vpc-1", subnetIds: ["subnet-a"] },
                argument: "subnetIds",
                message:
                    "names only 1 subnet: an Application Load Balancer needs at least 2 public subnets of that VPC, in different Availability Zones",
                remedy: { action: "set", path: "[1]", value: "<subnet-id>" },
            },
            {
                when: "an empty subnet id",
                args: { vpcId: "vpc-1", subnetIds: ["subnet-a", ""] },
                argument: "subnetIds",
                message: "has an empty entry at index 1",
                remedy: { action: "set", path: "[1]", value: "<subnet-id>" },
            },
            {
                when: "the same subnet twice",
                args: { vpcId: "vpc-1", subnetIds: ["subnet-a", "subnet-a"] },
                argument: "subnetIds",
                message:
                    'names "subnet-a" twice (at index 0 and 1): each subnet must be in a different Availability Zone',
                remedy: { action: "unset", path: "[1]" },
            },
            {
                when: "a deregistration delay above 3600",
                args: { deregistrationDelaySeconds: 3601 },
                argument: "deregistrationDelaySeconds",
                message: "is 3601; it must be a whole number from 0 to 3600",
                remedy: { action: "set", value: "120" },
            },
            {
                when: "a negative deregistration delay",
                args: { deregistrationDelaySeconds: -1 },
                argument: "deregistrationDelaySeconds",
                message: "is -1; it must be a whole number from 0 to 3600",
                remedy: { action: "set", value: "120" },
            },
            {
                when: "an empty type list",
                args: { instanceTypes: [] },
                argument: "instanceTypes",
                message:
                    "is empty; list at least one instance type (more types across families mean more Spot pools), or leave it unset for the defaults",
                remedy: { action: "unset" },
            },
            {
                when: "41 types",
                args: { instanceTypes: Array.from({ length: 41 }, (_, i) => `m${i}.large`) },
                argument: "instanceTypes",
                message:
                    "lists 41 types, but Auto Scaling accepts at most 40; for more, use instanceRequirements",
                remedy: { action: "unset", path: "[40]" },
            },
            {
                when: "a malformed type",
                args: { instanceTypes: ["m7i.large", "m5large"] },
                argument: "instanceTypes",
                message:
                    'has "m5large" at index 1, which is not an instance type name such as "m7i.large"',
                remedy: { action: "set", path: "[1]", value: "m7i.large" },
            },
            {
                when: "a duplicated type",
                args: { instanceTypes: ["m7i.large", "c7i.large", "m7i.large"] },
                argument: "instanceTypes",
                message: 'lists "m7i.large" twice (at index 0 and 2); each type is one override',
                remedy: { action: "unset", path: "[2]" },
            },
            {
                when: "both instanceTypes and instanceRequirements",
                args: {
                    instanceTypes: ["m7i.large"],
                    instanceRequirements: { vcpuCount: { min: 2 }, memoryMib: { min: 4096 } },
                },
                argument: "instanceRequirements",
                message:
                    "cannot be combined with instanceTypes: set instanceTypes for an explicit list, or instanceRequirements for every type that matches, not both",
                remedy: { action: "unset" },
            },
            {
                when: "a negative vCPU minimum",
                args: {
                    instanceRequirements: { vcpuCount: { min: -1 }, memoryMib: { min: 4096 } },
                },
                argument: "instanceRequirements",
                message: "has vcpuCount.min -1; it must be a whole number, 0 or more",
                remedy: { action: "set", path: ".vcpuCount.min", value: "2" },
            },
            {
                when: "a memory maximum below its minimum",
                args: {
                    instanceRequirements: {
                        vcpuCount: { min: 2 },
                        memoryMib: { min: 8192, max: 4096 },
                    },
                },
                argument: "instanceRequirements",
                message:
                    "has memoryMib.max 4096; it must be a whole number, at least memoryMib.min (8192)",
                remedy: { action: "set", path: ".memoryMib.max", value: "8192" },
            },
            {
                when: "an unknown allocation strategy",
                args: { spotAllocationStrategy: "cheapest" as "lowest-price" },
                argument: "spotAllocationStrategy",
                message:
                    'is "cheapest"; allowed values are "price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "lowest-price"',
                remedy: { action: "set", value: "price-capacity-optimized" },
            },
            {
                when: "capacity-optimized-prioritized with instance requirements",
                args: {
                    spotAllocationStrategy: "capacity-optimized-prioritized",
                    instanceRequirements: { vcpuCount: { min: 2 }, memoryMib: { min: 4096 } },
                },
                argument: "spotAllocationStrategy",
                message:
                    'is "capacity-optimized-prioritized", which Auto Scaling refuses with instanceRequirements (there is no override order to honour); use "price-capacity-optimized" or "capacity-optimized"',
                remedy: { action: "set", value: "price-capacity-optimized" },
            },
            {
                when: "spotInstancePools with the default strategy",
                args: { spotInstancePools: 4 },
                argument: "spotInstancePools",
                message:
                    'is set, but it only applies when spotAllocationStrategy is "lowest-price", and that is "price-capacity-optimized"',
                remedy: { action: "unset" },
            },
            {
                when: "spotInstancePools with capacity-optimized",
                args: { spotAllocationStrategy: "capacity-optimized", spotInstancePools: 2 },
                argument: "spotInstancePools",
                message:
                    'is set, but it only applies when spotAllocationStrategy is "lowest-price", and that is "capacity-optimized"',
                remedy: { action: "unset" },
            },
            {
                when: "21 Spot pools",
                args: { spotAllocationStrategy: "lowest-price", spotInstancePools: 21 },
                argument: "spotInstancePools",
                message: "is 21; it must be a whole number from 1 to 20",
                remedy: { action: "set", value: "2" },
            },
            {
                when: "a minimum above the maximum",
                args: { minSize: 5, maxSize: 3, desiredCapacity: 4 },
                argument: "minSize",
                message: "is 5, above maxSize (3)",
                remedy: { action: "set", value: "<0-3>" },
            },
            {
                when: "a negative minimum",
                args: { minSize: -1 },
                argument: "minSize",
                message: "is -1; it must be a whole number 0 or more",
                remedy: { action: "set", value: "2" },
            },
            {
                when: "a maximum of 0",
                args: { minSize: 0, maxSize: 0, desiredCapacity: 0 },
                argument: "maxSize",
                message: "is 0; it must be a whole number 1 or more",
                remedy: { action: "set", value: "12" },
            },
            {
                when: "a desired capacity above the maximum",
                args: { desiredCapacity: 13 },
                argument: "desiredCapacity",
                message: "is 13; it must be a whole number from minSize (2) to maxSize (12)",
                remedy: { action: "set", value: "<2-12>" },
            },
            {
                when: "a desired capacity below the minimum",
                args: { minSize: 3, desiredCapacity: 2 },
                argument: "desiredCapacity",
                message: "is 2; it must be a whole number from minSize (3) to maxSize (12)",
                remedy: { action: "set", value: "<3-12>" },
            },
            {
                when: "an on-demand base above the maximum size",
                args: { maxSize: 6, onDemandBaseCapacity: 7 },
                argument: "onDemandBaseCapacity",
                message: "is 7; it must be a whole number from 0 to maxSize (6)",
                remedy: { action: "set", value: "0" },
            },
            {
                when: "an on-demand percentage above 100",
                args: { onDemandPercentageAboveBaseCapacity: 101 },
                argument: "onDemandPercentageAboveBaseCapacity",
                message: "is 101; it must be a whole number from 0 to 100",
                remedy: { action: "set", value: "0" },
            },
            {
                when: "a negative grace period",
                args: { healthCheckGracePeriodSeconds: -5 },
                argument: "healthCheckGracePeriodSeconds",
                message: "is -5; it must be a whole number 0 or more",
                remedy: { action: "set", value: "120" },
            },
        ];

        for (const { when, args, argument, message, remedy } of cases) {
            it(`refuses ${when} at construction, naming [${argument}], and registers nothing`, async () => {
                // Given a clean slate
                resetRecorded();
                // When the tier is built with the bad args
                // Then it throws a SpotWebTierArgsError that names the argument and what is allowed
                assert.throws(
                    () => new components.SpotWebTier("bad", args),
                    (error: unknown) => {
                        assert.ok(error instanceof components.SpotWebTierArgsError);
                        assert.equal(error.message, `SpotWebTier: [${argument}] ${message}`);
                        assert.equal(error.argument, argument);
                        assert.deepEqual(error.remedy, remedy);
                        return true;
                    },
                );
                // And not even the component was registered, once registrations have settled
                // (proven: with validation moved after super(), this fails with the component).
                await registrationsSettled();
                assert.deepEqual(recorded, []);
            });
        }
    });

    describe("pure helpers", () => {
        describe("resolveWebTierSettings", () => {
            it("applies every default when given nothing", () => {
                assert.deepEqual(components.resolveWebTierSettings({}), {
                    network: { kind: "new-vpc", availabilityZoneCount: 3 },
                    deregistrationDelaySeconds: 120,
                    instanceSelection: {
                        kind: "types",
                        instanceTypes: [...components.DEFAULT_INSTANCE_TYPES],
                    },
                    spotAllocationStrategy: "price-capacity-optimized",
                    onDemandBaseCapacity: 0,
                    onDemandPercentageAboveBaseCapacity: 0,
                    capacityRebalance: true,
                    minSize: 2,
                    maxSize: 12,
                    desiredCapacity: 4,
                    healthCheckGracePeriodSeconds: 120,
                });
            });

            it("accepts every documented allocation strategy with instance types", () => {
                for (const strategy of components.SPOT_ALLOCATION_STRATEGIES) {
                    const settings = components.resolveWebTierSettings({
                        spotAllocationStrategy: strategy,
                    });
                    assert.equal(settings.spotAllocationStrategy, strategy);
                }
                assert.deepEqual(components.SPOT_ALLOCATION_STRATEGIES, [
                    "price-capacity-optimized",
                    "capacity-optimized",
                    "capacity-optimized-prioritized",
                    "lowest-price",
                ]);
            });

            it("accepts the edges: 0 and 3600 seconds of delay, 16 zones, 40 types, a group of 0", () => {
                for (const delay of [0, 3600]) {
                    assert.equal(
                        components.resolveWebTierSettings({ deregistrationDelaySeconds: delay })
                            .deregistrationDelaySeconds,
                        delay,
                    );
                }
                assert.deepEqual(
                    components.resolveWebTierSettings({ availabilityZoneCount: 16 }).network,
                    { kind: "new-vpc", availabilityZoneCount: 16 },
                );
                const forty = Array.from({ length: 40 }, (_, i) => `m${i}.large`);
                assert.deepEqual(
                    components.resolveWebTierSettings({ instanceTypes: forty }).instanceSelection,
                    { kind: "types", instanceTypes: forty },
                );
                const empty = components.resolveWebTierSettings({
                    minSize: 0,
                    maxSize: 1,
                    desiredCapacity: 0,
                });
                assert.deepEqual([empty.minSize, empty.desiredCapacity, empty.maxSize], [0, 0, 1]);
            });
        });

        describe("DEFAULT_INSTANCE_TYPES", () => {
            it("lists at least 9 distinct 2-vCPU .large types of the m, c and r families, generations 5 to 7, all x86_64", () => {
                const types = components.DEFAULT_INSTANCE_TYPES;
                assert.ok(types.length >= 9);
                assert.equal(new Set(types).size, types.length);
                // Intel (no suffix or i) and AMD (a) only: Graviton (g) would not boot the x86_64 AMI.
                for (const type of types) {
                    assert.match(type, /^[mcr][5-7][ai]?\.large$/);
                }
                const families = new Set(types.map((t) => t[0]));
                assert.deepEqual([...families].sort(), ["c", "m", "r"]);
                const generations = new Set(types.map((t) => t[1]));
                assert.deepEqual([...generations].sort(), ["5", "6", "7"]);
            });

            it("matches the x86_64 AMI parameter", () => {
                assert.match(components.AL2023_AMI_PARAMETER, /-x86_64$/);
            });
        });

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
                        name: "SpotWebTierArgsError",
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

        describe("launchTemplateOverrides", () => {
            it("gives one override per instance type, in order", () => {
                assert.deepEqual(
                    components.launchTemplateOverrides({
                        kind: "types",
                        instanceTypes: ["m7i.large", "c7i.large"],
                    }),
                    [{ instanceType: "m7i.large" }, { instanceType: "c7i.large" }],
                );
            });

            it("gives a single override with the ranges for attribute-based selection", () => {
                assert.deepEqual(
                    components.launchTemplateOverrides({
                        kind: "requirements",
                        instanceRequirements: {
                            vcpuCount: { min: 2, max: 2 },
                            memoryMib: { min: 4096, max: 16384 },
                        },
                    }),
                    [
                        {
                            instanceRequirements: {
                                vcpuCount: { min: 2, max: 2 },
                                memoryMib: { min: 4096, max: 16384 },
                                instanceGenerations: ["current"],
                            },
                        },
                    ],
                );
            });
        });

        describe("instancesDistribution", () => {
            it("includes spotInstancePools only when it is set (with lowest-price)", () => {
                const withPools = components.resolveWebTierSettings({
                    spotAllocationStrategy: "lowest-price",
                    spotInstancePools: 3,
                });
                assert.equal(components.instancesDistribution(withPools).spotInstancePools, 3);
                const lowestPriceDefault = components.resolveWebTierSettings({
                    spotAllocationStrategy: "lowest-price",
                });
                assert.equal(
                    "spotInstancePools" in components.instancesDistribution(lowestPriceDefault),
                    false,
                );
            });
        });

        describe("autoScalingGroupTags", () => {
            it("names the instances after the tier and propagates every tag at launch", () => {
                assert.deepEqual(components.autoScalingGroupTags("web", { env: "dev" }), [
                    { key: "Name", value: "web", propagateAtLaunch: true },
                    { key: "env", value: "dev", propagateAtLaunch: true },
                ]);
            });
        });

        describe("ssmManagedInstanceCorePolicyArn", () => {
            it("follows the partition", () => {
                assert.equal(
                    components.ssmManagedInstanceCorePolicyArn("aws-cn"),
                    "arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore",
                );
            });
        });

        describe("webTierUserData", () => {
            const script = () => components.webTierUserData();

            it("is a bash script that parses", () => {
                assert.match(script(), /^#!\/bin\/bash\nset -euo pipefail\n/);
                const check = spawnSync("bash", ["-n"], { input: script(), timeout: 5000 });
                assert.equal(check.status, 0, check.stderr.toString());
            });

            it("gets an IMDSv2 session token first, and sends it with every metadata read", () => {
                const text = script();
                const tokenAt = text.indexOf(
                    'token=$(curl -sSf --retry 5 -X PUT "$imds/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")',
                );
                assert.ok(tokenAt > 0);
                assert.ok(
                    text.includes(
                        'metadata() { curl -sSf --retry 5 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"; }',
                    ),
                );
                const reads = [...text.matchAll(/\$\(metadata ([\w/-]+)\)/g)].map((m) => m[1]);
                assert.deepEqual(reads, [
                    "instance-id",
                    "instance-type",
                    "placement/availability-zone",
                    "instance-life-cycle",
                ]);
                assert.ok(text.indexOf("$(metadata ") > tokenAt);
                // And nothing reaches the metadata service without the token
                assert.equal(text.match(/curl /g)?.length, 2);
            });

            it("writes a page naming the instance id, type, zone and lifecycle, refreshing itself", () => {
                const text = script();
                for (const [id, variable] of [
                    ["instance-id", "instance_id"],
                    ["instance-type", "instance_type"],
                    ["availability-zone", "availability_zone"],
                    ["lifecycle", "lifecycle"],
                ]) {
                    assert.ok(text.includes(`<dd id="${id}">$${variable}</dd>`), id);
                }
                assert.ok(text.includes('<meta http-equiv="refresh" content="5">'));
            });

            it("serves the page on port 80 as an unprivileged systemd service that restarts", () => {
                const text = script();
                assert.ok(
                    text.includes(
                        "ExecStart=/usr/bin/python3 -m http.server 80 --directory /var/www/spot",
                    ),
                );
                assert.ok(text.includes("DynamicUser=yes"));
                assert.ok(text.includes("AmbientCapabilities=CAP_NET_BIND_SERVICE"));
                assert.ok(text.includes("Restart=always"));
                assert.ok(text.endsWith("systemctl enable --now spot-web.service\n"));
            });
        });
    });
});
