import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { unwrap } from "../../../offline/pulumi-engine";
import {
    all,
    build,
    givenDefaultTier,
    invoked,
    mixedInstancesPolicy,
    MOCK_AMI,
    describeTier,
    components,
    one,
    SSM_TOKEN,
    TUNED_ARGS,
} from "./support";

describeTier("SpotWebTier instances", () => {
    describe("given no args (every default)", () => {
        // Given a Region with four zones, When the tier is built with no args
        const defaults = givenDefaultTier();

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
                arn: await unwrap(defaults.tier.instanceProfile.arn),
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
            assert.deepEqual(group.targetGroupArns, [await unwrap(defaults.tier.targetGroup.arn)]);
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

        it("sizes the group 2 / 4 / 12 and names its instances after the defaults.tier", () => {
            const group = one("aws:autoscaling/group:Group").inputs;
            assert.deepEqual([group.minSize, group.desiredCapacity, group.maxSize], [2, 4, 12]);
            assert.deepEqual(group.tags, [{ key: "Name", value: "web", propagateAtLaunch: true }]);
        });
    });

    describe("given 2 zones, a 30 s delay, instance requirements and lowest-price over 4 pools", () => {
        before(async () => {
            await build("tuned", TUNED_ARGS);
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

    describe("pure helpers", () => {
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
