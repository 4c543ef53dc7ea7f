import { isRecord } from "./event";
import {
    CAPACITY_ON_INTERRUPTION_CHOICES,
    type CapacityOnInterruption,
    type GroupSelection,
    HANDLER_ENV,
    INTERRUPTION_ACTION_CHOICES,
    type InterruptionAction,
    isCapacityOnInterruption,
    isInterruptionAction,
} from "../contract";

export const deploymentOnlyModule = true;

export interface HandlerConfig {
    /** The groups whose instances this function detaches. */
    readonly groups: GroupSelection;
    readonly capacityOnInterruption: CapacityOnInterruption;
    /** How instances leave service: "auto" works with each group's own machinery. */
    readonly interruptionAction: InterruptionAction;
    /** Queue delivery: the events queue, where a waiting record's re-check is brought forward. */
    readonly eventsQueueUrl?: string;
    /** The metrics' Handler dimension: the same for every invocation of one deployment. */
    readonly handlerName: string;
    /** Where a queued warning that came back too late is sent; unset in direct mode. */
    readonly deadLetterQueueUrl?: string;
    /** Decide and report everything, but detach nothing. Defaults to false. */
    readonly dryRun?: boolean;
    /** The SNS topic told about each batch that detached instances; unset, nobody is. */
    readonly notifyTopicArn?: string;
}

/**
 * Reads the function's configuration. A bad value throws rather than ignoring the event:
 * once the configuration is fixed, a retry or the dead-letter queue still holds it.
 * Group names are used exactly as given: the component validated them, and the IAM policy
 * grants exactly those names.
 */
export function readHandlerConfig(env: NodeJS.ProcessEnv): HandlerConfig {
    const capacityOnInterruption = env[HANDLER_ENV.capacityOnInterruption] ?? "keep";
    if (!isCapacityOnInterruption(capacityOnInterruption)) {
        throw new Error(
            `${HANDLER_ENV.capacityOnInterruption} is "${capacityOnInterruption}": set it to one of ${CAPACITY_ON_INTERRUPTION_CHOICES.join(", ")}`,
        );
    }
    const interruptionAction = env[HANDLER_ENV.interruptionAction] ?? "auto";
    if (!isInterruptionAction(interruptionAction)) {
        throw new Error(
            `${HANDLER_ENV.interruptionAction} is "${interruptionAction}": set it to one of ${INTERRUPTION_ACTION_CHOICES.join(", ")}`,
        );
    }
    const dryRun = env[HANDLER_ENV.dryRun] ?? "false";
    if (dryRun !== "true" && dryRun !== "false") {
        throw new Error(`${HANDLER_ENV.dryRun} is "${dryRun}": set it to true or false`);
    }
    return {
        groups: readGroupSelection(env),
        capacityOnInterruption,
        interruptionAction,
        eventsQueueUrl: env[HANDLER_ENV.eventsQueueUrl] || undefined,
        handlerName: env[HANDLER_ENV.handlerName] || env.AWS_LAMBDA_FUNCTION_NAME || "local",
        deadLetterQueueUrl: env[HANDLER_ENV.deadLetterQueueUrl] || undefined,
        dryRun: dryRun === "true",
        notifyTopicArn: env[HANDLER_ENV.notifyTopicArn] || undefined,
    };
}

function readGroupSelection(env: NodeJS.ProcessEnv): GroupSelection {
    const names = env[HANDLER_ENV.autoScalingGroupNames];
    const tag = env[HANDLER_ENV.autoScalingGroupTag];
    if ((names === undefined) === (tag === undefined)) {
        throw new Error(
            `set exactly one of ${HANDLER_ENV.autoScalingGroupNames} (a JSON list of group names) and ${HANDLER_ENV.autoScalingGroupTag} (a JSON {"key": …, "value": …}); ${names === undefined ? "neither is" : "both are"} set`,
        );
    }
    if (names !== undefined) {
        const parsed = parseJson(names);
        if (
            !Array.isArray(parsed) ||
            parsed.length === 0 ||
            !parsed.every((name) => typeof name === "string" && name !== "")
        ) {
            throw new Error(
                `${HANDLER_ENV.autoScalingGroupNames} is ${JSON.stringify(names)}: set it to a JSON list of group names, like ["web"]`,
            );
        }
        return { kind: "names", names: parsed as string[] };
    }
    const parsed = parseJson(tag ?? "");
    if (
        !isRecord(parsed) ||
        typeof parsed.key !== "string" ||
        parsed.key === "" ||
        (parsed.value !== undefined && typeof parsed.value !== "string")
    ) {
        throw new Error(
            `${HANDLER_ENV.autoScalingGroupTag} is ${JSON.stringify(tag)}: set it to a JSON object like {"key":"spot-handler","value":"web"} (value optional)`,
        );
    }
    return typeof parsed.value === "string"
        ? { kind: "tag", key: parsed.key, value: parsed.value }
        : { kind: "tag", key: parsed.key };
}

function parseJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}
