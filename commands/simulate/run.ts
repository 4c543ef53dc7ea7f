/** What both simulations share: the run, its timeline and report, finding the deployment in AWS, and watching it react. */
import { DescribeScalingActivitiesCommand } from "@aws-sdk/client-auto-scaling";
import { FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
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
import {
    type DecisionScope,
    decisionFor,
    type DecisionSummary,
    isAbout,
    type HandlerLogEntry,
    handlerLine,
    parseLogLine,
} from "./handler-log";
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

type Writable<T> = { -readonly [Key in keyof T]: T[Key] };

export class Run {
    readonly steps: TimelineStep[] = [];
    readonly clients: SimulationClients;
    readonly clock: Clock;
    readonly timing: Timing;
    readonly newId: () => string;
    readonly startedAtMs: number;
    readonly report: Partial<Writable<SimulationReport>> = {};
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
        const at = new Date(now).toISOString();
        const step = {
            at,
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

export const LEFT_GROUP = "left the group";

/** Log records may reach the log group with their invocation's start time, a little earlier. */
const LOG_CLOCK_SKEW_MS = 5_000;

/** Enough pages for any run's log; a busier log group is cut short rather than read forever. */
const MAX_LOG_PAGES = 10;

/** Watches the deployment react, poll by poll: the handler's log, the group, its activities, the drain, EC2; a change is a step. */
export class DeploymentObserver {
    readonly entries: HandlerLogEntry[] = [];
    readonly replacements: string[] = [];
    private readonly watched = new Set<string>();
    /** Each watched instance's lifecycle now, and every one a poll has seen it in. */
    readonly lifecycles = new Map<string, string>();
    readonly history = new Map<string, Set<string>>();
    /** Each target's, activity's, instance's and experiment's last state, to record only changes. */
    private readonly states = new Map<string, string>();
    private readonly seenLogEvents = new Set<string>();
    private readonly sinceMs: number;

    constructor(
        private readonly run: Run,
        private readonly discovered: Discovered,
        sinceMs: number,
    ) {
        this.sinceMs = sinceMs - LOG_CLOCK_SKEW_MS;
    }

    /** Follows this instance from now on, from the lifecycle it had when the run found the group. */
    watch(instanceId: string): void {
        this.watched.add(instanceId);
        const member = this.discovered.group?.instances.find((i) => i.instanceId === instanceId);
        if (member !== undefined && !this.lifecycles.has(instanceId)) {
            this.lifecycles.set(instanceId, member.lifecycleState);
        }
    }

    stateOf(what: "target" | "instance", ...ids: string[]): string | undefined {
        return this.states.get([what, ...ids].join(" "));
    }

    changed(key: string, state: string): boolean {
        const known = this.states.get(key);
        this.states.set(key, state);
        return known !== state;
    }

    /** The log group's lines not read before, in order, as entries; the `relevant` ones are steps too. */
    async readLog(relevant: (entry: HandlerLogEntry) => boolean): Promise<void> {
        const { logGroupName } = this.discovered.facts;
        if (logGroupName === undefined) {
            return;
        }
        const notFound = new SimulationError(
            "function-not-found",
            `The function's log group ${logGroupName} does not exist: the function has never logged, or logs elsewhere.`,
        );
        const fresh: HandlerLogEntry[] = [];
        let nextToken: string | undefined;
        for (let page = 0; page < MAX_LOG_PAGES; page++) {
            const startTime = this.sinceMs;
            const command = new FilterLogEventsCommand({ logGroupName, startTime, nextToken });
            const response = await awsCall(
                "logs:FilterLogEvents",
                (timeout) => this.run.clients.logs.send(command, timeout),
                { notFound },
            );
            for (const event of response.events ?? []) {
                const key = `${event.logStreamName ?? ""}/${event.eventId ?? event.timestamp}`;
                const entry = this.seenLogEvents.has(key)
                    ? undefined
                    : parseLogLine(event.message ?? "", event.timestamp ?? 0);
                this.seenLogEvents.add(key);
                fresh.push(...(entry === undefined ? [] : [entry]));
            }
            nextToken = response.nextToken;
            if (nextToken === undefined) {
                break;
            }
        }
        fresh.sort((a, b) => a.timestamp - b.timestamp);
        this.entries.push(...fresh);
        for (const entry of fresh.filter(relevant)) {
            const { level, fields } = entry;
            const loggedAt = new Date(entry.timestamp).toISOString();
            this.run.add("handler", handlerLine(entry), { level, loggedAt, ...fields });
        }
    }

    async decisionAbout(instanceId: string, scope: DecisionScope, from: number) {
        await this.readLog((entry) => isAbout(entry, instanceId, scope));
        return decisionFor(this.entries.slice(from), instanceId, scope);
    }

    async observe(options: { readonly instances: boolean }): Promise<void> {
        const { run, discovered } = this;
        const { region, facts } = discovered;
        const group = await describeGroup(run.clients, facts.groupName, region);
        const members = new Map(group.instances.map((i) => [i.instanceId, i]));
        for (const instanceId of this.watched) {
            const now = members.get(instanceId)?.lifecycleState ?? LEFT_GROUP;
            if (this.lifecycles.get(instanceId) !== now) {
                this.lifecycles.set(instanceId, now);
                this.history.set(instanceId, (this.history.get(instanceId) ?? new Set()).add(now));
                const where = now === LEFT_GROUP ? `has left group` : `is ${now} in group`;
                const data = { instanceId, lifecycleState: now };
                run.add("group", `${instanceId} ${where} ${group.name}`, data);
            }
        }
        const before = discovered.group?.instances.map((i) => i.instanceId) ?? [];
        for (const { instanceId, lifecycleState, ...member } of group.instances) {
            const { instanceType: type, availabilityZone: zone } = member;
            if (!before.includes(instanceId) && !this.replacements.includes(instanceId)) {
                this.replacements.push(instanceId);
                run.add(
                    "group",
                    `Replacement ${instanceId} launched into group ${group.name} (${lifecycleState}${type ? `, ${type}` : ""}${zone ? ` in ${zone}` : ""})`,
                    { instanceId, lifecycleState },
                );
            }
        }
        // The group's most recent activities (one page), oldest first, so that the timeline reads in order.
        const command = new DescribeScalingActivitiesCommand({
            AutoScalingGroupName: group.name,
            MaxRecords: 20,
        });
        const { Activities = [] } = await awsCall(
            "autoscaling:DescribeScalingActivities",
            (timeout) => run.clients.autoScaling.send(command, timeout),
        );
        const activities = Activities.filter((a) => (a.StartTime?.getTime() ?? 0) >= this.sinceMs);
        for (const {
            ActivityId: activityId,
            Description,
            Cause: cause = "",
            ...a
        } of activities.reverse()) {
            const statusCode = a.StatusCode ?? "";
            if (this.changed(`activity ${activityId}`, statusCode)) {
                // Capacity Rebalancing's own activities say so only in their cause.
                const why = /rebalanc/i.test(cause) ? ` (${cause})` : "";
                const data = { activityId, statusCode, cause };
                run.add("activity", `${Description}: ${statusCode}${why}`, data);
            }
        }
        for (const targetGroupArn of facts.targetGroupArns) {
            const Targets = [...this.watched].map((Id) => ({ Id }));
            const command = new DescribeTargetHealthCommand({
                TargetGroupArn: targetGroupArn,
                Targets,
            });
            const { TargetHealthDescriptions = [] } = await awsCall(
                "elasticloadbalancing:DescribeTargetHealth",
                (timeout) => run.clients.elbv2.send(command, timeout),
            );
            for (const instanceId of this.watched) {
                const found = TargetHealthDescriptions.find((d) => d.Target?.Id === instanceId);
                const health = {
                    state: found?.TargetHealth?.State ?? "unused",
                    reason: found?.TargetHealth?.Reason,
                };
                if (this.changed(`target ${targetGroupArn} ${instanceId}`, health.state)) {
                    run.add(
                        "target",
                        `${instanceId} in target group ${targetGroupName(targetGroupArn)}: ${health.state}${health.reason ? ` (${health.reason})` : ""}`,
                        { instanceId, targetGroupArn, ...health },
                    );
                }
            }
        }
        if (options.instances && this.watched.size > 0) {
            await this.observeInstances();
        }
    }

    /** The watched instances' EC2 state (running, shutting-down…); a first "running" is no news. */
    private async observeInstances(): Promise<void> {
        const command = new DescribeInstancesCommand({ InstanceIds: [...this.watched] });
        const { Reservations = [] } = await awsCall("ec2:DescribeInstances", (timeout) =>
            this.run.clients.ec2.send(command, timeout),
        );
        for (const instance of Reservations.flatMap((r) => r.Instances ?? [])) {
            const id = instance.InstanceId ?? "";
            const state = instance.State?.Name ?? "unknown";
            const first = !this.states.has(`instance ${id}`);
            if (this.changed(`instance ${id}`, state) && (!first || state !== "running")) {
                const reason = instance.StateReason?.Message;
                this.run.add("instance", `${id} is ${state}${reason ? ` (${reason})` : ""}`, {
                    instanceId: id,
                    state,
                    stateReason: instance.StateReason?.Code,
                });
            }
        }
    }
}

/** "web-tg" from "arn:aws:elasticloadbalancing:…:targetgroup/web-tg/0123456789abcdef". */
export function targetGroupName(targetGroupArn: string): string {
    return /:targetgroup\/([^/]+)\//.exec(targetGroupArn)?.[1] ?? targetGroupArn;
}
