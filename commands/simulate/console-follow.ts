/**
 * Following the console test once the function has settled its warning: the handler's decision
 * in its log, then what the group does about it (the instance leaving service, a termination
 * hook, the drain, the replacement), until everything the decision promises has been seen.
 */
import { TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { deregistrationDelaySeconds } from "./simulate-aws";
import { awsCall, SimulationError } from "./simulate-errors";
import { followUntil, pollsWithin } from "./simulate-follow";
import { type Decision, decisionFor, entriesAbout, withoutEntry } from "./simulate-log";
import { type DeploymentObserver, LEFT_GROUP, targetGroupName } from "./simulate-observe";
import type { Discovered, ReportDraft, SimulationContext } from "./simulate-run";
import { DEFAULT_TIMING } from "./simulate-run";
import { systemClock, type Timeline } from "./simulate-timeline";
import type { SimulationClients } from "./simulate-clients";
import type { Delivery } from "./redelivery";
import { verdictOf } from "./machinery";

/** Elastic Load Balancing's longest deregistration delay: the longest drain a wait may hold. */
const MAX_DEREGISTRATION_DELAY_MS = 3_600_000;

/** The lifecycle states in which the group calls a termination hook. */
const HOOK_STATES = ["Terminating:Wait", "Terminating:Proceed"];

export interface FollowSettings {
    readonly instanceId: string;
    /** Terminate the detached instance once it has drained. */
    readonly terminate: boolean;
}

/** Follows the settled delivery's decision to its end, and fills in the verdict. */
export async function followDecision(
    discovered: Discovered,
    delivery: Delivery,
    observer: DeploymentObserver,
    settings: FollowSettings,
    context: SimulationContext,
    timeline: Timeline,
    draft: ReportDraft,
): Promise<void> {
    const clock = context.clock ?? systemClock;
    const timing = { ...DEFAULT_TIMING, ...context.timing };
    const { facts } = discovered;
    const { instanceId, terminate } = settings;
    const { scope, invokedAtMs } = delivery;
    const decide = () =>
        decisionFor(observer.entries.slice(delivery.entriesFrom), instanceId, scope);
    let decision: Decision | undefined;
    let deadlineMs = invokedAtMs + timing.decisionTimeoutMs;
    let pending: string[] = [];
    const followed = await followUntil({
        clock,
        intervalMs: timing.pollIntervalMs,
        deadlineMs: () => deadlineMs,
        // The poll that sees the decision may come one interval after the decision's deadline.
        maxPolls: pollsWithin(
            timing.decisionTimeoutMs +
                timing.pollIntervalMs +
                timing.reactionTimeoutMs +
                MAX_DEREGISTRATION_DELAY_MS +
                timing.drainMarginMs,
            timing.pollIntervalMs,
        ),
        poll: async () => {
            await observer.readLog((entry) => entriesAbout([entry], instanceId, scope).length > 0);
            if (decision === undefined) {
                const found = decide();
                // A waiting record was settled by a later delivery: the follow starts from that.
                if (found === undefined || found.action === "waiting") {
                    return undefined;
                }
                decision = withSafetyNet(found, delivery);
                draft.decision = withoutEntry(decision);
                const early = judgeAtOnce(decision, instanceId, discovered, terminate, timeline);
                if (early !== undefined) {
                    return early;
                }
                deadlineMs =
                    clock.now() +
                    timing.reactionTimeoutMs +
                    (await drainWaitMs(decision, facts.targetGroupArns, terminate, context));
            }
            await observer.observeGroup();
            await observer.observeActivities();
            await observer.observeTargets();
            pending = pendingMilestones(
                observer,
                decision,
                instanceId,
                facts.targetGroupArns,
                terminate,
            );
            return pending.length === 0 ? "all seen" : undefined;
        },
        giveUp: () =>
            new SimulationError(
                "timeout",
                decision === undefined
                    ? `No decision about ${instanceId} in the handler's log group ${facts.logGroupName} within ${Math.round(timing.decisionTimeoutMs / 1000)} s of the invoke: check that the function logs there (its LoggingConfig).`
                    : `Gave up waiting for ${pending.join(", ")} after ${Math.round((clock.now() - invokedAtMs) / 1000)} s.`,
            ),
    });
    const settled = decision as Decision;
    draft.verdict = verdictOf(
        withoutEntry(settled),
        HOOK_STATES.some((state) => observer.hasBeen(instanceId, state)),
    );
    if (followed === "nothing moved") {
        return;
    }
    if (settled.action === "terminated" || settled.action === "left-to-group") {
        if (terminate) {
            timeline.add(
                "note",
                `Not terminating ${instanceId} with EC2: its group terminates it itself.`,
            );
        }
        return;
    }
    if (terminate) {
        await terminateInstance(context.clients, instanceId, timeline);
    } else {
        draft.warning = `${instanceId} was detached, not terminated: it keeps running (and billing) outside group ${discovered.groupName} until you terminate it (aws ec2 terminate-instances --instance-ids ${instanceId}), or run with --terminate next time.`;
    }
}

/** A direct invocation's answer says whether the safety net acted; a batch's log says it too. */
function withSafetyNet(decision: Decision, delivery: Delivery): Decision {
    const answer = delivery.result.payload as { safetyNet?: unknown } | null;
    return answer?.safetyNet === true && "activities" in decision
        ? { ...decision, safetyNet: true }
        : decision;
}

/** Decisions the test ends on at once: a failure, an ignore, or a dry run that moved nothing. */
function judgeAtOnce(
    decision: Decision,
    instanceId: string,
    discovered: Discovered,
    terminate: boolean,
    timeline: Timeline,
): "nothing moved" | undefined {
    if (decision.action === "failed") {
        throw new SimulationError(
            "handler-failed",
            `The handler failed to take ${instanceId} out of service: ${decision.error}`,
        );
    }
    if (decision.action === "ignored") {
        throw new SimulationError(
            "handler-failed",
            `The handler ignored the warning for ${instanceId} (${decision.reason}${decision.detail ? `: ${decision.detail}` : ""}), though it was InService when picked.`,
        );
    }
    if (decision.action !== "would-detach" && decision.action !== "would-terminate") {
        return undefined;
    }
    const would = decision.action === "would-detach" ? "detached" : "terminated through the group";
    timeline.add(
        "note",
        `The function runs with DRY_RUN=true: it would have ${would} ${instanceId}${decision.safetyNet ? " by its safety net" : ""} (capacity ${decision.capacityOnInterruption ?? "keep"}) and ${decision.action === "would-detach" ? "detached" : "terminated"} nothing, so there is no drain or replacement to wait for.`,
    );
    if (terminate) {
        timeline.add(
            "note",
            `Not terminating ${instanceId}: it is still in group ${discovered.groupName}.`,
        );
    }
    return "nothing moved";
}

/**
 * How much longer than the reaction the follow may wait: the drain, before --terminate's own
 * termination, or before the group calls a termination hook (AWS drains first, then hooks).
 */
async function drainWaitMs(
    decision: Decision,
    targetGroupArns: readonly string[],
    terminate: boolean,
    context: SimulationContext,
): Promise<number> {
    const waitsForDrain = terminate || decision.action === "terminated";
    if (!waitsForDrain || targetGroupArns.length === 0) {
        return 0;
    }
    let drainSeconds = 0;
    for (const targetGroupArn of targetGroupArns) {
        drainSeconds = Math.max(
            drainSeconds,
            await deregistrationDelaySeconds(context.clients, targetGroupArn),
        );
    }
    const timing = { ...DEFAULT_TIMING, ...context.timing };
    return Math.min(MAX_DEREGISTRATION_DELAY_MS, drainSeconds * 1000) + timing.drainMarginMs;
}

/** What the test still waits for after the decision; empty when it has seen everything. */
export function pendingMilestones(
    observer: DeploymentObserver,
    decision: Decision,
    instanceId: string,
    targetGroupArns: readonly string[],
    terminate: boolean,
): string[] {
    const pending: string[] = [];
    const lifecycle = observer.lifecycleOf(instanceId);
    const byGroup = decision.action === "terminated" || decision.action === "left-to-group";
    // Detaching lasts as long as the drain; only then may the instance be terminated.
    const mustLeave = terminate && !byGroup;
    if (mustLeave ? lifecycle !== LEFT_GROUP : lifecycle === "InService") {
        pending.push(`${instanceId} to leave the group`);
    }
    const hookSeen = HOOK_STATES.some((state) => observer.hasBeen(instanceId, state));
    if (decision.action === "terminated" && !hookSeen && lifecycle !== LEFT_GROUP) {
        pending.push(`the group to call its termination hook for ${instanceId}`);
    }
    const capacity =
        "capacityOnInterruption" in decision ? decision.capacityOnInterruption : "keep";
    const keeps =
        ["detached", "terminated", "left-to-group"].includes(decision.action) &&
        capacity !== "decrement";
    if (keeps && observer.replacements.length === 0) {
        pending.push("a replacement to launch");
    }
    for (const targetGroupArn of targetGroupArns) {
        const state = observer.targetStateOf(targetGroupArn, instanceId);
        const name = targetGroupName(targetGroupArn);
        if (mustLeave ? state !== "unused" : state !== "draining" && state !== "unused") {
            pending.push(
                mustLeave ? `the drain from ${name} to end` : `${instanceId} to drain from ${name}`,
            );
        }
    }
    return pending;
}

async function terminateInstance(
    clients: SimulationClients,
    instanceId: string,
    timeline: Timeline,
): Promise<void> {
    const { TerminatingInstances = [] } = await awsCall("ec2:TerminateInstances", (abortSignal) =>
        clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }), {
            abortSignal,
        }),
    );
    const change = TerminatingInstances.find((i) => i.InstanceId === instanceId);
    timeline.add(
        "terminate",
        `Terminated ${instanceId} as --terminate asks: ${change?.PreviousState?.Name ?? "?"} → ${change?.CurrentState?.Name ?? "?"}`,
    );
}
