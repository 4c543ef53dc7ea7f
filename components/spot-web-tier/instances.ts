/**
 * The tier's instances: a diversified Spot Auto Scaling group launching Amazon Linux 2023 from a
 * launch template, with a Session Manager-only role and a page that names each instance.
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { serviceAssumeRolePolicy } from "../shared/iam";
import { AL2023_AMI_PARAMETER, HTTP_PORT } from "./args";
import type { WebTierLoadBalancer } from "./load-balancer";
import type { WebTierNetworkResources } from "./network";
import type { InstanceSelection, ResolvedWebTierSettings } from "./settings";

export interface WebTierInstancesArgs {
    readonly settings: ResolvedWebTierSettings;
    readonly network: WebTierNetworkResources;
    readonly loadBalancer: WebTierLoadBalancer;
    /** The caller's tags; the group adds a Name for its instances. */
    readonly tags: pulumi.Output<Record<string, string>>;
}

export interface WebTierInstances {
    readonly instanceRole: aws.iam.Role;
    readonly instanceProfile: aws.iam.InstanceProfile;
    readonly launchTemplate: aws.ec2.LaunchTemplate;
    readonly autoScalingGroup: aws.autoscaling.Group;
}

/** Builds the role, the launch template and the group as children named `${name}-<role>`. */
export function createInstances(
    name: string,
    { settings, network, loadBalancer, tags }: WebTierInstancesArgs,
    childOpts: pulumi.CustomResourceOptions,
): WebTierInstances {
    const { subnetIds, networkReady } = network;
    const { instanceSecurityGroup, targetGroup, listener } = loadBalancer;
    const partition = aws.getPartitionOutput({}, childOpts).partition;
    const instanceRole = new aws.iam.Role(
        `${name}-instance-role`,
        {
            description: "Spot web tier instances: Session Manager access only",
            assumeRolePolicy: JSON.stringify(serviceAssumeRolePolicy("ec2.amazonaws.com")),
            permissionsBoundary: settings.permissionsBoundary,
            tags,
        },
        childOpts,
    );
    const ssmCore = new aws.iam.RolePolicyAttachment(
        `${name}-instance-ssm`,
        {
            role: instanceRole.name,
            policyArn: partition.apply(ssmManagedInstanceCorePolicyArn),
        },
        childOpts,
    );
    const instanceProfile = new aws.iam.InstanceProfile(
        `${name}-instance-profile`,
        { role: instanceRole.name, tags },
        childOpts,
    );

    // Resolved at deployment, not at launch: a new AMI arrives with `pulumi up`, as a new
    // template version that the instance refresh below rolls out. The value is a public AMI id.
    const imageId = aws.ssm.getParameterOutput(
        { name: AL2023_AMI_PARAMETER },
        childOpts,
    ).insecureValue;
    const launchTemplate = new aws.ec2.LaunchTemplate(
        `${name}-lt`,
        {
            description: "Spot web tier: Amazon Linux 2023 serving its own identity on port 80",
            imageId,
            // No instance type: the group's overrides choose it.
            vpcSecurityGroupIds: [instanceSecurityGroup.id],
            iamInstanceProfile: { arn: instanceProfile.arn },
            metadataOptions: {
                httpEndpoint: "enabled",
                httpTokens: "required",
                httpPutResponseHopLimit: 1,
            },
            blockDeviceMappings: [
                {
                    deviceName: "/dev/xvda",
                    ebs: { volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
                },
            ],
            userData: Buffer.from(webTierUserData()).toString("base64"),
            updateDefaultVersion: true,
            tags,
        },
        // The profile's role must carry its policy before the first instance boots.
        { ...childOpts, dependsOn: [ssmCore] },
    );

    const autoScalingGroup = new aws.autoscaling.Group(
        `${name}-asg`,
        {
            vpcZoneIdentifiers: subnetIds,
            minSize: settings.minSize,
            maxSize: settings.maxSize,
            desiredCapacity: settings.desiredCapacity,
            capacityRebalance: settings.capacityRebalance,
            healthCheckType: "ELB",
            healthCheckGracePeriod: settings.healthCheckGracePeriodSeconds,
            targetGroupArns: [targetGroup.arn],
            mixedInstancesPolicy: {
                instancesDistribution: instancesDistribution(settings),
                launchTemplate: {
                    launchTemplateSpecification: {
                        launchTemplateId: launchTemplate.id,
                        version: launchTemplate.latestVersion.apply(String),
                    },
                    overrides: launchTemplateOverrides(settings.instanceSelection),
                },
            },
            // A new template version (a new AMI, say) replaces instances a few at a time.
            instanceRefresh: {
                strategy: "Rolling",
                preferences: { minHealthyPercentage: 75 },
            },
            tags: tags.apply((t) => autoScalingGroupTags(name, t)),
        },
        // Without the listener, ELB health checks would fail every instance that launches.
        {
            ...childOpts,
            dependsOn: [...networkReady, listener],
            // Run-time scaling (a person, a handler's decrement) then survives `pulumi up`.
            ...(settings.ignoreScalingChanges ? { ignoreChanges: ["desiredCapacity"] } : {}),
        },
    );

    return { instanceRole, instanceProfile, launchTemplate, autoScalingGroup };
}

/** The group's launch template overrides: one per type, or one with the attribute ranges. */
export function launchTemplateOverrides(
    selection: InstanceSelection,
): aws.types.input.autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverride[] {
    if (selection.kind === "types") {
        return selection.instanceTypes.map((instanceType) => ({ instanceType }));
    }
    const { vcpuCount, memoryMib } = selection.instanceRequirements;
    return [
        {
            instanceRequirements: {
                vcpuCount: { ...vcpuCount },
                memoryMib: { ...memoryMib },
                instanceGenerations: ["current"],
            },
        },
    ];
}

/** The group's on-demand/Spot split and Spot allocation. */
export function instancesDistribution(
    settings: ResolvedWebTierSettings,
): aws.types.input.autoscaling.GroupMixedInstancesPolicyInstancesDistribution {
    return {
        // "prioritized" follows the override order, which attribute-based selection does not have.
        onDemandAllocationStrategy:
            settings.instanceSelection.kind === "types" ? "prioritized" : "lowest-price",
        onDemandBaseCapacity: settings.onDemandBaseCapacity,
        onDemandPercentageAboveBaseCapacity: settings.onDemandPercentageAboveBaseCapacity,
        spotAllocationStrategy: settings.spotAllocationStrategy,
        ...(settings.spotInstancePools === undefined
            ? {}
            : { spotInstancePools: settings.spotInstancePools }),
    };
}

/** The group's tags: a Name for the instances, then the caller's tags; all propagate at launch. */
export function autoScalingGroupTags(
    name: string,
    tags: Record<string, string>,
): aws.types.input.autoscaling.GroupTag[] {
    return Object.entries({ Name: name, ...tags }).map(([key, value]) => ({
        key,
        value,
        propagateAtLaunch: true,
    }));
}

/** The one managed policy the instances get: Session Manager access instead of SSH. */
export function ssmManagedInstanceCorePolicyArn(partition: string): string {
    return `arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`;
}

/**
 * The instances' user data: a page naming the instance id, type, zone and lifecycle (spot or
 * on-demand), read through IMDSv2 and served on port 80, so that a person watching the load
 * balancer's URL sees replacements happen. Python's built-in server needs no package install.
 */
export function webTierUserData(): string {
    return `#!/bin/bash
set -euo pipefail

imds=http://169.254.169.254/latest
token=$(curl -sSf --retry 5 -X PUT "$imds/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
metadata() { curl -sSf --retry 5 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"; }

instance_id=$(metadata instance-id)
instance_type=$(metadata instance-type)
availability_zone=$(metadata placement/availability-zone)
lifecycle=$(metadata instance-life-cycle)

mkdir -p /var/www/spot
cat > /var/www/spot/index.html <<PAGE
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>$instance_id</title>
</head>
<body>
<h1>Spot web tier</h1>
<dl>
<dt>Instance</dt><dd id="instance-id">$instance_id</dd>
<dt>Type</dt><dd id="instance-type">$instance_type</dd>
<dt>Availability Zone</dt><dd id="availability-zone">$availability_zone</dd>
<dt>Lifecycle</dt><dd id="lifecycle">$lifecycle</dd>
</dl>
</body>
</html>
PAGE

cat > /etc/systemd/system/spot-web.service <<'UNIT'
[Unit]
Description=Spot web tier page
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/bin/python3 -m http.server ${HTTP_PORT} --directory /var/www/spot
DynamicUser=yes
AmbientCapabilities=CAP_NET_BIND_SERVICE
Restart=always

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
systemctl enable --now spot-web.service
`;
}
