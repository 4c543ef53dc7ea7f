import * as assert from "node:assert/strict";
import { recorded, registrationsSettled, resetRecorded } from "../../../offline/pulumi-engine";
import { describeTier, components, type SpotWebTierArgs } from "./support";

describeTier("SpotWebTier settings", () => {
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
                // Then it throws a ComponentArgsError that names the argument and what is allowed
                assert.throws(
                    () => new components.SpotWebTier("bad", args),
                    (error: unknown) => {
                        assert.ok(error instanceof components.ComponentArgsError);
                        assert.equal(error.message, `SpotWebTier: [${argument}] ${message}`);
                        assert.equal(error.component, "SpotWebTier");
                        assert.equal(error.argument, argument);
                        assert.equal(error.problem, message);
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
                    ignoreScalingChanges: false,
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
    });
});
