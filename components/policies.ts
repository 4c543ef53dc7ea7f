/**
 * Pure builders for the documents the handler component deploys: its event pattern and IAM.
 * Exported so that they are unit-tested as exact documents, without mocks.
 */
import { INTERRUPTION_WARNING_DETAIL_TYPE, INTERRUPTION_WARNING_SOURCE } from "../handler/event";
import type { CapacityOnInterruption } from "../handler/decision";

export interface PolicyStatement {
    readonly Sid?: string;
    readonly Effect: "Allow" | "Deny";
    readonly Action: string | string[];
    readonly Resource?: string | string[];
    readonly Principal?: Record<string, string>;
    readonly Condition?: Record<string, Record<string, string>>;
}

export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: PolicyStatement[];
}

/** The EventBridge pattern that matches Spot interruption warnings and nothing else. */
export function interruptionWarningEventPattern(): {
    source: string[];
    "detail-type": string[];
} {
    return {
        source: [INTERRUPTION_WARNING_SOURCE],
        "detail-type": [INTERRUPTION_WARNING_DETAIL_TYPE],
    };
}

/** The ARN that scopes DetachInstances to one group, whatever its id. */
export function autoScalingGroupArn(
    partition: string,
    region: string,
    accountId: string,
    autoScalingGroupName: string,
): string {
    return `arn:${partition}:autoscaling:${region}:${accountId}:autoScalingGroup:*:autoScalingGroupName/${autoScalingGroupName}`;
}

/** A trust policy that lets one AWS service, and nothing else, assume the role. */
export function serviceAssumeRolePolicy(
    service: "lambda.amazonaws.com" | "ec2.amazonaws.com",
): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
    };
}

export interface HandlerPolicyInputs {
    readonly autoScalingGroupArn: string;
    readonly logGroupArn: string;
    readonly deadLetterQueueArn: string;
    readonly capacityOnInterruption: CapacityOnInterruption;
}

/** Everything the function may do, and nothing more. */
export function handlerPolicyDocument(inputs: HandlerPolicyInputs): PolicyDocument {
    // Only a decrement reads the group's sizes (to respect MinSize).
    const describeActions =
        inputs.capacityOnInterruption === "decrement"
            ? ["autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeAutoScalingGroups"]
            : ["autoscaling:DescribeAutoScalingInstances"];
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "WriteOwnLogs",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: `${inputs.logGroupArn}:*`,
            },
            {
                // These Describe actions support no resource-level permissions.
                Sid: "FindInstanceGroup",
                Effect: "Allow",
                Action: describeActions,
                Resource: "*",
            },
            {
                Sid: "DetachFromOwnGroupOnly",
                Effect: "Allow",
                Action: "autoscaling:DetachInstances",
                Resource: inputs.autoScalingGroupArn,
            },
            {
                Sid: "DeadLetterFailedInvocations",
                Effect: "Allow",
                Action: "sqs:SendMessage",
                Resource: inputs.deadLetterQueueArn,
            },
        ],
    };
}

/** Lets EventBridge dead-letter events from this rule, and from no other. */
export function deadLetterQueuePolicyDocument(
    deadLetterQueueArn: string,
    eventRuleArn: string,
): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "EventBridgeDeadLetters",
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: "sqs:SendMessage",
                Resource: deadLetterQueueArn,
                Condition: { ArnEquals: { "aws:SourceArn": eventRuleArn } },
            },
        ],
    };
}
