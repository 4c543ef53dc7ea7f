/**
 * The SpotWebTier's arguments, their choices and constants, and the error a bad one raises.
 * Validation and defaults live in `settings.ts`.
 */
import type * as pulumi from "@pulumi/pulumi";
import {
    type ArgumentRemedy,
    argumentErrorsOf,
    type ComponentArgsError,
} from "../shared/argument-checks";

/** How Auto Scaling spreads Spot capacity over the pools (instance type × Availability Zone). */
export const SpotAllocationStrategy = {
    /** The pools least likely to be interrupted, and the cheapest of those. The default. */
    PriceCapacityOptimized: "price-capacity-optimized",
    /** The pools with the most spare capacity, whatever their price. */
    CapacityOptimized: "capacity-optimized",
    /** As "capacity-optimized", preferring earlier types; not with `instanceRequirements`. */
    CapacityOptimizedPrioritized: "capacity-optimized-prioritized",
    /** The `spotInstancePools` cheapest pools per zone, whatever their capacity. */
    LowestPrice: "lowest-price",
} as const;
export type SpotAllocationStrategy =
    (typeof SpotAllocationStrategy)[keyof typeof SpotAllocationStrategy];

/** Every strategy Auto Scaling accepts, the recommended one first. */
export const SPOT_ALLOCATION_STRATEGIES: readonly SpotAllocationStrategy[] =
    Object.values(SpotAllocationStrategy);

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

/**
 * The defaults of the arguments that have one. The stack's Pulumi.yaml declares the same values,
 * and a test holds the two together.
 */
export const WEB_TIER_DEFAULTS = {
    availabilityZoneCount: 3,
    deregistrationDelaySeconds: 120,
    instanceTypes: DEFAULT_INSTANCE_TYPES,
    spotAllocationStrategy: SpotAllocationStrategy.PriceCapacityOptimized,
    onDemandBaseCapacity: 0,
    onDemandPercentageAboveBaseCapacity: 0,
    capacityRebalance: true,
    minSize: 2,
    maxSize: 12,
    desiredCapacity: 4,
    healthCheckGracePeriodSeconds: 120,
} as const satisfies Partial<Record<keyof SpotWebTierArgs, unknown>>;

/** The latest Amazon Linux 2023 AMI for x86_64, which every default instance type runs. */
export const AL2023_AMI_PARAMETER =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

/** The new VPC's address range; each public subnet takes one /20 of it. */
export const VPC_CIDR_BLOCK = "10.0.0.0/16";

/** The most zones a new VPC can span: a /16 holds sixteen /20 subnets. */
export const MAX_AVAILABILITY_ZONES = 16;

/** The web server's port, on the load balancer and on the instances. */
export const HTTP_PORT = 80;

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
    readonly subnetIds?: pulumi.Input<string>[];
    /**
     * How long the target group lets a leaving instance finish in-flight requests, in seconds,
     * 0 to 3600. Defaults to 120, the length of the Spot interruption notice.
     */
    readonly deregistrationDelaySeconds?: number;
    /**
     * Instance types, one launch template override each, at most 40. Defaults to
     * DEFAULT_INSTANCE_TYPES unless `instanceRequirements` is set; never both.
     */
    readonly instanceTypes?: string[];
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
    /**
     * Leave the group's desired capacity to whoever scales it at run time: `pulumi up` then never
     * resets it (`ignoreChanges: ["desiredCapacity"]`, as pulumi-eks offers). With a handler's
     * capacityOnInterruption "decrement", capacity then only ever falls (the tier has no scaling
     * policy): change it deliberately with `aws autoscaling set-desired-capacity`, or set
     * desiredCapacity and run `pulumi up` with this off. Defaults to false.
     */
    readonly ignoreScalingChanges?: boolean;
    /**
     * ARN of a managed IAM policy set as the permissions boundary of the instances' role, for
     * accounts whose guardrails refuse roles without one. Defaults to none.
     */
    readonly permissionsBoundary?: pulumi.Input<string>;
    /** Tags for every taggable child resource, propagated to the instances. Defaults to none. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const webTierErrors = argumentErrorsOf("SpotWebTier");

/** A bad or conflicting argument, named as in SpotWebTierArgs (which are also the stack config keys). */
export function webTierArgumentError(
    argument: keyof SpotWebTierArgs,
    problem: string,
    remedy: ArgumentRemedy,
): ComponentArgsError {
    return webTierErrors(argument, problem, remedy);
}
