/** `npm run simulate`'s AWS: the clients, failures in words a person can act on, the reads, and --dry-run's permission check. */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { EC2Client } from "@aws-sdk/client-ec2";
import {
    DescribeTargetGroupAttributesCommand,
    ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { FisClient } from "@aws-sdk/client-fis";
import { IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { GetFunctionConfigurationCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { STSClient, type STSClientConfig } from "@aws-sdk/client-sts";
import {
    type GroupSelection,
    HANDLER_ENV,
    isCapacityOnInterruption,
    isInterruptionAction,
} from "../../contract";
import { readHandlerConfig } from "../../handler/config";

/** What went wrong, as a person would name it; the CLI prints the message as is. */
export type FailureKind =
    | "no-credentials"
    | "no-region"
    | "not-deployed"
    | "deployment-mismatch"
    | "function-not-found"
    | "queue-not-found"
    | "group-not-found"
    | "group-empty"
    | "instance-not-in-group"
    | "template-not-found"
    | "permission-denied"
    | "handler-failed"
    | "experiment-failed"
    | "timeout"
    | "aws-error";

export class SimulationError extends Error {
    constructor(
        readonly kind: FailureKind,
        message: string,
    ) {
        super(message);
        this.name = "SimulationError";
    }
}

/** A call that does not answer within this long is abandoned: nothing here should take longer. */
const CALL_TIMEOUT_MS = 30_000;

const ACCESS_DENIED =
    /^(AccessDenied(Exception)?|UnauthorizedOperation|AuthorizationError|UnauthorizedException)$/;
const BAD_CREDENTIALS =
    /^(ExpiredToken(Exception)?|InvalidClientTokenId|UnrecognizedClientException|SignatureDoesNotMatch|InvalidAccessKeyId|AuthFailure)$/;
const NOT_FOUND =
    /^(ResourceNotFoundException|QueueDoesNotExist|AWS\.SimpleQueueService\.NonExistentQueue|InvalidInstanceID\.NotFound|TargetGroupNotFound(Exception)?)$/;

/** Runs one call, abandoned after `timeoutMs`; its failure names `action`, the IAM action, so a denial says what to grant. */
export async function awsCall<T>(
    action: string,
    send: (timeout: { abortSignal: AbortSignal }) => Promise<T>,
    options: { readonly notFound?: SimulationError; readonly timeoutMs?: number } = {},
): Promise<T> {
    const timeoutMs = options.timeoutMs ?? CALL_TIMEOUT_MS;
    try {
        return await send({ abortSignal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
        throw explainAwsError(error, action, options.notFound, timeoutMs);
    }
}

export function explainAwsError(
    error: unknown,
    action: string,
    notFound?: SimulationError,
    timeoutMs = CALL_TIMEOUT_MS,
): SimulationError {
    if (error instanceof SimulationError) {
        return error;
    }
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    if (name === "CredentialsProviderError" || /could not load credentials/i.test(message)) {
        return new SimulationError(
            "no-credentials",
            "No AWS credentials found. The simulation uses the standard AWS chain: set AWS_PROFILE (after aws sso login or aws configure), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then run it again.",
        );
    }
    if (/region is missing/i.test(message)) {
        return new SimulationError(
            "no-region",
            "No AWS Region configured: pass --region with the stack's Region (e.g. --region eu-west-1), or set AWS_REGION or a region in your AWS profile.",
        );
    }
    if (BAD_CREDENTIALS.test(name)) {
        return new SimulationError(
            "no-credentials",
            `AWS refused the credentials (${name}: ${message}). Refresh them (e.g. aws sso login) and run it again.`,
        );
    }
    if (ACCESS_DENIED.test(name)) {
        return new SimulationError(
            "permission-denied",
            `Missing permission: ${action} was denied (${name}: ${message}). Grant ${action} to your identity, or run with --dry-run to check every permission the simulation needs.`,
        );
    }
    if (notFound !== undefined && NOT_FOUND.test(name)) {
        return notFound;
    }
    if (name === "TimeoutError" || name === "AbortError") {
        return new SimulationError(
            "aws-error",
            `${action} did not answer within ${Math.round(timeoutMs / 1000)} s; check your network and the region, then run it again.`,
        );
    }
    return new SimulationError("aws-error", `${action} failed: ${name}: ${message}`);
}

/** Every client, made in one place so that tests stub them and the emulator test redirects them. */
export function createClients(
    // None given, the standard AWS chain decides (AWS_REGION, AWS_PROFILE, SSO, instance roles…).
    settings: Pick<STSClientConfig, "region" | "endpoint" | "credentials"> = {},
) {
    return {
        sts: new STSClient(settings),
        lambda: new LambdaClient(settings),
        logs: new CloudWatchLogsClient(settings),
        autoScaling: new AutoScalingClient(settings),
        elbv2: new ElasticLoadBalancingV2Client(settings),
        ec2: new EC2Client(settings),
        sqs: new SQSClient(settings),
        fis: new FisClient(settings),
        iam: new IAMClient(settings),
    };
}

export type SimulationClients = ReturnType<typeof createClients>;

export function clientRegion(clients: SimulationClients): Promise<string> {
    return clients.sts.config.region().catch((error: unknown) => {
        throw explainAwsError(error, "region");
    });
}

export async function functionFacts(
    clients: SimulationClients,
    functionName: string,
    region: string,
) {
    const command = new GetFunctionConfigurationCommand({ FunctionName: functionName });
    const notFound = new SimulationError(
        "function-not-found",
        `Function ${functionName} not found in ${region}: check --function (or the stack's functionName output) and AWS_REGION.`,
    );
    const configuration = await awsCall(
        "lambda:GetFunctionConfiguration",
        (timeout) => clients.lambda.send(command, timeout),
        { notFound },
    );
    const variables = configuration.Environment?.Variables ?? {};
    const action = variables[HANDLER_ENV.interruptionAction];
    const capacity = variables[HANDLER_ENV.capacityOnInterruption];
    let groups: GroupSelection | undefined;
    try {
        groups = readHandlerConfig(variables).groups;
    } catch {
        // An environment the handler refuses names no groups the simulation can trust.
    }
    return {
        name: configuration.FunctionName ?? functionName,
        arn: configuration.FunctionArn ?? functionName,
        // Without a custom log group, Lambda writes to its default one.
        logGroupName: configuration.LoggingConfig?.LogGroup ?? `/aws/lambda/${functionName}`,
        timeoutSeconds: configuration.Timeout ?? 3,
        // DRY_RUN=true: the handler decides and logs, but detaches nothing.
        dryRun: variables[HANDLER_ENV.dryRun] === "true",
        groups,
        // Only queue delivery sets DEAD_LETTER_QUEUE_URL.
        queueDelivery: variables[HANDLER_ENV.deadLetterQueueUrl] !== undefined,
        // The handler's own defaults for what its environment leaves out.
        interruptionAction: isInterruptionAction(action) ? action : ("auto" as const),
        capacityOnInterruption: isCapacityOnInterruption(capacity) ? capacity : ("keep" as const),
    };
}

export async function queueArnOf(clients: SimulationClients, queueUrl: string): Promise<string> {
    const notFound = new SimulationError(
        "queue-not-found",
        `Events queue ${queueUrl} not found: check --queue (or the stack's eventsQueueUrl output) and AWS_REGION.`,
    );
    const command = new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ["QueueArn"],
    });
    const { Attributes } = await awsCall(
        "sqs:GetQueueAttributes",
        (timeout) => clients.sqs.send(command, timeout),
        { notFound },
    );
    return Attributes?.QueueArn ?? queueArnFromUrl(queueUrl);
}

export async function describeGroup(clients: SimulationClients, groupName: string, region: string) {
    const command = new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] });
    const { AutoScalingGroups = [] } = await awsCall(
        "autoscaling:DescribeAutoScalingGroups",
        (timeout) => clients.autoScaling.send(command, timeout),
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

export type GroupSnapshot = Awaited<ReturnType<typeof describeGroup>>;
export type GroupMember = GroupSnapshot["instances"][number];

/** How long the target group drains a deregistered target (ELB's default is 300 s). */
export async function deregistrationDelaySeconds(
    clients: SimulationClients,
    targetGroupArn: string,
): Promise<number> {
    const command = new DescribeTargetGroupAttributesCommand({ TargetGroupArn: targetGroupArn });
    const { Attributes = [] } = await awsCall(
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        (timeout) => clients.elbv2.send(command, timeout),
    );
    const value = Attributes.find((a) => a.Key === "deregistration_delay.timeout_seconds")?.Value;
    return value === undefined ? 300 : Number(value);
}

export type PermissionNeed = ReturnType<typeof permissionsNeeded>[number];

/** A need as IAM's simulator judged it: `detail` is its verdict (implicitDeny…), or why it was not checked. */
export type PermissionCheck = PermissionNeed & {
    readonly decision: "allowed" | "denied" | "unchecked";
    readonly detail?: string;
};

export interface PermissionPlan {
    readonly mode: "console-test" | "fis";
    readonly partition: string;
    readonly region: string;
    readonly account: string;
    readonly functionArn: string;
    readonly logGroupName: string;
    readonly queueUrl?: string;
    readonly queueArn?: string;
    readonly hasTargetGroups: boolean;
    readonly templateId?: string;
    readonly terminate: boolean;
    /** With --terminate: the instance it would terminate, when known. */
    readonly terminateInstanceId?: string;
}

const WHY = {
    "lambda:GetFunctionConfiguration": "dry-run mode and log group of the function",
    "autoscaling:DescribeAutoScalingGroups": "the group's instances and replacement",
    "autoscaling:DescribeScalingActivities": "the group's scaling activities",
    "logs:FilterLogEvents": "the handler's decision",
    "elasticloadbalancing:DescribeTargetHealth": "the instance draining from its target group",
    "elasticloadbalancing:DescribeTargetGroupAttributes": "how long the drain lasts",
    "sqs:GetQueueAttributes": "the events queue, which the SQS record names",
    "lambda:InvokeFunction": "the console test's synchronous invoke",
    "fis:GetExperimentTemplate": "the experiment's action and targets",
    "fis:StartExperiment": "starting the experiment",
    "fis:GetExperiment": "the experiment's and its action's states",
    "fis:ListExperimentResolvedTargets": "which instances FIS interrupts",
    "ec2:DescribeInstances": "the interrupted instances' state",
    "ec2:TerminateInstances": "--terminate, after the drain",
};

export function permissionsNeeded(plan: PermissionPlan) {
    const arn = (service: string, resource: string) =>
        `arn:${plan.partition}:${service}:${plan.region}:${plan.account}:${resource}`;
    const needs: [keyof typeof WHY, string][] = [
        ["lambda:GetFunctionConfiguration", plan.functionArn],
        ["autoscaling:DescribeAutoScalingGroups", "*"],
        ["autoscaling:DescribeScalingActivities", "*"],
        ["logs:FilterLogEvents", arn("logs", `log-group:${plan.logGroupName}:*`)],
    ];
    if (plan.hasTargetGroups) {
        needs.push(
            ["elasticloadbalancing:DescribeTargetHealth", "*"],
            ["elasticloadbalancing:DescribeTargetGroupAttributes", "*"],
        );
    }
    if (plan.mode === "console-test") {
        if (plan.queueUrl !== undefined) {
            const queueArn = plan.queueArn ?? queueArnFromUrl(plan.queueUrl, plan.partition);
            needs.push(["sqs:GetQueueAttributes", queueArn]);
        }
        needs.push(["lambda:InvokeFunction", plan.functionArn]);
    } else {
        const template = arn("fis", `experiment-template/${plan.templateId ?? "*"}`);
        const experiments = arn("fis", "experiment/*");
        needs.push(
            ["fis:GetExperimentTemplate", template],
            ["fis:StartExperiment", template],
            ["fis:StartExperiment", experiments],
            ["fis:GetExperiment", experiments],
            ["fis:ListExperimentResolvedTargets", experiments],
            ["ec2:DescribeInstances", "*"],
        );
    }
    if (plan.terminate) {
        needs.push([
            "ec2:TerminateInstances",
            arn("ec2", `instance/${plan.terminateInstanceId ?? "*"}`),
        ]);
    }
    return needs.map(([action, resource]) => ({ action, resource, why: WHY[action] }));
}

/** "arn:aws:sqs:eu-west-1:123456789012:name" from "https://sqs.eu-west-1.amazonaws.com/123456789012/name". */
export function queueArnFromUrl(queueUrl: string, partition = "aws"): string {
    const match = /^https?:\/\/sqs\.([a-z0-9-]+)\.[^/]+\/(\d{12})\/([^/?]+)/.exec(queueUrl);
    return match === null ? "*" : `arn:${partition}:sqs:${match[1]}:${match[2]}:${match[3]}`;
}

/** The principal IAM's simulator evaluates for a caller: a user as is, an assumed role as its role. */
export function simulatablePrincipal(callerArn: string): { arn: string } | { unsupported: string } {
    const assumed = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\//.exec(callerArn);
    if (assumed !== null) {
        return { arn: `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}` };
    }
    if (/^arn:[^:]+:iam::\d{12}:root$/.test(callerArn)) {
        return { unsupported: "the root user: IAM's simulator does not evaluate it" };
    }
    if (/^arn:[^:]+:iam::\d{12}:user\//.test(callerArn)) {
        return { arn: callerArn };
    }
    return { unsupported: `${callerArn}: IAM's simulator evaluates only users and roles` };
}

/** Judges every need with IAM's policy simulator (SCPs and resource policies may still deny); else "unchecked". */
export async function checkPermissions(
    clients: SimulationClients,
    callerArn: string,
    needs: readonly PermissionNeed[],
): Promise<PermissionCheck[]> {
    const principal = simulatablePrincipal(callerArn);
    const unchecked = (rest: readonly PermissionNeed[], detail: string): PermissionCheck[] =>
        rest.map((need) => ({ ...need, decision: "unchecked", detail }));
    if ("unsupported" in principal) {
        return unchecked(needs, principal.unsupported);
    }
    const checks: PermissionCheck[] = [];
    for (const need of needs) {
        try {
            const command = new SimulatePrincipalPolicyCommand({
                PolicySourceArn: principal.arn,
                ActionNames: [need.action],
                ResourceArns: [need.resource],
            });
            const { EvaluationResults = [] } = await awsCall(
                "iam:SimulatePrincipalPolicy",
                (timeout) => clients.iam.send(command, timeout),
            );
            const verdict = EvaluationResults[0]?.EvalDecision ?? "implicitDeny";
            checks.push(
                verdict === "allowed"
                    ? { ...need, decision: "allowed" }
                    : { ...need, decision: "denied", detail: verdict },
            );
        } catch (error) {
            if (!(error instanceof SimulationError) || error.kind !== "permission-denied") {
                throw error;
            }
            // Without the simulator, nothing else can be judged either.
            const rest = needs.slice(checks.length);
            return [...checks, ...unchecked(rest, "iam:SimulatePrincipalPolicy is denied to you")];
        }
    }
    return checks;
}
