/**
 * Pure builders for the documents the handler component deploys: its event pattern and IAM.
 * Exported so that they are unit-tested as exact documents, without mocks.
 */
import { handlerArgumentError } from "./argument-checks";
import { escapeIamResourceText, type PolicyDocument, type PolicyStatement } from "../shared/iam";
import {
    type CapacityOnInterruption,
    type GroupSelection,
    type InterruptionAction,
    INTERRUPTION_WARNING_DETAIL_TYPES,
    INTERRUPTION_WARNING_SOURCE,
} from "../../contract";

/**
 * The EventBridge pattern that matches the two-minute interruption warnings (Spot, and
 * interruptible Capacity Reservations) and nothing else.
 */
export function interruptionWarningEventPattern(): {
    source: string[];
    "detail-type": string[];
} {
    return {
        source: [INTERRUPTION_WARNING_SOURCE],
        "detail-type": [...INTERRUPTION_WARNING_DETAIL_TYPES],
    };
}

/** The ARN that scopes DetachInstances and TerminateInstanceInAutoScalingGroup to one group. */
export function autoScalingGroupArn(
    partition: string,
    region: string,
    accountId: string,
    autoScalingGroupName: string,
): string {
    return `arn:${partition}:autoscaling:${region}:${accountId}:autoScalingGroup:*:autoScalingGroupName/${escapeIamResourceText(autoScalingGroupName)}`;
}

/** The account and Region whose groups a handler acts on. */
export interface GroupAccount {
    readonly partition: string;
    readonly region: string;
    readonly accountId: string;
}

/** A role's inline policies may hold at most this many characters together (whitespace aside). */
export const MAX_INLINE_POLICY_CHARS = 10_240;
// What the queue's drain policy may take of the role's inline policy allowance, at most.
const DRAIN_POLICY_RESERVE_CHARS = 512;

/**
 * The function's policy as IAM stores it, refused when it would not fit beside the drain policy:
 * 100 listed names of 30 characters already take about 11,000.
 */
export function handlerPolicyJson(inputs: HandlerPolicyInputs): string {
    const policy = JSON.stringify(handlerPolicyDocument(inputs));
    const room = MAX_INLINE_POLICY_CHARS - DRAIN_POLICY_RESERVE_CHARS;
    if (policy.length > room) {
        throw handlerArgumentError(
            "autoScalingGroupNames",
            `make the function's policy ${policy.length} characters, over the ${room} it may use of IAM's ${MAX_INLINE_POLICY_CHARS} for a role's inline policies: tag the groups and pass autoScalingGroupTag instead`,
        );
    }
    return policy;
}

export interface HandlerPolicyInputs {
    /** The groups DetachInstances and TerminateInstanceInAutoScalingGroup may act on. */
    readonly groups: GroupSelection;
    readonly account: GroupAccount;
    readonly logGroupArn: string;
    readonly deadLetterQueueArn: string;
    readonly capacityOnInterruption: CapacityOnInterruption;
    /** Which calls the function makes to take instances out: only those are granted. */
    readonly interruptionAction: InterruptionAction;
    /** A dry run detaches and terminates nothing, so its role may not. */
    readonly dryRun?: boolean;
    /** Set with notifyOnDetach: the topic the function publishes to, and the topic's key. */
    readonly notification?: { readonly topicArn: string; readonly keyArn: string };
}

/** What the function's event source mapping needs on the events queue, and nothing more. */
export const EVENT_SOURCE_MAPPING_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
];

/**
 * Queue delivery: what the event source mapping needs of the function's role. A policy of its own,
 * so that switching to direct delivery removes it only after the rule stops feeding the queue.
 */
export function drainEventsQueuePolicyDocument(eventsQueueArn: string): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "DrainEventsQueue",
                Effect: "Allow",
                Action: EVENT_SOURCE_MAPPING_ACTIONS,
                Resource: eventsQueueArn,
            },
        ],
    };
}

/** Everything the function may do, whichever the delivery, and nothing more. */
export function handlerPolicyDocument(inputs: HandlerPolicyInputs): PolicyDocument {
    const action = inputs.interruptionAction;
    const auto = action === "auto";
    const groupActions = [
        ...(action === "terminate" ? [] : ["autoscaling:DetachInstances"]),
        ...(action === "detach" ? [] : ["autoscaling:TerminateInstanceInAutoScalingGroup"]),
    ];
    const statements: PolicyStatement[] = [
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
            // One lookup per batch: the chosen groups' members, states, sizes and tags.
            Action: "autoscaling:DescribeAutoScalingGroups",
            Resource: "*",
        },
        ...(auto
            ? [
                  {
                      // Whether a group has a termination hook; it takes only "*".
                      Sid: "FindTerminationHooks",
                      Effect: "Allow" as const,
                      Action: "autoscaling:DescribeLifecycleHooks",
                      Resource: "*",
                  },
              ]
            : []),
        // One statement for both calls: 100 listed groups' ARNs fit in IAM's allowance once.
        ...(inputs.dryRun
            ? []
            : [chosenGroupsStatement(groupActions, inputs.groups, inputs.account)]),
        {
            // Lambda's on-failure destination (direct) and late retries (queue) land here.
            Sid: "DeadLetterFailedWarnings",
            Effect: "Allow",
            Action: "sqs:SendMessage",
            Resource: inputs.deadLetterQueueArn,
        },
    ];
    if (inputs.notification !== undefined) {
        statements.push(
            {
                Sid: "NotifyDetaches",
                Effect: "Allow",
                Action: "sns:Publish",
                Resource: inputs.notification.topicArn,
            },
            {
                // Publishing to an encrypted topic encrypts with its key.
                Sid: "EncryptNotifications",
                Effect: "Allow",
                Action: ["kms:GenerateDataKey", "kms:Decrypt"],
                Resource: inputs.notification.keyArn,
            },
        );
    }
    return { Version: "2012-10-17", Statement: statements };
}

