/**
 * A fake AWS account for `npm run simulate`'s tests, behind aws-sdk-client-mock: one Spot group
 * behind a target group, the handler function (answering and logging as the deployed handler
 * does, in Lambda's JSON log format), its log group, its events queue, and FIS with the
 * component's template. Its clock is fake: every sleep advances it, and the account moves on
 * (drains end, replacements come InService, experiments progress). tests/unit/simulate-fake-account.test.ts
 * pins the AWS behaviours the simulation relies on.
 */
import {
    AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DescribeScalingActivitiesCommand,
} from "@aws-sdk/client-auto-scaling";
import { CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
    DescribeInstancesCommand,
    EC2Client,
    TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import {
    DescribeTargetGroupAttributesCommand,
    DescribeTargetHealthCommand,
    ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
    FisClient,
    GetExperimentCommand,
    GetExperimentTemplateCommand,
    ListExperimentResolvedTargetsCommand,
    StartExperimentCommand,
} from "@aws-sdk/client-fis";
import { IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import {
    GetFunctionConfigurationCommand,
    InvokeCommand,
    LambdaClient,
} from "@aws-sdk/client-lambda";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import type { SimulationContext } from "../../commands/simulate/run";
import { type SimulationClients } from "../../commands/simulate/aws";
import { batchSummary } from "../../handler/queue-batch";
import {
    ACCOUNT,
    CALLER,
    DRAIN_SECONDS,
    FUNCTION,
    GROUP,
    INSTANCES,
    LOG_GROUP,
    QUEUE_ARN,
    QUEUE_URL,
    REGION,
    REPLACEMENT,
    T0,
    TEMPLATE,
    TG_ARN,
    ZONES,
} from "./simulated-stack";

interface Member {
    lifecycle: string;
    zone: string;
    type: string;
}

interface Activity {
    ActivityId: string;
    Description: string;
    Cause: string;
    StatusCode: string;
    StartTime: Date;
}

interface Invocation {
    payload: unknown;
    functionError?: string;
}

export interface FakeAccountOptions {
    readonly queueDelivery?: boolean;
    readonly handlerDryRun?: boolean;
    readonly capacityRebalance?: boolean;
    readonly experimentFails?: boolean;
    /** The group lets a detached instance go at once, before its drain ends (as moto does). */
    readonly leavesGroupAtDetach?: boolean;
    /** The group has a termination lifecycle hook: the handler terminates through the group. */
    readonly terminationHook?: boolean;
}

/** The handler's grace for a group with Capacity Rebalancing (SAFETY_NET_GRACE_MS). */
const GRACE_MS = 25_000;
/** How long the group's termination hook holds an instance in Terminating:Wait. */
export const HOOK_SECONDS = 30;

/**
 * @aws-sdk/client-fis pins an older @smithy/types than aws-sdk-client-mock's, so that its
 * client does not satisfy the mock's types: its stub is typed here, as far as the tests use it.
 */
export interface FisStub {
    on(command: unknown): { callsFake<Input>(fake: (input: Input) => unknown): unknown };
    onAnyCommand(): { rejects(error: Error): unknown };
    calls(): { args: unknown[] }[];
}

type Mocks = {
    [Name in Exclude<keyof SimulationClients, "fis">]: AwsClientStub<SimulationClients[Name]>;
} & { fis: FisStub };

function awsError(name: string, message: string): Error {
    return Object.assign(new Error(message), { name });
}

export class FakeAccount {
    now = T0;
    readonly clients: SimulationClients;
    readonly mocks: Mocks;
    private readonly members = new Map<string, Member>();
    private readonly activities: Activity[] = [];
    private readonly logEvents: { timestamp: number; message: string; eventId: string }[] = [];
    private readonly targets = new Map<string, { state: string; reason?: string; since: number }>();
    private readonly ec2States = new Map<string, { state: string; reason?: string }>();
    private readonly denied = new Set<string>();
    private readonly simulatorDenied = new Set<string>();
    private readonly invocations: unknown[] = [];
    private readonly started: string[] = [];
    private desired = INSTANCES.length;
    private functionExists = true;
    private queueExists = true;
    private groupExists = true;
    private logging = true;
    private drains = true;
    private invocationOverride?: Invocation;
    private stsFailure?: Error;
    private experiment?: { startedAt: number; status: string; target?: string };
    private ids = 0;
    /** Instances in Terminating:Wait, by when their hook started. */
    private readonly hooks = new Map<string, number>();

    constructor(private readonly options: FakeAccountOptions = {}) {
        INSTANCES.forEach((id, n) =>
            this.members.set(id, { lifecycle: "InService", zone: ZONES[n], type: "c5.large" }),
        );
        INSTANCES.forEach((id) => this.ec2States.set(id, { state: "running" }));
        const config = {
            region: REGION,
            credentials: { accessKeyId: "test", secretAccessKey: "test" },
        };
        this.clients = {
            sts: new STSClient(config),
            lambda: new LambdaClient(config),
            logs: new CloudWatchLogsClient(config),
            autoScaling: new AutoScalingClient(config),
            elbv2: new ElasticLoadBalancingV2Client(config),
            ec2: new EC2Client(config),
            sqs: new SQSClient(config),
            fis: new FisClient(config),
            iam: new IAMClient(config),
        };
        this.mocks = {
            sts: mockClient(this.clients.sts),
            lambda: mockClient(this.clients.lambda),
            logs: mockClient(this.clients.logs),
            autoScaling: mockClient(this.clients.autoScaling),
            elbv2: mockClient(this.clients.elbv2),
            ec2: mockClient(this.clients.ec2),
            sqs: mockClient(this.clients.sqs),
            fis: mockClient(this.clients.fis as never) as unknown as FisStub,
            iam: mockClient(this.clients.iam),
        };
        for (const mock of Object.values(this.mocks) as FisStub[]) {
            mock.onAnyCommand().rejects(
                awsError("UnexpectedCommand", "the fake account does not answer this command"),
            );
        }
        this.install();
    }

    /** The simulation's context: these clients, a clock that moves this account, ids id-1, id-2… */
    context(): SimulationContext {
        return {
            clients: this.clients,
            clock: {
                now: () => this.now,
                sleep: async (ms) => {
                    this.advance(this.now + ms);
                },
            },
            newId: () => `id-${++this.ids}`,
        };
    }

    commandNames(): string[] {
        return (Object.values(this.mocks) as FisStub[]).flatMap((mock) =>
            mock.calls().map((call) => (call.args[0] as object).constructor.name),
        );
    }

    invokedPayloads(): unknown[] {
        return [...this.invocations];
    }

    invokedInstanceIds(): string[] {
        return this.invocations.map((payload) => warnedInstance(payload));
    }

    startedTemplates(): string[] {
        return [...this.started];
    }

    deny(action: string): void {
        this.denied.add(action);
    }

    simulatorDenies(...actions: string[]): void {
        actions.forEach((a) => this.simulatorDenied.add(a));
    }

    failSts(error: { name: string; message: string }): void {
        this.stsFailure = awsError(error.name, error.message);
    }

    removeFunction(): void {
        this.functionExists = false;
    }

    removeQueue(): void {
        this.queueExists = false;
    }

    removeGroup(): void {
        this.groupExists = false;
    }

    emptyGroup(): void {
        this.members.clear();
        this.desired = 0;
    }

    setLifecycle(instanceId: string, lifecycle: string): void {
        const member = this.members.get(instanceId);
        if (member !== undefined) {
            member.lifecycle = lifecycle;
        }
    }

    failInvocation(invocation: Invocation): void {
        this.invocationOverride = invocation;
    }

    silenceLog(): void {
        this.logging = false;
    }

    neverDrain(): void {
        this.drains = false;
    }

    /** The account at `now`: drains end, replacements come InService, the experiment moves on. */
    advance(now: number): void {
        this.now = now;
        for (const [key, target] of this.targets) {
            if (target.state === "draining" && now >= target.since + DRAIN_SECONDS * 1000) {
                this.targets.set(key, {
                    state: "unused",
                    reason: "Target.NotRegistered",
                    since: now,
                });
                const instanceId = key.split(" ")[1];
                const activity = this.activities.find((a) => a.Description.endsWith(instanceId));
                // AWS calls a termination hook only once the instance has drained.
                if (this.members.get(instanceId)?.lifecycle === "Terminating") {
                    this.setLifecycle(instanceId, "Terminating:Wait");
                    this.hooks.set(instanceId, now);
                } else {
                    this.members.delete(instanceId);
                    if (activity !== undefined) {
                        activity.StatusCode = "Successful";
                    }
                }
            }
        }
        for (const [instanceId, since] of this.hooks) {
            if (now >= since + HOOK_SECONDS * 1000) {
                this.hooks.delete(instanceId);
                this.members.delete(instanceId);
                this.ec2States.set(instanceId, { state: "shutting-down" });
                const activity = this.activities.find((a) => a.Description.endsWith(instanceId));
                if (activity !== undefined) {
                    activity.StatusCode = "Successful";
                }
            }
        }
        const replacement = this.members.get(REPLACEMENT);
        if (
            replacement?.lifecycle === "Pending" &&
            this.activities.some((a) => now >= a.StartTime.getTime() + 40_000)
        ) {
            replacement.lifecycle = "InService";
        }
        this.advanceExperiment();
    }

    private advanceExperiment(): void {
        const experiment = this.experiment;
        if (experiment === undefined) {
            return;
        }
        const elapsed = this.now - experiment.startedAt;
        if (experiment.status === "initiating" && elapsed >= 5_000) {
            if (this.options.experimentFails) {
                experiment.status = "failed";
                return;
            }
            experiment.status = "running";
            experiment.target = [...this.members].find(([, m]) => m.lifecycle === "InService")?.[0];
            this.strike(experiment.target ?? "");
        }
        if (experiment.status === "running" && elapsed >= 120_000) {
            experiment.status = "completed";
            this.ec2States.set(experiment.target ?? "", {
                state: "shutting-down",
                reason: "Server.SpotInstanceTermination: Spot instance termination",
            });
        }
    }

    /** FIS's recommendation and warning (together with PT2M), and what the group does about them. */
    private strike(instanceId: string): void {
        if (this.options.capacityRebalance) {
            this.setLifecycle(instanceId, "Terminating");
            this.activity(
                `Terminating EC2 instance: ${instanceId}`,
                "InProgress",
                `At 2026-05-01T12:00:05Z an instance was taken out of service in response to an EC2 instance rebalance recommendation.`,
            );
            this.launchReplacement();
        }
        this.handle({ instanceId, sentAtMs: this.now, messageId: "fis-1" }, "req-fis-1", true);
    }

    private activity(description: string, status: string, cause: string): Activity {
        const activity = {
            ActivityId: `act-${this.activities.length + 1}`,
            Description: description,
            Cause: cause,
            StatusCode: status,
            StartTime: new Date(this.now),
        };
        this.activities.unshift(activity);
        return activity;
    }

    private launchReplacement(): void {
        this.members.set(REPLACEMENT, {
            lifecycle: "Pending",
            zone: "eu-west-1a",
            type: "c5.large",
        });
        this.activity(
            `Launching a new EC2 instance: ${REPLACEMENT}`,
            "PreInService",
            "capacity difference",
        );
    }

    private log(requestId: string, level: string, record: Record<string, unknown>): void {
        if (!this.logging) {
            return;
        }
        const line = {
            timestamp: new Date(this.now).toISOString(),
            level,
            requestId,
            message: record,
        };
        this.logEvents.push({
            timestamp: this.now,
            message: JSON.stringify(line),
            eventId: String(this.logEvents.length),
        });
    }

    /**
     * The deployed handler's behaviour for one warning, and its log: a group with Capacity
     * Rebalancing gets the grace first (a queued record waits, a direct invocation waits in
     * itself), a group with a termination hook is terminated through, any other is detached.
     */
    private handle(warning: Warning, requestId: string, queued: boolean): unknown {
        const { instanceId } = warning;
        const dryRun = this.options.handlerDryRun === true;
        const rebalancing = this.options.capacityRebalance === true;
        const graceEndsMs = warning.sentAtMs + GRACE_MS;
        if (!queued && rebalancing && this.members.get(instanceId)?.lifecycle === "InService") {
            // A direct invocation waits out the grace in itself.
            this.advance(Math.max(this.now, graceEndsMs));
        }
        const member = this.members.get(instanceId);
        const counts: Record<string, number> = {};
        const ignored: Record<string, number> = {};
        let summary: Record<string, unknown>;
        const base = { instanceId, autoScalingGroupName: GROUP, capacityOnInterruption: "keep" };
        const terminate = this.options.terminationHook === true;
        if (rebalancing && member?.lifecycle.startsWith("Terminating")) {
            counts.leftToGroup = 1;
            summary = { ...base, action: "left-to-group", reason: `${instanceId} is Terminating` };
            if (!queued) {
                this.log(requestId, "INFO", {
                    ...summary,
                    message: "Left the warning to the group's Capacity Rebalancing",
                });
            }
        } else if (member === undefined || member.lifecycle !== "InService") {
            const reason = member === undefined ? "not-a-member" : "not-in-service";
            ignored[reason] = 1;
            summary = {
                ...base,
                action: "ignored",
                reason: `${instanceId} is ${member?.lifecycle}`,
            };
            if (!queued) {
                this.log(requestId, "INFO", {
                    ...summary,
                    message: `Ignored the warning: ${reason}`,
                });
            }
        } else if (rebalancing && this.now < graceEndsMs) {
            counts.waiting = 1;
            summary = {};
        } else {
            const safetyNet = rebalancing ? { safetyNet: true } : {};
            const kind = terminate ? "terminate" : "detach";
            if (dryRun) {
                counts[terminate ? "wouldTerminate" : "wouldDetach"] = 1;
                summary = { ...base, action: `would-${kind}`, ...safetyNet };
                this.log(requestId, "INFO", {
                    message: `Dry run: would ${kind} 1 instance(s) of AutoScaling Group ${GROUP}`,
                    autoScalingGroupName: GROUP,
                    capacityOnInterruption: "keep",
                    instanceIds: [instanceId],
                });
            } else {
                counts[terminate ? "terminated" : "detached"] = 1;
                summary = { ...base, action: terminate ? "terminated" : "detached", ...safetyNet };
                this.takeOut(instanceId, requestId, terminate);
            }
        }
        // Metrics (EMF) go to the same log group; they are not the handler's entries.
        this.logEvents.push({
            timestamp: this.now,
            message: JSON.stringify({ _aws: { Timestamp: this.now }, Detached: counts.detached }),
            eventId: String(this.logEvents.length),
        });
        if (!queued) {
            return summary;
        }
        this.log(requestId, "INFO", {
            message: `Batch of 1 records: ${batchSummary(
                {
                    detached: counts.detached ?? 0,
                    terminated: counts.terminated ?? 0,
                    leftToGroup: counts.leftToGroup ?? 0,
                    wouldDetach: counts.wouldDetach ?? 0,
                    wouldTerminate: counts.wouldTerminate ?? 0,
                    waiting: counts.waiting ?? 0,
                    failed: 0,
                    ignoredTotal: Object.keys(ignored).length,
                },
                dryRun,
            )}`,
            autoScalingGroupName: GROUP,
            capacityOnInterruption: "keep",
            records: 1,
            detached: counts.detached ?? 0,
            terminated: counts.terminated ?? 0,
            leftToGroup: counts.leftToGroup ?? 0,
            waiting: counts.waiting ?? 0,
            safetyNet: "safetyNet" in summary ? 1 : 0,
            ignored,
            failed: 0,
        });
        return {
            batchItemFailures: counts.waiting === 1 ? [{ itemIdentifier: warning.messageId }] : [],
        };
    }

    /** Detaches, or terminates through the group: the drain starts and a replacement launches. */
    private takeOut(instanceId: string, requestId: string, terminate: boolean): void {
        const member = this.members.get(instanceId) as Member;
        member.lifecycle = terminate ? "Terminating" : "Detaching";
        if (this.options.leavesGroupAtDetach && !terminate) {
            this.members.delete(instanceId);
        }
        const activity = this.activity(
            `${terminate ? "Terminating" : "Detaching"} EC2 instance: ${instanceId}`,
            "WaitingForELBConnectionDraining",
            terminate ? "terminate" : "detach",
        );
        this.launchReplacement();
        if (this.drains) {
            this.targets.set(`${TG_ARN} ${instanceId}`, {
                state: "draining",
                reason: "Target.DeregistrationInProgress",
                since: this.now,
            });
        }
        this.log(requestId, "INFO", {
            message: terminate
                ? `Instance ${instanceId} belongs to AutoScaling Group ${GROUP}. Terminating it through the group, so that its termination hooks run...`
                : `Instance ${instanceId} belongs to AutoScaling Group ${GROUP}. Detaching instance...`,
            autoScalingGroupName: GROUP,
            capacityOnInterruption: "keep",
            instanceIds: [instanceId],
            activities: [
                {
                    activityId: activity.ActivityId,
                    description: activity.Description,
                    statusCode: activity.StatusCode,
                },
            ],
        });
    }

    private guard(action: string): void {
        if (this.denied.has(action)) {
            throw awsError("AccessDeniedException", `User is not authorized to perform: ${action}`);
        }
    }

    private install(): void {
        const m = this.mocks;
        m.sts.on(GetCallerIdentityCommand).callsFake(() => {
            if (this.stsFailure !== undefined) {
                throw this.stsFailure;
            }
            return { Account: ACCOUNT, Arn: CALLER, UserId: "AROAEXAMPLE:alice" };
        });
        m.lambda.on(GetFunctionConfigurationCommand).callsFake(() => {
            this.guard("lambda:GetFunctionConfiguration");
            if (!this.functionExists) {
                throw awsError("ResourceNotFoundException", `Function not found: ${FUNCTION}`);
            }
            return {
                FunctionName: FUNCTION,
                FunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${FUNCTION}`,
                Timeout: 20,
                LoggingConfig: { LogFormat: "JSON", LogGroup: LOG_GROUP },
                Environment: {
                    Variables: {
                        AUTO_SCALING_GROUP_NAMES: JSON.stringify([GROUP]),
                        CAPACITY_ON_INTERRUPTION: "keep",
                        ...(this.options.queueDelivery === false
                            ? {}
                            : { DEAD_LETTER_QUEUE_URL: `${QUEUE_URL}-dlq` }),
                        ...(this.options.handlerDryRun ? { DRY_RUN: "true" } : {}),
                    },
                },
            };
        });
        m.lambda.on(InvokeCommand).callsFake((input) => {
            this.guard("lambda:InvokeFunction");
            const payload = JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array));
            this.invocations.push(payload);
            const requestId = `req-${this.invocations.length}`;
            const queued = Array.isArray(payload.Records);
            const answer = this.invocationOverride ?? {
                payload: this.handle(warningIn(payload), requestId, queued),
            };
            return {
                StatusCode: 200,
                FunctionError: answer.functionError,
                Payload: new TextEncoder().encode(JSON.stringify(answer.payload)),
                $metadata: { requestId },
            };
        });
        m.sqs.on(GetQueueAttributesCommand).callsFake((input) => {
            if (!this.queueExists || input.QueueUrl !== QUEUE_URL) {
                throw awsError("QueueDoesNotExist", "The specified queue does not exist.");
            }
            return { Attributes: { QueueArn: QUEUE_ARN } };
        });
        m.autoScaling.on(DescribeAutoScalingGroupsCommand).callsFake((input) => ({
            AutoScalingGroups:
                this.groupExists && input.AutoScalingGroupNames?.includes(GROUP)
                    ? [
                          {
                              AutoScalingGroupName: GROUP,
                              MinSize: 0,
                              MaxSize: 6,
                              DesiredCapacity: this.desired,
                              CapacityRebalance: this.options.capacityRebalance === true,
                              TargetGroupARNs: [TG_ARN],
                              Instances: [...this.members].map(([id, member]) => ({
                                  InstanceId: id,
                                  LifecycleState: member.lifecycle,
                                  AvailabilityZone: member.zone,
                                  InstanceType: member.type,
                              })),
                          },
                      ]
                    : [],
        }));
        m.autoScaling.on(DescribeScalingActivitiesCommand).callsFake(() => ({
            Activities: this.activities.map((a) => ({ ...a, AutoScalingGroupName: GROUP })),
        }));
        m.elbv2.on(DescribeTargetHealthCommand).callsFake((input) => ({
            TargetHealthDescriptions: (input.Targets ?? []).map((t: { Id?: string }) => {
                const health = this.targets.get(`${input.TargetGroupArn} ${t.Id}`) ?? {
                    state: "healthy",
                    reason: undefined,
                };
                return { Target: t, TargetHealth: { State: health.state, Reason: health.reason } };
            }),
        }));
        m.elbv2.on(DescribeTargetGroupAttributesCommand).resolves({
            Attributes: [
                { Key: "deregistration_delay.timeout_seconds", Value: String(DRAIN_SECONDS) },
            ],
        });
        m.logs.on(FilterLogEventsCommand).callsFake((input) => ({
            events: this.logEvents
                .filter(
                    (e) =>
                        input.logGroupName === LOG_GROUP && e.timestamp >= (input.startTime ?? 0),
                )
                .map((e) => ({ ...e, logStreamName: "2026/05/01/[$LATEST]0123abcd" })),
        }));
        m.ec2.on(TerminateInstancesCommand).callsFake((input) => ({
            TerminatingInstances: (input.InstanceIds ?? []).map((id: string) => {
                const previous = this.ec2States.get(id)?.state ?? "running";
                this.ec2States.set(id, { state: "shutting-down" });
                return {
                    InstanceId: id,
                    PreviousState: { Name: previous },
                    CurrentState: { Name: "shutting-down" },
                };
            }),
        }));
        m.ec2.on(DescribeInstancesCommand).callsFake((input) => ({
            Reservations: [
                {
                    Instances: (input.InstanceIds ?? []).map((id: string) => {
                        const state = this.ec2States.get(id) ?? { state: "running" };
                        return {
                            InstanceId: id,
                            State: { Name: state.state },
                            ...(state.reason
                                ? {
                                      StateReason: {
                                          Code: "Server.SpotInstanceTermination",
                                          Message: state.reason,
                                      },
                                  }
                                : {}),
                        };
                    }),
                },
            ],
        }));
        m.iam.on(SimulatePrincipalPolicyCommand).callsFake((input) => ({
            EvaluationResults: (input.ActionNames ?? []).map((action: string) => ({
                EvalActionName: action,
                EvalResourceName: input.ResourceArns?.[0],
                EvalDecision: this.simulatorDenied.has(action) ? "implicitDeny" : "allowed",
            })),
        }));
        this.installFis();
    }

    private installFis(): void {
        const m = this.mocks;
        m.fis.on(GetExperimentTemplateCommand).callsFake((input: { id?: string }) => {
            if (input.id !== TEMPLATE) {
                throw awsError("ResourceNotFoundException", "Experiment template not found");
            }
            return {
                experimentTemplate: {
                    id: TEMPLATE,
                    targets: {
                        SpotInstancesOfGroup: {
                            resourceType: "aws:ec2:spot-instance",
                            resourceTags: { "aws:autoscaling:groupName": GROUP },
                            filters: [{ path: "State.Name", values: ["running"] }],
                            selectionMode: "COUNT(1)",
                        },
                    },
                    actions: {
                        InterruptSpotInstances: {
                            actionId: "aws:ec2:send-spot-instance-interruptions",
                            parameters: { durationBeforeInterruption: "PT2M" },
                            targets: { SpotInstances: "SpotInstancesOfGroup" },
                        },
                    },
                    stopConditions: [{ source: "none" }],
                },
            };
        });
        m.fis.on(StartExperimentCommand).callsFake((input: { experimentTemplateId?: string }) => {
            this.started.push(input.experimentTemplateId ?? "");
            this.experiment = { startedAt: this.now, status: "initiating" };
            return { experiment: { id: "EXP1", state: { status: "initiating" } } };
        });
        m.fis.on(GetExperimentCommand).callsFake(() => {
            const status = this.experiment?.status ?? "pending";
            const failed = status === "failed";
            const action =
                {
                    initiating: "pending",
                    running: "running",
                    completed: "completed",
                    failed: "failed",
                }[status] ?? "pending";
            return {
                experiment: {
                    id: "EXP1",
                    state: {
                        status,
                        ...(failed
                            ? { reason: "Experiment failed because one or more actions failed" }
                            : {}),
                    },
                    actions: {
                        InterruptSpotInstances: {
                            actionId: "aws:ec2:send-spot-instance-interruptions",
                            state: {
                                status: action,
                                ...(failed
                                    ? {
                                          reason: "Unable to send interruption: not authorized to perform ec2:SendSpotInstanceInterruptions",
                                      }
                                    : {}),
                            },
                        },
                    },
                },
            };
        });
        m.fis.on(ListExperimentResolvedTargetsCommand).callsFake(() => ({
            resolvedTargets:
                this.experiment?.target === undefined
                    ? []
                    : [
                          {
                              resourceType: "aws:ec2:spot-instance",
                              targetName: "SpotInstancesOfGroup",
                              targetInformation: {
                                  identifier: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${this.experiment.target}`,
                              },
                          },
                      ],
        }));
    }
}

/** What the fake handler reads of a warning: its instance, its `time`, its record's id. */
interface Warning {
    readonly instanceId: string;
    readonly sentAtMs: number;
    readonly messageId: string;
}

function warningIn(payload: unknown): Warning {
    const records = (payload as { Records?: { body: string; messageId: string }[] }).Records;
    const event = (records === undefined ? payload : JSON.parse(records[0].body)) as {
        time: string;
        detail: { "instance-id": string };
    };
    return {
        instanceId: event.detail["instance-id"],
        sentAtMs: Date.parse(event.time),
        messageId: records?.[0].messageId ?? "event",
    };
}

/** The instance a warning payload (an SQS batch or a bare event) names. */
function warnedInstance(payload: unknown): string {
    const records = (payload as { Records?: { body: string }[] }).Records;
    const event = records === undefined ? payload : JSON.parse(records[0].body);
    return (event as { detail: { "instance-id": string } }).detail["instance-id"];
}
