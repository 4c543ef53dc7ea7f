import type * as pulumi from "@pulumi/pulumi";
import { resolveWebTierSettings, type SpotWebTierArgs } from "../components/spot-web-tier";
import { ComponentArgsError } from "../components/shared/argument-checks";
import { Delivery, DELIVERY_CHOICES } from "../components/spot-interruption-handler/args";
import { permissionsBoundaryProblem } from "../components/shared/iam";
import {
    CAPACITY_ON_INTERRUPTION_CHOICES,
    CapacityOnInterruption,
    type GroupSelection,
    INTERRUPTION_ACTION_CHOICES,
    InterruptionAction,
} from "../contract";
import {
    readChoice,
    fixCommand,
    isRecord,
    readBoolean,
    readJson,
    readStringArray,
    StackConfigError,
} from "./config-values";
import { readWebTierArgs } from "./web-tier-config";

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
    readonly interruptionAction: InterruptionAction;
    readonly delivery: Delivery;
    readonly dryRun: boolean;
    /** Unset: no notification topic. */
    readonly notificationEmail?: string;
    /** An FIS experiment template for real interruptions of the protected group. */
    readonly faultInjection: boolean;
    /** Unset: no boundary. The boundary of every role the stack creates, web tier's included. */
    readonly permissionsBoundary?: string;
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
    interruptionAction: InterruptionAction.Auto,
    delivery: Delivery.Queue,
    dryRun: false,
    faultInjection: false,
    // Empty means none: a typed key without a default would be required of every stack.
    permissionsBoundary: "",
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
    interruptionAction: "string",
    delivery: "string",
    dryRun: "boolean",
    notificationEmail: "string",
    faultInjection: "boolean",
    permissionsBoundary: "string",
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

export function readStackConfig(config: pulumi.Config): StackConfig {
    const capacityOnInterruption = readChoice(
        config,
        "capacityOnInterruption",
        HANDLER_CONFIG_DEFAULTS.capacityOnInterruption,
        CAPACITY_ON_INTERRUPTION_CHOICES,
    );
    const interruptionAction = readChoice(
        config,
        "interruptionAction",
        HANDLER_CONFIG_DEFAULTS.interruptionAction,
        INTERRUPTION_ACTION_CHOICES,
    );
    const delivery = readChoice(
        config,
        "delivery",
        HANDLER_CONFIG_DEFAULTS.delivery,
        DELIVERY_CHOICES,
    );

    const dryRun = readBoolean(config, "dryRun") ?? HANDLER_CONFIG_DEFAULTS.dryRun;
    const notificationEmail = config.get("notificationEmail");
    const permissionsBoundary = readPermissionsBoundary(config);
    const handler: HandlerStackConfig = {
        capacityOnInterruption,
        interruptionAction,
        delivery,
        dryRun,
        faultInjection:
            readBoolean(config, "faultInjection") ?? HANDLER_CONFIG_DEFAULTS.faultInjection,
        ...(notificationEmail === undefined ? {} : { notificationEmail }),
        ...(permissionsBoundary === undefined ? {} : { permissionsBoundary }),
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

/** The boundary's ARN; the declared default, "", and an unset key both mean none. */
function readPermissionsBoundary(config: pulumi.Config): string | undefined {
    const key = "permissionsBoundary";
    const value = config.get(key)?.trim();
    if (value === undefined || value === HANDLER_CONFIG_DEFAULTS.permissionsBoundary) {
        return undefined;
    }
    const problem = permissionsBoundaryProblem(value);
    if (problem !== undefined) {
        throw new StackConfigError(
            key,
            problem,
            `pulumi config set ${key} arn:aws:iam::<account>:policy/<boundary>`,
        );
    }
    return value;
}
