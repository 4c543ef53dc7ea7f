/** `--fis`: the component's FIS experiment, started and followed: a real interruption through rule, queue, function, group. */
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
import { INTERRUPTION_NOTICE_MS } from "../../contract";
import { awsCall, SimulationError } from "./aws";
import { type Decision, decisionFor, isAbout, withoutEntry } from "./handler-log";
import {
    checkPlannedPermissions,
    type Deployment,
    type Discovered,
    followUntil,
    pollsWithin,
    type Run,
    runReported,
    type SimulationContext,
    type SimulationReport,
} from "./run";
import { DeploymentObserver } from "./observer";

/** The experiment states that end it without the interruption. */
const TERMINAL_FAILURES = new Set(["failed", "stopped", "cancelled"]);

export function simulateExperiment(
    options: { readonly deployment: Deployment | Error; readonly dryRun: boolean },
    context: SimulationContext,
): Promise<SimulationReport> {
    return runReported("fis", options, context, async (run, discovered) => {
        const { templateId, groupName } = discovered.facts;
        if (templateId === undefined) {
            throw new SimulationError(
                "not-deployed",
                "No FIS experiment template is known: deploy the component with faultInjection.enabled (the stack then exports faultInjectionTemplateId), or pass --template.",
            );
        }
        const notFound = new SimulationError(
            "template-not-found",
            `FIS experiment template ${templateId} not found in ${discovered.region}: check --template (or the stack's faultInjectionTemplateId output) and AWS_REGION.`,
        );
        const command = new GetExperimentTemplateCommand({ id: templateId });
        const { experimentTemplate = {} } = await awsCall(
            "fis:GetExperimentTemplate",
            (timeout) => run.clients.fis.send(command, timeout),
            { notFound },
        );
        const summary = summarizeTemplate(experimentTemplate, templateId);
        const { group } = discovered;
        if (summary.groupTag !== undefined && summary.groupTag !== groupName) {
            throw new SimulationError(
                "deployment-mismatch",
                `Experiment template ${templateId} targets group ${summary.groupTag}, but the handler protects ${groupName}: pass the template of group ${groupName}.`,
            );
        }
        run.add(
            "found",
            `Experiment template ${templateId}: interrupts ${summary.selectionMode} running Spot instances of group ${summary.groupTag ?? "?"} after ${summary.durationBeforeInterruption}; stop condition ${summary.stopConditions}`,
            { ...summary },
        );
        if (group !== undefined && !group.instances.some((i) => i.lifecycleState === "InService")) {
            throw new SimulationError(
                "group-empty",
                `Group ${group.name} has no InService instance: FIS would find no target. Scale it up and wait for an InService instance.`,
            );
        }
        const seconds = summary.durationSeconds;
        run.add(
            "plan",
            `${run.dryRun ? "Would start" : "Starting"} the experiment: FIS sends the rebalance recommendation at once, the interruption warning ${seconds > 120 ? `${seconds - 120} s later` : "with it"}, and EC2 reclaims the instances ${seconds} s after the start. The interruptions are real.`,
        );
        if (run.dryRun) {
            await checkPlannedPermissions(run, discovered, {
                mode: "fis",
                templateId,
                terminate: false,
            });
            run.report.warning = `Without --dry-run, FIS really interrupts ${summary.selectionMode} running Spot instances of group ${groupName}: EC2 reclaims them ${summary.durationBeforeInterruption} after the start.`;
            return;
        }
        const startedAtMs = run.clock.now();
        const input = { experimentTemplateId: templateId, clientToken: run.newId() };
        const { experiment } = await awsCall("fis:StartExperiment", (timeout) =>
            run.clients.fis.send(new StartExperimentCommand(input), timeout),
        );
        const experimentId = experiment?.id ?? "";
        run.report.experimentId = experimentId;
        run.add("experiment", `Started experiment ${experimentId}`, { experimentId });
        await followExperiment(run, discovered, experimentId, startedAtMs, seconds);
    });
}

/** The template's interruption as the timeline describes it; refuses one that interrupts no Spot instance. */
export function summarizeTemplate(template: ExperimentTemplate, templateId: string) {
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
    const stops = (template.stopConditions ?? []).map((c) =>
        c.source === "none" ? "none" : `${c.source} ${c.value ?? ""}`.trim(),
    );
    return {
        selectionMode: target?.selectionMode ?? "ALL",
        groupTag: target?.resourceTags?.["aws:autoscaling:groupName"],
        durationBeforeInterruption: duration,
        durationSeconds: isoDurationSeconds(duration) ?? 120,
        stopConditions: stops.join(", ") || "none",
    };
}

