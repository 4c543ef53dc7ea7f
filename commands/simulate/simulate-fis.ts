/**
 * `npm run simulate -- --fis`: starts the component's FIS experiment template and follows it.
 * FIS sends the rebalance recommendation at once, the real interruption warning two minutes
 * before the interruption, then EC2 reclaims the instance: the end-to-end test of rule → queue
 * → function → group. Each step is timestamped: FIS's experiment and action states, the
 * handler's log, the group's activities and members, the drain and the instance's EC2 state.
 */
import { randomUUID } from "node:crypto";
import {
    type Experiment,
    type ExperimentTemplate,
    GetExperimentCommand,
    GetExperimentTemplateCommand,
    ListExperimentResolvedTargetsCommand,
    StartExperimentCommand,
} from "@aws-sdk/client-fis";
import {
    isoDurationSeconds,
    SPOT_INTERRUPTION_ACTION_ID,
} from "../../components/spot-interruption-handler/fault-injection";
import { awsCall, SimulationError } from "./simulate-errors";
import type { Deployment } from "./simulate-deployment";
import { type Decision, decisionFor, entriesAbout, withoutEntry } from "./simulate-log";
import { followUntil, pollsWithin } from "./simulate-follow";
import { DeploymentObserver } from "./simulate-observe";
import { checkPermissions, permissionsNeeded } from "./simulate-permissions";
import {
    DEFAULT_TIMING,
    discover,
    functionArnOf,
    type ReportDraft,
    runReported,
    type SimulationContext,
} from "./simulate-run";
import { type SimulationReport, systemClock, type Timeline } from "./simulate-timeline";
import { type SimulationClients } from "./simulate-clients";

export interface ExperimentOptions {
    readonly deployment: Deployment;
    /** Plan and check permissions; start nothing. */
    readonly dryRun: boolean;
}

/** The template's interruption, as the timeline describes it. */
export interface TemplateSummary {
    readonly selectionMode: string;
    readonly groupTag?: string;
    readonly durationBeforeInterruption: string;
    readonly durationSeconds: number;
    readonly stopConditions: string;
}

const TERMINAL_FAILURES = new Set(["failed", "stopped", "cancelled"]);
/** The warning precedes the interruption by two minutes, whatever the duration. */
const WARNING_LEAD_MS = 120_000;

/** What the template does; refuses one that does not interrupt Spot instances. */
export function summarizeTemplate(
    template: ExperimentTemplate,
    templateId: string,
): TemplateSummary {
    const action = Object.values(template.actions ?? {}).find(
        (a) => a.actionId === SPOT_INTERRUPTION_ACTION_ID,
    );
    if (action === undefined) {
        throw new SimulationError(
            "deployment-mismatch",
            `Experiment template ${templateId} has no ${SPOT_INTERRUPTION_ACTION_ID} action: pass the template the component created (its faultInjectionTemplateId output).`,
        );
    }
    const target = template.targets?.[Object.values(action.targets ?? {})[0] ?? ""];
    const duration = action.parameters?.durationBeforeInterruption ?? "PT2M";
    return {
        selectionMode: target?.selectionMode ?? "ALL",
        groupTag: target?.resourceTags?.["aws:autoscaling:groupName"],
        durationBeforeInterruption: duration,
        durationSeconds: isoDurationSeconds(duration) ?? 120,
        stopConditions:
            (template.stopConditions ?? [])
                .map((c) => (c.source === "none" ? "none" : `${c.source} ${c.value ?? ""}`.trim()))
                .join(", ") || "none",
    };
}

export function simulateExperiment(
    options: ExperimentOptions,
    context: SimulationContext,
): Promise<SimulationReport> {
    return runReported("fis", options.dryRun, context, (timeline, draft) =>
        experiment(options, context, timeline, draft),
    );
}

