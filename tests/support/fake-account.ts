/** The simulate tests' AWS account behind aws-sdk-client-mock: a group, its handler, logs, queue and FIS, on a fake clock. */
import {
    type Activity,
    type ScalingActivityStatusCode,
    DescribeAutoScalingGroupsCommand,
    DescribeScalingActivitiesCommand,
} from "@aws-sdk/client-auto-scaling";
import { FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeInstancesCommand, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import {
    DescribeTargetGroupAttributesCommand,
    DescribeTargetHealthCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
    GetExperimentCommand,
    GetExperimentTemplateCommand,
    ListExperimentResolvedTargetsCommand,
    StartExperimentCommand,
} from "@aws-sdk/client-fis";
import { SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { GetFunctionConfigurationCommand, InvokeCommand } from "@aws-sdk/client-lambda";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { createClients, type SimulationClients } from "../../commands/simulate/aws";
import type { Deployment, SimulationContext, SimulationReport } from "../../commands/simulate/run";
import { SPOT_INTERRUPTION_ACTION_ID } from "../../components/spot-interruption-handler/fault-injection";
import { SAFETY_NET_GRACE_MS } from "../../contract";
import type { OutcomeCounts } from "../../handler/metrics";
import { batchSummary } from "../../handler/queue-batch";
import { noOutcomes } from "../../handler/report";

export const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
export const T0 = Date.parse("2026-05-01T12:00:00.000Z");
export const FUNCTION = "spot-function-1a2b3c4";
const LOG_GROUP = "spot-logs-5d6e7f8";
export const QUEUE_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/spot-queue-0f1e2d3`;
export const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:spot-queue-0f1e2d3`;
export const GROUP = "web-asg-9a8b7c6";
export const TG_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/web-tg/0123456789abcdef`;
export const TEMPLATE = "EXTa1b2c3d4e5";
export const INSTANCES = ["i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2", "i-0aaaaaaaaaaaaaaa3"];
/** Each instance's zone; the replacement's is the last one. */
const ZONES = ["eu-west-1b", "eu-west-1c", "eu-west-1a"];
export const REPLACEMENT = "i-0bbbbbbbbbbbbbbb1";
export const DRAIN_SECONDS = 120;
/** How long the group's termination hook holds an instance in Terminating:Wait. */
const HOOK_MS = 30_000;

/** The component's experiment template, as far as the simulation reads it. */
const EXPERIMENT_TEMPLATE = {
    targets: {
        SpotInstancesOfGroup: {
            resourceTags: { "aws:autoscaling:groupName": GROUP },
            selectionMode: "COUNT(1)",
        },
    },
    actions: {
        InterruptSpotInstances: {
            actionId: SPOT_INTERRUPTION_ACTION_ID,
            parameters: { durationBeforeInterruption: "PT2M" },
            targets: { SpotInstances: "SpotInstancesOfGroup" },
        },
    },
    stopConditions: [{ source: "none" }],
};

/** What --dry-run may send: reads, and the policy simulator. */
export const READ_ONLY_COMMANDS = [
    "GetCallerIdentityCommand",
    "GetFunctionConfigurationCommand",
    "GetQueueAttributesCommand",
    "DescribeAutoScalingGroupsCommand",
    "GetExperimentTemplateCommand",
    "SimulatePrincipalPolicyCommand",
];

/** The stack as the simulate command finds it from its flags. */
export const DEPLOYMENT: Deployment = {
    functionName: FUNCTION,
    groupName: GROUP,
    queueUrl: QUEUE_URL,
    targetGroupArn: TG_ARN,
    templateId: TEMPLATE,
    source: "the flags",
};

/** The messages of a simulation's steps of the given kinds, in order. */
export const messages = (report: SimulationReport, ...kinds: string[]) =>
    report.steps.filter((s) => kinds.includes(s.kind)).map((s) => s.message);

export interface FakeAccountOptions {
    readonly queueDelivery?: boolean;
    readonly handlerDryRun?: boolean;
    readonly capacityRebalance?: boolean;
    readonly experimentFails?: boolean;
    /** The group lets a detached instance go at once, before its drain ends (as moto does). */
    readonly leavesGroupAtDetach?: boolean;
    /** The handler terminates through the group, whose hook holds the instance a while. */
    readonly terminationHook?: boolean;
    /** IAM actions (lambda's) refused to the caller. */
    readonly denied?: readonly string[];
    /** Actions IAM's policy simulator judges implicitly denied. */
    readonly simulatorDenies?: readonly string[];
    readonly stsFailure?: { readonly name: string; readonly message: string };
    readonly missing?: "function" | "queue" | "group";
    readonly emptyGroup?: boolean;
    readonly lifecycles?: Readonly<Record<string, string>>;
    /** What every invoke answers, instead of the handler's behaviour. */
    readonly invocation?: { readonly payload: unknown; readonly functionError?: string };
    readonly silentLog?: boolean;
    readonly neverDrains?: boolean;
}

/** @aws-sdk/client-fis pins an older @smithy/types than aws-sdk-client-mock: typed as far as used. */
interface FisStub {
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
    readonly clients = createClients({
        region: REGION,
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    readonly mocks = Object.fromEntries(
        Object.entries(this.clients).map(([name, client]) => [name, mockClient(client as never)]),
    ) as unknown as Mocks;
    private readonly members = new Map<string, string>();
    /** Newest first, as AWS lists them. */
    private readonly activities: Activity[] = [];
    private readonly logEvents: { timestamp: number; message: string; eventId: string }[] = [];
    /** Each instance's drain from the target group, by when it started; ended ones are unused. */
    private readonly drains = new Map<string, number | "ended">();
    private readonly ec2States = new Map<string, { state: string; reason?: string }>();
    /** Instances in Terminating:Wait, by when their hook started. */
    private readonly hooks = new Map<string, number>();
    private experiment?: { startedAt: number; status: string; target?: string };
    private ids = 0;
    private invocations = 0;

    constructor(private readonly options: FakeAccountOptions = {}) {
        for (const id of options.emptyGroup ? [] : INSTANCES) {
            this.members.set(id, options.lifecycles?.[id] ?? "InService");
            this.ec2States.set(id, { state: "running" });
        }
        for (const mock of Object.values(this.mocks) as FisStub[]) {
            mock.onAnyCommand().rejects(
                awsError("UnexpectedCommand", "the fake account does not answer this command"),
            );
        }
        this.install();
    }

    /** The simulation's context: these clients, a clock that moves this account, ids id-1, id-2… */
    context(): SimulationContext {
        const clock = {
            now: () => this.now,
            sleep: async (ms: number) => this.advance(this.now + ms),
        };
        return { clients: this.clients, clock, newId: () => `id-${++this.ids}` };
    }

    commandNames(): string[] {
        return this.commands().map((command) => (command as object).constructor.name);
    }

    private commands(): unknown[] {
        return (Object.values(this.mocks) as FisStub[]).flatMap((mock) =>
            mock.calls().map((call) => call.args[0]),
        );
    }

    invokedPayloads(): unknown[] {
        return this.mocks.lambda
            .commandCalls(InvokeCommand)
            .map((call) =>
                JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array)),
            );
    }

    invokedInstanceIds(): string[] {
        return this.invokedPayloads().map((payload) => warningIn(payload).instanceId);
    }

    startedTemplates(): string[] {
        return this.commands()
            .filter((command) => command instanceof StartExperimentCommand)
            .map((command) => command.input.experimentTemplateId ?? "");
    }

    /** The account at `now`: drains end, hooks run, replacements come InService, the experiment moves on. */
    advance(now: number): void {
        this.now = now;
        for (const [instanceId, since] of this.drains) {
            if (since !== "ended" && now >= since + DRAIN_SECONDS * 1000) {
                this.drains.set(instanceId, "ended");
                // AWS calls a termination hook only once the instance has drained.
                if (this.members.get(instanceId) === "Terminating") {
                    this.members.set(instanceId, "Terminating:Wait");
                    this.hooks.set(instanceId, now);
                } else {
                    this.leave(instanceId);
                }
            }
        }
        for (const [instanceId, since] of this.hooks) {
            if (now >= since + HOOK_MS) {
                this.hooks.delete(instanceId);
                this.leave(instanceId);
                this.ec2States.set(instanceId, { state: "shutting-down" });
            }
        }
        if (this.activities.some((a) => now >= (a.StartTime?.getTime() ?? now) + 40_000)) {
            this.members.set(REPLACEMENT, "InService");
        }
        const experiment = this.experiment;
        const elapsed = now - (experiment?.startedAt ?? now);
        if (experiment?.status === "initiating" && elapsed >= 5_000) {
            experiment.status = this.options.experimentFails ? "failed" : "running";
            const target = [...this.members].find(([, state]) => state === "InService")?.[0];
            if (experiment.status === "running" && target !== undefined) {
                experiment.target = target;
                this.strike(target);
            }
        }
        if (experiment?.status === "running" && elapsed >= 120_000) {
            experiment.status = "completed";
            this.ec2States.set(experiment.target ?? "", {
                state: "shutting-down",
                reason: "Server.SpotInstanceTermination: Spot instance termination",
            });
        }
    }

    private leave(instanceId: string): void {
        this.members.delete(instanceId);
        const activity = this.activities.find((a) => a.Description?.endsWith(instanceId));
        if (activity !== undefined) activity.StatusCode = "Successful";
    }

    /** FIS's recommendation and warning (together with PT2M), and what the group does about them. */
    private strike(instanceId: string): void {
        if (this.options.capacityRebalance) {
            this.members.set(instanceId, "Terminating");
            this.activity(
                `Terminating EC2 instance: ${instanceId}`,
                "InProgress",
                `At 2026-05-01T12:00:05Z an instance was taken out of service in response to an EC2 instance rebalance recommendation.`,
            );
        }
        this.handle({ instanceId, sentAtMs: this.now, messageId: "fis-1" }, "req-fis-1", true);
    }

    /** A new activity; taking an instance out, or rebalancing, launches the replacement too. */
    private activity(Description: string, StatusCode: ScalingActivityStatusCode, Cause: string) {
        const started = { StartTime: new Date(this.now), AutoScalingGroupName: GROUP };
        const activity = { ActivityId: `act-${this.activities.length + 1}`, Description };
        this.activities.unshift({ ...activity, StatusCode, Cause, ...started });
        this.members.set(REPLACEMENT, "Pending");
        this.activities.unshift({
            ActivityId: `act-${this.activities.length + 1}`,
            Description: `Launching a new EC2 instance: ${REPLACEMENT}`,
            StatusCode: "PreInService",
            Cause: "capacity difference",
            ...started,
        });
        return {
            activityId: activity.ActivityId,
            description: Description,
            statusCode: StatusCode,
        };
    }

    private log(requestId: string, message: Record<string, unknown>): void {
        const timestamp = new Date(this.now).toISOString();
        if (!this.options.silentLog) this.logLine({ timestamp, level: "INFO", requestId, message });
    }

    private logLine(line: object): void {
        const eventId = String(this.logEvents.length);
        this.logEvents.push({ timestamp: this.now, message: JSON.stringify(line), eventId });
    }

    /** The handler on one warning: a rebalancing group gets the grace, a hooked one is terminated through, else detach. */
    private handle(warning: Warning, requestId: string, queued: boolean): unknown {
        const { instanceId } = warning;
        const { capacityRebalance: rebalancing, terminationHook: terminate } = this.options;
        const dryRun = this.options.handlerDryRun;
        const graceEndsMs = warning.sentAtMs + SAFETY_NET_GRACE_MS;
        if (!queued && rebalancing) {
            // A direct invocation waits out the grace in itself.
            this.advance(Math.max(this.now, graceEndsMs));
        }
        const kind = terminate ? "terminate" : "detach";
        const base = { autoScalingGroupName: GROUP, capacityOnInterruption: "keep" };
        const named = { ...base, instanceIds: [instanceId] };
        let counted: keyof OutcomeCounts;
        // The simulation warns only InService instances; FIS's may be rebalancing already.
        if (rebalancing && this.members.get(instanceId)?.startsWith("Terminating")) {
            counted = "leftToGroup";
        } else if (rebalancing && this.now < graceEndsMs) {
            counted = "waiting";
        } else if (dryRun) {
            counted = terminate ? "wouldTerminate" : "wouldDetach";
            const message = `Dry run: would ${kind} 1 instance(s) of AutoScaling Group ${GROUP}`;
            this.log(requestId, { message, ...named });
        } else {
            counted = terminate ? "terminated" : "detached";
            const doing = terminate ? "Terminating" : "Detaching";
            this.members.set(instanceId, doing);
            if (this.options.leavesGroupAtDetach && !terminate) {
                this.members.delete(instanceId);
            }
            const activity = this.activity(
                `${doing} EC2 instance: ${instanceId}`,
                "WaitingForELBConnectionDraining",
                kind,
            );
            if (!this.options.neverDrains) {
                this.drains.set(instanceId, this.now);
            }
            const belongs = `Instance ${instanceId} belongs to AutoScaling Group ${GROUP}.`;
            this.log(requestId, {
                message: terminate
                    ? `${belongs} Terminating it through the group, so that its termination hooks run...`
                    : `${belongs} Detaching instance...`,
                ...named,
                activities: [activity],
            });
        }
        const counts = { ...noOutcomes(), [counted]: 1 };
        // Metrics (EMF) go to the same log group; they are not the handler's entries.
        this.logLine({ _aws: { Timestamp: this.now }, Detached: counts.detached || undefined });
        const safetyNet = rebalancing && counted !== "leftToGroup" && counted !== "waiting";
        if (!queued) {
            const action = dryRun ? `would-${kind}` : counted;
            return { instanceId, ...base, action, ...(safetyNet && { safetyNet }) };
        }
        this.log(requestId, {
            message: `Batch of 1 records: ${batchSummary({ ...counts, ignoredTotal: 0 }, dryRun)}`,
            ...base,
            records: 1,
            ...counts,
            safetyNet: safetyNet ? 1 : 0,
            ignored: {},
        });
        const waiting = counted === "waiting" ? [{ itemIdentifier: warning.messageId }] : [];
        return { batchItemFailures: waiting };
    }

    private guard(action: string): void {
        if (this.options.denied?.includes(action)) {
            throw awsError("AccessDeniedException", `User is not authorized to perform: ${action}`);
        }
    }

    private install(): void {
        const { mocks: m, options } = this;
        m.sts.on(GetCallerIdentityCommand).callsFake(() => {
            if (options.stsFailure !== undefined) {
                throw awsError(options.stsFailure.name, options.stsFailure.message);
            }
            return { Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Admin/alice` };
        });
        m.lambda.on(GetFunctionConfigurationCommand).callsFake(() => {
            this.guard("lambda:GetFunctionConfiguration");
            if (options.missing === "function") {
                throw awsError("ResourceNotFoundException", `Function not found: ${FUNCTION}`);
            }
            return {
                FunctionName: FUNCTION,
                FunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${FUNCTION}`,
                Timeout: 20,
                LoggingConfig: { LogGroup: LOG_GROUP },
                Environment: {
                    Variables: {
                        AUTO_SCALING_GROUP_NAMES: JSON.stringify([GROUP]),
                        CAPACITY_ON_INTERRUPTION: "keep",
                        DEAD_LETTER_QUEUE_URL:
                            options.queueDelivery === false ? undefined : `${QUEUE_URL}-dlq`,
                        DRY_RUN: options.handlerDryRun ? "true" : undefined,
                    },
                },
            };
        });
        m.lambda.on(InvokeCommand).callsFake((input) => {
            this.guard("lambda:InvokeFunction");
            const payload = JSON.parse(new TextDecoder().decode(input.Payload));
            const requestId = `req-${++this.invocations}`;
            const queued = Array.isArray(payload.Records);
            const answer = options.invocation ?? {
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
            if (options.missing === "queue" || input.QueueUrl !== QUEUE_URL) {
                throw awsError("QueueDoesNotExist", "The specified queue does not exist.");
            }
            return { Attributes: { QueueArn: QUEUE_ARN } };
        });
        m.autoScaling.on(DescribeAutoScalingGroupsCommand).callsFake((input) => {
            if (options.missing === "group" || !input.AutoScalingGroupNames?.includes(GROUP)) {
                return { AutoScalingGroups: [] };
            }
            const Instances = [...this.members].map(([id, lifecycle]) => ({
                InstanceId: id,
                LifecycleState: lifecycle,
                AvailabilityZone: ZONES[INSTANCES.indexOf(id)] ?? ZONES[2],
                InstanceType: "c5.large",
            }));
            const group = {
                AutoScalingGroupName: GROUP,
                MinSize: 0,
                MaxSize: 6,
                DesiredCapacity: options.emptyGroup ? 0 : INSTANCES.length,
                CapacityRebalance: options.capacityRebalance === true,
                TargetGroupARNs: [TG_ARN],
                Instances,
            };
            return { AutoScalingGroups: [group] };
        });
        m.autoScaling
            .on(DescribeScalingActivitiesCommand)
            .callsFake(() => ({ Activities: this.activities }));
        m.elbv2.on(DescribeTargetHealthCommand).callsFake((input) => ({
            TargetHealthDescriptions: (input.Targets ?? []).map((target: { Id?: string }) => {
                const drain = input.TargetGroupArn === TG_ARN && this.drains.get(target.Id ?? "");
                const TargetHealth =
                    drain === "ended"
                        ? { State: "unused", Reason: "Target.NotRegistered" }
                        : drain
                          ? { State: "draining", Reason: "Target.DeregistrationInProgress" }
                          : { State: "healthy" };
                return { Target: target, TargetHealth };
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
                const CurrentState = { Name: "shutting-down" };
                return { InstanceId: id, PreviousState: { Name: previous }, CurrentState };
            }),
        }));
        m.ec2.on(DescribeInstancesCommand).callsFake((input) => ({
            Reservations: [
                {
                    Instances: (input.InstanceIds ?? []).map((id: string) => {
                        const { state, reason } = this.ec2States.get(id) ?? { state: "running" };
                        const code = "Server.SpotInstanceTermination";
                        const why = reason && { StateReason: { Code: code, Message: reason } };
                        return { InstanceId: id, State: { Name: state }, ...why };
                    }),
                },
            ],
        }));
        m.iam.on(SimulatePrincipalPolicyCommand).callsFake((input) => ({
            EvaluationResults: (input.ActionNames ?? []).map((action: string) => ({
                EvalActionName: action,
                EvalDecision: options.simulatorDenies?.includes(action)
                    ? "implicitDeny"
                    : "allowed",
            })),
        }));
        m.fis.on(GetExperimentTemplateCommand).callsFake((input: { id?: string }) => {
            if (input.id !== TEMPLATE) {
                throw awsError("ResourceNotFoundException", "Experiment template not found");
            }
            return { experimentTemplate: EXPERIMENT_TEMPLATE };
        });
        m.fis.on(StartExperimentCommand).callsFake(() => {
            this.experiment = { startedAt: this.now, status: "initiating" };
            return { experiment: { id: "EXP1", state: { status: "initiating" } } };
        });
        m.fis.on(GetExperimentCommand).callsFake(() => {
            const status = this.experiment?.status ?? "pending";
            const failed = status === "failed";
            const actionReason =
                "Unable to send interruption: not authorized to perform ec2:SendSpotInstanceInterruptions";
            const action = {
                actionId: SPOT_INTERRUPTION_ACTION_ID,
                state: {
                    status: status === "initiating" ? "pending" : status,
                    ...(failed && { reason: actionReason }),
                },
            };
            const reason = "Experiment failed because one or more actions failed";
            const state = { status, ...(failed && { reason }) };
            const experiment = { id: "EXP1", state, actions: { InterruptSpotInstances: action } };
            return { experiment };
        });
        m.fis.on(ListExperimentResolvedTargetsCommand).callsFake(() => {
            const target = this.experiment?.target;
            const identifier = `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${target}`;
            return {
                resolvedTargets:
                    target === undefined ? [] : [{ targetInformation: { identifier } }],
            };
        });
    }
}

type Warning = ReturnType<typeof warningIn>;

/** What the fake handler reads of a warning: its instance, its `time`, its record's id. */
function warningIn(payload: unknown) {
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
