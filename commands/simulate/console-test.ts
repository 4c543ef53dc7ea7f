/** The default mode: the seed workshop's Lambda console test, automated, then followed to the drain and the replacement. */
import { TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { SAFETY_NET_GRACE_MS } from "../../contract";
import { isRecord } from "../../handler/event";
import { asSqsRecord, freshSampleEvent } from "../../offline/sample-event";
import {
    awsCall,
    deregistrationDelaySeconds,
    type GroupMember,
    type GroupSnapshot,
    queueArnFromUrl,
    type SimulationClients,
    SimulationError,
} from "./aws";
import {
    type Decision,
    decisionFor,
    describeExpectation,
    expectsSafetyNet,
    isAbout,
    verdictOf,
    withoutEntry,
} from "./handler-log";
import {
    checkPlannedPermissions,
    type Deployment,
    type Discovered,
    followUntil,
    type Invoker,
    pollsWithin,
    type Run,
    runReported,
    type SimulationContext,
    type SimulationReport,
} from "./run";
import { DeploymentObserver, LEFT_GROUP, targetGroupName } from "./observer";

export interface ConsoleTestOptions {
    readonly deployment: Deployment | Error;
    readonly instanceId?: string;
    readonly terminate: boolean;
    readonly dryRun: boolean;
}

/** The first delivery, one re-check at the grace's end, and one spare for a slow group. */
const MAX_DELIVERIES = 3;

/** Elastic Load Balancing's longest deregistration delay: the longest drain a wait may hold. */
const MAX_DEREGISTRATION_DELAY_MS = 3_600_000;

/** The lifecycle states in which the group calls a termination hook. */
const HOOK_STATES = ["Terminating:Wait", "Terminating:Proceed"];

export function simulateConsoleTest(
    options: ConsoleTestOptions,
    context: SimulationContext,
): Promise<SimulationReport> {
    return runReported("console-test", options, context, async (run, discovered) => {
        const { dryRun, terminate } = options;
        const { fn, group, facts, identity, region } = discovered;
        const member = group && (await run.soft(() => pickInstance(group, options.instanceId)));
        const instanceId = member?.instanceId;
        if (member !== undefined) {
            const { instanceType, availabilityZone: zone } = member;
            run.report.instanceIds = [member.instanceId];
            run.add(
                "found",
                `Instance ${instanceId}${instanceType ? ` (${instanceType}${zone ? ` in ${zone}` : ""})` : ""}: ${options.instanceId === undefined ? "the group's first InService instance" : "as --instance asks"}`,
            );
            // The seed's shape, sent now by this account, with the instance's zone as EC2 writes it.
            const event = {
                ...freshSampleEvent(member.instanceId, new Date(run.clock.now())),
                id: run.newId(),
                account: identity.account,
                region,
                resources: [
                    `arn:${identity.partition}:ec2:${zone ?? region}:instance/${instanceId}`,
                ],
            };
            run.report.event = event;
            // A dry run that could not read the queue still shows the record it would send.
            const queueArn =
                facts.queueArn ??
                (facts.queueUrl && queueArnFromUrl(facts.queueUrl, identity.partition));
            run.report.payload = queueArn
                ? { Records: [asSqsRecord(event, { messageId: run.newId(), queueArn })] }
                : event;
        }
        const way =
            facts.delivery === "queue"
                ? "wrapped as one SQS record from the events queue, as the mapping delivers it"
                : "as the bare event, as the rule delivers it";
        run.add(
            "plan",
            `${dryRun ? "Would invoke" : "Invoking"} ${facts.functionName} synchronously with the seed's sample warning for ${instanceId ?? "an InService instance"}, ${way} (the Lambda console's test)`,
        );
        const net = fn !== undefined && group !== undefined && expectsSafetyNet(fn, group);
        if (fn && group) {
            const { interruptionAction, capacityOnInterruption } = fn;
            const { capacityRebalance } = group;
            const data = { interruptionAction, capacityOnInterruption, capacityRebalance };
            run.add("plan", describeExpectation(net, group.name), data);
        }
        if (dryRun) {
            run.add(
                "plan",
                `Would then follow the handler's log, the group's activities${facts.targetGroupArns.length > 0 ? ", the drain from its target groups" : ""} and the replacement${terminate ? `, then terminate ${instanceId ?? "the instance"} once it has drained` : ""}`,
            );
            await checkPlannedPermissions(run, discovered, {
                mode: "console-test",
                terminate,
                terminateInstanceId: instanceId,
            });
            if (member !== undefined) {
                run.report.warning = `Without --dry-run the function really ${net ? "takes out" : "detaches"} ${instanceId}${net ? " (by its safety net, after the group's grace)" : ""}${facts.handlerDryRun ? " (not while it runs with DRY_RUN=true)" : ""}; the group then launches a replacement, and ${terminate ? "--terminate terminates it once it has drained" : "the detached instance runs (and bills) until it is terminated"}.`;
            }
            return;
        }
        if (fn === undefined || member === undefined) {
            throw new SimulationError("aws-error", "the deployment could not be read");
        }
        const observer = new DeploymentObserver(run, discovered, run.clock.now());
        observer.watch(member.instanceId);
        const test = { run, discovered, observer, instanceId: member.instanceId, terminate };
        const invoke = run.context.invoke ?? lambdaInvoker(run.clients);
        await followDecision(test, invoke, (fn.timeoutSeconds + 30) * 1000);
    });
}

/** The instance to interrupt: `requested` if it is an InService member, else the first one. */
export function pickInstance<Member extends Pick<GroupMember, "instanceId" | "lifecycleState">>(
    group: Pick<GroupSnapshot, "name" | "minSize" | "desiredCapacity"> & { instances: Member[] },
    requested?: string,
): Member {
    const member = group.instances.find((i) =>
        requested === undefined ? i.lifecycleState === "InService" : i.instanceId === requested,
    );
    const ids = group.instances.map((i) => i.instanceId);
    if (requested !== undefined && member?.lifecycleState !== "InService") {
        throw new SimulationError(
            "instance-not-in-group",
            member === undefined
                ? `Instance ${requested} is not in group ${group.name}${ids.length > 0 ? ` (its members: ${ids.join(", ")})` : ""}: pass one of its InService instances, or leave out --instance.`
                : `Instance ${requested} is ${member.lifecycleState} in group ${group.name}, not InService: the handler would ignore its warning. Pass an InService instance, or leave out --instance.`,
        );
    }
    if (member === undefined) {
        throw new SimulationError(
            "group-empty",
            `Group ${group.name} has no InService instance to interrupt (${ids.length} instances, desired capacity ${group.desiredCapacity}): scale it up, e.g. aws autoscaling set-desired-capacity --auto-scaling-group-name ${group.name} --desired-capacity ${Math.max(1, group.minSize)}, and wait for an instance to be InService.`,
        );
    }
    return member;
}

function lambdaInvoker(clients: SimulationClients): Invoker {
    return async (functionName, payload, timeoutMs) => {
        const input = {
            FunctionName: functionName,
            InvocationType: "RequestResponse" as const,
            Payload: new TextEncoder().encode(JSON.stringify(payload)),
        };
        const response = await awsCall(
            "lambda:InvokeFunction",
            (timeout) => clients.lambda.send(new InvokeCommand(input), timeout),
            { timeoutMs },
        );
        const text = new TextDecoder().decode(response.Payload);
        let parsed: unknown = text;
        try {
            parsed = text === "" ? null : JSON.parse(text);
        } catch {
            // Kept as text: the function answered something that is not JSON.
        }
        const { FunctionError: functionError, $metadata } = response;
        return {
            payload: parsed,
            ...(functionError === undefined ? {} : { functionError }),
            ...($metadata?.requestId === undefined ? {} : { requestId: $metadata.requestId }),
        };
    };
}

/** The record as the queue delivers it again: a fresh receipt handle, one more receive. Pure. */
export function redeliveredPayload(payload: unknown, receiptId: string): unknown {
    if (!isRecord(payload) || !Array.isArray(payload.Records)) {
        return payload;
    }
    const again = (record: unknown) => {
        if (!isRecord(record) || !isRecord(record.attributes)) {
            return record;
        }
        const count = Number(record.attributes.ApproximateReceiveCount ?? 1) + 1;
        const attributes = { ...record.attributes, ApproximateReceiveCount: String(count) };
        return { ...record, receiptHandle: `receipt-${receiptId}`, attributes };
    };
    return { ...payload, Records: payload.Records.map(again) };
}

interface Test {
    readonly run: Run;
    readonly discovered: Discovered;
    readonly observer: DeploymentObserver;
    readonly instanceId: string;
    readonly terminate: boolean;
}

/** Invokes and follows to the decision, drain and replacement; a waiting record (in no queue) is invoked again. */
async function followDecision(test: Test, invoke: Invoker, timeoutMs: number): Promise<void> {
    const { run, observer, instanceId, terminate } = test;
    const { clock, timing } = run;
    const { functionName, logGroupName, groupName } = test.discovered.facts;
    const logged =
        logGroupName === undefined ? "" : ` Its log group ${logGroupName} has the details.`;
    const deliver = async (payload: unknown, number: number) => {
        const entriesFrom = observer.entries.length;
        const invokedAtMs = clock.now();
        const result = await invoke(functionName, payload, timeoutMs);
        run.add(
            "invoke",
            `Invoked ${functionName}${number > 1 ? ` again (delivery ${number})` : ""}${result.requestId ? ` (request ${result.requestId})` : ""}: it answered ${JSON.stringify(result.payload)}`,
            { ...result },
        );
        if (result.functionError !== undefined) {
            const thrown = result.payload as { errorType?: string; errorMessage?: string } | null;
            throw new SimulationError(
                "handler-failed",
                `${functionName} failed (${result.functionError}): ${thrown?.errorType ?? "Error"}: ${thrown?.errorMessage ?? JSON.stringify(result.payload)}.${logged}`,
            );
        }
        const answer = isRecord(result.payload) ? result.payload.batchItemFailures : undefined;
        const failures = Array.isArray(answer) ? answer : [];
        if (failures.length === 0) {
            run.report.response = result.payload;
        }
        // Without Lambda's request id (the emulator), the invocation held this one warning only.
        const scope = { requestId: result.requestId, attributeBatches: !result.requestId };
        return { payload, number, result, invokedAtMs, scope, entriesFrom, failures };
    };
    let delivery = await deliver(run.report.payload, 1);
    const retried = () =>
        new SimulationError(
            "handler-failed",
            `${functionName} left the record for a retry (batchItemFailures ${JSON.stringify(delivery.failures)}): its detach failed.${logged}`,
        );
    // The grace runs from the warning's `time`.
    const recheckAtMs =
        Date.parse(String((run.report.event as { time?: unknown }).time)) + SAFETY_NET_GRACE_MS;
    const redeliver = async () => {
        run.add(
            "note",
            `The handler left the record waiting for ${instanceId}'s group to act on the warning (Capacity Rebalancing) until ${new Date(recheckAtMs).toISOString()}: on AWS the events queue brings it back then. This record is not in the queue, so the simulation brings it back itself, as the queue would. A console test's warning is not one EC2 sent: the group never reacts to it, and the safety net should act.`,
        );
        // Bounded: the grace ends at most SAFETY_NET_GRACE_MS after the warning's time.
        await clock.sleep(Math.min(SAFETY_NET_GRACE_MS, Math.max(0, recheckAtMs - clock.now())));
        if (delivery.number === MAX_DELIVERIES) {
            throw new SimulationError(
                "handler-failed",
                `The handler still left the record for ${instanceId} waiting after ${MAX_DELIVERIES} deliveries, the last past the group's grace.`,
            );
        }
        const payload = redeliveredPayload(delivery.payload, run.newId());
        delivery = await deliver(payload, delivery.number + 1);
        deadlineMs = delivery.invokedAtMs + timing.decisionTimeoutMs;
    };
    let decision: Decision | undefined;
    let deadlineMs = delivery.invokedAtMs + timing.decisionTimeoutMs;
    let pending: string[] = [];
    const followed = await followUntil({
        clock,
        intervalMs: timing.pollIntervalMs,
        deadlineMs: () => deadlineMs,
        // Each delivery has its decision's window; the poll that sees the decision may come one
        // interval after the decision's deadline.
        maxPolls: pollsWithin(
            MAX_DELIVERIES * timing.decisionTimeoutMs +
                timing.pollIntervalMs +
                timing.reactionTimeoutMs +
                MAX_DEREGISTRATION_DELAY_MS +
                timing.drainMarginMs,
            timing.pollIntervalMs,
        ),
        poll: async () => {
            const { scope, entriesFrom, failures } = delivery;
            await observer.readLog((entry) => isAbout(entry, instanceId, scope));
            const found = decisionFor(observer.entries.slice(entriesFrom), instanceId, scope);
            if (decision === undefined) {
                // The batch's own entry says why the record came back; without it, it reads as a failure.
                if (failures.length > 0 && found?.action === "waiting") {
                    await redeliver();
                    return undefined;
                }
                if (failures.length > 0 && ["failed", "ignored"].includes(found?.action ?? "")) {
                    throw retried();
                }
                // A waiting record was settled by a later delivery (a real queue, as the emulator's
                // pipeline): the follow starts from that.
                if (found === undefined || found.action === "waiting") {
                    return undefined;
                }
                // Its answer is the report's, as an answer that left nothing for a retry is.
                run.report.response = delivery.result.payload;
                // A direct invocation's answer says whether the safety net acted.
                const answer = delivery.result.payload as { safetyNet?: unknown } | null;
                decision =
                    answer?.safetyNet === true && "activities" in found
                        ? { ...found, safetyNet: true }
                        : found;
                run.report.decision = withoutEntry(decision);
                if (judgeAtOnce(test, decision) === "nothing moved") {
                    return "nothing moved";
                }
                deadlineMs =
                    clock.now() + timing.reactionTimeoutMs + (await drainWaitMs(test, decision));
            }
            await observer.observe({ instances: false });
            pending = pendingMilestones(test, decision);
            return pending.length === 0 ? "all seen" : undefined;
        },
        giveUp: () =>
            decision === undefined && delivery.failures.length > 0
                ? retried()
                : new SimulationError(
                      "timeout",
                      decision === undefined
                          ? `No decision about ${instanceId} in the handler's log group ${logGroupName} within ${Math.round(timing.decisionTimeoutMs / 1000)} s of the invoke: check that the function logs there (its LoggingConfig).`
                          : `Gave up waiting for ${pending.join(", ")} after ${Math.round((clock.now() - delivery.invokedAtMs) / 1000)} s.`,
                  ),
    });
    const settled = decision as Decision;
    run.report.verdict = verdictOf(withoutEntry(settled), hookSeen(test));
    const byGroup = settled.action === "terminated" || settled.action === "left-to-group";
    if (followed === "nothing moved" || byGroup) {
        if (terminate) {
            run.add(
                "note",
                byGroup
                    ? `Not terminating ${instanceId} with EC2: its group terminates it itself.`
                    : `Not terminating ${instanceId}: it is still in group ${groupName}.`,
            );
        }
        return;
    }
    if (!terminate) {
        run.report.warning = `${instanceId} was detached, not terminated: it keeps running (and billing) outside group ${groupName} until you terminate it (aws ec2 terminate-instances --instance-ids ${instanceId}), or run with --terminate next time.`;
        return;
    }
    const { TerminatingInstances = [] } = await awsCall("ec2:TerminateInstances", (timeout) =>
        run.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }), timeout),
    );
    const change = TerminatingInstances.find((i) => i.InstanceId === instanceId);
    run.add(
        "terminate",
        `Terminated ${instanceId} as --terminate asks: ${change?.PreviousState?.Name ?? "?"} → ${change?.CurrentState?.Name ?? "?"}`,
    );
}