async function experiment(
    options: ExperimentOptions,
    context: SimulationContext,
    timeline: Timeline,
    draft: ReportDraft,
): Promise<void> {
    const { clients } = context;
    const clock = context.clock ?? systemClock;
    const discovered = await discover(options.deployment, context, timeline, draft, {
        mode: "fis",
        dryRun: options.dryRun,
    });
    const templateId = options.deployment.templateId;
    if (templateId === undefined) {
        throw new SimulationError(
            "not-deployed",
            "No FIS experiment template is known: deploy the component with faultInjection.enabled (the stack then exports faultInjectionTemplateId), or pass --template.",
        );
    }
    const { experimentTemplate } = await awsCall(
        "fis:GetExperimentTemplate",
        (abortSignal) =>
            clients.fis.send(new GetExperimentTemplateCommand({ id: templateId }), { abortSignal }),
        {
            notFound: () =>
                new SimulationError(
                    "template-not-found",
                    `FIS experiment template ${templateId} not found in ${discovered.region}: check --template (or the stack's faultInjectionTemplateId output) and AWS_REGION.`,
                ),
        },
    );
    const summary = summarizeTemplate(experimentTemplate ?? {}, templateId);
    if (summary.groupTag !== undefined && summary.groupTag !== discovered.groupName) {
        throw new SimulationError(
            "deployment-mismatch",
            `Experiment template ${templateId} targets group ${summary.groupTag}, but the handler protects ${discovered.groupName}: pass the template of group ${discovered.groupName}.`,
        );
    }
    timeline.add(
        "found",
        `Experiment template ${templateId}: interrupts ${summary.selectionMode} running Spot instances of group ${summary.groupTag ?? "?"} after ${summary.durationBeforeInterruption}; stop condition ${summary.stopConditions}`,
        { ...summary },
    );
    const group = discovered.group;
    if (group !== undefined && !group.instances.some((i) => i.lifecycleState === "InService")) {
        throw new SimulationError(
            "group-empty",
            `Group ${group.name} has no InService instance: FIS would find no target. Scale it up and wait for an InService instance.`,
        );
    }
    timeline.add(
        "plan",
        `${options.dryRun ? "Would start" : "Starting"} the experiment: FIS sends the rebalance recommendation at once, the interruption warning ${summary.durationSeconds > 120 ? `${summary.durationSeconds - 120} s later` : "with it"}, and EC2 reclaims the instances ${summary.durationSeconds} s after the start. The interruptions are real.`,
    );
    if (options.dryRun) {
        draft.permissions = await checkPermissions(
            clients,
            discovered.identity.arn,
            permissionsNeeded({
                mode: "fis",
                ...discovered.identity,
                region: discovered.region,
                functionArn: functionArnOf(discovered),
                logGroupName:
                    discovered.facts.logGroupName ?? `/aws/lambda/${discovered.facts.functionName}`,
                hasTargetGroups: discovered.facts.targetGroupArns.length > 0,
                templateId,
                terminate: false,
            }),
        );
        draft.warning = `Without --dry-run, FIS really interrupts ${summary.selectionMode} running Spot instances of group ${discovered.groupName}: EC2 reclaims them ${summary.durationBeforeInterruption} after the start.`;
        return;
    }
    const startedAtMs = clock.now();
    const { experiment: started } = await awsCall("fis:StartExperiment", (abortSignal) =>
        clients.fis.send(
            new StartExperimentCommand({
                experimentTemplateId: templateId,
                clientToken: (context.newId ?? randomUUID)(),
            }),
            { abortSignal },
        ),
    );
    const experimentId = started?.id;
    if (experimentId === undefined) {
        throw new SimulationError("aws-error", "fis:StartExperiment returned no experiment id");
    }
    draft.experimentId = experimentId;
    timeline.add("experiment", `Started experiment ${experimentId}`, { experimentId });
    await followExperiment(
        experimentId,
        startedAtMs,
        summary,
        discovered,
        context,
        timeline,
        draft,
    );
}

