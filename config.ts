import { isDeepStrictEqual } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import {
    type CountRange,
    type InstanceRequirements,
    resolveWebTierSettings,
    type SpotAllocationStrategy,
    type SpotWebTierArgs,
    WEB_TIER_DEFAULTS,
} from "./components/spot-web-tier";
import { type ArgumentRemedy, ComponentArgsError } from "./components/shared/argument-checks";
import { Delivery, DELIVERY_CHOICES } from "./components/spot-interruption-handler/args";
import {
    CAPACITY_ON_INTERRUPTION_CHOICES,
    CapacityOnInterruption,
    type GroupSelection,
    isCapacityOnInterruption,
} from "./types";

/**
 * The stack's configuration, validated, with defaults applied. Pulumi.yaml declares the same
 * defaults, and the CLI writes them into the config before the program runs; the code applies
 * them too, because mocks and `pulumi config` without the CLI's merge never read Pulumi.yaml.
 * With `autoScalingGroupName`, `autoScalingGroupNames` or `autoScalingGroupTag` set the stack
 * protects those existing groups; with none, it builds a SpotWebTier and protects its group.
 */
export type StackConfig = ExistingGroupStackConfig | WebTierStackConfig;

/** The handler's keys, the same in both kinds of stack. */
export interface HandlerStackConfig {
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly delivery: Delivery;
    readonly dryRun: boolean;
    /** Unset: no notification topic. */
    readonly notificationEmail?: string;
    /** An FIS experiment template for real interruptions of the protected group. */
    readonly faultInjection: boolean;
}

export interface ExistingGroupStackConfig extends HandlerStackConfig {
    readonly kind: "existing-group";
    /** One name, a list of names, or a tag: whichever key the stack set. */
    readonly groups: GroupSelection;
    /** The key it came from, for messages. */
    readonly groupsKey: GroupKey;
}

/** The stack keys that choose existing groups: at most one may be set. */
export const GROUP_KEYS = [
    "autoScalingGroupName",
    "autoScalingGroupNames",
    "autoScalingGroupTag",
] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

/**
 * The tag the web tier's group carries when this stack builds it, its value the stack's name:
 * a handler elsewhere with autoScalingGroupTag { key: "spot-interruption-handler" } protects it.
 */
export const WEB_TIER_GROUP_TAG_KEY = "spot-interruption-handler";

export interface WebTierStackConfig extends HandlerStackConfig {
    readonly kind: "web-tier";
    /** Validated SpotWebTier args; unset keys stay unset, so the component's defaults apply. */
    readonly webTier: SpotWebTierArgs;
}

/** The handler's keys that have a default, with it. */
export const HANDLER_CONFIG_DEFAULTS = {
    capacityOnInterruption: CapacityOnInterruption.Keep,
    delivery: Delivery.Queue,
    dryRun: false,
    faultInjection: false,
} as const satisfies Partial<Record<keyof HandlerStackConfig, unknown>>;

/**
 * Every key the program reads, with its Pulumi.yaml type. Pulumi.yaml declares those with a
 * default (HANDLER_CONFIG_DEFAULTS, WEB_TIER_DEFAULTS); the rest are optional and undeclared,
 * because the CLI requires every declared key that has no default.
 */
export const STACK_CONFIG_TYPES = {
    autoScalingGroupName: "string",
    autoScalingGroupNames: "array<string>",
    autoScalingGroupTag: "object",
    capacityOnInterruption: "string",
    delivery: "string",
    dryRun: "boolean",
    notificationEmail: "string",
    faultInjection: "boolean",
    availabilityZoneCount: "integer",
    vpcId: "string",
    subnetIds: "array<string>",
    deregistrationDelaySeconds: "integer",
    instanceTypes: "array<string>",
    instanceRequirements: "object",
    spotAllocationStrategy: "string",
    spotInstancePools: "integer",
    onDemandBaseCapacity: "integer",
    onDemandPercentageAboveBaseCapacity: "integer",
    capacityRebalance: "boolean",
    minSize: "integer",
    maxSize: "integer",
    desiredCapacity: "integer",
} as const;

/**
 * A stack config mistake: the component argument error for the stack program's keys, with the
 * `pulumi config` command that fixes it.
 */
