import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { serviceAssumeRolePolicy } from "../policies";

/** How Auto Scaling spreads Spot capacity over the pools (instance type × Availability Zone). */
export type SpotAllocationStrategy =
    | "price-capacity-optimized"
    | "capacity-optimized"
    | "capacity-optimized-prioritized"
    | "lowest-price";

/** Every strategy Auto Scaling accepts, the recommended one first. */
export const SPOT_ALLOCATION_STRATEGIES: readonly SpotAllocationStrategy[] = [
    "price-capacity-optimized",
    "capacity-optimized",
    "capacity-optimized-prioritized",
    "lowest-price",
];

export function isSpotAllocationStrategy(value: unknown): value is SpotAllocationStrategy {
    return SPOT_ALLOCATION_STRATEGIES.includes(value as SpotAllocationStrategy);
}

/**
 * Fourteen current-generation x86_64 types with 2 vCPUs (4 to 16 GiB) across the general purpose,
 * compute and memory families of generations 5 to 7, Intel and AMD: 14 Spot pools per zone where
 * the seed had nine, three of them previous-generation (m4, c4, r4). Order matters only to
 * on-demand launches and to capacity-optimized-prioritized: newest general purpose first.
 */
export const DEFAULT_INSTANCE_TYPES: readonly string[] = [
    "m7i.large",
    "m7a.large",
    "m6i.large",
    "m6a.large",
    "m5.large",
    "m5a.large",
    "c7i.large",
    "c6i.large",
    "c6a.large",
    "c5.large",
    "r7i.large",
    "r6i.large",
    "r6a.large",
    "r5.large",
];

/** The latest Amazon Linux 2023 AMI for x86_64, which every default instance type runs. */
export const AL2023_AMI_PARAMETER =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

/** The new VPC's address range; each public subnet takes one /20 of it. */
export const VPC_CIDR_BLOCK = "10.0.0.0/16";

/** The web server's port, on the load balancer and on the instances. */
export const HTTP_PORT = 80;

// Auto Scaling accepts at most 40 launch template overrides per group.
const MAX_INSTANCE_TYPES = 40;
// A /16 holds sixteen /20 subnets.
const MAX_AVAILABILITY_ZONES = 16;
const INSTANCE_TYPE_PATTERN = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

/** A closed range; `max` unset means no upper bound. */
export interface CountRange {
    readonly min: number;
    readonly max?: number;
}

/** Attribute-based instance type selection: every current-generation type in both ranges. */
export interface InstanceRequirements {
    /** vCPUs per instance. */
    readonly vcpuCount: CountRange;
    /** Memory per instance, in MiB. */
    readonly memoryMib: CountRange;
}

