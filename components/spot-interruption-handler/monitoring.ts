/**
 * The handler's operations resources: an encrypted notification topic, the alarms that call a
 * human, and the dashboard to watch a storm on. The SpotInterruptionHandler creates them as its
 * children; their documents come from handler-dashboard.ts and policies.ts.
 */
import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { handlerAlarms, handlerDashboardBody, targetGroupArnSuffix } from "./dashboard";
import type { MonitoringSettings, SpotInterruptionHandlerArgs } from "./args";
import { describeSelection, type GroupSelection } from "../../contract";
import { notificationKeyPolicyDocument, notificationTopicPolicyDocument } from "./policies";

type Tags = SpotInterruptionHandlerArgs["tags"];

export interface NotificationTopic {
    readonly key: aws.kms.Key;
    readonly topic: aws.sns.Topic;
    readonly topicPolicy: aws.sns.TopicPolicy;
    readonly subscription: aws.sns.TopicSubscription;
}

/**
 * An SNS topic under a customer-managed key (CloudWatch alarms cannot publish with the
 * AWS-managed aws/sns key), with an email subscription that the recipient confirms.
 */
export function createNotificationTopic(
    name: string,
    email: string,
    account: { partition: pulumi.Input<string>; accountId: pulumi.Input<string> },
    tags: Tags,
    opts: pulumi.CustomResourceOptions,
): NotificationTopic {
    const key = new aws.kms.Key(
        `${name}-notifications-key`,
        {
            description: "Spot interruption handler: encrypts its notification topic",
            enableKeyRotation: true,
            deletionWindowInDays: 7,
            policy: pulumi
                .all([account.partition, account.accountId])
                .apply(([partition, accountId]) =>
                    JSON.stringify(notificationKeyPolicyDocument(partition, accountId)),
                ),
            tags,
        },
        opts,
    );
    const topic = new aws.sns.Topic(
        `${name}-notifications`,
        { kmsMasterKeyId: key.arn, tags },
        opts,
    );
    const topicPolicy = new aws.sns.TopicPolicy(
        `${name}-notifications-policy`,
        {
            arn: topic.arn,
            policy: pulumi
                .all([topic.arn, account.accountId])
                .apply(([topicArn, accountId]) =>
                    JSON.stringify(notificationTopicPolicyDocument(topicArn, accountId)),
                ),
        },
        opts,
    );
    const subscription = new aws.sns.TopicSubscription(
        `${name}-notifications-email`,
        { topic: topic.arn, protocol: "email", endpoint: email },
        opts,
    );
    return { key, topic, topicPolicy, subscription };
}

export interface MonitoringInputs {
    readonly settings: MonitoringSettings;
    readonly partition: pulumi.Input<string>;
    readonly region: pulumi.Input<string>;
    /** The metrics' Handler dimension: plain, so alarms never wait on a provider's output. */
    readonly handlerName: string;
    readonly groups: pulumi.Input<GroupSelection>;
    readonly functionName: pulumi.Input<string>;
    readonly deadLetterQueueName: pulumi.Input<string>;
    readonly eventsQueueName?: pulumi.Input<string>;
    readonly targetGroupArn?: pulumi.Input<string>;
    readonly alarmActions: pulumi.Input<string>[];
    readonly tags: Tags;
}

export interface Monitoring {
    readonly alarms: aws.cloudwatch.MetricAlarm[];
    readonly dashboard: aws.cloudwatch.Dashboard;
    /** The dashboard in the CloudWatch console. */
    readonly dashboardUrl: pulumi.Output<string>;
}

