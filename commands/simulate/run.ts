/** What both simulations share: the run, its timeline and report, and finding the deployment in AWS. */
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import {
    awsCall,
    checkPermissions,
    clientRegion,
    describeGroup,
    explainAwsError,
    type FailureKind,
    functionFacts,
    type PermissionCheck,
    type PermissionPlan,
    permissionsNeeded,
    queueArnOf,
    type SimulationClients,
    SimulationError,
} from "./aws";
import { type DecisionSummary } from "./handler-log";
import { duration, type Style, table } from "../terminal";

/** The time, and waiting: tests pass a clock whose sleep advances it at once. */
export interface Clock {
    now(): number;
    sleep(ms: number): Promise<void>;
}

const systemClock: Clock = { now: () => Date.now(), sleep: (ms) => delay(ms) };

const KIND_STYLES = {
    found: "dim",
    plan: "dim",
    invoke: "dim",
    handler: "cyan",
    activity: "dim",
    group: "dim",
    target: "dim",
    instance: "dim",
    experiment: "bold",
    action: "dim",
    terminate: "yellow",
    note: "yellow",
    error: "red",
} as const satisfies Record<string, keyof Style>;

export type StepKind = keyof typeof KIND_STYLES;

export interface TimelineStep {
    readonly at: string;
    readonly elapsedMs: number;
    readonly kind: StepKind;
    readonly message: string;
    readonly data?: Readonly<Record<string, unknown>>;
}

export interface Deployment {
    readonly functionName: string;
    readonly groupName?: string;
    readonly queueUrl?: string;
    readonly targetGroupArn?: string;
    readonly templateId?: string;
    readonly source: string;
}

export interface SimulationReport {
    readonly mode: "console-test" | "fis";
    readonly dryRun: boolean;
    readonly startedAt: string;
    readonly region?: string;
    readonly caller?: string;
    readonly deployment?: Discovered["facts"];
    readonly instanceIds: readonly string[];
    readonly event?: unknown;
    readonly payload?: unknown;
    readonly response?: unknown;
    readonly experimentId?: string;
    readonly decision?: DecisionSummary;
    /** What the handler did, in words: "left it to the group, then the safety net detached it". */
    readonly verdict?: string;
    readonly permissions?: readonly PermissionCheck[];
    readonly steps: readonly TimelineStep[];
    readonly outcome: "passed" | "failed" | "planned";
    readonly failure?: { readonly kind: FailureKind; readonly message: string };
    readonly warning?: string;
}

/** Invokes the function synchronously; the emulator test binds it to the local pipeline. */
export type Invoker = (
    functionName: string,
    payload: unknown,
    timeoutMs: number,
) => Promise<{ payload: unknown; functionError?: string; requestId?: string }>;

const DEFAULT_TIMING = {
    pollIntervalMs: 2_000,
    // An experiment lasts minutes: poll it, and the APIs the handler shares, less often.
    experimentPollIntervalMs: 5_000,
    // From the invoke (or the experiment's start) to the handler's decision in its log.
    decisionTimeoutMs: 60_000,
    // From the decision to the drain starting and the replacement launching.
    reactionTimeoutMs: 180_000,
    // Added to the target group's deregistration delay when waiting for the drain to end.
    drainMarginMs: 60_000,
};

type Timing = typeof DEFAULT_TIMING;

/** What a simulation is given; tests and the emulator replace the clock, the invoke and the ids. */
export interface SimulationContext {
    readonly clients: SimulationClients;
    readonly clock?: Clock;
    readonly onStep?: (step: TimelineStep) => void;
    readonly invoke?: Invoker;
    readonly timing?: Partial<Timing>;
    readonly newId?: () => string;
}

export class Run {
    readonly steps: TimelineStep[] = [];
    readonly clients: SimulationClients;
    readonly clock: Clock;
    readonly timing: Timing;
    readonly newId: () => string;
    readonly startedAtMs: number;
    readonly report: { -readonly [Key in keyof SimulationReport]?: SimulationReport[Key] } = {};
    /** In a dry run, what could not be read: reported instead of stopping. */
    readonly problems: SimulationError[] = [];

    constructor(
        readonly dryRun: boolean,
        readonly context: SimulationContext,
    ) {
        this.clients = context.clients;
        this.clock = context.clock ?? systemClock;
        this.timing = { ...DEFAULT_TIMING, ...context.timing };
        this.newId = context.newId ?? randomUUID;
        this.startedAtMs = this.clock.now();
    }

    /** Records a step and tells `onStep` at once, so that a person sees it live. */
    add(kind: StepKind, message: string, data?: Record<string, unknown>): void {
        const now = this.clock.now();
        const step = {
            at: new Date(now).toISOString(),
            elapsedMs: now - this.startedAtMs,
            kind,
            message,
            ...(data && { data }),
        };
        this.steps.push(step);
        this.context.onStep?.(step);
    }