export class StackConfigError extends ComponentArgsError {
    constructor(
        public readonly key: string,
        problem: string,
        public readonly fixCommand: string,
    ) {
        super("Stack config", key, problem);
        this.message = `Stack config "${key}" ${problem}. Fix it with: ${fixCommand}`;
        this.name = "StackConfigError";
    }
}

/** The `pulumi config` command that applies a remedy to a key. */
export function fixCommand(key: string, remedy: ArgumentRemedy): string {
    if (remedy.action === "unset") {
        return remedy.path === undefined
            ? `pulumi config rm ${key}`
            : `pulumi config rm --path '${key}${remedy.path}'`;
    }
    return remedy.path === undefined
        ? `pulumi config set ${key} ${remedy.value}`
        : `pulumi config set --path '${key}${remedy.path}' ${remedy.value}`;
}

export function readStackConfig(config: pulumi.Config): StackConfig {
    const capacityOnInterruption =
        config.get("capacityOnInterruption") ?? HANDLER_CONFIG_DEFAULTS.capacityOnInterruption;
    if (!isCapacityOnInterruption(capacityOnInterruption)) {
        throw new StackConfigError(
            "capacityOnInterruption",
            `is "${capacityOnInterruption}", but must be one of ${CAPACITY_ON_INTERRUPTION_CHOICES.join(" or ")}`,
            `pulumi config set capacityOnInterruption ${CAPACITY_ON_INTERRUPTION_CHOICES.join("|")}`,
        );
    }
    const delivery = config.get("delivery") ?? HANDLER_CONFIG_DEFAULTS.delivery;
    if (!isDelivery(delivery)) {
        throw new StackConfigError(
            "delivery",
            `is "${delivery}", but must be one of ${DELIVERY_CHOICES.join(" or ")}`,
            `pulumi config set delivery ${DELIVERY_CHOICES.join("|")}`,
        );
    }

    const dryRun = readBoolean(config, "dryRun") ?? HANDLER_CONFIG_DEFAULTS.dryRun;
    const notificationEmail = config.get("notificationEmail");
    const handler: HandlerStackConfig = {
        capacityOnInterruption,
        delivery,
        dryRun,
        faultInjection:
            readBoolean(config, "faultInjection") ?? HANDLER_CONFIG_DEFAULTS.faultInjection,
        ...(notificationEmail === undefined ? {} : { notificationEmail }),
    };

    const chosen = readGroupSelection(config);
    if (chosen !== undefined) {
        // Silently ignoring web tier keys would hide a stack that does not do what its config says;
        // a declared default, which the CLI writes into every stack's config, changes nothing.
        const ignored = Object.keys(readWebTierArgs(config))[0];
        if (ignored !== undefined) {
            throw new StackConfigError(
                ignored,
                `shapes the web tier, which the stack does not build while ${chosen.key} ${chosen.key === "autoScalingGroupTag" ? "chooses existing groups" : chosen.key === "autoScalingGroupNames" ? "names existing groups" : "names an existing group"}`,
                `pulumi config rm ${ignored}`,
            );
        }
        if (handler.faultInjection && chosen.groups.kind === "tag") {
            throw new StackConfigError(
                "faultInjection",
                "needs one group to interrupt, but autoScalingGroupTag chooses groups by tag; run the experiment from a stack that names its group",
                "pulumi config set faultInjection false",
            );
        }
        return { kind: "existing-group", groups: chosen.groups, groupsKey: chosen.key, ...handler };
    }

    const webTier = readWebTierArgs(config);
    try {
        resolveWebTierSettings(webTier);
    } catch (error) {
        if (error instanceof ComponentArgsError && error.remedy !== undefined) {
            throw new StackConfigError(
                error.argument,
                error.problem,
                fixCommand(error.argument, error.remedy),
            );
        }
        throw error;
    }
    return { kind: "web-tier", webTier, ...handler };
}

