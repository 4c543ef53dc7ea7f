/** The web tier's keys, read as SpotWebTier args: the stack that builds its own group. */
import { isDeepStrictEqual } from "node:util";
import type * as pulumi from "@pulumi/pulumi";
import {
    type CountRange,
    type InstanceRequirements,
    type SpotAllocationStrategy,
    type SpotWebTierArgs,
    WEB_TIER_DEFAULTS,
} from "../components/spot-web-tier";
import {
    isRecord,
    readBoolean,
    readInteger,
    readJson,
    readString,
    readStringArray,
    StackConfigError,
} from "./config-values";

/**
 * Reads each key as its declared type, leaving out the keys that are unset or at their default;
 * ranges and combinations are the component's to judge.
 */
export function readWebTierArgs(config: pulumi.Config): SpotWebTierArgs {
    return withoutDefaults({
        availabilityZoneCount: readInteger(config, "availabilityZoneCount", "3"),
        vpcId: readString(config, "vpcId", "<vpc-id>"),
        subnetIds: readStringArray(config, "subnetIds", "<subnet-id>"),
        deregistrationDelaySeconds: readInteger(config, "deregistrationDelaySeconds", "120"),
        instanceTypes: readStringArray(config, "instanceTypes", "m7i.large"),
        instanceRequirements: readInstanceRequirements(config),
        // Any string passes here; resolveWebTierSettings rejects the unknown ones with the choices.
        spotAllocationStrategy: readString(
            config,
            "spotAllocationStrategy",
            "price-capacity-optimized",
        ) as SpotAllocationStrategy | undefined,
        spotInstancePools: readInteger(config, "spotInstancePools", "2"),
        onDemandBaseCapacity: readInteger(config, "onDemandBaseCapacity", "0"),
        onDemandPercentageAboveBaseCapacity: readInteger(
            config,
            "onDemandPercentageAboveBaseCapacity",
            "0",
        ),
        capacityRebalance: readBoolean(config, "capacityRebalance"),
        minSize: readInteger(config, "minSize", "2"),
        maxSize: readInteger(config, "maxSize", "12"),
        desiredCapacity: readInteger(config, "desiredCapacity", "4"),
    });
}

/**
 * Leaves out unset keys and keys at their default, so that the component applies its own
 * defaults: the CLI materializes Pulumi.yaml's defaults, and those must read as "not chosen".
 */
function withoutDefaults(args: SpotWebTierArgs): SpotWebTierArgs {
    const defaults: Partial<Record<string, unknown>> = WEB_TIER_DEFAULTS;
    return Object.fromEntries(
        Object.entries(args).filter(
            ([key, value]) =>
                value !== undefined && !isDeepStrictEqual(value, defaults[key] ?? undefined),
        ),
    ) as SpotWebTierArgs;
}

const INSTANCE_REQUIREMENTS_EXAMPLE: InstanceRequirements = {
    vcpuCount: { min: 2, max: 4 },
    memoryMib: { min: 4096, max: 16384 },
};

function readInstanceRequirements(config: pulumi.Config): InstanceRequirements | undefined {
    const key = "instanceRequirements";
    const value = readJson(config, key);
    if (value === undefined) {
        return undefined;
    }
    const shapeError = (field: string) =>
        new StackConfigError(
            key,
            `is ${JSON.stringify(value)}, but ${field} must be an object with a whole number "min" and an optional "max", like ${JSON.stringify(INSTANCE_REQUIREMENTS_EXAMPLE)}`,
            `pulumi config set --path '${key}.${field}.min' ${
                field === "vcpuCount"
                    ? INSTANCE_REQUIREMENTS_EXAMPLE.vcpuCount.min
                    : INSTANCE_REQUIREMENTS_EXAMPLE.memoryMib.min
            }`,
        );
    if (!isRecord(value)) {
        throw shapeError("vcpuCount");
    }
    const unknown = Object.keys(value).find(
        (field) => field !== "vcpuCount" && field !== "memoryMib",
    );
    if (unknown !== undefined) {
        throw new StackConfigError(
            key,
            `has "${unknown}", but only "vcpuCount" and "memoryMib" are supported`,
            `pulumi config rm --path '${key}.${unknown}'`,
        );
    }
    const vcpuCount = readCountRange(value.vcpuCount);
    if (vcpuCount === undefined) {
        throw shapeError("vcpuCount");
    }
    const memoryMib = readCountRange(value.memoryMib);
    if (memoryMib === undefined) {
        throw shapeError("memoryMib");
    }
    return { vcpuCount, memoryMib };
}

function readCountRange(value: unknown): CountRange | undefined {
    if (!isRecord(value) || Object.keys(value).some((k) => k !== "min" && k !== "max")) {
        return undefined;
    }
    const { min, max } = value;
    if (typeof min !== "number" || (max !== undefined && typeof max !== "number")) {
        return undefined;
    }
    return max === undefined ? { min } : { min, max };
}