export function createMonitoring(
    name: string,
    inputs: MonitoringInputs,
    opts: pulumi.CustomResourceOptions,
): Monitoring {
    const resources = pulumi
        .all([
            inputs.region,
            inputs.groups,
            inputs.functionName,
            inputs.deadLetterQueueName,
            inputs.eventsQueueName,
            inputs.targetGroupArn,
        ])
        .apply(([region, groups, fn, dlq, events, targetGroupArn]) => ({
            region,
            handlerName: inputs.handlerName,
            groupsDescription: describeSelection(groups),
            ...(groups.kind === "names" ? { autoScalingGroupNames: groups.names } : {}),
            functionName: fn,
            deadLetterQueueName: dlq,
            ...(events === undefined ? {} : { eventsQueueName: events }),
            ...(targetGroupArn === undefined
                ? {}
                : { targetGroupArnSuffix: targetGroupArnSuffix(targetGroupArn) }),
        }));
    const groupsDescription = pulumi.output(inputs.groups).apply(describeSelection);
    // Which alarms exist, and their metrics, are plain; their dimensions are the children's names.
    const specs = handlerAlarms<pulumi.Input<string>>(
        {
            handlerName: inputs.handlerName,
            functionName: inputs.functionName,
            deadLetterQueueName: inputs.deadLetterQueueName,
            ...(inputs.eventsQueueName === undefined
                ? {}
                : { eventsQueueName: inputs.eventsQueueName }),
        },
        inputs.settings.queueAgeAlarmSeconds ?? 0,
    );
    const alarms = specs.map((spec) => {
        const metric = {
            namespace: spec.namespace,
            metricName: spec.metricName,
            dimensions: spec.dimensions,
        };
        return new aws.cloudwatch.MetricAlarm(
            `${name}-${spec.role}`,
            {
                ...(spec.expression === undefined
                    ? { ...metric, statistic: spec.statistic, period: 60 }
                    : {
                          metricQueries: [
                              {
                                  id: "m",
                                  returnData: false,
                                  metric: { ...metric, stat: spec.statistic, period: 60 },
                              },
                              { id: "e", expression: spec.expression, returnData: true },
                          ],
                      }),
                evaluationPeriods: 1,
                threshold: spec.threshold,
                comparisonOperator: "GreaterThanThreshold",
                treatMissingData: "notBreaching",
                alarmDescription: groupsDescription.apply(spec.alarmDescription),
                alarmActions: inputs.alarmActions,
                okActions: inputs.alarmActions,
                tags: inputs.tags,
            },
            opts,
        );
    });
    const dashboard = new aws.cloudwatch.Dashboard(
        `${name}-dashboard`,
        {
            // Dashboard names are global to the account: project, stack and Region keep them apart.
            dashboardName: pulumi.output(inputs.region).apply((region) =>
                dashboardName({
                    project: pulumi.getProject(),
                    stack: pulumi.getStack(),
                    region,
                    component: name,
                }),
            ),
            dashboardBody: resources.apply((r) => JSON.stringify(handlerDashboardBody(r))),
        },
        opts,
    );
    const dashboardUrl = pulumi
        .all([inputs.partition, inputs.region, dashboard.dashboardName])
        .apply(([partition, region, dashboard]) =>
            cloudWatchDashboardUrl(partition, region, dashboard),
        );
    return { alarms, dashboard, dashboardUrl };
}

/** Each partition's console; the isolated partitions have no public one. */
const CONSOLE_HOSTS: Readonly<Record<string, string>> = {
    aws: "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
};

/** The dashboard in its partition's CloudWatch console. */
export function cloudWatchDashboardUrl(
    partition: string,
    region: string,
    dashboard: string,
): string {
    const host = CONSOLE_HOSTS[partition];
    return host === undefined
        ? `CloudWatch dashboard ${dashboard} in ${region} (partition ${partition} has no public console)`
        : `https://${host}/cloudwatch/home?region=${region}#dashboards/dashboard/${encodeURIComponent(dashboard)}`;
}

/** CloudWatch's most characters in a dashboard name. */
export const MAX_DASHBOARD_NAME_LENGTH = 255;
const HASH_LENGTH = 8;

/** Where one component's dashboard belongs: dashboard names are global to the account. */
export interface DashboardScope {
    readonly project: string;
    readonly stack: string;
    readonly region: string;
    readonly component: string;
}

/**
 * A dashboard name unique per project, stack, Region and component, in CloudWatch's alphabet
 * (letters, digits, "-" and "_") and length (255): the scope reads in full where it fits, and a
 * hash of the exact scope keeps apart what replacing characters, joining or cutting would merge.
 */
export function dashboardName(scope: DashboardScope): string {
    const { project, stack, region, component } = scope;
    const hash = createHash("sha256")
        .update(JSON.stringify([project, stack, region, component]))
        .digest("hex")
        .slice(0, HASH_LENGTH);
    const readable = `${project}-${stack}-${region}-${component}`
        .replace(/[^A-Za-z0-9_-]/g, "-")
        .slice(0, MAX_DASHBOARD_NAME_LENGTH - HASH_LENGTH - 1);
    return `${readable}-${hash}`;
}
