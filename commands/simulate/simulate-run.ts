/**
 * The frame both simulations run in: what they are given (clients, clock, the invoke seam,
 * timing), finding the deployment's parts in AWS, and turning whatever happened, a failure
 * included, into one report.
 */
import {
    describeGroup,
    type FunctionFacts,
    functionFacts,
    type GroupSnapshot,
    queueArnOf,
} from "./simulate-aws";
import { explainAwsError, SimulationError } from "./simulate-errors";
import type { Deployment } from "./simulate-deployment";
import {
    type Clock,
    type DeploymentFacts,
    type SimulationReport,
    systemClock,
    Timeline,
    type TimelineStep,
} from "./simulate-timeline";
import {
    type CallerIdentity,
    callerIdentity,
    clientRegion,
    type SimulationClients,
} from "./simulate-clients";

/** What the function answered a synchronous invoke. */
export interface InvokeResult {
    readonly payload: unknown;
    /** "Unhandled" when the handler threw. */
    readonly functionError?: string;
    /** Lambda's request id for the invocation: its log entries carry it. */
    readonly requestId?: string;
}

/** Invokes the function synchronously; the emulator test binds it to the local pipeline. */
export type Invoker = (
    functionName: string,
    payload: unknown,
    timeoutMs: number,
) => Promise<InvokeResult>;

export interface Timing {
    readonly pollIntervalMs: number;
    /** An experiment lasts minutes: poll it, and the APIs the handler shares, less often. */
    readonly experimentPollIntervalMs: number;
    /** From the invoke (or the experiment's start) to the handler's decision in its log. */
    readonly decisionTimeoutMs: number;
    /** From the decision to the drain starting and the replacement launching. */
    readonly reactionTimeoutMs: number;
    /** Added to the target group's deregistration delay when waiting for the drain to end. */
    readonly drainMarginMs: number;
}

export const DEFAULT_TIMING: Timing = {
    pollIntervalMs: 2_000,
    experimentPollIntervalMs: 5_000,
    decisionTimeoutMs: 60_000,
    reactionTimeoutMs: 180_000,
    drainMarginMs: 60_000,
};

export interface SimulationContext {
    readonly clients: SimulationClients;
    readonly clock?: Clock;
    /** Told about each step as it happens. */
    readonly onStep?: (step: TimelineStep) => void;
    /** Default: Lambda's Invoke with InvocationType RequestResponse. */
    readonly invoke?: Invoker;
    readonly timing?: Partial<Timing>;
    /** Ids for the event and the SQS message. Default: random UUIDs. */
    readonly newId?: () => string;
}

/** A report in the making: each flow fills in what it learns. */
export interface ReportDraft {
    region?: string;
    caller?: string;
    deployment?: DeploymentFacts;
    instanceIds: string[];
    event?: unknown;
    payload?: unknown;
    response?: unknown;
    experimentId?: string;
    decision?: SimulationReport["decision"];
    verdict?: string;
    permissions?: SimulationReport["permissions"];
    warning?: string;
    /** Dry run: what could not be read, reported instead of stopping. */
    problems: SimulationError[];
}

/**
 * Runs `body` and reports what happened. A failure becomes the last step and the report's
 * failure; a dry run fails when something could not be read or a permission is denied.
 */
export async function runReported(
    mode: SimulationReport["mode"],
    dryRun: boolean,
    context: SimulationContext,
    body: (timeline: Timeline, draft: ReportDraft) => Promise<void>,
): Promise<SimulationReport> {
    const timeline = new Timeline(context.clock ?? systemClock, context.onStep);
    const draft: ReportDraft = { instanceIds: [], problems: [] };
    let failure: SimulationError | undefined;
    try {
        await body(timeline, draft);
    } catch (error) {
        failure = explainAwsError(error, "the simulation");
        timeline.add("error", failure.message, { kind: failure.kind });
    }
    if (failure === undefined && dryRun) {
        const denied = (draft.permissions ?? []).filter((p) => p.decision === "denied");
        failure =
            draft.problems[0] ??
            (denied.length === 0
                ? undefined
                : new SimulationError(
                      "permission-denied",
                      `Missing permission: ${[...new Set(denied.map((p) => p.action))].join(", ")} denied to ${draft.caller ?? "you"}; grant ${denied.length === 1 ? "it" : "them"} before running without --dry-run.`,
                  ));
    }
    const facts: Partial<ReportDraft> = { ...draft };
    delete facts.problems;
    return {
        mode,
        dryRun,
        startedAt: new Date(timeline.startedAtMs).toISOString(),
        ...facts,
        instanceIds: draft.instanceIds,
        steps: timeline.steps,
        outcome: failure !== undefined ? "failed" : dryRun ? "planned" : "passed",
        ...(failure === undefined
            ? {}
            : { failure: { kind: failure.kind, message: failure.message } }),
    };
}

/** The deployment's parts, as AWS has them. Undefined only in a dry run that could not read them. */
export interface Discovered {
    readonly region: string;
    readonly identity: CallerIdentity;
    readonly fn?: FunctionFacts;
    readonly groupName: string;
    readonly group?: GroupSnapshot;
    readonly queueArn?: string;
    readonly facts: DeploymentFacts;
}

