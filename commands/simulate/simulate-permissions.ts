/**
 * `--dry-run`'s permission check: every IAM action the simulation would call, on the resource
 * it would call it on, judged by IAM's policy simulator (SimulatePrincipalPolicy) for the caller
 * that STS names. The simulator evaluates the principal's identity policies and permissions
 * boundary; SCPs and resource policies can still deny what it allows.
 */
import { SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { awsCall, SimulationError } from "./simulate-errors";
import type { PermissionCheck } from "./simulate-timeline";
import { type SimulationClients } from "./simulate-clients";

export type PermissionNeed = Omit<PermissionCheck, "decision" | "detail">;

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
    /** With --terminate: the instance it would terminate, when known. */
    readonly terminateInstanceId?: string;
    readonly terminate: boolean;
}

/** What the simulation calls, on what, and why. Pure. */
export function permissionsNeeded(plan: PermissionPlan): PermissionNeed[] {
    const arn = (service: string, resource: string) =>
        `arn:${plan.partition}:${service}:${plan.region}:${plan.account}:${resource}`;
    const needs: PermissionNeed[] = [
        {
            action: "lambda:GetFunctionConfiguration",
            resource: plan.functionArn,
            why: "dry-run mode and log group of the function",
        },
        {
            action: "autoscaling:DescribeAutoScalingGroups",
            resource: "*",
            why: "the group's instances and replacement",
        },
        {
            action: "autoscaling:DescribeScalingActivities",
            resource: "*",
            why: "the group's scaling activities",
        },
        {
            action: "logs:FilterLogEvents",
            resource: arn("logs", `log-group:${plan.logGroupName}:*`),
            why: "the handler's decision",
        },
    ];
    if (plan.hasTargetGroups) {
        needs.push(
            {
                action: "elasticloadbalancing:DescribeTargetHealth",
                resource: "*",
                why: "the instance draining from its target group",
            },
            {
                action: "elasticloadbalancing:DescribeTargetGroupAttributes",
                resource: "*",
                why: "how long the drain lasts",
            },
        );
    }
    if (plan.mode === "console-test") {
        if (plan.queueUrl !== undefined) {
            needs.push({
                action: "sqs:GetQueueAttributes",
                resource: plan.queueArn ?? queueArnFromUrl(plan.queueUrl, plan.partition),
                why: "the events queue, which the SQS record names",
            });
        }
        needs.push({
            action: "lambda:InvokeFunction",
            resource: plan.functionArn,
            why: "the console test's synchronous invoke",
        });
    } else {
        const template = arn("fis", `experiment-template/${plan.templateId ?? "*"}`);
        needs.push(
            {
                action: "fis:GetExperimentTemplate",
                resource: template,
                why: "the experiment's action and targets",
            },
            { action: "fis:StartExperiment", resource: template, why: "starting the experiment" },
            {
                action: "fis:StartExperiment",
                resource: arn("fis", "experiment/*"),
                why: "starting the experiment",
            },
            {
                action: "fis:GetExperiment",
                resource: arn("fis", "experiment/*"),
                why: "the experiment's and its action's states",
            },
            {
                action: "fis:ListExperimentResolvedTargets",
                resource: arn("fis", "experiment/*"),
                why: "which instances FIS interrupts",
            },
            {
                action: "ec2:DescribeInstances",
                resource: "*",
                why: "the interrupted instances' state",
            },
        );
    }
    if (plan.terminate) {
        needs.push({
            action: "ec2:TerminateInstances",
            resource: arn("ec2", `instance/${plan.terminateInstanceId ?? "*"}`),
            why: "--terminate, after the drain",
        });
    }
    return needs;
}

/** "arn:aws:sqs:eu-west-1:123456789012:name" from "https://sqs.eu-west-1.amazonaws.com/123456789012/name". */
export function queueArnFromUrl(queueUrl: string, partition = "aws"): string {
    const match = /^https?:\/\/sqs\.([a-z0-9-]+)\.[^/]+\/(\d{12})\/([^/?]+)/.exec(queueUrl);
    return match === null ? "*" : `arn:${partition}:sqs:${match[1]}:${match[2]}:${match[3]}`;
}

/**
 * The IAM principal the simulator can evaluate for an STS caller ARN: a user as is, an assumed
 * role as its role (the role's path, if any, is not in the session ARN). Root and federated
 * users cannot be simulated.
 */
export function simulatablePrincipal(
    callerArn: string,
): { readonly arn: string } | { readonly unsupported: string } {
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

/** Judges every need for the caller; a simulator that cannot run leaves them "unchecked". */
export async function checkPermissions(
    clients: SimulationClients,
    callerArn: string,
    needs: readonly PermissionNeed[],
): Promise<PermissionCheck[]> {
    const principal = simulatablePrincipal(callerArn);
    if ("unsupported" in principal) {
        return needs.map((need) => ({
            ...need,
            decision: "unchecked",
            detail: principal.unsupported,
        }));
    }
    const checks: PermissionCheck[] = [];
    for (const need of needs) {
        try {
            const { EvaluationResults = [] } = await awsCall(
                "iam:SimulatePrincipalPolicy",
                (abortSignal) =>
                    clients.iam.send(
                        new SimulatePrincipalPolicyCommand({
                            PolicySourceArn: principal.arn,
                            ActionNames: [need.action],
                            ResourceArns: [need.resource],
                        }),
                        { abortSignal },
                    ),
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
            const detail = "iam:SimulatePrincipalPolicy is denied to you";
            return [
                ...checks,
                ...needs
                    .slice(checks.length)
                    .map((n) => ({ ...n, decision: "unchecked" as const, detail })),
            ];
        }
    }
    return checks;
}
