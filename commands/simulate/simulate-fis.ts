/**
 * `npm run simulate -- --fis`: starts the component's FIS experiment template and follows it.
 * FIS sends the rebalance recommendation at once, the real interruption warning two minutes
 * before the interruption, then EC2 reclaims the instance: the end-to-end test of rule → queue
 * → function → group. Each step is timestamped: FIS's experiment and action states, the
 * handler's log, the group's activities and members, the drain and the instance's EC2 state.
 */
import { randomUUID } from "node:crypto";
import {
    GetExperimentCommand,
    GetExperimentTemplateCommand,
    StartExperimentCommand,
} from "@aws-sdk/client-fis";
import { awsCall, SimulationError } from "./simulate-errors";
import {
    experimentFailure,
    recordExperiment,
    resolvedTargets,
    summarizeTemplate,
    TERMINAL_FAILURES,
    type TemplateSummary,
} from "./simulate-fis-state";
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

export interface ExperimentOptions {
    readonly deployment: Deployment;
    /** Plan and check permissions; start nothing. */
    readonly dryRun: boolean;
}

/** The warning precedes the interruption by two minutes, whatever the duration. */
const WARNING_LEAD_MS = 120_000;

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
    const waiting = new Set<string>();
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
                // A record left for the group's grace comes back: its re-check decides.
                if (decision?.action === "waiting" && !waiting.has(id)) {
                    waiting.add(id);
                    timeline.add(
                        "note",
                        `The handler left the warning for ${id} to the group's Capacity Rebalancing for its grace; the events queue brings the record back for a re-check.`,
                    );
                }
                if (decision !== undefined && decision.action !== "waiting" && !decisions.has(id)) {
                    decisions.set(id, decision);
                    if (decision.action === "left-to-group") {
                        rebalanced.add(id);
                        timeline.add(
                            "note",
                            `The handler left the warning for ${id} to its group: Capacity Rebalancing was already terminating and replacing it, as AWS documents it does on the warning.`,
                        );
                    }
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