async function followExperiment(
    run: Run,
    discovered: Discovered,
    experimentId: string,
    startedAtMs: number,
    durationSeconds: number,
): Promise<void> {
    const { clock, timing, clients } = run;
    const observer = new DeploymentObserver(run, discovered, startedAtMs);
    const decisions = new Map<string, Decision>();
    const rebalanced = new Set<string>();
    let targets: string[] = [];
    let targetsListed = false;
    // FIS sends only these warnings: a batch that names no instance holds one of them.
    const scope = { attributeBatches: true };
    // The warning precedes the interruption by the two-minute notice, whatever the duration.
    const warningAtMs = startedAtMs + Math.max(0, durationSeconds * 1000 - INTERRUPTION_NOTICE_MS);
    const deadlineMs =
        startedAtMs + durationSeconds * 1000 + timing.decisionTimeoutMs + timing.reactionTimeoutMs;
    let status = "pending";
    await followUntil({
        clock,
        intervalMs: timing.experimentPollIntervalMs,
        deadlineMs: () => deadlineMs,
        maxPolls: pollsWithin(deadlineMs - startedAtMs, timing.experimentPollIntervalMs),
        poll: async () => {
            const { experiment = {} } = await awsCall("fis:GetExperiment", (timeout) =>
                clients.fis.send(new GetExperimentCommand({ id: experimentId }), timeout),
            );
            status = recordExperiment(run, experiment, observer);
            if (TERMINAL_FAILURES.has(status)) {
                throw experimentFailure(experimentId, experiment);
            }
            if (!targetsListed && status !== "pending" && status !== "initiating") {
                targetsListed = true;
                targets = await resolvedTargets(run, experimentId);
            }
            await observer.readLog((entry) =>
                targets.length === 0
                    ? namedMembers(entry.fields, discovered).length > 0
                    : targets.some((id) => isAbout(entry, id, scope)),
            );
            if (targets.length === 0) {
                // Without resolved targets, the instances the handler names are FIS's.
                targets = [
                    ...new Set(observer.entries.flatMap((e) => namedMembers(e.fields, discovered))),
                ];
            }
            targets.forEach((id) => observer.watch(id));
            for (const id of targets) {
                const decision = decisions.get(id) ?? decisionFor(observer.entries, id, scope);
                // A record left for the group's grace comes back: its re-check decides.
                if (decision?.action === "waiting" && observer.changed(`waiting ${id}`, "noted")) {
                    run.add(
                        "note",
                        `The handler left the warning for ${id} to the group's Capacity Rebalancing for its grace; the events queue brings the record back for a re-check.`,
                    );
                }
                if (decision === undefined || decision.action === "waiting" || decisions.has(id)) {
                    continue;
                }
                decisions.set(id, decision);
                const byGroup =
                    decision.action === "left-to-group"
                        ? `The handler left the warning for ${id} to its group: Capacity Rebalancing was already terminating and replacing it, as AWS documents it does on the warning.`
                        : decision.action === "ignored" && decision.reason === "not-in-service"
                          ? `The handler ignored the warning for ${id}: it was no longer InService. With Capacity Rebalancing on, the group replaces an instance at its rebalance recommendation, before the warning; that is expected, not a failure.`
                          : undefined;
                if (byGroup !== undefined) {
                    rebalanced.add(id);
                    run.add("note", byGroup);
                }
            }
            await observer.observe({ instances: true });
            const interrupted = (id: string) =>
                !["running", undefined].includes(observer.stateOf("instance", id));
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
    run.report.instanceIds = targets;
    const failed = [...decisions].find(([, d]) => d.action === "failed");
    if (failed !== undefined) {
        const [id, decision] = failed;
        throw new SimulationError(
            "handler-failed",
            `The handler failed to detach ${id}: ${decision.action === "failed" ? decision.error : ""}`,
        );
    }
    const first = decisions.get(targets[0]);
    run.report.decision = first && withoutEntry(first);
    run.report.warning = `FIS interrupted ${targets.join(", ")} for real: EC2 reclaimed ${targets.length === 1 ? "it" : "them"}${rebalanced.size > 0 ? ", after Capacity Rebalancing had replaced it" : ", and the group launched replacements"}.`;
}

function recordExperiment(run: Run, experiment: Experiment, observer: DeploymentObserver): string {
    const reason = (state?: { reason?: string }) => (state?.reason ? ` (${state.reason})` : "");
    const status = experiment.state?.status ?? "pending";
    if (observer.changed("experiment", status)) {
        const line = `Experiment ${experiment.id ?? ""}: ${status}${reason(experiment.state)}`;
        run.add("experiment", line, { status });
    }
    for (const [name, action] of Object.entries(experiment.actions ?? {})) {
        const actionStatus = action.state?.status ?? "pending";
        if (observer.changed(`action ${name}`, actionStatus)) {
            const line = `FIS action ${name} (${action.actionId ?? ""}): ${actionStatus}${reason(action.state)}`;
            run.add("action", line, { action: name, status: actionStatus });
        }
    }
    return status;
}

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
async function resolvedTargets(run: Run, experimentId: string): Promise<string[]> {
    try {
        const command = new ListExperimentResolvedTargetsCommand({ experimentId });
        const { resolvedTargets = [] } = await awsCall(
            "fis:ListExperimentResolvedTargets",
            (timeout) => run.clients.fis.send(command, timeout),
        );
        const ids = resolvedTargets.flatMap((t) =>
            Object.values(t.targetInformation ?? {}).flatMap(
                (value) => /\bi-[0-9a-f]{8,17}\b/.exec(value)?.[0] ?? [],
            ),
        );
        if (ids.length > 0) {
            run.add("experiment", `FIS selected ${ids.join(", ")}`, { instanceIds: ids });
        }
        return [...new Set(ids)];
    } catch (error) {
        if (!(error instanceof SimulationError)) {
            throw error;
        }
        run.add(
            "note",
            `Could not list the experiment's targets (${error.message}); following the instances the handler names instead.`,
        );
        return [];
    }
}

function namedMembers(fields: Readonly<Record<string, unknown>>, discovered: Discovered): string[] {
    const members = new Set((discovered.group?.instances ?? []).map((i) => i.instanceId));
    const named = [fields.instanceId, fields.instanceIds].flat();
    return named.filter((id): id is string => typeof id === "string" && members.has(id));
}
