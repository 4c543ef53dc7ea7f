/**
 * The stack config: readStackConfig as the program reads it, the `pulumi config` commands that fix
 * a key, and the bad configs the program refuses before it creates anything.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import {
    installPulumiMocks,
    recorded,
    registrationsSettled,
    resetRecorded,
    runStackProgram,
} from "../../offline/pulumi-engine";

type ConfigModule = typeof import("../../config");

const PROJECT = "spot-interruption-handler";

describe("the stack config", () => {
    let configModule: ConfigModule;

    before(async () => {
        installPulumiMocks();
        configModule = await import("../../config");
    });

    after(() => {
        pulumi.runtime.setAllConfig({});
        resetRecorded();
    });

    describe("readStackConfig", () => {
        it("returns web tier args with only the keys that are set, so the component's defaults apply", () => {
            // Given a config with two web tier keys
            pulumi.runtime.setAllConfig({
                [`${PROJECT}:maxSize`]: "8",
                [`${PROJECT}:instanceRequirements`]:
                    '{"vcpuCount":{"min":2,"max":4},"memoryMib":{"min":4096}}',
            });
            // When it is read
            const config = configModule.readStackConfig(new pulumi.Config(PROJECT));
            // Then only those keys reach the tier
            assert.deepEqual(config, {
                kind: "web-tier",
                capacityOnInterruption: "keep",
                interruptionAction: "auto",
                delivery: "queue",
                dryRun: false,
                faultInjection: false,
                webTier: {
                    maxSize: 8,
                    instanceRequirements: {
                        vcpuCount: { min: 2, max: 4 },
                        memoryMib: { min: 4096 },
                    },
                },
            });
        });

        it("reads the dry run switch and the notification email", () => {
            pulumi.runtime.setAllConfig({
                [`${PROJECT}:autoScalingGroupName`]: "music-web",
                [`${PROJECT}:dryRun`]: "true",
                [`${PROJECT}:notificationEmail`]: "ops@example.com",
            });
            assert.deepEqual(configModule.readStackConfig(new pulumi.Config(PROJECT)), {
                kind: "existing-group",
                groups: { kind: "names", names: ["music-web"] },
                groupsKey: "autoScalingGroupName",
                capacityOnInterruption: "keep",
                interruptionAction: "auto",
                delivery: "queue",
                dryRun: true,
                faultInjection: false,
                notificationEmail: "ops@example.com",
            });
        });

        it("reads delivery direct", () => {
            // Given direct delivery for an existing group
            pulumi.runtime.setAllConfig({
                [`${PROJECT}:autoScalingGroupName`]: "music-web",
                [`${PROJECT}:delivery`]: "direct",
            });
            // When it is read; Then the handler is to be invoked directly
            assert.deepEqual(configModule.readStackConfig(new pulumi.Config(PROJECT)), {
                kind: "existing-group",
                groups: { kind: "names", names: ["music-web"] },
                groupsKey: "autoScalingGroupName",
                capacityOnInterruption: "keep",
                interruptionAction: "auto",
                delivery: "direct",
                dryRun: false,
                faultInjection: false,
            });
        });

        it("renders every remedy as a pulumi config command", () => {
            assert.deepEqual(
                [
                    configModule.fixCommand("minSize", { action: "set", value: "2" }),
                    configModule.fixCommand("subnetIds", {
                        action: "set",
                        path: "[0]",
                        value: "<subnet-id>",
                    }),
                    configModule.fixCommand("spotInstancePools", { action: "unset" }),
                    configModule.fixCommand("instanceTypes", { action: "unset", path: "[3]" }),
                ],
                [
                    "pulumi config set minSize 2",
                    "pulumi config set --path 'subnetIds[0]' <subnet-id>",
                    "pulumi config rm spotInstancePools",
                    "pulumi config rm --path 'instanceTypes[3]'",
                ],
            );
        });
    });

    describe("given a bad stack config", () => {
        const cases: { when: string; config: Record<string, string>; message: string }[] = [
            {
                when: "an unknown capacityOnInterruption, with the web tier",
                config: { capacityOnInterruption: "sometimes" },
                message:
                    'Stack config "capacityOnInterruption" is "sometimes", but must be one of keep or decrement. Fix it with: pulumi config set capacityOnInterruption keep|decrement',
            },
            {
                when: "an unknown capacityOnInterruption, with an existing group",
                config: { autoScalingGroupName: "music-web", capacityOnInterruption: "shrink" },
                message:
                    'Stack config "capacityOnInterruption" is "shrink", but must be one of keep or decrement. Fix it with: pulumi config set capacityOnInterruption keep|decrement',
            },
            {
                when: "an unknown delivery, with the web tier",
                config: { delivery: "sqs" },
                message:
                    'Stack config "delivery" is "sqs", but must be one of queue or direct. Fix it with: pulumi config set delivery queue|direct',
            },
            {
                when: "a delivery in the wrong case, with an existing group",
                config: { autoScalingGroupName: "music-web", delivery: "Direct" },
                message:
                    'Stack config "delivery" is "Direct", but must be one of queue or direct. Fix it with: pulumi config set delivery queue|direct',
            },
            {
                when: "a blank autoScalingGroupName",
                config: { autoScalingGroupName: "  " },
                message:
                    'Stack config "autoScalingGroupName" is empty: name an existing Auto Scaling group, or remove the key to build the web tier. Fix it with: pulumi config rm autoScalingGroupName',
            },
            {
                when: "an autoScalingGroupName with surrounding whitespace",
                config: { autoScalingGroupName: " music-web " },
                message:
                    'Stack config "autoScalingGroupName" is " music-web ", with surrounding whitespace. Fix it with: pulumi config set autoScalingGroupName music-web',
            },
            {
                when: "a dryRun that is not a boolean",
                config: { autoScalingGroupName: "music-web", dryRun: "yes" },
                message:
                    'Stack config "dryRun" is "yes", but must be true or false. Fix it with: pulumi config set dryRun true|false',
            },
            {
                when: "a web tier key away from its default beside an existing group",
                config: { autoScalingGroupName: "music-web", minSize: "3" },
                message:
                    'Stack config "minSize" shapes the web tier, which the stack does not build while autoScalingGroupName names an existing group. Fix it with: pulumi config rm minSize',
            },
            {
                when: "two group keys at once",
                config: { autoScalingGroupName: "a", autoScalingGroupNames: '["b"]' },
                message:
                    'Stack config "autoScalingGroupNames" is set together with autoScalingGroupName, but the stack protects one choice of groups: a name, a list of names, or a tag. Fix it with: pulumi config rm autoScalingGroupNames',
            },
            {
                when: "an empty list of groups",
                config: { autoScalingGroupNames: "[]" },
                message:
                    'Stack config "autoScalingGroupNames" is an empty list: name at least one existing group, or remove the key to build the web tier. Fix it with: pulumi config rm autoScalingGroupNames',
            },
            {
                when: "a tag without a key",
                config: { autoScalingGroupTag: '{"value":"web"}' },
                message:
                    'Stack config "autoScalingGroupTag" is {"value":"web"}, but must be an object with a "key" and an optional "value", both strings. Fix it with: pulumi config set --path \'autoScalingGroupTag.key\' spot-interruption-handler',
            },
            {
                when: "faultInjection with a tag",
                config: { autoScalingGroupTag: '{"key":"team"}', faultInjection: "true" },
                message:
                    'Stack config "faultInjection" needs one group to interrupt, but autoScalingGroupTag chooses groups by tag; run the experiment from a stack that names its group. Fix it with: pulumi config set faultInjection false',
            },
            {
                when: "a web tier key beside a tag",
                config: { autoScalingGroupTag: '{"key":"team"}', minSize: "3" },
                message:
                    'Stack config "minSize" shapes the web tier, which the stack does not build while autoScalingGroupTag chooses existing groups. Fix it with: pulumi config rm minSize',
            },
            {
                when: "1 Availability Zone",
                config: { availabilityZoneCount: "1" },
                message:
                    'Stack config "availabilityZoneCount" is 1; it must be a whole number from 2 to 16 (an Application Load Balancer needs at least 2). Fix it with: pulumi config set availabilityZoneCount 3',
            },
            {
                when: "a zone count that is not a number",
                config: { availabilityZoneCount: "three" },
                message:
                    'Stack config "availabilityZoneCount" is "three", but must be a whole number. Fix it with: pulumi config set availabilityZoneCount 3',
            },
            {
                when: "a zone count other than the default beside vpcId and subnetIds",
                config: {
                    availabilityZoneCount: "4",
                    vpcId: "vpc-1",
                    subnetIds: '["subnet-a","subnet-b"]',
                },
                message:
                    'Stack config "availabilityZoneCount" applies only to a new VPC, but vpcId or subnetIds is set: the subnets choose the zones. Fix it with: pulumi config rm availabilityZoneCount',
            },
            {
                when: "vpcId without subnetIds",
                config: { vpcId: "vpc-1" },
                message:
                    "Stack config \"subnetIds\" is not set, but vpcId is: an Application Load Balancer needs at least 2 public subnets of that VPC, in different Availability Zones. Fix it with: pulumi config set --path 'subnetIds[0]' <subnet-id>",
            },
            {
                when: "subnetIds without vpcId",
                config: { subnetIds: '["subnet-a","subnet-b"]' },
                message:
                    'Stack config "vpcId" is not set, but subnetIds is set: name the VPC that holds those subnets. Fix it with: pulumi config set vpcId <vpc-id>',
            },
            {
                when: "a blank vpcId",
                config: { vpcId: " ", subnetIds: '["subnet-a","subnet-b"]' },
                message:
                    'Stack config "vpcId" is empty. Fix it with: pulumi config set vpcId <vpc-id>',
            },
            {
                when: "a single subnet",
                config: { vpcId: "vpc-1", subnetIds: '["subnet-a"]' },
                message:
                    "Stack config \"subnetIds\" names only 1 subnet: an Application Load Balancer needs at least 2 public subnets of that VPC, in different Availability Zones. Fix it with: pulumi config set --path 'subnetIds[1]' <subnet-id>",
            },
            {
                when: "subnetIds set as plain text instead of a list",
                config: { vpcId: "vpc-1", subnetIds: "subnet-a,subnet-b" },
                message:
                    'Stack config "subnetIds" is "subnet-a,subnet-b", but must be a list of strings (set each item with --path). Fix it with: pulumi config set --path \'subnetIds[0]\' <subnet-id>',
            },
            {
                when: "a deregistration delay above 3600",
                config: { deregistrationDelaySeconds: "3601" },
                message:
                    'Stack config "deregistrationDelaySeconds" is 3601; it must be a whole number from 0 to 3600. Fix it with: pulumi config set deregistrationDelaySeconds 120',
            },
            {
                when: "a fractional deregistration delay",
                config: { deregistrationDelaySeconds: "1.5" },
                message:
                    'Stack config "deregistrationDelaySeconds" is "1.5", but must be a whole number. Fix it with: pulumi config set deregistrationDelaySeconds 120',
            },
            {
                when: "an empty instanceTypes list",
                config: { instanceTypes: "[]" },
                message:
                    'Stack config "instanceTypes" is empty; list at least one instance type (more types across families mean more Spot pools), or leave it unset for the defaults. Fix it with: pulumi config rm instanceTypes',
            },
            {
                when: "a malformed instance type",
                config: { instanceTypes: '["m7i.large","m5large"]' },
                message:
                    'Stack config "instanceTypes" has "m5large" at index 1, which is not an instance type name such as "m7i.large". Fix it with: pulumi config set --path \'instanceTypes[1]\' m7i.large',
            },
            {
                when: "a duplicated instance type",
                config: { instanceTypes: '["m7i.large","m7i.large"]' },
                message:
                    'Stack config "instanceTypes" lists "m7i.large" twice (at index 0 and 1); each type is one override. Fix it with: pulumi config rm --path \'instanceTypes[1]\'',
            },
            {
                when: "instanceTypes as a list of numbers",
                config: { instanceTypes: "[1,2]" },
                message:
                    "Stack config \"instanceTypes\" is [1,2], but must be a list of strings (set each item with --path). Fix it with: pulumi config set --path 'instanceTypes[0]' m7i.large",
            },
            {
                when: "both instanceTypes and instanceRequirements",
                config: {
                    instanceTypes: '["m7i.large"]',
                    instanceRequirements: '{"vcpuCount":{"min":2},"memoryMib":{"min":4096}}',
                },
                message:
                    'Stack config "instanceRequirements" cannot be combined with instanceTypes: set instanceTypes for an explicit list, or instanceRequirements for every type that matches, not both. Fix it with: pulumi config rm instanceRequirements',
            },
            {
                when: "instanceRequirements without memoryMib",
                config: { instanceRequirements: '{"vcpuCount":{"min":2}}' },
                message:
                    'Stack config "instanceRequirements" is {"vcpuCount":{"min":2}}, but memoryMib must be an object with a whole number "min" and an optional "max", like {"vcpuCount":{"min":2,"max":4},"memoryMib":{"min":4096,"max":16384}}. Fix it with: pulumi config set --path \'instanceRequirements.memoryMib.min\' 4096',
            },
            {
                when: "instanceRequirements with an unknown attribute",
                config: {
                    instanceRequirements:
                        '{"vcpuCount":{"min":2},"memoryMib":{"min":4096},"gpus":{"min":1}}',
                },
                message:
                    'Stack config "instanceRequirements" has "gpus", but only "vcpuCount" and "memoryMib" are supported. Fix it with: pulumi config rm --path \'instanceRequirements.gpus\'',
            },
            {
                when: "instanceRequirements with a vCPU maximum below its minimum",
                config: {
                    instanceRequirements:
                        '{"vcpuCount":{"min":4,"max":2},"memoryMib":{"min":4096}}',
                },
                message:
                    "Stack config \"instanceRequirements\" has vcpuCount.max 2; it must be a whole number, at least vcpuCount.min (4). Fix it with: pulumi config set --path 'instanceRequirements.vcpuCount.max' 4",
            },
            {
                when: "an unknown allocation strategy",
                config: { spotAllocationStrategy: "cheapest" },
                message:
                    'Stack config "spotAllocationStrategy" is "cheapest"; allowed values are "price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "lowest-price". Fix it with: pulumi config set spotAllocationStrategy price-capacity-optimized',
            },
            {
                when: "capacity-optimized-prioritized with instanceRequirements",
                config: {
                    spotAllocationStrategy: "capacity-optimized-prioritized",
                    instanceRequirements: '{"vcpuCount":{"min":2},"memoryMib":{"min":4096}}',
                },
                message:
                    'Stack config "spotAllocationStrategy" is "capacity-optimized-prioritized", which Auto Scaling refuses with instanceRequirements (there is no override order to honour); use "price-capacity-optimized" or "capacity-optimized". Fix it with: pulumi config set spotAllocationStrategy price-capacity-optimized',
            },
            {
                when: "spotInstancePools with the default strategy",
                config: { spotInstancePools: "4" },
                message:
                    'Stack config "spotInstancePools" is set, but it only applies when spotAllocationStrategy is "lowest-price", and that is "price-capacity-optimized". Fix it with: pulumi config rm spotInstancePools',
            },
            {
                when: "21 Spot pools with lowest-price",
                config: { spotAllocationStrategy: "lowest-price", spotInstancePools: "21" },
                message:
                    'Stack config "spotInstancePools" is 21; it must be a whole number from 1 to 20. Fix it with: pulumi config set spotInstancePools 2',
            },
            {
                when: "an on-demand base above maxSize",
                config: { onDemandBaseCapacity: "13" },
                message:
                    'Stack config "onDemandBaseCapacity" is 13; it must be a whole number from 0 to maxSize (12). Fix it with: pulumi config set onDemandBaseCapacity 0',
            },
            {
                when: "an on-demand percentage above 100",
                config: { onDemandPercentageAboveBaseCapacity: "150" },
                message:
                    'Stack config "onDemandPercentageAboveBaseCapacity" is 150; it must be a whole number from 0 to 100. Fix it with: pulumi config set onDemandPercentageAboveBaseCapacity 0',
            },
            {
                when: "a capacityRebalance that is not a boolean",
                config: { capacityRebalance: "yes" },
                message:
                    'Stack config "capacityRebalance" is "yes", but must be true or false. Fix it with: pulumi config set capacityRebalance true|false',
            },
            {
                when: "minSize above maxSize",
                config: { minSize: "5", maxSize: "3", desiredCapacity: "4" },
                message:
                    'Stack config "minSize" is 5, above maxSize (3). Fix it with: pulumi config set minSize <0-3>',
            },
            {
                when: "a maxSize of 0",
                config: { minSize: "0", maxSize: "0", desiredCapacity: "0" },
                message:
                    'Stack config "maxSize" is 0; it must be a whole number 1 or more. Fix it with: pulumi config set maxSize 12',
            },
            {
                when: "desiredCapacity above maxSize",
                config: { desiredCapacity: "20" },
                message:
                    'Stack config "desiredCapacity" is 20; it must be a whole number from minSize (2) to maxSize (12). Fix it with: pulumi config set desiredCapacity <2-12>',
            },
            {
                when: "desiredCapacity below minSize",
                config: { minSize: "3", desiredCapacity: "1" },
                message:
                    'Stack config "desiredCapacity" is 1; it must be a whole number from minSize (3) to maxSize (12). Fix it with: pulumi config set desiredCapacity <3-12>',
            },
        ];

        for (const { when, config, message } of cases) {
            it(`refuses ${when}, naming the key and the command that fixes it, before creating anything`, async () => {
                // Given the bad config
                // When the program runs
                // Then it fails with a StackConfigError
                await assert.rejects(runStackProgram(config), (error: unknown) => {
                    assert.ok(error instanceof configModule.StackConfigError);
                    assert.equal(error.message, message);
                    return true;
                });
                // And nothing was registered
                await registrationsSettled();
                assert.deepEqual(recorded, []);
            });
        }
    });
});