/** The one group key the stack set, read and checked as its type; undefined when none is. */
function readGroupSelection(
    config: pulumi.Config,
): { key: GroupKey; groups: GroupSelection } | undefined {
    const set = GROUP_KEYS.filter((key) => config.get(key) !== undefined);
    if (set.length > 1) {
        throw new StackConfigError(
            set[1],
            `is set together with ${set[0]}, but the stack protects one choice of groups: a name, a list of names, or a tag`,
            `pulumi config rm ${set[1]}`,
        );
    }
    const [key] = set;
    if (key === "autoScalingGroupName") {
        return { key, groups: { kind: "names", names: [readGroupName(config, key)] } };
    }
    if (key === "autoScalingGroupNames") {
        const names = readStringArray(config, key, "<group-name>") ?? [];
        if (names.length === 0) {
            throw new StackConfigError(
                key,
                "is an empty list: name at least one existing group, or remove the key to build the web tier",
                `pulumi config rm ${key}`,
            );
        }
        names.forEach((name, index) => {
            if (name.trim() === "" || name !== name.trim()) {
                throw new StackConfigError(
                    key,
                    `has ${JSON.stringify(name)} at [${index}], which is empty or has surrounding whitespace`,
                    `pulumi config set --path '${key}[${index}]' ${name.trim() || "<group-name>"}`,
                );
            }
        });
        return { key, groups: { kind: "names", names } };
    }
    if (key === "autoScalingGroupTag") {
        const tag = readJson(config, key);
        const example = `pulumi config set --path '${key}.key' spot-interruption-handler`;
        if (
            !isRecord(tag) ||
            typeof tag.key !== "string" ||
            tag.key.trim() === "" ||
            (tag.value !== undefined && typeof tag.value !== "string") ||
            Object.keys(tag).some((field) => field !== "key" && field !== "value")
        ) {
            throw new StackConfigError(
                key,
                `is ${JSON.stringify(tag)}, but must be an object with a "key" and an optional "value", both strings`,
                example,
            );
        }
        return {
            key,
            groups:
                tag.value === undefined
                    ? { kind: "tag", key: tag.key }
                    : { kind: "tag", key: tag.key, value: tag.value },
        };
    }
    return undefined;
}

function readGroupName(config: pulumi.Config, key: string): string {
    const name = config.require(key);
    if (name.trim() === "") {
        throw new StackConfigError(
            key,
            "is empty: name an existing Auto Scaling group, or remove the key to build the web tier",
            `pulumi config rm ${key}`,
        );
    }
    // The policy and the handler must name exactly the same group.
    if (name !== name.trim()) {
        throw new StackConfigError(
            key,
            `is ${JSON.stringify(name)}, with surrounding whitespace`,
            `pulumi config set ${key} ${name.trim()}`,
        );
    }
    return name;
}

function isDelivery(value: string): value is Delivery {
    return (DELIVERY_CHOICES as readonly string[]).includes(value);
}

/**
 * Reads each key as its declared type, leaving out the keys that are unset or at their default;
 * ranges and combinations are the component's to judge.
 */
function readWebTierArgs(config: pulumi.Config): SpotWebTierArgs {
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

function readString(config: pulumi.Config, key: string, example: string): string | undefined {
    const value = config.get(key);
    if (value === undefined) {
        return undefined;
    }
    if (value.trim() === "") {
        throw new StackConfigError(key, "is empty", `pulumi config set ${key} ${example}`);
    }
    return value.trim();
}

function readInteger(config: pulumi.Config, key: string, example: string): number | undefined {
    const value = config.get(key);
    if (value === undefined) {
        return undefined;
    }
    if (!/^\s*-?\d+\s*$/.test(value)) {
        throw new StackConfigError(
            key,
            `is "${value}", but must be a whole number`,
            `pulumi config set ${key} ${example}`,
        );
    }
    return Number(value);
}

function readBoolean(config: pulumi.Config, key: string): boolean | undefined {
    const value = config.get(key);
    if (value === undefined) {
        return undefined;
    }
    if (value !== "true" && value !== "false") {
        throw new StackConfigError(
            key,
            `is "${value}", but must be true or false`,
            `pulumi config set ${key} true|false`,
        );
    }
    return value === "true";
}

function readJson(config: pulumi.Config, key: string): unknown {
    const value = config.get(key);
    if (value === undefined) {
        return undefined;
    }
    try {
        return JSON.parse(value);
    } catch {
        // A plain string: `pulumi config set key value` without --path stores text, not a list.
        return value;
    }
}

function readStringArray(
    config: pulumi.Config,
    key: string,
    example: string,
): string[] | undefined {
    const value = readJson(config, key);
    if (value === undefined) {
        return undefined;
    }
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
        throw new StackConfigError(
            key,
            `is ${JSON.stringify(value)}, but must be a list of strings (set each item with --path)`,
            `pulumi config set --path '${key}[0]' ${example}`,
        );
    }
    return value;
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

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