/** Decisions the test ends on at once: a failure, an ignore, or a dry run that moved nothing. */
function judgeAtOnce(test: Test, decision: Decision): "nothing moved" | undefined {
    const { run, instanceId } = test;
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
    const detach = decision.action === "would-detach";
    run.add(
        "note",
        `The function runs with DRY_RUN=true: it would have ${detach ? "detached" : "terminated through the group"} ${instanceId}${decision.safetyNet ? " by its safety net" : ""} (capacity ${decision.capacityOnInterruption ?? "keep"}) and ${detach ? "detached" : "terminated"} nothing, so there is no drain or replacement to wait for.`,
    );
    return "nothing moved";
}

function hookSeen({ observer, instanceId }: Test): boolean {
    const seen = observer.history.get(instanceId);
    return HOOK_STATES.some((state) => seen?.has(state));
}

/** How much longer than the reaction to wait: the drain, before --terminate or a termination hook (AWS drains first). */
async function drainWaitMs(test: Test, decision: Decision): Promise<number> {
    const { run, terminate } = test;
    const { targetGroupArns } = test.discovered.facts;
    if ((!terminate && decision.action !== "terminated") || targetGroupArns.length === 0) {
        return 0;
    }
    const delays = targetGroupArns.map((arn) => deregistrationDelaySeconds(run.clients, arn));
    const drainMs = Math.max(...(await Promise.all(delays))) * 1000;
    return Math.min(MAX_DEREGISTRATION_DELAY_MS, drainMs) + run.timing.drainMarginMs;
}

/** What the test still waits for after the decision; empty when it has seen everything. */
function pendingMilestones(test: Test, decision: Decision): string[] {
    const { observer, instanceId, terminate } = test;
    const { targetGroupArns } = test.discovered.facts;
    const pending: string[] = [];
    const lifecycle = observer.lifecycles.get(instanceId);
    const byGroup = decision.action === "terminated" || decision.action === "left-to-group";
    // Detaching lasts as long as the drain; only then may the instance be terminated.
    const mustLeave = terminate && !byGroup;
    if (mustLeave ? lifecycle !== LEFT_GROUP : lifecycle === "InService") {
        pending.push(`${instanceId} to leave the group`);
    }
    if (decision.action === "terminated" && !hookSeen(test) && lifecycle !== LEFT_GROUP) {
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
    for (const arn of targetGroupArns) {
        const state = observer.stateOf("target", arn, instanceId);
        const name = targetGroupName(arn);
        if (mustLeave ? state !== "unused" : state !== "draining" && state !== "unused") {
            pending.push(
                mustLeave ? `the drain from ${name} to end` : `${instanceId} to drain from ${name}`,
            );
        }
    }
    return pending;
}