export interface SpotWebTierArgs {
    /**
     * Availability Zones of the new VPC, one public subnet in each: 2 to 16, and no more than the
     * Region offers. Defaults to 3. Leave unset with `vpcId`: the subnets choose the zones.
     */
    readonly availabilityZoneCount?: number;
    /** An existing VPC (the default VPC, say) to use instead of a new one. Requires `subnetIds`. Defaults to a new VPC. */
    readonly vpcId?: pulumi.Input<string>;
    /**
     * Public subnets of `vpcId`, at least 2 in different zones, that assign public IPv4 addresses
     * (as the default VPC's do). Requires `vpcId`. Defaults to the new VPC's subnets.
     */
    readonly subnetIds?: readonly pulumi.Input<string>[];
    /**
     * How long the target group lets a leaving instance finish in-flight requests, in seconds,
     * 0 to 3600. Defaults to 120, the length of the Spot interruption notice.
     */
    readonly deregistrationDelaySeconds?: number;
    /**
     * Instance types, one launch template override each, at most 40. Defaults to
     * DEFAULT_INSTANCE_TYPES unless `instanceRequirements` is set; never both.
     */
    readonly instanceTypes?: readonly string[];
    /**
     * Attribute-based selection instead of `instanceTypes`: Auto Scaling uses every
     * current-generation type within the vCPU and memory ranges, the widest diversification.
     * Defaults to unset.
     */
    readonly instanceRequirements?: InstanceRequirements;
    /** How Spot capacity is spread over the pools. Defaults to "price-capacity-optimized". */
    readonly spotAllocationStrategy?: SpotAllocationStrategy;
    /**
     * With "lowest-price" only: how many of the cheapest pools per zone to spread over, 1 to 20.
     * Defaults to unset (Auto Scaling then uses 2).
     */
    readonly spotInstancePools?: number;
    /** Instances that are always on-demand, whatever the split above them; 0 to `maxSize`. Defaults to 0. */
    readonly onDemandBaseCapacity?: number;
    /** Percentage of on-demand instances above the base, 0 to 100. Defaults to 0: all Spot. */
    readonly onDemandPercentageAboveBaseCapacity?: number;
    /**
     * Whether the group replaces an instance as soon as EC2 sends a rebalance recommendation,
     * launching first. Defaults to true.
     */
    readonly capacityRebalance?: boolean;
    /** The group's minimum size. Defaults to 2. */
    readonly minSize?: number;
    /** The group's maximum size, at least 1; leave headroom above `desiredCapacity` for Capacity Rebalancing. Defaults to 12. */
    readonly maxSize?: number;
    /** The group's size, from `minSize` to `maxSize`. Defaults to 4. */
    readonly desiredCapacity?: number;
    /** Seconds after launch before the load balancer's health checks count. Defaults to 120. */
    readonly healthCheckGracePeriodSeconds?: number;
    /** Tags for every taggable child resource, propagated to the instances. Defaults to none. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** What fixes an argument: a value to set (at a path inside it), or removing it. */
export type ArgumentRemedy =
    | { readonly action: "set"; readonly path?: string; readonly value: string }
    | { readonly action: "unset"; readonly path?: string };

/** A bad or conflicting argument, named as in SpotWebTierArgs (which are also the stack config keys). */
export class SpotWebTierArgsError extends Error {
    constructor(
        public readonly argument: keyof SpotWebTierArgs,
        /** What is wrong, starting with a verb: `is 5000; it must be …`. */
        public readonly problem: string,
        public readonly remedy: ArgumentRemedy,
    ) {
        super(`SpotWebTier: [${argument}] ${problem}`);
        this.name = "SpotWebTierArgsError";
    }
}

/** Where the tier runs: a new VPC across some zones, or the given subnets of an existing one. */
export type WebTierNetwork =
    | { readonly kind: "new-vpc"; readonly availabilityZoneCount: number }
    | {
          readonly kind: "existing-vpc";
          readonly vpcId: pulumi.Input<string>;
          readonly subnetIds: readonly pulumi.Input<string>[];
      };

/** Which types the group may launch: an explicit list, or attribute-based selection. */
export type InstanceSelection =
    | { readonly kind: "types"; readonly instanceTypes: readonly string[] }
    | { readonly kind: "requirements"; readonly instanceRequirements: InstanceRequirements };

/** The args after validation, with every default applied. */
export interface ResolvedWebTierSettings {
    readonly network: WebTierNetwork;
    readonly deregistrationDelaySeconds: number;
    readonly instanceSelection: InstanceSelection;
    readonly spotAllocationStrategy: SpotAllocationStrategy;
    readonly spotInstancePools?: number;
    readonly onDemandBaseCapacity: number;
    readonly onDemandPercentageAboveBaseCapacity: number;
    readonly capacityRebalance: boolean;
    readonly minSize: number;
    readonly maxSize: number;
    readonly desiredCapacity: number;
    readonly healthCheckGracePeriodSeconds: number;
}

/** Validates the plain args, so that a mistake fails `pulumi preview` with a message that says how to fix it. */
export function resolveWebTierSettings(args: SpotWebTierArgs): ResolvedWebTierSettings {
    const network = resolveNetwork(args);
    const instanceSelection = resolveInstanceSelection(args);

    const spotAllocationStrategy = args.spotAllocationStrategy ?? "price-capacity-optimized";
    if (!isSpotAllocationStrategy(spotAllocationStrategy)) {
        throw new SpotWebTierArgsError(
            "spotAllocationStrategy",
            `is ${JSON.stringify(spotAllocationStrategy)}; allowed values are ${quoteAll(SPOT_ALLOCATION_STRATEGIES)}`,
            { action: "set", value: "price-capacity-optimized" },
        );
    }
    if (
        spotAllocationStrategy === "capacity-optimized-prioritized" &&
        instanceSelection.kind === "requirements"
    ) {
        throw new SpotWebTierArgsError(
            "spotAllocationStrategy",
            'is "capacity-optimized-prioritized", which Auto Scaling refuses with instanceRequirements (there is no override order to honour); use "price-capacity-optimized" or "capacity-optimized"',
            { action: "set", value: "price-capacity-optimized" },
        );
    }
    if (args.spotInstancePools !== undefined) {
        if (spotAllocationStrategy !== "lowest-price") {
            throw new SpotWebTierArgsError(
                "spotInstancePools",
                `is set, but it only applies when spotAllocationStrategy is "lowest-price", and that is "${spotAllocationStrategy}"`,
                { action: "unset" },
            );
        }
        wholeNumber("spotInstancePools", args.spotInstancePools, { min: 1, max: 20, example: "2" });
    }

    const minSize = wholeNumber("minSize", args.minSize ?? 2, { min: 0, example: "2" });
    const maxSize = wholeNumber("maxSize", args.maxSize ?? 12, { min: 1, example: "12" });
    if (minSize > maxSize) {
        throw new SpotWebTierArgsError("minSize", `is ${minSize}, above maxSize (${maxSize})`, {
            action: "set",
            value: `<0-${maxSize}>`,
        });
    }
    const desiredCapacity = args.desiredCapacity ?? 4;
    if (
        !Number.isInteger(desiredCapacity) ||
        desiredCapacity < minSize ||
        desiredCapacity > maxSize
    ) {
        throw new SpotWebTierArgsError(
            "desiredCapacity",
            `is ${desiredCapacity}; it must be a whole number from minSize (${minSize}) to maxSize (${maxSize})`,
            { action: "set", value: `<${minSize}-${maxSize}>` },
        );
    }

    return {
        network,
        deregistrationDelaySeconds: wholeNumber(
            "deregistrationDelaySeconds",
            args.deregistrationDelaySeconds ?? 120,
            { min: 0, max: 3600, example: "120" },
        ),
        instanceSelection,
        spotAllocationStrategy,
        ...(args.spotInstancePools === undefined
            ? {}
            : { spotInstancePools: args.spotInstancePools }),
        onDemandBaseCapacity: wholeNumber("onDemandBaseCapacity", args.onDemandBaseCapacity ?? 0, {
            min: 0,
            max: maxSize,
            maxName: `maxSize (${maxSize})`,
            example: "0",
        }),
        onDemandPercentageAboveBaseCapacity: wholeNumber(
            "onDemandPercentageAboveBaseCapacity",
            args.onDemandPercentageAboveBaseCapacity ?? 0,
            { min: 0, max: 100, example: "0" },
        ),
        capacityRebalance: args.capacityRebalance ?? true,
        minSize,
        maxSize,
        desiredCapacity,
        healthCheckGracePeriodSeconds: wholeNumber(
            "healthCheckGracePeriodSeconds",
            args.healthCheckGracePeriodSeconds ?? 120,
            { min: 0, example: "120" },
        ),
    };
}

function resolveNetwork(args: SpotWebTierArgs): WebTierNetwork {
    if (args.vpcId === undefined && args.subnetIds === undefined) {
        return {
            kind: "new-vpc",
            availabilityZoneCount: wholeNumber(
                "availabilityZoneCount",
                args.availabilityZoneCount ?? 3,
                {
                    min: 2,
                    max: MAX_AVAILABILITY_ZONES,
                    example: "3",
                    why: "an Application Load Balancer needs at least 2",
                },
            ),
        };
    }
    if (args.availabilityZoneCount !== undefined) {
        throw new SpotWebTierArgsError(
            "availabilityZoneCount",
            "applies only to a new VPC, but vpcId or subnetIds is set: the subnets choose the zones",
            { action: "unset" },
        );
    }
    if (args.vpcId === undefined || args.vpcId === "") {
        throw new SpotWebTierArgsError(
            "vpcId",
            `${args.vpcId === undefined ? "is not set" : "is empty"}, but subnetIds is set: name the VPC that holds those subnets`,
            { action: "set", value: "<vpc-id>" },
        );
    }
    const subnetIds = args.subnetIds ?? [];
    if (subnetIds.length < 2) {
        const found =
            args.subnetIds === undefined
                ? "is not set, but vpcId is"
                : `names ${subnetIds.length === 0 ? "no subnet" : "only 1 subnet"}`;
        throw new SpotWebTierArgsError(
            "subnetIds",
            `${found}: an Application Load Balancer needs at least 2 public subnets of that VPC, in different Availability Zones`,
            { action: "set", path: `[${subnetIds.length}]`, value: "<subnet-id>" },
        );
    }
    const seen = new Map<string, number>();
    for (const [index, id] of subnetIds.entries()) {
        // Ids that come from other resources are unknown until deployment; AWS checks those.
        if (typeof id !== "string") {
            continue;
        }
        if (id === "") {
            throw new SpotWebTierArgsError("subnetIds", `has an empty entry at index ${index}`, {
                action: "set",
                path: `[${index}]`,
                value: "<subnet-id>",
            });
        }
        const first = seen.get(id);
        if (first !== undefined) {
            throw new SpotWebTierArgsError(
                "subnetIds",
                `names "${id}" twice (at index ${first} and ${index}): each subnet must be in a different Availability Zone`,
                { action: "unset", path: `[${index}]` },
            );
        }
        seen.set(id, index);
    }
    return { kind: "existing-vpc", vpcId: args.vpcId, subnetIds };
}

function resolveInstanceSelection(args: SpotWebTierArgs): InstanceSelection {
    if (args.instanceRequirements !== undefined) {
        if (args.instanceTypes !== undefined) {
            throw new SpotWebTierArgsError(
                "instanceRequirements",
                "cannot be combined with instanceTypes: set instanceTypes for an explicit list, or instanceRequirements for every type that matches, not both",
                { action: "unset" },
            );
        }
        const { vcpuCount, memoryMib } = args.instanceRequirements;
        countRange("vcpuCount", vcpuCount, "2");
        countRange("memoryMib", memoryMib, "4096");
        return { kind: "requirements", instanceRequirements: { vcpuCount, memoryMib } };
    }
    const instanceTypes = args.instanceTypes ?? DEFAULT_INSTANCE_TYPES;
    if (instanceTypes.length === 0) {
        throw new SpotWebTierArgsError(
            "instanceTypes",
            "is empty; list at least one instance type (more types across families mean more Spot pools), or leave it unset for the defaults",
            { action: "unset" },
        );
    }
    if (instanceTypes.length > MAX_INSTANCE_TYPES) {
        throw new SpotWebTierArgsError(
            "instanceTypes",
            `lists ${instanceTypes.length} types, but Auto Scaling accepts at most ${MAX_INSTANCE_TYPES}; for more, use instanceRequirements`,
            { action: "unset", path: `[${MAX_INSTANCE_TYPES}]` },
        );
    }
    const malformed = instanceTypes.findIndex((t) => !INSTANCE_TYPE_PATTERN.test(t));
    if (malformed >= 0) {
        throw new SpotWebTierArgsError(
            "instanceTypes",
            `has ${JSON.stringify(instanceTypes[malformed])} at index ${malformed}, which is not an instance type name such as "m7i.large"`,
            { action: "set", path: `[${malformed}]`, value: "m7i.large" },
        );
    }
    const duplicate = firstDuplicate(instanceTypes);
    if (duplicate !== undefined) {
        throw new SpotWebTierArgsError(
            "instanceTypes",
            `lists "${duplicate.value}" twice (at index ${instanceTypes.indexOf(duplicate.value)} and ${duplicate.index}); each type is one override`,
            { action: "unset", path: `[${duplicate.index}]` },
        );
    }
    return { kind: "types", instanceTypes: [...instanceTypes] };
}

function countRange(field: keyof InstanceRequirements, range: CountRange, example: string): void {
    if (range === undefined || !Number.isInteger(range.min) || range.min < 0) {
        throw new SpotWebTierArgsError(
            "instanceRequirements",
            `has ${field}.min ${String(range?.min)}; it must be a whole number, 0 or more`,
            { action: "set", path: `.${field}.min`, value: example },
        );
    }
    if (range.max !== undefined && (!Number.isInteger(range.max) || range.max < range.min)) {
        throw new SpotWebTierArgsError(
            "instanceRequirements",
            `has ${field}.max ${range.max}; it must be a whole number, at least ${field}.min (${range.min})`,
            { action: "set", path: `.${field}.max`, value: String(range.min) },
        );
    }
}

interface WholeNumberRule {
    readonly min: number;
    /** Defaults to no upper bound. */
    readonly max?: number;
    /** How the upper bound reads when it is another argument, e.g. `maxSize (12)`. */
    readonly maxName?: string;
    /** A valid value to suggest. */
    readonly example: string;
    /** Why the bounds are what they are, when that is not obvious. */
    readonly why?: string;
}

function wholeNumber(
    argument: keyof SpotWebTierArgs,
    value: number,
    rule: WholeNumberRule,
): number {
    const max = rule.max ?? Infinity;
    if (!Number.isInteger(value) || value < rule.min || value > max) {
        const range =
            max === Infinity
                ? `${rule.min} or more`
                : `from ${rule.min} to ${rule.maxName ?? String(max)}`;
        throw new SpotWebTierArgsError(
            argument,
            `is ${value}; it must be a whole number ${range}${rule.why === undefined ? "" : ` (${rule.why})`}`,
            { action: "set", value: rule.example },
        );
    }
    return value;
}

function firstDuplicate(values: readonly string[]): { value: string; index: number } | undefined {
    const index = values.findIndex((v, i) => values.indexOf(v) !== i);
    return index < 0 ? undefined : { value: values[index], index };
}

function quoteAll(values: readonly string[]): string {
    return values.map((v) => `"${v}"`).join(", ");
}

/** Takes the first `count` zones, or fails naming the zones the Region has. */
export function pickAvailabilityZones(names: readonly string[], count: number): string[] {
    if (names.length < count) {
        throw new SpotWebTierArgsError(
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

/**
 * A load-balanced web application on a diversified Spot Auto Scaling group: an internet-facing
 * ALB whose target group drains leaving instances, and a group that mixes many instance types
 * across zones with Capacity Rebalancing. Pass `autoScalingGroup.name` to a
 * SpotInterruptionHandler to detach instances on the two-minute warning.
 */
export class SpotWebTier extends pulumi.ComponentResource {
    /** The VPC the tier runs in. */
    public readonly vpcId: pulumi.Output<string>;
    /** The public subnets of the load balancer and the instances, one per zone. */
    public readonly subnetIds: pulumi.Output<string[]>;
    /** The new VPC; undefined when `vpcId` was given. */
    public readonly vpc?: aws.ec2.Vpc;
    /** Admits HTTP from the internet to the load balancer. */
    public readonly loadBalancerSecurityGroup: aws.ec2.SecurityGroup;
    /** Admits HTTP to the instances from the load balancer only. */
    public readonly instanceSecurityGroup: aws.ec2.SecurityGroup;
    /** The internet-facing Application Load Balancer. */
    public readonly loadBalancer: aws.lb.LoadBalancer;
    /** Health-checks the instances on `/` and drains them for the deregistration delay. */
    public readonly targetGroup: aws.lb.TargetGroup;
    /** Forwards HTTP on port 80 to the target group. */
    public readonly listener: aws.lb.Listener;
    /** The instances' role: Session Manager, nothing else. */
    public readonly instanceRole: aws.iam.Role;
    public readonly instanceProfile: aws.iam.InstanceProfile;
    /** Latest Amazon Linux 2023, IMDSv2 only, and the page-serving user data. */
    public readonly launchTemplate: aws.ec2.LaunchTemplate;
    /** The diversified Spot group; give its name to the SpotInterruptionHandler. */
    public readonly autoScalingGroup: aws.autoscaling.Group;
    /** The load balancer's address, e.g. `http://web-alb-1234.eu-west-1.elb.amazonaws.com`. */
    public readonly url: pulumi.Output<string>;

    /**
     * @param name The _unique_ name of this component; every child is named `${name}-<role>`.
     * @param args Network, load balancer and group settings; every one has a default.
     * @param opts Options for the component; `provider`/`providers` reach every child.
     */
    constructor(name: string, args: SpotWebTierArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        // Validated before registering, so that bad args leave no half-built component behind.
        const settings = resolveWebTierSettings(args);
        super("spot-interruption-handler:index:SpotWebTier", name, {}, opts);
        const childOpts: pulumi.CustomResourceOptions = { parent: this };
        const tags = pulumi.output(args.tags ?? {});
        const named = (role: string) => tags.apply((t) => ({ Name: `${name}-${role}`, ...t }));

        // Internet-facing load balancers and launches must wait for the route to the internet.
        const networkReady: pulumi.Resource[] = [];
        if (settings.network.kind === "new-vpc") {
            const { availabilityZoneCount } = settings.network;
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
            const zones = aws
                .getAvailabilityZonesOutput(
                    {
                        state: "available",
                        filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
                    },
                    childOpts,
                )
                .names.apply((names) => pickAvailabilityZones(names, availabilityZoneCount));
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
            this.vpc = vpc;
            this.vpcId = vpc.id;
            this.subnetIds = pulumi.all(subnets.map((s) => s.id));
        } else {
            this.vpcId = pulumi.output(settings.network.vpcId);
            this.subnetIds = pulumi.all([...settings.network.subnetIds]);
        }

        this.loadBalancerSecurityGroup = new aws.ec2.SecurityGroup(
            `${name}-alb-sg`,
            {
                description: "Spot web tier load balancer: HTTP from the internet",
                vpcId: this.vpcId,
                tags: named("alb-sg"),
            },
            childOpts,
        );
        this.instanceSecurityGroup = new aws.ec2.SecurityGroup(
            `${name}-instance-sg`,
            {
                description: "Spot web tier instances: HTTP from the load balancer only",
                vpcId: this.vpcId,
                tags: named("instance-sg"),
            },
            childOpts,
        );
        // Separate rule resources: the two groups refer to each other, which inline rules cannot express.
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-alb-http-in`,
            {
                securityGroupId: this.loadBalancerSecurityGroup.id,
                description: "HTTP from the internet",
                ipProtocol: "tcp",
                fromPort: HTTP_PORT,
                toPort: HTTP_PORT,
                cidrIpv4: "0.0.0.0/0",
            },
            childOpts,
        );
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-alb-http-out`,
            {
                securityGroupId: this.loadBalancerSecurityGroup.id,
                description: "HTTP and health checks to the instances",
                ipProtocol: "tcp",
                fromPort: HTTP_PORT,
                toPort: HTTP_PORT,
                referencedSecurityGroupId: this.instanceSecurityGroup.id,
            },
            childOpts,
        );
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-instance-http-in`,
            {
                securityGroupId: this.instanceSecurityGroup.id,
                description: "HTTP from the load balancer only",
                ipProtocol: "tcp",
                fromPort: HTTP_PORT,
                toPort: HTTP_PORT,
                referencedSecurityGroupId: this.loadBalancerSecurityGroup.id,
            },
            childOpts,
        );
        // HTTPS out is all the instances need: Systems Manager and package repositories.
        // Instance metadata, DNS and time sync are link-local and not subject to security groups.
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-instance-https-out`,
            {
                securityGroupId: this.instanceSecurityGroup.id,
                description: "HTTPS to AWS APIs (Systems Manager) and package repositories",
                ipProtocol: "tcp",
                fromPort: 443,
                toPort: 443,
                cidrIpv4: "0.0.0.0/0",
            },
            childOpts,
        );

        this.loadBalancer = new aws.lb.LoadBalancer(
            `${name}-alb`,
            {
                loadBalancerType: "application",
                internal: false,
                securityGroups: [this.loadBalancerSecurityGroup.id],
                subnets: this.subnetIds,
                dropInvalidHeaderFields: true,
                tags,
            },
            { ...childOpts, dependsOn: networkReady },
        );

        this.targetGroup = new aws.lb.TargetGroup(
            `${name}-tg`,
            {
                vpcId: this.vpcId,
                targetType: "instance",
                protocol: "HTTP",
                port: HTTP_PORT,
                deregistrationDelay: settings.deregistrationDelaySeconds,
                // Quick to notice a new instance, and a dead one, well inside the two-minute notice.
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
                tags,
            },
            childOpts,
        );

        this.listener = new aws.lb.Listener(
            `${name}-http`,
            {
                loadBalancerArn: this.loadBalancer.arn,
                protocol: "HTTP",
                port: HTTP_PORT,
                defaultActions: [{ type: "forward", targetGroupArn: this.targetGroup.arn }],
                tags,
            },
            childOpts,
        );

        const partition = aws.getPartitionOutput({}, childOpts).partition;
        this.instanceRole = new aws.iam.Role(
            `${name}-instance-role`,
            {
                description: "Spot web tier instances: Session Manager access only",
                assumeRolePolicy: JSON.stringify(serviceAssumeRolePolicy("ec2.amazonaws.com")),
                tags,
            },
            childOpts,
        );
        const ssmCore = new aws.iam.RolePolicyAttachment(
            `${name}-instance-ssm`,
            {
                role: this.instanceRole.name,
                policyArn: partition.apply(ssmManagedInstanceCorePolicyArn),
            },
            childOpts,
        );
        this.instanceProfile = new aws.iam.InstanceProfile(
            `${name}-instance-profile`,
            { role: this.instanceRole.name, tags },
            childOpts,
        );

        // Resolved at deployment, not at launch: a new AMI arrives with `pulumi up`, as a new
        // template version that the instance refresh below rolls out. The value is a public AMI id.
        const imageId = aws.ssm.getParameterOutput(
            { name: AL2023_AMI_PARAMETER },
            childOpts,
        ).insecureValue;
        this.launchTemplate = new aws.ec2.LaunchTemplate(
            `${name}-lt`,
            {
                description: "Spot web tier: Amazon Linux 2023 serving its own identity on port 80",
                imageId,
                // No instance type: the group's overrides choose it.
                vpcSecurityGroupIds: [this.instanceSecurityGroup.id],
                iamInstanceProfile: { arn: this.instanceProfile.arn },
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

        this.autoScalingGroup = new aws.autoscaling.Group(
            `${name}-asg`,
            {
                vpcZoneIdentifiers: this.subnetIds,
                minSize: settings.minSize,
                maxSize: settings.maxSize,
                desiredCapacity: settings.desiredCapacity,
                capacityRebalance: settings.capacityRebalance,
                healthCheckType: "ELB",
                healthCheckGracePeriod: settings.healthCheckGracePeriodSeconds,
                targetGroupArns: [this.targetGroup.arn],
                mixedInstancesPolicy: {
                    instancesDistribution: instancesDistribution(settings),
                    launchTemplate: {
                        launchTemplateSpecification: {
                            launchTemplateId: this.launchTemplate.id,
                            version: this.launchTemplate.latestVersion.apply(String),
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
            { ...childOpts, dependsOn: [...networkReady, this.listener] },
        );

        this.url = pulumi.interpolate`http://${this.loadBalancer.dnsName}`;

        this.registerOutputs({
            vpcId: this.vpcId,
            subnetIds: this.subnetIds,
            vpc: this.vpc,
            loadBalancerSecurityGroup: this.loadBalancerSecurityGroup,
            instanceSecurityGroup: this.instanceSecurityGroup,
            loadBalancer: this.loadBalancer,
            targetGroup: this.targetGroup,
            listener: this.listener,
            instanceRole: this.instanceRole,
            instanceProfile: this.instanceProfile,
            launchTemplate: this.launchTemplate,
            autoScalingGroup: this.autoScalingGroup,
            url: this.url,
        });
    }
}
