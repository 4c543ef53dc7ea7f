/**
 * The SpotInterruptionHandler's arguments: their defaults and validation. Pure, so that a
 * mistake fails `pulumi preview` with a message that names the argument and how to fix it.
 */
import {
    handlerArgumentError,
    integerInRange,
    oneOf,
    validateAutoScalingGroupName,
} from "./argument-checks";
import type * as pulumi from "@pulumi/pulumi";
import {
    CAPACITY_ON_INTERRUPTION_CHOICES,
    type GroupSelection,
    INTERRUPTION_ACTION_CHOICES,
    InterruptionAction,
} from "../../contract";
import {
    type AutoScalingGroupTag,
    Delivery,
    DELIVERY_CHOICES,
    DIRECT_TIMEOUT_SECONDS,
    type GroupArgument,
    HANDLER_ARCHITECTURES,
    HANDLER_RUNTIMES,
    HandlerArchitecture,
    HandlerRuntime,
    LOG_RETENTION_DAYS,
    MAX_GROUP_NAMES,
    QUEUE_DEFAULTS,
    type ResolvedHandlerSettings,
    type SpotInterruptionHandlerArgs,
} from "./args";
import { permissionsBoundaryProblem } from "../shared/iam";
import { resolveFaultInjectionSettings } from "./fault-injection";
import { resolveQueueSettings } from "./queue-settings";
import { resolveReporting } from "./reporting-settings";

const MAX_TAG_KEY_LENGTH = 128;
const MAX_TAG_VALUE_LENGTH = 256;
const GROUP_ARGUMENTS = [
    "autoScalingGroupName",
    "autoScalingGroupNames",
    "autoScalingGroupTag",
] as const;

const QUEUE_ONLY_ARGS = [
    "batchSize",
    "maximumBatchingWindowInSeconds",
    "maximumConcurrency",
    "visibilityTimeoutSeconds",
    "maxReceiveCount",
    "messageRetentionSeconds",
] as const;

/** Validates the plain args; a group name that is still an Output is checked once it resolves. */
export function resolveHandlerSettings(args: SpotInterruptionHandlerArgs): ResolvedHandlerSettings {
    const { groups, groupArgument } = resolveGroupSelection(args);
    const capacityOnInterruption = oneOf(
        "capacityOnInterruption",
        args.capacityOnInterruption ?? "keep",
        CAPACITY_ON_INTERRUPTION_CHOICES,
    );
    const interruptionAction = oneOf(
        "interruptionAction",
        args.interruptionAction ?? InterruptionAction.Auto,
        INTERRUPTION_ACTION_CHOICES,
    );
    const delivery = oneOf("delivery", args.delivery ?? Delivery.Queue, DELIVERY_CHOICES);
    const runtime = oneOf("runtime", args.runtime ?? HandlerRuntime.Nodejs24, HANDLER_RUNTIMES);
    const architecture = oneOf(
        "architecture",
        args.architecture ?? HandlerArchitecture.Arm64,
        HANDLER_ARCHITECTURES,
    );
    const boundaryProblem = permissionsBoundaryProblem(args.permissionsBoundary);
    if (boundaryProblem !== undefined) {
        throw handlerArgumentError("permissionsBoundary", boundaryProblem);
    }
    const logRetentionInDays = args.logRetentionInDays ?? 30;
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionInDays)) {
        throw handlerArgumentError(
            "logRetentionInDays",
            `is ${logRetentionInDays}; CloudWatch Logs accepts ${LOG_RETENTION_DAYS.join(", ")}`,
        );
    }
    const timeoutSeconds = integerInRange(
        "timeoutSeconds",
        args.timeoutSeconds ??
            (delivery === Delivery.Queue ? QUEUE_DEFAULTS.timeoutSeconds : DIRECT_TIMEOUT_SECONDS),
        10,
        900,
    );
    const queue =
        delivery === Delivery.Queue ? resolveQueueSettings(args, timeoutSeconds) : undefined;
    if (delivery === Delivery.Direct) {
        const misplaced = QUEUE_ONLY_ARGS.filter((name) => args[name] !== undefined);
        if (misplaced.length > 0) {
            throw handlerArgumentError(
                misplaced[0],
                `applies only with delivery "queue"; remove it, or set delivery to "queue"`,
            );
        }
    }
    const reservedConcurrentExecutions =
        args.reservedConcurrentExecutions === undefined
            ? undefined
            : integerInRange(
                  "reservedConcurrentExecutions",
                  args.reservedConcurrentExecutions,
                  1,
                  10_000,
              );
    if (
        queue !== undefined &&
        reservedConcurrentExecutions !== undefined &&
        reservedConcurrentExecutions < queue.maximumConcurrency
    ) {
        throw handlerArgumentError(
            "reservedConcurrentExecutions",
            `is ${reservedConcurrentExecutions}, below maximumConcurrency ${queue.maximumConcurrency}: the mapping's invocations would be throttled; reserve at least ${queue.maximumConcurrency}`,
        );
    }
    return {
        groups,
        groupArgument,
        capacityOnInterruption,
        interruptionAction,
        delivery,
        runtime,
        architecture,
        ...(args.permissionsBoundary === undefined
            ? {}
            : { permissionsBoundary: args.permissionsBoundary }),
        logRetentionInDays,
        timeoutSeconds,
        memorySizeMb: integerInRange("memorySizeMb", args.memorySizeMb ?? 256, 128, 10240),
        maximumEventAgeInSeconds: integerInRange(
            "maximumEventAgeInSeconds",
            args.maximumEventAgeInSeconds ?? 120,
            60,
            120,
        ),
        ...(queue === undefined ? {} : { queue }),
        ...(reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions }),
        ...resolveReporting(args, delivery, queue),
        ...faultInjectionOf(args),
    };
}