    /** A read that a dry run survives: its failure is recorded so the permission check still runs. */
    async soft<T>(read: () => T | Promise<T>): Promise<T | undefined> {
        try {
            return await read();
        } catch (error) {
            if (!this.dryRun || !(error instanceof SimulationError)) {
                throw error;
            }
            this.problems.push(error);
            this.add("error", error.message, { kind: error.kind });
            return undefined;
        }
    }
}

/** Runs `body` into a report: a failure is its last step; a dry run fails on what it could not read or may not do. */
export async function runReported(
    mode: SimulationReport["mode"],
    { deployment, dryRun }: { readonly deployment: Deployment | Error; readonly dryRun: boolean },
    context: SimulationContext,
    body: (run: Run, discovered: Discovered) => Promise<void>,
): Promise<SimulationReport> {
    const run = new Run(dryRun, context);
    let failure: SimulationError | undefined;
    try {
        if (deployment instanceof Error) {
            throw deployment;
        }
        await body(run, await discover(deployment, run, mode));
    } catch (error) {
        failure = explainAwsError(error, "the simulation");
        run.add("error", failure.message, { kind: failure.kind });
    }
    const denied = (run.report.permissions ?? []).filter((p) => p.decision === "denied");
    failure ??= dryRun ? run.problems[0] : undefined;
    if (failure === undefined && dryRun && denied.length > 0) {
        failure = new SimulationError(
            "permission-denied",
            `Missing permission: ${[...new Set(denied.map((p) => p.action))].join(", ")} denied to ${run.report.caller ?? "you"}; grant ${denied.length === 1 ? "it" : "them"} before running without --dry-run.`,
        );
    }
    return {
        mode,
        dryRun,
        startedAt: new Date(run.startedAtMs).toISOString(),
        ...run.report,
        instanceIds: run.report.instanceIds ?? [],
        steps: run.steps,
        outcome: failure !== undefined ? "failed" : dryRun ? "planned" : "passed",
        ...(failure && { failure: { kind: failure.kind, message: failure.message } }),
    };
}

/** One step for people: "12:00:03  +2.10 s    handler     Detaching" (UTC, since the start). */
export function formatStep(step: TimelineStep, style: Style): string {
    const elapsed = `+${duration(step.elapsedMs)}`.padEnd(9);
    const paint = style[KIND_STYLES[step.kind]];
    const message = ["error", "note"].includes(step.kind) ? paint(step.message) : step.message;
    return `${style.dim(step.at.slice(11, 19))}  ${style.dim(elapsed)}  ${paint(step.kind.padEnd(10))}  ${message}`;
}

export function formatSummary(report: SimulationReport, style: Style): string {
    const lines: string[] = [];
    if (report.permissions !== undefined) {
        const verdict = (c: PermissionCheck) => {
            const detail = c.detail ? ` (${c.detail})` : "";
            return c.decision === "allowed"
                ? style.green("allowed")
                : (c.decision === "denied" ? style.red : style.yellow)(`${c.decision}${detail}`);
        };
        const rows = report.permissions.map((c) => [c.action, c.resource, verdict(c), c.why]);
        lines.push("", style.bold("Permissions (IAM policy simulator, your identity policies)"));
        lines.push(table(["ACTION", "RESOURCE", "VERDICT", "FOR"], rows, 2));
    }
    const last = report.steps.at(-1);
    const took = last === undefined ? "" : ` in ${duration(last.elapsedMs)}`;
    const { failure } = report;
    // The failure is the timeline's last step already, unless a dry run's check failed.
    const outcome = {
        failed: style.red(
            last?.message === failure?.message
                ? `Failed (${failure?.kind}).`
                : `Failed (${failure?.kind}): ${failure?.message}`,
        ),
        planned: style.green("Dry run: nothing was invoked, started or terminated."),
        passed: style.green(
            report.mode === "fis"
                ? `Passed${took}: the experiment's interruption went rule → ${report.deployment?.delivery === "queue" ? "queue → " : ""}function → group.`
                : `Passed${took}: the handler ${report.verdict ?? report.decision?.action ?? "answered"}, as the console test expects.`,
        ),
    }[report.outcome];
    lines.push("", outcome);
    if (report.warning !== undefined) {
        lines.push("", `${style.yellow("Warning:")} ${report.warning}`);
    }
    return lines.join("\n");
}

/** Polls until `poll` finds something, or rejects with `giveUp()` past the deadline (a poll may move it) or `maxPolls`. */
export async function followUntil<Done>(loop: {
    readonly clock: Clock;
    readonly intervalMs: number;
    readonly deadlineMs: () => number;
    /** So that a clock that stands still cannot keep the loop alive. */
    readonly maxPolls: number;
    readonly poll: () => Promise<Done | undefined>;
    readonly giveUp: () => Error;
}): Promise<Done> {
    for (let polls = 1; ; polls++) {
        const done = await loop.poll();
        if (done !== undefined) {
            return done;
        }
        if (loop.clock.now() >= loop.deadlineMs() || polls >= loop.maxPolls) {
            throw loop.giveUp();
        }
        await loop.clock.sleep(loop.intervalMs);
    }
}

