/**
 * How warnings reach the function: through an events queue that a mapping drains in batches, or
 * by direct invocation. Either path is complete before the rule's target points at it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { QueueSettings, SpotInterruptionHandlerArgs } from "./args";
import { drainEventsQueuePolicyDocument, eventsQueuePolicyDocument } from "./policies";

type Tags = SpotInterruptionHandlerArgs["tags"];

/** The queue the rule sends warnings to, redriving to the dead-letter queue. */
export function createEventsQueue(
    name: string,
    queued: QueueSettings,
    deadLetterQueueArn: pulumi.Output<string>,
    tags: Tags,
    opts: pulumi.CustomResourceOptions,
): aws.sqs.Queue {
    // SSE-SQS: EventBridge cannot send to a queue under the AWS-managed aws/sqs KMS key.
    return new aws.sqs.Queue(
        `${name}-queue`,
        {
            sqsManagedSseEnabled: true,
            visibilityTimeoutSeconds: queued.visibilityTimeoutSeconds,
            messageRetentionSeconds: queued.messageRetentionSeconds,
            redrivePolicy: deadLetterQueueArn.apply((deadLetterTargetArn) =>
                JSON.stringify({ deadLetterTargetArn, maxReceiveCount: queued.maxReceiveCount }),
            ),
            tags,
        },
        opts,
    );
}

export interface QueueDelivery {
    readonly queuePolicy: aws.sqs.QueuePolicy;
    readonly drainPolicy: aws.iam.RolePolicy;
    readonly eventSourceMapping: aws.lambda.EventSourceMapping;
    /** What the rule's target waits for. */
    readonly path: pulumi.Resource[];
}

/** Queue delivery: only the rule may send to the queue, and the role may only drain it. */
export function createQueueDelivery(
    name: string,
    inputs: {
        readonly queue: aws.sqs.Queue;
        readonly settings: QueueSettings;
        readonly ruleArn: pulumi.Output<string>;
        readonly role: aws.iam.Role;
        readonly functionArn: pulumi.Output<string>;
        readonly tags: Tags;
    },
    opts: pulumi.CustomResourceOptions,
): QueueDelivery {
    const { queue, settings } = inputs;
    const queuePolicy = new aws.sqs.QueuePolicy(
        `${name}-queue-policy`,
        {
            queueUrl: queue.url,
            policy: pulumi
                .all([queue.arn, inputs.ruleArn])
                .apply(([queueArn, ruleArn]) =>
                    JSON.stringify(eventsQueuePolicyDocument(queueArn, ruleArn)),
                ),
        },
        opts,
    );
    const drainPolicy = new aws.iam.RolePolicy(
        `${name}-drain-policy`,
        {
            role: inputs.role.id,
            policy: queue.arn.apply((queueArn) =>
                JSON.stringify(drainEventsQueuePolicyDocument(queueArn)),
            ),
        },
        opts,
    );
    const eventSourceMapping = new aws.lambda.EventSourceMapping(
        `${name}-mapping`,
        {
            eventSourceArn: queue.arn,
            functionName: inputs.functionArn,
            batchSize: settings.batchSize,
            maximumBatchingWindowInSeconds: settings.maximumBatchingWindowInSeconds,
            functionResponseTypes: ["ReportBatchItemFailures"],
            scalingConfig: { maximumConcurrency: settings.maximumConcurrency },
            tags: inputs.tags,
        },
        // Lambda checks the role's SQS permissions when the mapping is created; and on a
        // switch to direct delivery Pulumi deletes the mapping before the drain policy.
        { ...opts, dependsOn: [drainPolicy] },
    );
    return {
        queuePolicy,
        drainPolicy,
        eventSourceMapping,
        path: [queuePolicy, eventSourceMapping],
    };
}

export interface DirectDelivery {
    readonly invokeConfig: aws.lambda.FunctionEventInvokeConfig;
    readonly permission: aws.lambda.Permission;
    /** What the rule's target waits for. */
    readonly path: pulumi.Resource[];
}

/** Direct delivery: the rule alone may invoke the function, and Lambda's retries are bounded. */
export function createDirectDelivery(
    name: string,
    inputs: {
        readonly functionName: pulumi.Output<string>;
        readonly ruleArn: pulumi.Output<string>;
        readonly deadLetterQueueArn: pulumi.Output<string>;
        readonly maximumEventAgeInSeconds: number;
    },
    opts: pulumi.CustomResourceOptions,
): DirectDelivery {
    const invokeConfig = new aws.lambda.FunctionEventInvokeConfig(
        `${name}-invoke-config`,
        {
            functionName: inputs.functionName,
            maximumRetryAttempts: 2,
            maximumEventAgeInSeconds: inputs.maximumEventAgeInSeconds,
            destinationConfig: { onFailure: { destination: inputs.deadLetterQueueArn } },
        },
        opts,
    );
    const permission = new aws.lambda.Permission(
        `${name}-permission`,
        {
            action: "lambda:InvokeFunction",
            function: inputs.functionName,
            principal: "events.amazonaws.com",
            sourceArn: inputs.ruleArn,
        },
        opts,
    );
    return { invokeConfig, permission, path: [permission, invokeConfig] };
}