/** Exactly one of the three ways to choose groups, each checked as far as its plain parts go. */
export function resolveGroupSelection(args: SpotInterruptionHandlerArgs): {
    readonly groups: GroupSelection<pulumi.Input<string>>;
    readonly groupArgument: GroupArgument;
} {
    const given = GROUP_ARGUMENTS.filter((name) => args[name] !== undefined && args[name] !== null);
    if (given.length === 0) {
        throw handlerArgumentError(
            "autoScalingGroupName",
            "is required: pass the name of the Auto Scaling group to protect, or autoScalingGroupNames (a list), or autoScalingGroupTag ({ key, value })",
        );
    }
    if (given.length > 1) {
        throw handlerArgumentError(
            given[1],
            `cannot be combined with ${given[0]}: pass exactly one of ${GROUP_ARGUMENTS.join(", ")}`,
        );
    }
    if (args.autoScalingGroupTag !== undefined) {
        return {
            groups: resolveGroupTag(args.autoScalingGroupTag),
            groupArgument: "autoScalingGroupTag",
        };
    }
    if (args.autoScalingGroupName !== undefined) {
        const name = args.autoScalingGroupName;
        if (typeof name === "string") {
            validateAutoScalingGroupName(name);
        }
        return { groups: { kind: "names", names: [name] }, groupArgument: "autoScalingGroupName" };
    }
    const names = args.autoScalingGroupNames;
    if (!Array.isArray(names) || names.length === 0 || names.length > MAX_GROUP_NAMES) {
        throw handlerArgumentError(
            "autoScalingGroupNames",
            `${Array.isArray(names) ? `has ${names.length} names` : `is ${JSON.stringify(names)}`}; pass a list of 1 to ${MAX_GROUP_NAMES} group names, or autoScalingGroupTag for more`,
        );
    }
    const plain = names.filter((name): name is string => typeof name === "string");
    plain.forEach((name) =>
        validateAutoScalingGroupName(name, `autoScalingGroupNames[${names.indexOf(name)}]`),
    );
    validateGroupNameList(plain);
    return { groups: { kind: "names", names }, groupArgument: "autoScalingGroupNames" };
}

// Lambda allows 4 KB for all of a function's environment variables; the rest need about 1 KB.
const MAX_GROUP_NAMES_ENVIRONMENT_CHARS = 3_072;

/** The checks a list of names needs once it is known: no repeats, and room in the environment. */
export function validateGroupNameList(names: readonly string[]): readonly string[] {
    const repeated = names.find((name, index) => names.indexOf(name) !== index);
    if (repeated !== undefined) {
        throw handlerArgumentError(
            "autoScalingGroupNames",
            `names ${JSON.stringify(repeated)} twice: list each group once`,
        );
    }
    const chars = JSON.stringify(names).length;
    if (chars > MAX_GROUP_NAMES_ENVIRONMENT_CHARS) {
        throw handlerArgumentError(
            "autoScalingGroupNames",
            `takes ${chars} characters of the function's environment, over the ${MAX_GROUP_NAMES_ENVIRONMENT_CHARS} it may use of Lambda's 4 KB: tag the groups and pass autoScalingGroupTag instead`,
        );
    }
    return names;
}

function resolveGroupTag(tag: AutoScalingGroupTag): GroupSelection {
    const argument = "autoScalingGroupTag";
    if (typeof tag !== "object" || tag === null || Array.isArray(tag)) {
        throw handlerArgumentError(argument, `is ${JSON.stringify(tag)}; pass { key, value? }`);
    }
    const unknown = Object.keys(tag).find((field) => field !== "key" && field !== "value");
    if (unknown !== undefined) {
        throw handlerArgumentError(argument, `has "${unknown}"; it takes only "key" and "value"`);
    }
    const { key, value } = tag;
    if (typeof key !== "string" || key.trim() === "" || key.length > MAX_TAG_KEY_LENGTH) {
        throw handlerArgumentError(
            `${argument}.key`,
            `is ${JSON.stringify(key)}; pass the tag's key, 1 to ${MAX_TAG_KEY_LENGTH} characters`,
        );
    }
    if (key !== key.trim()) {
        throw handlerArgumentError(
            `${argument}.key`,
            `${JSON.stringify(key)} has surrounding whitespace: pass the tag's exact key, ${JSON.stringify(key.trim())}`,
        );
    }
    if (value === undefined) {
        return { kind: "tag", key };
    }
    if (typeof value !== "string" || value.length > MAX_TAG_VALUE_LENGTH) {
        throw handlerArgumentError(
            `${argument}.value`,
            `is ${JSON.stringify(value)}; pass the tag's value (at most ${MAX_TAG_VALUE_LENGTH} characters), or leave it out to match any value`,
        );
    }
    return { kind: "tag", key, value };
}

function faultInjectionOf(
    args: SpotInterruptionHandlerArgs,
): Pick<ResolvedHandlerSettings, "faultInjection"> {
    const faultInjection = resolveFaultInjectionSettings(args.faultInjection);
    const target = args.faultInjection?.autoScalingGroupName;
    if (faultInjection !== undefined && target === undefined && args.autoScalingGroupTag) {
        throw handlerArgumentError(
            "faultInjection.autoScalingGroupName",
            "is required with autoScalingGroupTag: name the tagged group whose instances the experiment interrupts",
        );
    }
    if (typeof target === "string") {
        validateAutoScalingGroupName(target, "faultInjection.autoScalingGroupName");
    }
    return faultInjection === undefined ? {} : { faultInjection };
}
