import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { groupSelectionEnvironment, HANDLER_ENV } from "../../contract";
import { errorInApply } from "../shared/argument-checks";
import { serviceAssumeRolePolicy } from "../shared/iam";
import type { SpotInterruptionHandlerArgs } from "./args";
import { HANDLER_EXPORT, HANDLER_FILE, handlerCodeArchive } from "./code";
import { createFaultInjection } from "./fault-injection";
import { createMonitoring, createNotificationTopic } from "./monitoring";
import { createDirectDelivery, createEventsQueue, createQueueDelivery } from "./delivery";
import {
    deadLetterQueuePolicyDocument,
    handlerPolicyJson,
    interruptionWarningEventPattern,
} from "./policies";
import { validateHandlerName } from "./names";
import { faultInjectionGroupName, resolvedSelection } from "./selection";
import { resolveHandlerSettings } from "./settings";

/**
 * Detaches EC2 Spot instances from their Auto Scaling group when EC2 sends the two-minute
 * interruption warning, so that the group's target groups drain them while the group either
 * launches a replacement or shrinks. Warnings reach the function through an SQS queue, in
 * batches (the default, which survives interruption storms), or directly.
 */
export class SpotInterruptionHandler extends pulumi.ComponentResource {
    /** Matches `EC2 Spot Instance Interruption Warning` events on the default bus. */
    public readonly eventRule: aws.cloudwatch.EventRule;
    /** Sends matched events to the events queue (queue delivery) or the function (direct). */
    public readonly eventTarget: aws.cloudwatch.EventTarget;
    /** The function that detaches the instances. */
    public readonly handlerFunction: aws.lambda.Function;
    /** The function's least-privilege execution role. */
    public readonly role: aws.iam.Role;
    /** The role's policy: the exact permissions the function needs, whichever the delivery. */
    public readonly rolePolicy: aws.iam.RolePolicy;
    /** Queue delivery: the role's permission to drain the events queue, and nothing else. */
    public readonly drainPolicy?: aws.iam.RolePolicy;
    /** The function's log group, with retention. */
    public readonly logGroup: aws.cloudwatch.LogGroup;
    /** Holds warnings that could not be handled in time, from every hop. */
    public readonly deadLetterQueue: aws.sqs.Queue;
    /** Lets only EventBridge (for this rule) and the function's role send dead letters. */
    public readonly deadLetterQueuePolicy: aws.sqs.QueuePolicy;
    /** Queue delivery: the queue the rule sends warnings to. Undefined with direct delivery. */
    public readonly queue?: aws.sqs.Queue;
    /** Queue delivery: lets only EventBridge, for this rule, send to the queue. */
    public readonly queuePolicy?: aws.sqs.QueuePolicy;
    /** Queue delivery: drains the queue into the function in batches. */
    public readonly eventSourceMapping?: aws.lambda.EventSourceMapping;
    /** Direct delivery: lets EventBridge, for this rule only, invoke the function. */
    public readonly permission?: aws.lambda.Permission;
    /** Direct delivery: bounds Lambda's own retries and dead-letters what still fails. */
    public readonly invokeConfig?: aws.lambda.FunctionEventInvokeConfig;
    /** With notificationEmail: the encrypted topic that alarms (and detach notices) go to. */
    public readonly notificationTopic?: aws.sns.Topic;
    /** With notificationEmail: the customer-managed key that encrypts the topic. */
    public readonly notificationKey?: aws.kms.Key;
    /** With monitoring: the alarms that call a human. Empty with monitoring off. */
    public readonly alarms: aws.cloudwatch.MetricAlarm[];
    /** With monitoring: the storm dashboard. */
    public readonly dashboard?: aws.cloudwatch.Dashboard;
    /** With monitoring: the dashboard in the CloudWatch console. */
    public readonly dashboardUrl?: pulumi.Output<string>;
    /** With faultInjection: the FIS experiment template that interrupts the group's Spot instances. */
    public readonly faultInjectionTemplate?: aws.fis.ExperimentTemplate;
    /** With faultInjection: the role FIS assumes for it. */
    public readonly faultInjectionRole?: aws.iam.Role;