/**
 * Finds the deployment's function, events queue (console test) and group in AWS, checks that
 * they belong together, and records each as a step. In a dry run a failed read is recorded and
 * the simulation goes on, so that the permission check still runs.
 */
export async function discover(
    deployment: Deployment,
    context: SimulationContext,
    timeline: Timeline,
    draft: ReportDraft,
    options: { readonly mode: SimulationReport["mode"]; readonly dryRun: boolean },
): Promise<Discovered> {
    const { clients } = context;
    const soft = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
        try {
            return await read();
        } catch (error) {
            if (!options.dryRun || !(error instanceof SimulationError)) {
                throw error;
            }
            draft.problems.push(error);
            timeline.add("error", error.message, { kind: error.kind });
            return undefined;
        }
    };
    const region = await clientRegion(clients);
    draft.region = region;
    const identity = await callerIdentity(clients);
    draft.caller = identity.arn;
    timeline.add("found", `Caller ${identity.arn}, account ${identity.account}, in ${region}`);
    timeline.add("found", `Deployment from ${deployment.source}`, { ...deployment });

    const fn = await soft(() => functionFacts(clients, deployment.functionName, region));
    const listed = fn?.groups?.kind === "names" ? fn.groups.names : undefined;
    const groupName = deployment.groupName ?? (listed?.length === 1 ? listed[0] : undefined);
    if (groupName === undefined) {
        throw new SimulationError(
            "not-deployed",
            `No Auto Scaling group is known: pass --group (the function ${deployment.functionName} ${listed === undefined ? "names none in AUTO_SCALING_GROUP_NAMES" : `protects ${listed.length} groups: ${listed.slice(0, 5).join(", ")}`}).`,
        );
    }
    if (listed !== undefined && !listed.includes(groupName)) {
        throw new SimulationError(
            "deployment-mismatch",
            `Function ${fn?.name} protects ${listed.join(", ")} (its AUTO_SCALING_GROUP_NAMES), not ${groupName}: pass --group ${listed[0]}, or the function that protects ${groupName}.`,
        );
    }
    const queueUrl = options.mode === "console-test" ? deployment.queueUrl : undefined;
    if (options.mode === "console-test" && fn !== undefined) {
        if (fn.queueDelivery && queueUrl === undefined) {
            throw new SimulationError(
                "deployment-mismatch",
                `Function ${fn.name} uses queue delivery (it has DEAD_LETTER_QUEUE_URL), but no events queue is known: pass --queue with the stack's eventsQueueUrl.`,
            );
        }
        if (!fn.queueDelivery && queueUrl !== undefined) {
            throw new SimulationError(
                "deployment-mismatch",
                `--queue is given, but function ${fn.name} uses direct delivery (it has no DEAD_LETTER_QUEUE_URL): leave out --queue.`,
            );
        }
    }
    // An experiment's warning takes the deployed path, whatever it is.
    const queued = options.mode === "fis" ? fn?.queueDelivery === true : queueUrl !== undefined;
    const delivery = queued ? "queue" : "direct";
    if (fn !== undefined) {
        timeline.add(
            "found",
            `Function ${fn.name}: ${delivery} delivery, logs to ${fn.logGroupName}${fn.dryRun ? "; DRY_RUN=true: it decides and logs, but detaches nothing" : ""}`,
            { functionArn: fn.arn, dryRun: fn.dryRun },
        );
    }
    const queueArn =
        queueUrl === undefined ? undefined : await soft(() => queueArnOf(clients, queueUrl));
    if (queueArn !== undefined) {
        timeline.add("found", `Events queue ${queueArn}`);
    }
    const group = await soft(() => describeGroup(clients, groupName, region));
    const targetGroupArns =
        deployment.targetGroupArn !== undefined
            ? [deployment.targetGroupArn]
            : (group?.targetGroupArns ?? []);
    if (group !== undefined) {
        const inService = group.instances.filter((i) => i.lifecycleState === "InService").length;
        timeline.add(
            "found",
            `Group ${group.name}: ${inService} of ${group.instances.length} instances InService, min ${group.minSize} / desired ${group.desiredCapacity} / max ${group.maxSize}${group.capacityRebalance ? ", Capacity Rebalancing on" : ""}; ${targetGroupArns.length === 0 ? "no target group" : `target groups ${targetGroupArns.join(", ")}`}`,
            { instances: group.instances },
        );
    }
    const facts: DeploymentFacts = {
        functionName: fn?.name ?? deployment.functionName,
        ...(fn === undefined ? {} : { functionArn: fn.arn, logGroupName: fn.logGroupName }),
        delivery,
        ...(queueUrl === undefined ? {} : { queueUrl }),
        ...(queueArn === undefined ? {} : { queueArn }),
        groupName,
        targetGroupArns,
        handlerDryRun: fn?.dryRun ?? false,
        ...(deployment.templateId === undefined ? {} : { templateId: deployment.templateId }),
    };
    draft.deployment = facts;
    return { region, identity, fn, groupName, group, queueArn, facts };
}

/** The function's ARN when known, else built from its name. */
export function functionArnOf(discovered: Discovered): string {
    const { identity, region, facts } = discovered;
    return (
        discovered.fn?.arn ??
        `arn:${identity.partition}:lambda:${region}:${identity.account}:function:${facts.functionName}`
    );
}