async function followExperiment(
    experimentId: string,
    startedAtMs: number,
    summary: TemplateSummary,
    discovered: Awaited<ReturnType<typeof discover>>,
    context: SimulationContext,
    timeline: Timeline,
    draft: ReportDraft,
): Promise<void> {
    const { clients } = context;
    const clock = context.clock ?? systemClock;
    const timing = { ...DEFAULT_TIMING, ...context.timing };
    const observer = new DeploymentObserver(clients, timeline, {
        groupName: discovered.groupName,
        region: discovered.region,
        logGroupName: discovered.facts.logGroupName,
        targetGroupArns: discovered.facts.targetGroupArns,
        sinceMs: startedAtMs,
        membersBefore: (discovered.group?.instances ?? []).map((i) => i.instanceId),
    });
    const states = new Map<string, string>();
    const decisions = new Map<string, Decision>();
    const rebalanced = new Set<string>();
    let targets: string[] = [];
    let targetsListed = false;
    // FIS sends only these warnings: a batch that names no instance holds one of them.
    const scope = { attributeBatches: true };
    const warningAtMs = startedAtMs + Math.max(0, summary.durationSeconds * 1000 - WARNING_LEAD_MS);
    const deadlineMs =
        startedAtMs +
        summary.durationSeconds * 1000 +
        timing.decisionTimeoutMs +
        timing.reactionTimeoutMs;
    let status = "pending";
    await followUntil({
        clock,
        intervalMs: timing.experimentPollIntervalMs,
        deadlineMs: () => deadlineMs,
        maxPolls: pollsWithin(deadlineMs - startedAtMs, timing.experimentPollIntervalMs),
        poll: async () => {
            const { experiment } = await awsCall("fis:GetExperiment", (abortSignal) =>
                clients.fis.send(new GetExperimentCommand({ id: experimentId }), { abortSignal }),
            );
            status = recordExperiment(experiment ?? {}, states, timeline);
            if (TERMINAL_FAILURES.has(status)) {
                throw experimentFailure(experimentId, experiment ?? {});
            }
            if (!targetsListed && status !== "pending" && status !== "initiating") {
                targetsListed = true;
                targets = await resolvedTargets(clients, experimentId, timeline);
                for (const id of targets) {
                    observer.watch(
                        id,
                        discovered.group?.instances.find((i) => i.instanceId === id)
                            ?.lifecycleState,
                    );
                }
            }
            await observer.readLog((entry) =>
                targets.length === 0
                    ? namedMembers(entry.fields, discovered).length > 0
                    : targets.some((id) => entriesAbout([entry], id, scope).length > 0),
            );
            if (targets.length === 0) {
                // Without resolved targets, the instances the handler names are FIS's.
                targets = [
                    ...new Set(observer.entries.flatMap((e) => namedMembers(e.fields, discovered))),
                ];
                targets.forEach((id) => observer.watch(id));
            }
            for (const id of targets) {
                const decision = decisions.get(id) ?? decisionFor(observer.entries, id, scope);
                if (decision !== undefined && !decisions.has(id)) {
                    decisions.set(id, decision);
                    if (decision.action === "ignored" && decision.reason === "not-in-service") {
                        rebalanced.add(id);
                        timeline.add(
                            "note",
                            `The handler ignored the warning for ${id}: it was no longer InService. With Capacity Rebalancing on, the group replaces an instance at its rebalance recommendation, before the warning; that is expected, not a failure.`,
                        );
                    }
                }
            }
            await observer.observeGroup();
            await observer.observeActivities();
            await observer.observeTargets();
            await observer.observeInstances();
            const interrupted = (id: string) =>
                !["running", undefined].includes(observer.ec2StateOf(id));
            const done =
                status === "completed" &&
                targets.length > 0 &&
                targets.every((id) => decisions.has(id) && interrupted(id));
            return done ? "interrupted" : undefined;
        },
        giveUp: () => {
            const missing = targets.filter((id) => !decisions.has(id));
            return new SimulationError(
                "timeout",
                missing.length > 0 && clock.now() >= warningAtMs
                    ? `No decision about ${missing.join(", ")} in the handler's log group ${discovered.facts.logGroupName}: the warning did not reach the function (check the rule, the events queue and its mapping).`
                    : `Experiment ${experimentId} is ${status} after ${Math.round((clock.now() - startedAtMs) / 1000)} s; gave up waiting.`,
            );
        },
    });
    draft.instanceIds = targets;
    const failed = [...decisions.entries()].find(([, d]) => d.action === "failed");
    if (failed !== undefined) {
        throw new SimulationError(
            "handler-failed",
            `The handler failed to detach ${failed[0]}: ${failed[1].action === "failed" ? failed[1].error : ""}`,
        );
    }
    const first = decisions.get(targets[0]);
    draft.decision = first === undefined ? undefined : withoutEntry(first);
    draft.warning = `FIS interrupted ${targets.join(", ")} for real: EC2 reclaimed ${targets.length === 1 ? "it" : "them"}${rebalanced.size > 0 ? ", after Capacity Rebalancing had replaced it" : ", and the group launched replacements"}.`;
}

