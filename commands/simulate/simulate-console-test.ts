/**
 * The default mode of `npm run simulate`: the seed workshop's Lambda console test, automated.
 * It picks an InService instance, invokes the function synchronously with the seed's sample
 * warning for it (as one SQS record with queue delivery, bare with direct), then follows what
 * the deployment does: the handler's decision in its log (a group with Capacity Rebalancing
 * gets the warning first, and the safety net acts after its grace), the scaling activity, a
 * termination hook, the drain from the target groups and the replacement; with --terminate it
 * terminates a detached instance once its drain has ended.
 */
import { randomUUID } from "node:crypto";
import type { GroupMember } from "./simulate-aws";
import { SimulationError } from "./simulate-errors";
import type { Deployment } from "./simulate-deployment";
import { DeploymentObserver } from "./simulate-observe";
import { checkPermissions, permissionsNeeded, queueArnFromUrl } from "./simulate-permissions";
import {
    DEFAULT_TIMING,
    discover,
    functionArnOf,
    type ReportDraft,
    runReported,
    type SimulationContext,
} from "./simulate-run";
import { systemClock, type SimulationReport, type Timeline } from "./simulate-timeline";
import { buildWarningEvent, invokePayload, lambdaInvoker, pickInstance } from "./simulate-warning";
import { followDecision } from "./console-follow";
import { describeExpectation, expectedPath } from "./machinery";
import { deliverUntilSettled } from "./redelivery";

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
    if (fn !== undefined && group !== undefined) {
        timeline.add("plan", describeExpectation(expectedPath(fn, group), group.name), {
            interruptionAction: fn.interruptionAction,
            capacityOnInterruption: fn.capacityOnInterruption,
            capacityRebalance: group.capacityRebalance,
        });
    }
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
            const safetyNet =
                fn !== undefined &&
                group !== undefined &&
                expectedPath(fn, group).kind === "safety-net";
            draft.warning = `Without --dry-run the function really ${safetyNet ? "takes out" : "detaches"} ${member.instanceId}${safetyNet ? " (by its safety net, after the group's grace)" : ""}${facts.handlerDryRun ? " (not while it runs with DRY_RUN=true)" : ""}; the group then launches a replacement, and ${options.terminate ? "--terminate terminates it once it has drained" : "the detached instance runs (and bills) until it is terminated"}.`;
        }
        return;
    }
    if (fn === undefined || group === undefined || member === undefined) {
        throw new SimulationError("aws-error", "the deployment could not be read");
    }
    const observer = new DeploymentObserver(context.clients, timeline, {
        groupName: discovered.groupName,
        region: discovered.region,
        logGroupName: facts.logGroupName,
        targetGroupArns: facts.targetGroupArns,
        sinceMs: clock.now(),
        membersBefore: group.instances.map((i) => i.instanceId),
    });
    observer.watch(member.instanceId, member.lifecycleState);
    const delivery = await deliverUntilSettled(
        draft.payload,
        {
            invoke: context.invoke ?? lambdaInvoker(context.clients),
            functionName: facts.functionName,
            timeoutMs: (fn.timeoutSeconds + 30) * 1000,
            instanceId: member.instanceId,
            sentAtMs: Date.parse(String((draft.event as { time?: unknown }).time)),
            logGroupName: facts.logGroupName,
            clock,
            timing: { ...DEFAULT_TIMING, ...context.timing },
            newId,
        },
        observer,
        timeline,
    );
    draft.response = delivery.result.payload;
    await followDecision(
        discovered,
        delivery,
        observer,
        { instanceId: member.instanceId, terminate: options.terminate },
        context,
        timeline,
        draft,
    );
}