/** How many polls `intervalMs` apart fit in `windowMs`, the first at once: pollsWithin(60_000, 2_000) is 31. */
export function pollsWithin(windowMs: number, intervalMs: number): number {
    // An interval of 0 (a test's) would otherwise leave no bound at all.
    return Math.ceil(windowMs / Math.max(1, intervalMs)) + 1;
}

/** The deployment's parts, as AWS has them; undefined only in a dry run that could not read them. */
export type Discovered = Awaited<ReturnType<typeof discover>>;

/** Finds the deployment's function, events queue and group in AWS, checks they belong together, and records each. */
async function discover(deployment: Deployment, run: Run, mode: SimulationReport["mode"]) {
    const { clients } = run;
    const region = await clientRegion(clients);
    // Who is calling: the event's account, the policy simulator's principal, the ARNs' partition.
    const { Account, Arn = "" } = await awsCall("sts:GetCallerIdentity", (timeout) =>
        clients.sts.send(new GetCallerIdentityCommand({}), timeout),
    );
    const identity = { account: Account ?? "", arn: Arn, partition: Arn.split(":")[1] || "aws" };
    Object.assign(run.report, { region, caller: identity.arn });
    run.add("found", `Caller ${identity.arn}, account ${identity.account}, in ${region}`);
    run.add("found", `Deployment from ${deployment.source}`, { ...deployment });

    const fn = await run.soft(() => functionFacts(clients, deployment.functionName, region));
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
    const queueUrl = mode === "console-test" ? deployment.queueUrl : undefined;
    if (mode === "console-test" && fn && fn.queueDelivery !== (queueUrl !== undefined)) {
        throw new SimulationError(
            "deployment-mismatch",
            fn.queueDelivery
                ? `Function ${fn.name} uses queue delivery (it has DEAD_LETTER_QUEUE_URL), but no events queue is known: pass --queue with the stack's eventsQueueUrl.`
                : `--queue is given, but function ${fn.name} uses direct delivery (it has no DEAD_LETTER_QUEUE_URL): leave out --queue.`,
        );
    }
    // An experiment's warning takes the deployed path, whatever it is.
    const queued = mode === "fis" ? fn?.queueDelivery === true : queueUrl !== undefined;
    const delivery = queued ? "queue" : "direct";
    if (fn !== undefined) {
        run.add(
            "found",
            `Function ${fn.name}: ${delivery} delivery, logs to ${fn.logGroupName}${fn.dryRun ? "; DRY_RUN=true: it decides and logs, but detaches nothing" : ""}`,
            { functionArn: fn.arn, dryRun: fn.dryRun },
        );
    }
    const queueArn =
        queueUrl === undefined ? undefined : await run.soft(() => queueArnOf(clients, queueUrl));
    if (queueArn !== undefined) {
        run.add("found", `Events queue ${queueArn}`);
    }
    const group = await run.soft(() => describeGroup(clients, groupName, region));
    const { targetGroupArn } = deployment;
    const targetGroupArns = targetGroupArn ? [targetGroupArn] : (group?.targetGroupArns ?? []);
    if (group !== undefined) {
        const inService = group.instances.filter((i) => i.lifecycleState === "InService").length;
        run.add(
            "found",
            `Group ${group.name}: ${inService} of ${group.instances.length} instances InService, min ${group.minSize} / desired ${group.desiredCapacity} / max ${group.maxSize}${group.capacityRebalance ? ", Capacity Rebalancing on" : ""}; ${targetGroupArns.length === 0 ? "no target group" : `target groups ${targetGroupArns.join(", ")}`}`,
            { instances: group.instances },
        );
    }
    // Unknown parts are left out, not null, in the JSON report.
    const facts = {
        functionName: fn?.name ?? deployment.functionName,
        functionArn: fn?.arn,
        logGroupName: fn?.logGroupName,
        delivery,
        queueUrl,
        queueArn,
        groupName,
        targetGroupArns,
        handlerDryRun: fn?.dryRun ?? false,
        templateId: deployment.templateId,
    };
    run.report.deployment = facts;
    return { region, identity, fn, group, facts };
}

/** --dry-run's check of every permission the run would need, recorded in the report. */
export async function checkPlannedPermissions(
    run: Run,
    discovered: Discovered,
    plan: Pick<PermissionPlan, "mode" | "terminate" | "templateId" | "terminateInstanceId">,
): Promise<void> {
    const { identity, region, facts } = discovered;
    const needs = permissionsNeeded({
        ...identity,
        ...plan,
        region,
        functionArn:
            discovered.fn?.arn ??
            `arn:${identity.partition}:lambda:${region}:${identity.account}:function:${facts.functionName}`,
        logGroupName: facts.logGroupName ?? `/aws/lambda/${facts.functionName}`,
        queueUrl: facts.queueUrl,
        queueArn: facts.queueArn,
        hasTargetGroups: facts.targetGroupArns.length > 0,
    });
    run.report.permissions = await checkPermissions(run.clients, identity.arn, needs);
}
