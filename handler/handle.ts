import type { AutoScalingGateway, DetachActivity } from "./auto-scaling";
import type { HandlerConfig } from "./config";
import {
    type CapacityOnInterruption,
    type CapacityPlan,
    classifyDetachFailure,
    type DetachFailure,
    judgeMembership,
    keepInsteadOfDecrement,
    planCapacity,
} from "./decision";
import { parseInterruptionWarning } from "./event";

// Pulumi's closure serializer then inlines this module even from an importer's node_modules.
export const deploymentOnlyModule = true;

/** What one invocation did; the Lambda console's test shows this. */
export interface InterruptionSummary {
    readonly instanceId?: string;
    readonly autoScalingGroupName: string;
    readonly action: "detached" | "ignored";
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly reason?: string;
}

export type LogLevel = "INFO" | "WARN" | "ERROR";

/** One structured line per decision. */
export interface DecisionRecord extends Partial<InterruptionSummary> {
    readonly eventId?: string;
    readonly message: string;
    /** The scaling activity a detach started, to find it in the group's activity history. */
    readonly activity?: DetachActivity;
    readonly error?: { readonly name: string; readonly message: string };
}

export type DecisionLogger = (level: LogLevel, record: DecisionRecord) => void;

export interface HandlerDependencies {
    readonly config: HandlerConfig;
    readonly autoScaling: AutoScalingGateway;
    readonly log: DecisionLogger;
}

/**
 * Writes a decision at the console level that matches. Under Lambda's JSON log format the runtime
 * nests a lone object as the entry's `message`, so its fields stay queryable in Logs Insights;
 * anywhere else the decision is written as one JSON line.
 */
export const logDecision: DecisionLogger = (level, record) => {
    const write =
        level === "ERROR" ? console.error : level === "WARN" ? console.warn : console.info;
    const lambdaFormatsJson = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === "JSON";
    write(lambdaFormatsJson ? record : JSON.stringify({ level, ...record }));
};

/**
 * Detaches the interrupted instance from the configured group, so that its target groups drain it.
 * Idempotent: a duplicate delivery finds the instance gone or leaving, and is ignored.
 * Throws only on errors that a retry could fix, so that no saveable interruption is dropped.
 */
export async function handleInterruptionWarning(
    event: unknown,
    { config, autoScaling, log }: HandlerDependencies,
): Promise<InterruptionSummary> {
    const { autoScalingGroupName } = config;
    const parsed = parseInterruptionWarning(event);
    const { eventId } = parsed;
    const ignore = (
        instanceId: string | undefined,
        capacityOnInterruption: CapacityOnInterruption,
        reason: string,
    ): InterruptionSummary => {
        const summary: InterruptionSummary = {
            instanceId,
            autoScalingGroupName,
            action: "ignored",
            capacityOnInterruption,
            reason,
        };
        log("INFO", { eventId, ...summary, message: `Ignored: ${reason}` });
        return summary;
    };

    if (parsed.kind === "unrecognised") {
        return ignore(undefined, config.capacityOnInterruption, parsed.reason);
    }
    const { instanceId } = parsed;

    const membership = await autoScaling.describeMembership(instanceId);
    const verdict = judgeMembership(instanceId, membership, autoScalingGroupName);
    if (verdict.verdict === "ignore") {
        return ignore(instanceId, config.capacityOnInterruption, verdict.reason);
    }

    // Only a decrement needs the group's sizes; keep spares a Describe call from the shared budget.
    const groupSize =
        config.capacityOnInterruption === "decrement"
            ? await autoScaling.describeGroupSize(autoScalingGroupName)
            : undefined;
    let plan = planCapacity(config.capacityOnInterruption, groupSize);
    let attempt = await tryDetach(autoScaling, autoScalingGroupName, instanceId, plan);

    // The group shrank since we read it; one more try with keep still gets the instance out.
    if (attempt.failure?.kind === "below-min-size" && plan.shouldDecrementDesiredCapacity) {
        plan = keepInsteadOfDecrement(`AWS refused the decrement (${attempt.failure.reason})`);
        attempt = await tryDetach(autoScaling, autoScalingGroupName, instanceId, plan);
    }
    const { failure, activity } = attempt;

    if (failure?.kind === "already-leaving") {
        return ignore(instanceId, plan.capacityOnInterruption, failure.reason);
    }
    if (failure !== undefined) {
        log("ERROR", {
            eventId,
            instanceId,
            autoScalingGroupName,
            capacityOnInterruption: plan.capacityOnInterruption,
            message: `DetachInstances failed for ${instanceId}; rethrowing so that Lambda retries or dead-letters the event`,
            error: describeError(failure.error),
        });
        throw failure.error;
    }

    const summary: InterruptionSummary = {
        instanceId,
        autoScalingGroupName,
        action: "detached",
        capacityOnInterruption: plan.capacityOnInterruption,
        ...(plan.fallbackReason === undefined ? {} : { reason: plan.fallbackReason }),
    };
    log(plan.fallbackReason === undefined ? "INFO" : "WARN", {
        eventId,
        ...summary,
        message: `Instance ${instanceId} belongs to AutoScaling Group ${autoScalingGroupName}. Detaching instance...`,
        ...(activity === undefined ? {} : { activity }),
    });
    return summary;
}

type DetachAttempt =
    | { readonly failure?: undefined; readonly activity?: DetachActivity }
    | {
          readonly failure: DetachFailure & { readonly error: unknown };
          readonly activity?: undefined;
      };

/** Calls DetachInstances; resolves to the activity it started, or to what its failure means. */
async function tryDetach(
    autoScaling: AutoScalingGateway,
    autoScalingGroupName: string,
    instanceId: string,
    plan: CapacityPlan,
): Promise<DetachAttempt> {
    try {
        const activity = await autoScaling.detachInstance(
            autoScalingGroupName,
            instanceId,
            plan.shouldDecrementDesiredCapacity,
        );
        return { activity };
    } catch (error) {
        return { failure: { ...classifyDetachFailure(describeError(error)), error } };
    }
}

function describeError(error: unknown): { name: string; message: string } {
    if (error instanceof Error) {
        return { name: error.name, message: error.message };
    }
    return { name: "UnknownError", message: String(error) };
}