    /**
     * @param name The _unique_ name of this component, at most 47 characters (letters, digits, - and
     * _) so that every child's auto-name fits AWS's limits; each child is named `${name}-<role>`.
     * @param args The group to protect, how its capacity responds and how warnings are delivered.
     * @param opts Options for the component; `provider`/`providers` reach every child.
     */
    constructor(
        name: string,
        args: SpotInterruptionHandlerArgs,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        // Validate first, so that bad args (or a name AWS would refuse) register nothing at all.
        validateHandlerName(name);
        const settings = resolveHandlerSettings(args);
        super("spot-interruption-handler:index:SpotInterruptionHandler", name, {}, opts);
        const childOpts: pulumi.CustomResourceOptions = { parent: this };
        const tags = args.tags;
        const selection = resolvedSelection(settings.groups, settings.groupArgument, this);
        // The metrics' Handler dimension: plain, and apart per project, stack and component.
        const handlerName = `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
        const queued = settings.queue;

        const partition = aws.getPartitionOutput({}, childOpts).partition;
        const region = aws.getRegionOutput({}, childOpts).region;
        const accountId = aws.getCallerIdentityOutput({}, childOpts).accountId;

        this.logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { retentionInDays: settings.logRetentionInDays, tags },
            childOpts,
        );

        this.deadLetterQueue = new aws.sqs.Queue(
            `${name}-dlq`,
            { sqsManagedSseEnabled: true, messageRetentionSeconds: 14 * 24 * 60 * 60, tags },
            childOpts,
        );

        if (queued !== undefined) {
            this.queue = createEventsQueue(name, queued, this.deadLetterQueue.arn, tags, childOpts);
        }

        const notifications =
            settings.notificationEmail === undefined
                ? undefined
                : createNotificationTopic(
                      name,
                      settings.notificationEmail,
                      { partition, accountId },
                      tags,
                      childOpts,
                  );
        this.notificationTopic = notifications?.topic;
        this.notificationKey = notifications?.key;
        const notifyTopic = settings.notifyOnDetach ? notifications : undefined;

        this.role = new aws.iam.Role(
            `${name}-role`,
            {
                description:
                    "Spot interruption handler: detaches interrupted instances from the chosen groups",
                assumeRolePolicy: JSON.stringify(serviceAssumeRolePolicy("lambda.amazonaws.com")),
                permissionsBoundary: settings.permissionsBoundary,
                tags,
            },
            childOpts,
        );

        this.rolePolicy = new aws.iam.RolePolicy(
            `${name}-policy`,
            {
                role: this.role.id,
                policy: pulumi
                    .all([
                        pulumi.all([partition, region, accountId, selection]),
                        pulumi.all([this.logGroup.arn, this.deadLetterQueue.arn]),
                        pulumi.all([notifyTopic?.topic.arn, notifyTopic?.key.arn]),
                    ])
                    .apply(
                        ([
                            [part, reg, account, groups],
                            [logGroupArn, dlqArn],
                            [topicArn, keyArn],
                        ]) => {
                            try {
                                return handlerPolicyJson({
                                    groups,
                                    account: { partition: part, region: reg, accountId: account },
                                    logGroupArn,
                                    deadLetterQueueArn: dlqArn,
                                    capacityOnInterruption: settings.capacityOnInterruption,
                                    interruptionAction: settings.interruptionAction,
                                    dryRun: settings.dryRun,
                                    ...(topicArn === undefined || keyArn === undefined
                                        ? {}
                                        : { notification: { topicArn, keyArn } }),
                                });
                            } catch (error) {
                                throw errorInApply(error, this);
                            }
                        },
                    ),
            },
            childOpts,
        );

        this.handlerFunction = new aws.lambda.Function(
            `${name}-function`,
            {
                description:
                    "Detaches Spot instances from their Auto Scaling group on the interruption warning",
                code: handlerCodeArchive(),
                handler: `${HANDLER_FILE}.${HANDLER_EXPORT}`,
                role: this.role.arn,
                runtime: settings.runtime,
                architectures: [settings.architecture],
                timeout: settings.timeoutSeconds,
                memorySize: settings.memorySizeMb,
                reservedConcurrentExecutions: settings.reservedConcurrentExecutions,
                environment: {
                    variables: pulumi
                        .all([
                            selection,
                            this.deadLetterQueue.url,
                            this.queue?.url,
                            notifyTopic?.topic.arn,
                        ])
                        .apply(([groups, deadLetterQueueUrl, eventsQueueUrl, topicArn]) => ({
                            ...groupSelectionEnvironment(groups),
                            [HANDLER_ENV.capacityOnInterruption]: settings.capacityOnInterruption,
                            [HANDLER_ENV.interruptionAction]: settings.interruptionAction,
                            [HANDLER_ENV.handlerName]: handlerName,
                            ...(queued === undefined
                                ? {}
                                : {
                                      [HANDLER_ENV.deadLetterQueueUrl]: deadLetterQueueUrl,
                                      // Re-checks are brought forward here; the drain policy allows it.
                                      [HANDLER_ENV.eventsQueueUrl]: eventsQueueUrl,
                                  }),
                            ...(settings.dryRun ? { [HANDLER_ENV.dryRun]: "true" } : {}),
                            ...(topicArn === undefined
                                ? {}
                                : { [HANDLER_ENV.notifyTopicArn]: topicArn }),
                        })),
                },
                loggingConfig: {
                    logFormat: "JSON",
                    logGroup: this.logGroup.name,
                    applicationLogLevel: "INFO",
                    // INFO keeps Lambda's START and REPORT lines: each invocation's duration and memory.
                    systemLogLevel: "INFO",
                },
                tags,
            },
            // The role needs its policy and the log group must exist before the first invocation.
            { ...childOpts, dependsOn: [this.rolePolicy, this.logGroup] },
        );

        this.eventRule = new aws.cloudwatch.EventRule(
            `${name}-rule`,
            {
                description:
                    "EC2 Spot and interruptible Capacity Reservation interruption warnings, for the Spot interruption handler",
                eventPattern: JSON.stringify(interruptionWarningEventPattern()),
                tags,
            },
            childOpts,
        );

        this.deadLetterQueuePolicy = new aws.sqs.QueuePolicy(
            `${name}-dlq-policy`,
            {
                queueUrl: this.deadLetterQueue.url,
                policy: pulumi
                    .all([this.deadLetterQueue.arn, this.eventRule.arn, this.role.arn])
                    .apply(([queueArn, ruleArn, roleArn]) =>
                        JSON.stringify(deadLetterQueuePolicyDocument(queueArn, ruleArn, roleArn)),
                    ),
            },
            childOpts,
        );

        // The new path exists before the target switches to it, and Pulumi deletes the old path
        // last (mapping before drain policy), so a switch leaves the queue drained until unfed.
        let deliveryPath: pulumi.Resource[];
        if (this.queue !== undefined && queued !== undefined) {
            const delivery = createQueueDelivery(
                name,
                {
                    queue: this.queue,
                    settings: queued,
                    ruleArn: this.eventRule.arn,
                    role: this.role,
                    functionArn: this.handlerFunction.arn,
                    tags,
                },
                childOpts,
            );
            this.queuePolicy = delivery.queuePolicy;
            this.drainPolicy = delivery.drainPolicy;
            this.eventSourceMapping = delivery.eventSourceMapping;
            deliveryPath = delivery.path;
        } else {
            const delivery = createDirectDelivery(
                name,
                {
                    functionName: this.handlerFunction.name,
                    ruleArn: this.eventRule.arn,
                    deadLetterQueueArn: this.deadLetterQueue.arn,
                    maximumEventAgeInSeconds: settings.maximumEventAgeInSeconds,
                },
                childOpts,
            );
            this.invokeConfig = delivery.invokeConfig;
            this.permission = delivery.permission;
            deliveryPath = delivery.path;
        }

        this.eventTarget = new aws.cloudwatch.EventTarget(
            `${name}-target`,
            {
                rule: this.eventRule.name,
                arn: this.queue?.arn ?? this.handlerFunction.arn,
                retryPolicy: {
                    maximumEventAgeInSeconds: settings.maximumEventAgeInSeconds,
                    // EventBridge's most: within the notice, the event's age is the only bound.
                    maximumRetryAttempts: 185,
                },
                deadLetterConfig: { arn: this.deadLetterQueue.arn },
            },
            { ...childOpts, dependsOn: deliveryPath },
        );

        const monitoring =
            settings.monitoring === undefined
                ? undefined
                : createMonitoring(
                      name,
                      {
                          settings: settings.monitoring,
                          partition,
                          region,
                          handlerName,
                          groups: selection,
                          functionName: this.handlerFunction.name,
                          deadLetterQueueName: this.deadLetterQueue.name,
                          eventsQueueName: this.queue?.name,
                          targetGroupArn: args.targetGroupArn,
                          alarmActions: [
                              ...(args.alarmActions ?? []),
                              ...(notifications === undefined ? [] : [notifications.topic.arn]),
                          ],
                          tags,
                      },
                      childOpts,
                  );
        const faultInjection =
            settings.faultInjection === undefined
                ? undefined
                : createFaultInjection(
                      name,
                      {
                          // Validation made sure that tag mode names its group.
                          autoScalingGroupName: faultInjectionGroupName(
                              args.faultInjection?.autoScalingGroupName,
                              selection,
                              this,
                          ),
                          settings: settings.faultInjection,
                          account: { partition, region, accountId },
                          stopConditionAlarmArn: args.faultInjection?.stopConditionAlarmArn,
                          permissionsBoundary: settings.permissionsBoundary,
                          tags,
                      },
                      childOpts,
                  );
        this.faultInjectionTemplate = faultInjection?.template;
        this.faultInjectionRole = faultInjection?.role;
        this.alarms = monitoring?.alarms ?? [];
        this.dashboard = monitoring?.dashboard;
        this.dashboardUrl = monitoring?.dashboardUrl;

        this.registerOutputs({
            eventRule: this.eventRule,
            eventTarget: this.eventTarget,
            handlerFunction: this.handlerFunction,
            role: this.role,
            rolePolicy: this.rolePolicy,
            drainPolicy: this.drainPolicy,
            logGroup: this.logGroup,
            deadLetterQueue: this.deadLetterQueue,
            deadLetterQueuePolicy: this.deadLetterQueuePolicy,
            queue: this.queue,
            queuePolicy: this.queuePolicy,
            eventSourceMapping: this.eventSourceMapping,
            permission: this.permission,
            invokeConfig: this.invokeConfig,
            notificationTopic: this.notificationTopic,
            notificationKey: this.notificationKey,
            alarms: this.alarms,
            dashboard: this.dashboard,
            dashboardUrl: this.dashboardUrl,
            faultInjectionTemplate: this.faultInjectionTemplate,
            faultInjectionRole: this.faultInjectionRole,
        });
    }
}
