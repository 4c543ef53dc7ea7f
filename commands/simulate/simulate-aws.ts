/**
 * The AWS reads of `npm run simulate`: what the deployed function, its queue, the group, its
 * target group and its log group say, every call named by its IAM action so that a failure says
 * exactly what is missing. The clients are made in simulate-clients.ts. Nothing here mutates:
 * InvokeFunction, StartExperiment and TerminateInstances live in the flows that decide to make
 * them.
 */
import {
    DescribeAutoScalingGroupsCommand,
    DescribeScalingActivitiesCommand,
} from "@aws-sdk/client-auto-scaling";
import { FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
    DescribeTargetGroupAttributesCommand,
    DescribeTargetHealthCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetFunctionConfigurationCommand } from "@aws-sdk/client-lambda";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import {
    type CapacityOnInterruption,
    ENV_CAPACITY_ON_INTERRUPTION,
    ENV_DEAD_LETTER_QUEUE_URL,
    ENV_DRY_RUN,
    ENV_INTERRUPTION_ACTION,
    type InterruptionAction,
    isCapacityOnInterruption,
    isInterruptionAction,
} from "../../contract";
import { readHandlerConfig } from "../../handler/config";
import { awsCall, SimulationError } from "./simulate-errors";
import type { SimulationClients } from "./simulate-clients";
import { type GroupSelection } from "../../contract";

// The AWS side's whole surface stays importable from here, where the flows and tests import it.

/** What the deployed function tells about the deployment. */
export interface FunctionFacts {
    readonly name: string;
    readonly arn: string;
    readonly logGroupName: string;
    readonly timeoutSeconds: number;
    /** DRY_RUN=true: the handler decides and logs, but detaches nothing. */
    readonly dryRun: boolean;
    /** The groups the handler protects (AUTO_SCALING_GROUP_NAMES or AUTO_SCALING_GROUP_TAG). */
    readonly groups?: GroupSelection;
    /** Only queue delivery sets DEAD_LETTER_QUEUE_URL. */
    readonly queueDelivery: boolean;
    /** INTERRUPTION_ACTION and CAPACITY_ON_INTERRUPTION, as the handler reads them. */
    readonly interruptionAction: InterruptionAction;
    readonly capacityOnInterruption: CapacityOnInterruption;
}

export async function functionFacts(
    clients: SimulationClients,
    functionName: string,
    region: string,
): Promise<FunctionFacts> {
    const configuration = await awsCall(
        "lambda:GetFunctionConfiguration",
        (abortSignal) =>
            clients.lambda.send(
                new GetFunctionConfigurationCommand({ FunctionName: functionName }),
                {
                    abortSignal,
                },
            ),
        {
            notFound: () =>
                new SimulationError(
                    "function-not-found",
                    `Function ${functionName} not found in ${region}: check --function (or the stack's functionName output) and AWS_REGION.`,
                ),
        },
    );
    const variables = configuration.Environment?.Variables ?? {};
    return {
        name: configuration.FunctionName ?? functionName,
        arn: configuration.FunctionArn ?? functionName,
        // Without a custom log group, Lambda writes to its default one.
        logGroupName: configuration.LoggingConfig?.LogGroup ?? `/aws/lambda/${functionName}`,
        timeoutSeconds: configuration.Timeout ?? 3,
        dryRun: variables[ENV_DRY_RUN] === "true",
        groups: groupsOf(variables),
        queueDelivery: variables[ENV_DEAD_LETTER_QUEUE_URL] !== undefined,
        ...actionsOf(variables),
    };
}

/** The function's group selection, or undefined when its environment names none. */
function groupsOf(variables: Record<string, string>): GroupSelection | undefined {
    try {
        return readHandlerConfig(variables).groups;
    } catch {
        return undefined;
    }
}

/** How the handler acts, with the handler's own defaults for what its environment leaves out. */
function actionsOf(variables: Record<string, string>): {
    interruptionAction: InterruptionAction;
    capacityOnInterruption: CapacityOnInterruption;
} {
    const action = variables[ENV_INTERRUPTION_ACTION];
    const capacity = variables[ENV_CAPACITY_ON_INTERRUPTION];
    return {
        interruptionAction: isInterruptionAction(action) ? action : "auto",
        capacityOnInterruption: isCapacityOnInterruption(capacity) ? capacity : "keep",
    };
}

export async function queueArnOf(clients: SimulationClients, queueUrl: string): Promise<string> {
    const notFound = () =>
        new SimulationError(
            "queue-not-found",
            `Events queue ${queueUrl} not found: check --queue (or the stack's eventsQueueUrl output) and AWS_REGION.`,
        );
    const { Attributes } = await awsCall(
        "sqs:GetQueueAttributes",
        (abortSignal) =>
            clients.sqs.send(
                new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
                { abortSignal },
            ),
        { notFound },
    );
    if (Attributes?.QueueArn === undefined) {
        throw notFound();
    }
    return Attributes.QueueArn;
}

export interface GroupMember {
    readonly instanceId: string;
    readonly lifecycleState: string;
    readonly availabilityZone?: string;
    readonly instanceType?: string;
}

export interface GroupSnapshot {
    readonly name: string;
    readonly minSize: number;
    readonly maxSize: number;
    readonly desiredCapacity: number;
    readonly capacityRebalance: boolean;
    readonly targetGroupArns: string[];
    readonly instances: GroupMember[];
}