/**
 * The calls that take instances out of a group, on exactly the chosen groups: the listed groups'
 * ARNs, or any group of the account and Region that carries the tag (its value, or any value when
 * none is given), checked by IAM on the group itself.
 */
function chosenGroupsStatement(
    actions: readonly string[],
    groups: GroupSelection,
    { partition, region, accountId }: GroupAccount,
): PolicyStatement {
    const common = {
        Sid: "ActOnChosenGroupsOnly",
        Effect: "Allow" as const,
        Action: actions.length === 1 ? actions[0] : [...actions],
    };
    if (groups.kind === "names") {
        const arns = groups.names.map((name) =>
            autoScalingGroupArn(partition, region, accountId, name),
        );
        return { ...common, Resource: arns.length === 1 ? arns[0] : arns };
    }
    const conditionKey = `autoscaling:ResourceTag/${groups.key}`;
    return {
        ...common,
        // IAM checks the group's own tags; without a value, the key must merely be set.
        Resource: `arn:${partition}:autoscaling:${region}:${accountId}:autoScalingGroup:*:autoScalingGroupName/*`,
        Condition:
            groups.value === undefined
                ? { Null: { [conditionKey]: "false" } }
                : { StringEquals: { [conditionKey]: escapeIamResourceText(groups.value) } },
    };
}

/**
 * The notification topic's key: the account administers it, and CloudWatch alarms may use it to
 * publish (they cannot use the AWS-managed aws/sns key). The function's role gets its use through
 * its own policy.
 */
export function notificationKeyPolicyDocument(
    partition: string,
    accountId: string,
): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AccountAdministersKey",
                Effect: "Allow",
                Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
                Action: "kms:*",
                Resource: "*",
            },
            {
                Sid: "CloudWatchAlarmsPublish",
                Effect: "Allow",
                Principal: { Service: "cloudwatch.amazonaws.com" },
                Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
                Resource: "*",
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
            },
        ],
    };
}

/** CloudWatch alarms of this account may publish to the topic; TLS only. */
export function notificationTopicPolicyDocument(
    topicArn: string,
    accountId: string,
): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "CloudWatchAlarmsPublish",
                Effect: "Allow",
                Principal: { Service: "cloudwatch.amazonaws.com" },
                Action: "sns:Publish",
                Resource: topicArn,
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
            },
            denyInsecureTransport("sns:Publish", topicArn),
        ],
    };
}

/** Refuses every request for these actions on the resource that does not use TLS. */
function denyInsecureTransport(action: string, resource: string): PolicyStatement {
    return {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: action,
        Resource: resource,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
}

/** EventBridge may send to the queue for this rule only. */
function allowRuleToSend(queueArn: string, eventRuleArn: string): PolicyStatement {
    return {
        Sid: "EventBridgeSendsForThisRule",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": eventRuleArn } },
    };
}

/**
 * The dead-letter queue: EventBridge sends for this rule and the function's role sends (Lambda's
 * on-failure destination, late retries); a Deny refuses every other sender, whatever its own IAM
 * allows. SQS's own redrive from the events queue is not a SendMessage and is unaffected.
 */
export function deadLetterQueuePolicyDocument(
    deadLetterQueueArn: string,
    eventRuleArn: string,
    functionRoleArn: string,
): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            allowRuleToSend(deadLetterQueueArn, eventRuleArn),
            {
                Sid: "DenyOtherSenders",
                Effect: "Deny",
                Principal: "*",
                Action: "sqs:SendMessage",
                Resource: deadLetterQueueArn,
                // A Deny's conditions must all hold: neither this rule nor the function's role.
                Condition: {
                    ArnNotEquals: {
                        "aws:SourceArn": eventRuleArn,
                        "aws:PrincipalArn": functionRoleArn,
                    },
                },
            },
            denyInsecureTransport("sqs:*", deadLetterQueueArn),
        ],
    };
}

/**
 * The events queue: only EventBridge, for this rule, may send; a Deny refuses every other sender,
 * so a forged warning cannot be queued by anyone whose own IAM allows sqs:SendMessage.
 */
export function eventsQueuePolicyDocument(
    eventsQueueArn: string,
    eventRuleArn: string,
): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            allowRuleToSend(eventsQueueArn, eventRuleArn),
            {
                Sid: "DenyOtherSenders",
                Effect: "Deny",
                Principal: "*",
                Action: "sqs:SendMessage",
                Resource: eventsQueueArn,
                Condition: { ArnNotEquals: { "aws:SourceArn": eventRuleArn } },
            },
            denyInsecureTransport("sqs:*", eventsQueueArn),
        ],
    };
}
