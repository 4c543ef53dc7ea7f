/**
 * Validation of the SpotWebTier's arguments and their defaults. Pure, so that a mistake fails
 * `pulumi preview` with a message that names the argument and how to fix it.
 */
import type * as pulumi from "@pulumi/pulumi";
import {
    type CountRange,
    type InstanceRequirements,
    isSpotAllocationStrategy,
    MAX_AVAILABILITY_ZONES,
    SPOT_ALLOCATION_STRATEGIES,
    SpotAllocationStrategy,
    type SpotWebTierArgs,
    webTierArgumentError,
    WEB_TIER_DEFAULTS,
} from "./args";
import { quoteAll } from "../shared/argument-checks";
import { permissionsBoundaryProblem } from "../shared/iam";

// Auto Scaling accepts at most 40 launch template overrides per group.
const MAX_INSTANCE_TYPES = 40;
const INSTANCE_TYPE_PATTERN = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

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
    readonly ignoreScalingChanges: boolean;
    /** Unset: the instances' role gets no boundary. */
    readonly permissionsBoundary?: pulumi.Input<string>;
}

/** Validates the plain args, so that a mistake fails `pulumi preview` with a message that says how to fix it. */
export function resolveWebTierSettings(args: SpotWebTierArgs): ResolvedWebTierSettings {
    const network = resolveNetwork(args);
    const instanceSelection = resolveInstanceSelection(args);

    const spotAllocationStrategy =
        args.spotAllocationStrategy ?? WEB_TIER_DEFAULTS.spotAllocationStrategy;
    if (!isSpotAllocationStrategy(spotAllocationStrategy)) {
        throw webTierArgumentError(
            "spotAllocationStrategy",
            `is ${JSON.stringify(spotAllocationStrategy)}; allowed values are ${quoteAll(SPOT_ALLOCATION_STRATEGIES)}`,
            { action: "set", value: "price-capacity-optimized" },
        );
    }
    if (
        spotAllocationStrategy === SpotAllocationStrategy.CapacityOptimizedPrioritized &&
        instanceSelection.kind === "requirements"
    ) {
        throw webTierArgumentError(
            "spotAllocationStrategy",
            'is "capacity-optimized-prioritized", which Auto Scaling refuses with instanceRequirements (there is no override order to honour); use "price-capacity-optimized" or "capacity-optimized"',
            { action: "set", value: "price-capacity-optimized" },
        );
    }
    if (args.spotInstancePools !== undefined) {
        if (spotAllocationStrategy !== SpotAllocationStrategy.LowestPrice) {
            throw webTierArgumentError(
                "spotInstancePools",
                `is set, but it only applies when spotAllocationStrategy is "lowest-price", and that is "${spotAllocationStrategy}"`,
                { action: "unset" },
            );
        }
        wholeNumber("spotInstancePools", args.spotInstancePools, { min: 1, max: 20, example: "2" });
    }

    const minSize = wholeNumber("minSize", args.minSize ?? WEB_TIER_DEFAULTS.minSize, {
        min: 0,
        example: "2",
    });
    const maxSize = wholeNumber("maxSize", args.maxSize ?? WEB_TIER_DEFAULTS.maxSize, {
        min: 1,
        example: "12",
    });
    if (minSize > maxSize) {
        throw webTierArgumentError("minSize", `is ${minSize}, above maxSize (${maxSize})`, {
            action: "set",
            value: `<0-${maxSize}>`,
        });
    }
    const desiredCapacity = args.desiredCapacity ?? WEB_TIER_DEFAULTS.desiredCapacity;
    if (
        !Number.isInteger(desiredCapacity) ||
        desiredCapacity < minSize ||
        desiredCapacity > maxSize
    ) {
        throw webTierArgumentError(
            "desiredCapacity",
            `is ${desiredCapacity}; it must be a whole number from minSize (${minSize}) to maxSize (${maxSize})`,
            { action: "set", value: `<${minSize}-${maxSize}>` },
        );
    }

    const ignoreScalingChanges = args.ignoreScalingChanges ?? false;
    if (typeof ignoreScalingChanges !== "boolean") {
        throw webTierArgumentError(
            "ignoreScalingChanges",
            `is ${JSON.stringify(ignoreScalingChanges)}; it must be true or false`,
            { action: "set", value: "true" },
        );
    }
    const boundaryProblem = permissionsBoundaryProblem(args.permissionsBoundary);
    if (boundaryProblem !== undefined) {
        throw webTierArgumentError("permissionsBoundary", boundaryProblem, {
            action: "set",
            value: "arn:aws:iam::<account>:policy/<boundary>",
        });
    }

    return {
        network,
        deregistrationDelaySeconds: wholeNumber(
            "deregistrationDelaySeconds",
            args.deregistrationDelaySeconds ?? WEB_TIER_DEFAULTS.deregistrationDelaySeconds,
            { min: 0, max: 3600, example: "120" },
        ),
        instanceSelection,
        spotAllocationStrategy,
        ...(args.spotInstancePools === undefined
            ? {}
            : { spotInstancePools: args.spotInstancePools }),
        onDemandBaseCapacity: wholeNumber(
            "onDemandBaseCapacity",
            args.onDemandBaseCapacity ?? WEB_TIER_DEFAULTS.onDemandBaseCapacity,
            {
                min: 0,
                max: maxSize,
                maxName: `maxSize (${maxSize})`,
                example: "0",
            },
        ),
        onDemandPercentageAboveBaseCapacity: wholeNumber(
            "onDemandPercentageAboveBaseCapacity",
            args.onDemandPercentageAboveBaseCapacity ??
                WEB_TIER_DEFAULTS.onDemandPercentageAboveBaseCapacity,
            { min: 0, max: 100, example: "0" },
        ),
        capacityRebalance: args.capacityRebalance ?? WEB_TIER_DEFAULTS.capacityRebalance,
        minSize,
        maxSize,
        desiredCapacity,
        healthCheckGracePeriodSeconds: wholeNumber(
            "healthCheckGracePeriodSeconds",
            args.healthCheckGracePeriodSeconds ?? WEB_TIER_DEFAULTS.healthCheckGracePeriodSeconds,
            { min: 0, example: "120" },
        ),
        ignoreScalingChanges,
        ...(args.permissionsBoundary === undefined
            ? {}
            : { permissionsBoundary: args.permissionsBoundary }),
    };
}

