/**
 * What FIS says, read for the simulation: the template's interruption, the experiment's and its
 * actions' states as timeline entries, its failure in FIS's own words, and the targets it chose.
 */
import {
    type Experiment,
    type ExperimentTemplate,
    ListExperimentResolvedTargetsCommand,
} from "@aws-sdk/client-fis";
import {
    isoDurationSeconds,
    SPOT_INTERRUPTION_ACTION_ID,
} from "../../components/spot-interruption-handler/fault-injection";
import { type SimulationClients } from "./simulate-clients";
import { awsCall, SimulationError } from "./simulate-errors";
import type { Timeline } from "./simulate-timeline";

/** The template's interruption, as the timeline describes it. */
export interface TemplateSummary {
    readonly selectionMode: string;
    readonly groupTag?: string;
    readonly durationBeforeInterruption: string;
    readonly durationSeconds: number;
    readonly stopConditions: string;
}

/** The experiment states that end it without the interruption. */
export const TERMINAL_FAILURES = new Set(["failed", "stopped", "cancelled"]);

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

/** Records the experiment's and its actions' state changes; returns the experiment's status. */
export function recordExperiment(
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
export function experimentFailure(experimentId: string, experiment: Experiment): SimulationError {
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
export async function resolvedTargets(
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