/** Records the experiment's and its actions' state changes; returns the experiment's status. */
function recordExperiment(
    experiment: Experiment,
    states: Map<string, string>,
    timeline: Timeline,
): string {
    const status = experiment.state?.status ?? "pending";
    if (states.get("experiment") !== status) {
        states.set("experiment", status);
        timeline.add(
            "experiment",
            `Experiment ${experiment.id ?? ""}: ${status}${experiment.state?.reason ? ` (${experiment.state.reason})` : ""}`,
            { status },
        );
    }
    for (const [name, action] of Object.entries(experiment.actions ?? {})) {
        const actionStatus = action.state?.status ?? "pending";
        if (states.get(`action ${name}`) !== actionStatus) {
            states.set(`action ${name}`, actionStatus);
            timeline.add(
                "action",
                `FIS action ${name} (${action.actionId ?? ""}): ${actionStatus}${action.state?.reason ? ` (${action.state.reason})` : ""}`,
                { action: name, status: actionStatus },
            );
        }
    }
    return status;
}

/** FIS's own reason, and its failed action's, in words. */
function experimentFailure(experimentId: string, experiment: Experiment): SimulationError {
    const reasons = [
        experiment.state?.reason,
        ...Object.entries(experiment.actions ?? {})
            .filter(([, a]) => a.state?.status === "failed" && a.state.reason)
            .map(([name, a]) => `action ${name}: ${a.state?.reason}`),
    ].filter((r) => r !== undefined && r !== "");
    return new SimulationError(
        "experiment-failed",
        `Experiment ${experimentId} ${experiment.state?.status ?? "failed"}: ${reasons.join("; ") || "FIS gave no reason"}.`,
    );
}

/** The instances FIS selected; best effort, as ListExperimentResolvedTargets is newer than FIS. */
async function resolvedTargets(
    clients: SimulationClients,
    experimentId: string,
    timeline: Timeline,
): Promise<string[]> {
    try {
        const { resolvedTargets = [] } = await awsCall(
            "fis:ListExperimentResolvedTargets",
            (abortSignal) =>
                clients.fis.send(new ListExperimentResolvedTargetsCommand({ experimentId }), {
                    abortSignal,
                }),
        );
        const ids = resolvedTargets.flatMap((t) =>
            Object.values(t.targetInformation ?? {}).flatMap(
                (value) => /\bi-[0-9a-f]{8,17}\b/.exec(value)?.[0] ?? [],
            ),
        );
        if (ids.length > 0) {
            timeline.add("experiment", `FIS selected ${ids.join(", ")}`, { instanceIds: ids });
        }
        return [...new Set(ids)];
    } catch (error) {
        if (!(error instanceof SimulationError)) {
            throw error;
        }
        timeline.add(
            "note",
            `Could not list the experiment's targets (${error.message}); following the instances the handler names instead.`,
        );
        return [];
    }
}

/** Members of the group (before the experiment) that a log entry names. */
function namedMembers(
    fields: Readonly<Record<string, unknown>>,
    discovered: Awaited<ReturnType<typeof discover>>,
): string[] {
    const members = new Set((discovered.group?.instances ?? []).map((i) => i.instanceId));
    const named = [
        fields.instanceId,
        ...(Array.isArray(fields.instanceIds) ? fields.instanceIds : []),
    ];
    return named.filter((id): id is string => typeof id === "string" && members.has(id));
}
