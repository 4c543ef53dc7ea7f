/**
 * The default mode of `npm run simulate`: the seed workshop's Lambda console test, automated.
 * It picks an InService instance, invokes the function synchronously with the seed's sample
 * warning for it (as one SQS record with queue delivery, bare with direct), then follows what
 * the deployment does: the handler's decision in its log, the scaling activity, the drain from
 * the target groups and the replacement; with --terminate it terminates the instance once the
 * drain has ended.
 */
import { randomUUID } from "node:crypto";
import { TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { deregistrationDelaySeconds, type GroupMember } from "./simulate-aws";
import { awsCall, SimulationError } from "./simulate-errors";
import type { Deployment } from "./simulate-deployment";
import {
    type Decision,
    decisionFor,
    type DecisionScope,
    entriesAbout,
    withoutEntry,
} from "./simulate-log";
import { followUntil, pollsWithin } from "./simulate-follow";
import { DeploymentObserver, LEFT_GROUP, targetGroupName } from "./simulate-observe";
import { checkPermissions, permissionsNeeded, queueArnFromUrl } from "./simulate-permissions";
import {
    DEFAULT_TIMING,
    type Discovered,
    discover,
    functionArnOf,
    type InvokeResult,
    type ReportDraft,
    runReported,
    type SimulationContext,
} from "./simulate-run";
import { systemClock, type SimulationReport, type Timeline } from "./simulate-timeline";
import { buildWarningEvent, invokePayload, lambdaInvoker, pickInstance } from "./simulate-warning";
import { type SimulationClients } from "./simulate-clients";

/** Elastic Load Balancing's longest deregistration delay: the longest drain --terminate waits for. */
const MAX_DEREGISTRATION_DELAY_MS = 3_600_000;

export interface ConsoleTestOptions {
    readonly deployment: Deployment;
    /** Default: the group's first InService instance. */
    readonly instanceId?: string;
    /** Terminate the detached instance once it has drained. */
    readonly terminate: boolean;
    /** Plan and check permissions; invoke and terminate nothing. */
    readonly dryRun: boolean;
}

export function simulateConsoleTest(
    options: ConsoleTestOptions,
    context: SimulationContext,
): Promise<SimulationReport> {
    return runReported("console-test", options.dryRun, context, (timeline, draft) =>
        consoleTest(options, context, timeline, draft),
    );
}

async function consoleTest(
    options: ConsoleTestOptions,
    context: SimulationContext,
    timeline: Timeline,
    draft: ReportDraft,
): Promise<void> {
    const clock = context.clock ?? systemClock;
    const newId = context.newId ?? randomUUID;
    const discovered = await discover(options.deployment, context, timeline, draft, {
        mode: "console-test",
        dryRun: options.dryRun,
    });
    const { fn, group, facts, identity } = discovered;
    let member: GroupMember | undefined;
    try {
        member = group === undefined ? undefined : pickInstance(group, options.instanceId);
    } catch (error) {
        if (!options.dryRun || !(error instanceof SimulationError)) {
            throw error;
        }
        draft.problems.push(error);
        timeline.add("error", error.message, { kind: error.kind });
    }
    if (member !== undefined) {
        draft.instanceIds = [member.instanceId];
        timeline.add(
            "found",
            `Instance ${member.instanceId}${member.instanceType ? ` (${member.instanceType}${member.availabilityZone ? ` in ${member.availabilityZone}` : ""})` : ""}: ${options.instanceId === undefined ? "the group's first InService instance" : "as --instance asks"}`,
        );
        const event = buildWarningEvent(member, {
            ...identity,
            region: discovered.region,
            eventId: newId(),
            sentAt: new Date(clock.now()),
        });
        draft.event = event;
        // A dry run that could not read the queue still shows the record it would send.
        const queueArn =
            discovered.queueArn ??
            (facts.queueUrl === undefined
                ? undefined
                : queueArnFromUrl(facts.queueUrl, identity.partition));
        draft.payload = invokePayload(
            event,
            queueArn === undefined ? undefined : { queueArn, messageId: newId() },
        );
    }
    const way =
        facts.delivery === "queue"
            ? "wrapped as one SQS record from the events queue, as the mapping delivers it"
            : "as the bare event, as the rule delivers it";
    timeline.add(
        "plan",
        `${options.dryRun ? "Would invoke" : "Invoking"} ${facts.functionName} synchronously with the seed's sample warning for ${member?.instanceId ?? "an InService instance"}, ${way} (the Lambda console's test)`,
    );
    if (options.dryRun) {
        timeline.add(
            "plan",
            `Would then follow the handler's log, the group's activities${facts.targetGroupArns.length > 0 ? ", the drain from its target groups" : ""} and the replacement${options.terminate ? `, then terminate ${member?.instanceId ?? "the instance"} once it has drained` : ""}`,
        );
        draft.permissions = await checkPermissions(
            context.clients,
            identity.arn,
            permissionsNeeded({
                mode: "console-test",
                ...identity,
                region: discovered.region,
                functionArn: functionArnOf(discovered),
                logGroupName: facts.logGroupName ?? `/aws/lambda/${facts.functionName}`,
                queueUrl: facts.queueUrl,
                queueArn: facts.queueArn,
                hasTargetGroups: facts.targetGroupArns.length > 0,
                terminate: options.terminate,
                terminateInstanceId: member?.instanceId,
            }),
        );
        if (member !== undefined) {
            draft.warning = `Without --dry-run the function really detaches ${member.instanceId}${facts.handlerDryRun ? " (not while it runs with DRY_RUN=true)" : ""}; the group then launches a replacement, and ${options.terminate ? "--terminate terminates it once it has drained" : "the detached instance runs (and bills) until it is terminated"}.`;
        }
        return;
    }
    if (fn === undefined || group === undefined || member === undefined) {
        throw new SimulationError("aws-error", "the deployment could not be read");
    }
    const invokedAtMs = clock.now();
    const invoke = context.invoke ?? lambdaInvoker(context.clients);
    const result = await invoke(facts.functionName, draft.payload, (fn.timeoutSeconds + 30) * 1000);
    draft.response = result.payload;
    timeline.add(
        "invoke",
        `Invoked ${facts.functionName}${result.requestId ? ` (request ${result.requestId})` : ""}: it answered ${JSON.stringify(result.payload)}`,
        { ...result },
    );
    checkResponse(result, facts.functionName, facts.logGroupName);
    await follow(discovered, member, invokedAtMs, result, options, context, timeline, draft);
}

/** A thrown handler, or a record left for a retry, ends the test here. */
function checkResponse(result: InvokeResult, functionName: string, logGroupName?: string): void {
    const where =
        logGroupName === undefined ? "" : ` Its log group ${logGroupName} has the details.`;
    if (result.functionError !== undefined) {
        const payload = result.payload as { errorType?: string; errorMessage?: string } | null;
        throw new SimulationError(
            "handler-failed",
            `${functionName} failed (${result.functionError}): ${payload?.errorType ?? "Error"}: ${payload?.errorMessage ?? JSON.stringify(result.payload)}.${where}`,
        );
    }
    const failures = (result.payload as { batchItemFailures?: unknown[] } | null)
        ?.batchItemFailures;
    if (Array.isArray(failures) && failures.length > 0) {
        throw new SimulationError(
            "handler-failed",
            `${functionName} left the record for a retry (batchItemFailures ${JSON.stringify(failures)}): its detach failed.${where}`,
        );
    }
}

async function follow(
    discovered: Discovered,
    member: GroupMember,
    invokedAtMs: number,
    result: InvokeResult,
    options: ConsoleTestOptions,
    context: SimulationContext,
    timeline: Timeline,
    draft: ReportDraft,
): Promise<void> {
    const clock = context.clock ?? systemClock;
    const timing = { ...DEFAULT_TIMING, ...context.timing };
    const { facts, group } = discovered;
    const instanceId = member.instanceId;
    const observer = new DeploymentObserver(context.clients, timeline, {
        groupName: discovered.groupName,
        region: discovered.region,
        logGroupName: facts.logGroupName,
        targetGroupArns: facts.targetGroupArns,
        sinceMs: invokedAtMs,
        membersBefore: (group?.instances ?? []).map((i) => i.instanceId),
    });
    observer.watch(instanceId, member.lifecycleState);
    // Without Lambda's request id (the emulator), the invocation held this one warning only.
    const scope: DecisionScope = {
        requestId: result.requestId,
        attributeBatches: result.requestId === undefined,
    };
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
                (options.terminate ? MAX_DEREGISTRATION_DELAY_MS + timing.drainMarginMs : 0),
            timing.pollIntervalMs,
        ),
        poll: async () => {
            await observer.readLog((entry) => entriesAbout([entry], instanceId, scope).length > 0);
            if (decision === undefined) {
                decision = decisionFor(observer.entries, instanceId, scope);
                if (decision === undefined) {
                    return undefined;
                }
                draft.decision = withoutEntry(decision);
                if (decision.action === "failed") {
                    throw new SimulationError(
                        "handler-failed",
                        `The handler failed to detach ${instanceId}: ${decision.error}`,
                    );
                }
                if (decision.action === "ignored") {
                    throw new SimulationError(
                        "handler-failed",
                        `The handler ignored the warning for ${instanceId} (${decision.reason}${decision.detail ? `: ${decision.detail}` : ""}), though it was InService when picked.`,
                    );
                }
                if (decision.action === "would-detach") {
                    timeline.add(
                        "note",
                        `The function runs with DRY_RUN=true: it would have detached ${instanceId} (capacity ${decision.capacityOnInterruption ?? "keep"}) and detached nothing, so there is no drain or replacement to wait for.`,
                    );
                    if (options.terminate) {
                        timeline.add(
                            "note",
                            `Not terminating ${instanceId}: it is still in group ${discovered.groupName}.`,
                        );
                    }
                    return "nothing detached";
                }
                let drainSeconds = 0;
                for (const targetGroupArn of options.terminate ? facts.targetGroupArns : []) {
                    drainSeconds = Math.max(
                        drainSeconds,
                        await deregistrationDelaySeconds(context.clients, targetGroupArn),
                    );
                }
                deadlineMs =
                    clock.now() +
                    timing.reactionTimeoutMs +
                    (options.terminate ? drainSeconds * 1000 + timing.drainMarginMs : 0);
            }
            await observer.observeGroup();
            await observer.observeActivities();
            await observer.observeTargets();
            pending = pendingMilestones(
                observer,
                decision,
                instanceId,
                facts.targetGroupArns,
                options.terminate,
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
    if (followed === "nothing detached") {
        return;
    }
    if (options.terminate) {
        await terminate(context.clients, instanceId, timeline);
    } else {
        draft.warning = `${instanceId} was detached, not terminated: it keeps running (and billing) outside group ${discovered.groupName} until you terminate it (aws ec2 terminate-instances --instance-ids ${instanceId}), or run with --terminate next time.`;
    }
}

/** What the test still waits for after a detach; empty when it has seen everything. */
function pendingMilestones(
    observer: DeploymentObserver,
    decision: Decision,
    instanceId: string,
    targetGroupArns: readonly string[],
    terminate: boolean,
): string[] {
    const pending: string[] = [];
    const lifecycle = observer.lifecycleOf(instanceId);
    // Detaching lasts as long as the drain; only then may the instance be terminated.
    if (terminate ? lifecycle !== LEFT_GROUP : lifecycle === "InService") {
        pending.push(`${instanceId} to leave the group`);
    }
    const keeps = decision.action === "detached" && decision.capacityOnInterruption !== "decrement";
    if (keeps && observer.replacements.length === 0) {
        pending.push("a replacement to launch");
    }
    for (const targetGroupArn of targetGroupArns) {
        const state = observer.targetStateOf(targetGroupArn, instanceId);
        const name = targetGroupName(targetGroupArn);
        if (terminate ? state !== "unused" : state !== "draining" && state !== "unused") {
            pending.push(
                terminate ? `the drain from ${name} to end` : `${instanceId} to drain from ${name}`,
            );
        }
    }
    return pending;
}

async function terminate(
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