function resolveNetwork(args: SpotWebTierArgs): WebTierNetwork {
    if (args.vpcId === undefined && args.subnetIds === undefined) {
        return {
            kind: "new-vpc",
            availabilityZoneCount: wholeNumber(
                "availabilityZoneCount",
                args.availabilityZoneCount ?? WEB_TIER_DEFAULTS.availabilityZoneCount,
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
        throw webTierArgumentError(
            "availabilityZoneCount",
            "applies only to a new VPC, but vpcId or subnetIds is set: the subnets choose the zones",
            { action: "unset" },
        );
    }
    if (args.vpcId === undefined || args.vpcId === "") {
        throw webTierArgumentError(
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
        throw webTierArgumentError(
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
            throw webTierArgumentError("subnetIds", `has an empty entry at index ${index}`, {
                action: "set",
                path: `[${index}]`,
                value: "<subnet-id>",
            });
        }
        const first = seen.get(id);
        if (first !== undefined) {
            throw webTierArgumentError(
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
            throw webTierArgumentError(
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
    const instanceTypes = args.instanceTypes ?? WEB_TIER_DEFAULTS.instanceTypes;
    if (instanceTypes.length === 0) {
        throw webTierArgumentError(
            "instanceTypes",
            "is empty; list at least one instance type (more types across families mean more Spot pools), or leave it unset for the defaults",
            { action: "unset" },
        );
    }
    if (instanceTypes.length > MAX_INSTANCE_TYPES) {
        throw webTierArgumentError(
            "instanceTypes",
            `lists ${instanceTypes.length} types, but Auto Scaling accepts at most ${MAX_INSTANCE_TYPES}; for more, use instanceRequirements`,
            { action: "unset", path: `[${MAX_INSTANCE_TYPES}]` },
        );
    }
    const malformed = instanceTypes.findIndex((t) => !INSTANCE_TYPE_PATTERN.test(t));
    if (malformed >= 0) {
        throw webTierArgumentError(
            "instanceTypes",
            `has ${JSON.stringify(instanceTypes[malformed])} at index ${malformed}, which is not an instance type name such as "m7i.large"`,
            { action: "set", path: `[${malformed}]`, value: "m7i.large" },
        );
    }
    const duplicate = firstDuplicate(instanceTypes);
    if (duplicate !== undefined) {
        throw webTierArgumentError(
            "instanceTypes",
            `lists "${duplicate.value}" twice (at index ${instanceTypes.indexOf(duplicate.value)} and ${duplicate.index}); each type is one override`,
            { action: "unset", path: `[${duplicate.index}]` },
        );
    }
    return { kind: "types", instanceTypes: [...instanceTypes] };
}

function countRange(field: keyof InstanceRequirements, range: CountRange, example: string): void {
    if (range === undefined || !Number.isInteger(range.min) || range.min < 0) {
        throw webTierArgumentError(
            "instanceRequirements",
            `has ${field}.min ${String(range?.min)}; it must be a whole number, 0 or more`,
            { action: "set", path: `.${field}.min`, value: example },
        );
    }
    if (range.max !== undefined && (!Number.isInteger(range.max) || range.max < range.min)) {
        throw webTierArgumentError(
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
        throw webTierArgumentError(
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