export async function describeGroup(
    clients: SimulationClients,
    groupName: string,
    region: string,
): Promise<GroupSnapshot> {
    const { AutoScalingGroups = [] } = await awsCall(
        "autoscaling:DescribeAutoScalingGroups",
        (abortSignal) =>
            clients.autoScaling.send(
                new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
                { abortSignal },
            ),
    );
    const group = AutoScalingGroups.find((g) => g.AutoScalingGroupName === groupName);
    if (group === undefined) {
        throw new SimulationError(
            "group-not-found",
            `Auto Scaling group ${groupName} not found in ${region}: check --group (or the stack's autoScalingGroupName output) and AWS_REGION.`,
        );
    }
    return {
        name: groupName,
        minSize: group.MinSize ?? 0,
        maxSize: group.MaxSize ?? 0,
        desiredCapacity: group.DesiredCapacity ?? 0,
        capacityRebalance: group.CapacityRebalance === true,
        targetGroupArns: group.TargetGroupARNs ?? [],
        instances: (group.Instances ?? []).map((instance) => ({
            instanceId: instance.InstanceId ?? "",
            lifecycleState: instance.LifecycleState ?? "unknown",
            availabilityZone: instance.AvailabilityZone,
            instanceType: instance.InstanceType,
        })),
    };
}

export interface ScalingActivity {
    readonly activityId: string;
    readonly description: string;
    readonly cause: string;
    readonly statusCode: string;
    readonly startTimeMs: number;
}

/** The group's most recent activities (one page, newest first), started at or after `sinceMs`. */
export async function recentActivities(
    clients: SimulationClients,
    groupName: string,
    sinceMs: number,
): Promise<ScalingActivity[]> {
    const { Activities = [] } = await awsCall(
        "autoscaling:DescribeScalingActivities",
        (abortSignal) =>
            clients.autoScaling.send(
                new DescribeScalingActivitiesCommand({
                    AutoScalingGroupName: groupName,
                    MaxRecords: 20,
                }),
                { abortSignal },
            ),
    );
    return Activities.map((a) => ({
        activityId: a.ActivityId ?? "",
        description: a.Description ?? "",
        cause: a.Cause ?? "",
        statusCode: a.StatusCode ?? "",
        startTimeMs: a.StartTime?.getTime() ?? 0,
    })).filter((a) => a.startTimeMs >= sinceMs);
}

export interface TargetHealth {
    readonly state: string;
    readonly reason?: string;
}

export async function targetHealth(
    clients: SimulationClients,
    targetGroupArn: string,
    instanceId: string,
): Promise<TargetHealth> {
    const { TargetHealthDescriptions = [] } = await awsCall(
        "elasticloadbalancing:DescribeTargetHealth",
        (abortSignal) =>
            clients.elbv2.send(
                new DescribeTargetHealthCommand({
                    TargetGroupArn: targetGroupArn,
                    Targets: [{ Id: instanceId }],
                }),
                { abortSignal },
            ),
    );
    const health = TargetHealthDescriptions.find((d) => d.Target?.Id === instanceId)?.TargetHealth;
    return { state: health?.State ?? "unused", reason: health?.Reason };
}

/** How long the target group drains a deregistered target (ELB's default is 300 s). */
export async function deregistrationDelaySeconds(
    clients: SimulationClients,
    targetGroupArn: string,
): Promise<number> {
    const { Attributes = [] } = await awsCall(
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        (abortSignal) =>
            clients.elbv2.send(
                new DescribeTargetGroupAttributesCommand({ TargetGroupArn: targetGroupArn }),
                { abortSignal },
            ),
    );
    const value = Attributes.find((a) => a.Key === "deregistration_delay.timeout_seconds")?.Value;
    return value === undefined ? 300 : Number(value);
}

/** One raw line of the function's log group. */
export interface RawLogEvent {
    readonly key: string;
    readonly timestamp: number;
    readonly message: string;
}

const MAX_LOG_PAGES = 10;

/** The log group's events since `sinceMs`, in order, leaving out those in `seen` (and adding them). */
export async function newLogEvents(
    clients: SimulationClients,
    logGroupName: string,
    sinceMs: number,
    seen: Set<string>,
): Promise<RawLogEvent[]> {
    const events: RawLogEvent[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_LOG_PAGES; page++) {
        const response = await awsCall(
            "logs:FilterLogEvents",
            (abortSignal) =>
                clients.logs.send(
                    new FilterLogEventsCommand({
                        logGroupName,
                        startTime: sinceMs,
                        nextToken,
                    }),
                    { abortSignal },
                ),
            {
                notFound: () =>
                    new SimulationError(
                        "function-not-found",
                        `The function's log group ${logGroupName} does not exist: the function has never logged, or logs elsewhere.`,
                    ),
            },
        );
        for (const event of response.events ?? []) {
            const key = `${event.logStreamName ?? ""}/${event.eventId ?? event.timestamp}`;
            if (!seen.has(key)) {
                seen.add(key);
                events.push({
                    key,
                    timestamp: event.timestamp ?? 0,
                    message: event.message ?? "",
                });
            }
        }
        nextToken = response.nextToken;
        if (nextToken === undefined) {
            break;
        }
    }
    return events.sort((a, b) => a.timestamp - b.timestamp);
}
