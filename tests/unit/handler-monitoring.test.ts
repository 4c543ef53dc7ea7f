/**
 * The handler's operations resources under Pulumi mocks: alarms, the notification topic and its
 * key, the dashboard, and the IAM that dry runs and notifications change. Exact documents.
 */
import * as assert from "node:assert/strict";
import { HANDLER_METRICS } from "../../contract";
import { MOCK_ACCOUNT_ID } from "../../offline/pulumi-engine";
import {
    assertRefusedBeforeRegistering,
    buildHandler,
    childrenOf,
    type HandlerArgs,
    mockArn,
    describeComponents,
    components,
    named,
    rolePolicyOf,
} from "../support/handler-mocks";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const TOPIC_ARN = (component: string) =>
    mockArn("aws:sns/topic:Topic", `${component}-notifications`);
const KEY_ARN = (component: string) => mockArn("aws:kms/key:Key", `${component}-notifications-key`);

/** AWS's own metric names that a widget may name, by namespace: a pinned list. */
const AWS_METRICS: Record<string, readonly string[]> = {
    "AWS/Lambda": ["Errors", "Throttles", "Invocations", "Duration", "ConcurrentExecutions"],
    "AWS/SQS": [
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfMessagesNotVisible",
        "NumberOfMessagesSent",
    ],
    "AWS/ApplicationELB": ["HealthyHostCount", "UnHealthyHostCount", "RequestCount"],
};

describeComponents("SpotInterruptionHandler's monitoring", () => {
    describe("given the defaults (queue delivery, monitoring on)", () => {
        before(() => buildHandler(components, "mon"));

        it("alarms on dead letters, waiting warnings, function errors and throttles, failed warnings and the safety net", () => {
            const alarms = childrenOf("mon", ALARM).map((a): Record<string, unknown> => ({
                name: a.name,
                ...a.inputs,
            }));

            // A metric-math alarm watches its one metric (`m`) through the expression.
            const watched = (alarm: Record<string, unknown>) => {
                const queries = alarm.metricQueries as
                    | { id: string; expression?: string; metric?: Record<string, unknown> }[]
                    | undefined;
                if (queries === undefined) {
                    const { namespace, metricName, dimensions, statistic } = alarm;
                    return { namespace, metricName, dimensions, statistic };
                }
                const metric = queries.find((q) => q.id === "m")?.metric ?? {};
                return {
                    namespace: metric.namespace,
                    metricName: metric.metricName,
                    dimensions: metric.dimensions,
                    statistic: metric.stat,
                    expression: queries.find((q) => q.id === "e")?.expression,
                };
            };
            const byName = (a: { name: unknown }, b: { name: unknown }) =>
                String(a.name).localeCompare(String(b.name));
            assert.deepEqual(
                alarms
                    .map((alarm) => ({
                        name: alarm.name,
                        ...watched(alarm),
                        threshold: alarm.threshold,
                    }))
                    .sort(byName),
                [
                    {
                        name: "mon-dead-letters",
                        namespace: "AWS/SQS",
                        metricName: "ApproximateNumberOfMessagesVisible",
                        dimensions: { QueueName: "mon-dlq-a1b2c3d" },
                        statistic: "Maximum",
                        // The rise, not the depth: each new dead letter alarms again.
                        expression: "DIFF(FILL(m, 0))",
                        threshold: 0,
                    },
                    {
                        name: "mon-warnings-waiting",
                        namespace: "AWS/SQS",
                        metricName: "ApproximateAgeOfOldestMessage",
                        dimensions: { QueueName: "mon-queue-a1b2c3d" },
                        statistic: "Maximum",
                        // Above the 68 s a deliberately waiting warning can count in the metric.
                        threshold: 75,
                    },
                    {
                        name: "mon-function-errors",
                        namespace: "AWS/Lambda",
                        metricName: "Errors",
                        dimensions: { FunctionName: "mon-function-a1b2c3d" },
                        statistic: "Sum",
                        threshold: 0,
                    },
                    {
                        name: "mon-function-throttles",
                        namespace: "AWS/Lambda",
                        metricName: "Throttles",
                        dimensions: { FunctionName: "mon-function-a1b2c3d" },
                        statistic: "Sum",
                        threshold: 0,
                    },
                    {
                        name: "mon-failed-warnings",
                        namespace: "SpotInterruptionHandler",
                        metricName: "Failed",
                        dimensions: { Handler: "spot-interruption-handler/dev/mon" },
                        statistic: "Sum",
                        threshold: 0,
                    },
                    {
                        name: "mon-stale-warnings",
                        namespace: "SpotInterruptionHandler",
                        metricName: "Ignored",
                        dimensions: {
                            Handler: "spot-interruption-handler/dev/mon",
                            Reason: "stale",
                        },
                        statistic: "Sum",
                        threshold: 0,
                    },
                    {
                        name: "mon-safety-net",
                        namespace: "SpotInterruptionHandler",
                        metricName: "SafetyNet",
                        dimensions: { Handler: "spot-interruption-handler/dev/mon" },
                        statistic: "Sum",
                        threshold: 0,
                    },
                    {
                        name: "mon-missing-groups",
                        namespace: "SpotInterruptionHandler",
                        metricName: "MissingGroups",
                        dimensions: { Handler: "spot-interruption-handler/dev/mon" },
                        statistic: "Maximum",
                        threshold: 0,
                    },
                    {
                        name: "mon-malformed-warnings",
                        namespace: "SpotInterruptionHandler",
                        metricName: "Ignored",
                        dimensions: {
                            Handler: "spot-interruption-handler/dev/mon",
                            Reason: "malformed",
                        },
                        statistic: "Sum",
                        threshold: 0,
                    },
                ].sort(byName),
            );
            // A metric-math alarm has its period on its metric.
            const periodOfQueries = (alarm: Record<string, unknown>) =>
                (alarm.metricQueries as { metric?: { period?: number } }[] | undefined)?.find(
                    (q) => q.metric !== undefined,
                )?.metric?.period;
            for (const alarm of alarms) {
                assert.equal(alarm.comparisonOperator, "GreaterThanThreshold", String(alarm.name));
                assert.equal(alarm.treatMissingData, "notBreaching", String(alarm.name));
                assert.deepEqual(
                    [alarm.period ?? periodOfQueries(alarm), alarm.evaluationPeriods],
                    [60, 1],
                    String(alarm.name),
                );
                assert.deepEqual(alarm.alarmActions, [], String(alarm.name));
                assert.match(
                    String(alarm.alarmDescription),
                    /\. (Read|Check|Raise) /,
                    String(alarm.name),
                );
            }
        });

        it("builds a dashboard whose every widget names a metric the handler emits or AWS publishes", () => {
            const dashboard = named("mon-dashboard", "aws:cloudwatch/dashboard:Dashboard").inputs;
            const body = JSON.parse(dashboard.dashboardBody as string) as {
                widgets: { properties: { title: string; region: string; metrics: unknown[][] } }[];
            };

            // Unique per project, stack, Region and component (tests/unit/dashboard-name.test.ts).
            assert.match(
                String(dashboard.dashboardName),
                /^spot-interruption-handler-dev-eu-west-1-mon-[0-9a-f]{8}$/,
            );
            assert.deepEqual(
                body.widgets.map((w) => w.properties.title),
                [
                    "Warnings and what became of them",
                    "Working with the groups: the safety net, and hooks skipped",
                    "Detach latency, from the warning to out of the group (ms)",
                    "Queues: warnings waiting, and dead letters",
                    "The function: errors, throttles and Auto Scaling calls",
                    "Detached, per group (Auto Scaling group web)",
                    "Failed (left for a retry), per group",
                    "Ignored, by reason; and listed groups not found",
                ],
            );
            for (const widget of body.widgets) {
                assert.equal(widget.properties.region, "eu-west-1");
                for (const row of widget.properties.metrics) {
                    const [namespace, metricName] = row as string[];
                    const known =
                        namespace === "SpotInterruptionHandler"
                            ? Object.keys(HANDLER_METRICS)
                            : (AWS_METRICS[namespace] ?? []);
                    assert.ok(known.includes(metricName), `${namespace} ${metricName}`);
                }
            }
            assert.ok(
                JSON.stringify(body).includes('"QueueName","mon-queue-a1b2c3d"'),
                "the events queue's depth and age are shown",
            );
        });

        it("grants detaching and terminating, and no notification rights", () => {
            const sids = rolePolicyOf("mon").Statement.map((s) => s.Sid);
            assert.ok(sids.includes("ActOnChosenGroupsOnly"));
            assert.ok(!sids.includes("NotifyDetaches"));
        });
    });

    describe("given a target group, alarm actions and a notification email with notifyOnDetach", () => {
        const targetGroupArn =
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-tg/0123456789abcdef";
        const pager = "arn:aws:sns:eu-west-1:123456789012:pager";

        before(() =>
            buildHandler(components, "ops", {
                targetGroupArn,
                alarmActions: [pager],
                notificationEmail: "ops@example.com",
                notifyOnDetach: true,
            }),
        );

        it("encrypts the topic with a key that CloudWatch alarms may use, and subscribes the email", () => {
            const key = named("ops-notifications-key", "aws:kms/key:Key").inputs;
            assert.deepEqual(JSON.parse(key.policy as string), {
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "AccountAdministersKey",
                        Effect: "Allow",
                        Principal: { AWS: `arn:aws:iam::${MOCK_ACCOUNT_ID}:root` },
                        Action: "kms:*",
                        Resource: "*",
                    },
                    {
                        Sid: "CloudWatchAlarmsPublish",
                        Effect: "Allow",
                        Principal: { Service: "cloudwatch.amazonaws.com" },
                        Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
                        Resource: "*",
                        Condition: { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID } },
                    },
                ],
            });
            assert.equal(key.enableKeyRotation, true);
            assert.equal(
                named("ops-notifications", "aws:sns/topic:Topic").inputs.kmsMasterKeyId,
                KEY_ARN("ops"),
            );
            assert.deepEqual(
                JSON.parse(
                    named("ops-notifications-policy", "aws:sns/topicPolicy:TopicPolicy").inputs
                        .policy as string,
                ),
                {
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "CloudWatchAlarmsPublish",
                            Effect: "Allow",
                            Principal: { Service: "cloudwatch.amazonaws.com" },
                            Action: "sns:Publish",
                            Resource: TOPIC_ARN("ops"),
                            Condition: { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID } },
                        },
                        {
                            Sid: "DenyInsecureTransport",
                            Effect: "Deny",
                            Principal: "*",
                            Action: "sns:Publish",
                            Resource: TOPIC_ARN("ops"),
                            Condition: { Bool: { "aws:SecureTransport": "false" } },
                        },
                    ],
                },
            );
            const subscription = named(
                "ops-notifications-email",
                "aws:sns/topicSubscription:TopicSubscription",
            );
            assert.deepEqual(
                [
                    subscription.inputs.topic,
                    subscription.inputs.protocol,
                    subscription.inputs.endpoint,
                ],
                [TOPIC_ARN("ops"), "email", "ops@example.com"],
            );
        });

        it("sends every alarm to the given actions and the topic, on alarm and on recovery", () => {
            for (const alarm of childrenOf("ops", ALARM)) {
                assert.deepEqual(alarm.inputs.alarmActions, [pager, TOPIC_ARN("ops")], alarm.name);
                assert.deepEqual(alarm.inputs.okActions, [pager, TOPIC_ARN("ops")], alarm.name);
            }
        });

        it("lets the function publish to that topic only, with its key, and tells it where", () => {
            const statements = rolePolicyOf("ops").Statement;
            assert.deepEqual(statements.slice(-2), [
                {
                    Sid: "NotifyDetaches",
                    Effect: "Allow",
                    Action: "sns:Publish",
                    Resource: TOPIC_ARN("ops"),
                },
                {
                    Sid: "EncryptNotifications",
                    Effect: "Allow",
                    Action: ["kms:GenerateDataKey", "kms:Decrypt"],
                    Resource: KEY_ARN("ops"),
                },
            ]);
            const env = named("ops-function", "aws:lambda/function:Function").inputs
                .environment as {
                variables: Record<string, string>;
            };
            assert.equal(env.variables.NOTIFY_TOPIC_ARN, TOPIC_ARN("ops"));
        });

        it("shows the target group's healthy hosts and requests, found by its ARN suffix", () => {
            const body = JSON.parse(
                named("ops-dashboard", "aws:cloudwatch/dashboard:Dashboard").inputs
                    .dashboardBody as string,
            );
            const [targetGroup] = body.widgets.slice(-1);
            assert.deepEqual(targetGroup.properties.metrics, [
                [
                    {
                        expression: `SEARCH('{AWS/ApplicationELB,LoadBalancer,TargetGroup} TargetGroup="targetgroup/web-tg/0123456789abcdef" MetricName="HealthyHostCount"', 'Minimum', 60)`,
                        id: "healthy",
                    },
                ],
                [
                    {
                        expression: `SEARCH('{AWS/ApplicationELB,LoadBalancer,TargetGroup} TargetGroup="targetgroup/web-tg/0123456789abcdef" MetricName="RequestCount"', 'Sum', 60)`,
                        id: "requests",
                    },
                ],
            ]);
        });
    });

    describe("given a dry run", () => {
        before(() =>
            buildHandler(components, "dry", { dryRun: true, capacityOnInterruption: "decrement" }),
        );

        it("has no DetachInstances right at all, only the Describe calls it still makes", () => {
            const statements = rolePolicyOf("dry").Statement;
            assert.ok(!JSON.stringify(statements).includes("DetachInstances"));
            assert.deepEqual(
                statements.find((s) => s.Sid === "FindInstanceGroup")?.Action,
                "autoscaling:DescribeAutoScalingGroups",
            );
        });

        it("tells the function to run dry", () => {
            const env = named("dry-function", "aws:lambda/function:Function").inputs
                .environment as {
                variables: Record<string, string>;
            };
            assert.equal(env.variables.DRY_RUN, "true");
        });
    });

    describe("given monitoring off", () => {
        it("creates no alarm, dashboard or topic", async () => {
            const handler = await buildHandler(components, "quiet", { monitoring: false });

            assert.deepEqual(childrenOf("quiet", ALARM), []);
            assert.deepEqual(childrenOf("quiet", "aws:cloudwatch/dashboard:Dashboard"), []);
            assert.deepEqual(handler.alarms, []);
            assert.equal(handler.dashboardUrl, undefined);
        });
    });

    describe("given bad monitoring arguments", () => {
        const cases: { when: string; args: Partial<HandlerArgs>; message: RegExp }[] = [
            {
                when: "an email that is not one",
                args: { notificationEmail: "ops at example" },
                message: /\[notificationEmail\] is "ops at example", not an email address/,
            },
            {
                when: "notifyOnDetach without a topic",
                args: { notifyOnDetach: true },
                message:
                    /\[notifyOnDetach\] needs a topic to publish to: set notificationEmail too/,
            },
            {
                when: "alarm actions with monitoring off",
                args: { monitoring: false, alarmActions: ["arn:aws:sns:eu-west-1:1:x"] },
                message: /\[alarmActions\] applies only with monitoring on/,
            },
            {
                when: "a queue-age threshold beyond the notice",
                args: { queueAgeAlarmSeconds: 150 },
                message: /\[queueAgeAlarmSeconds\] is 150; it must be a whole number from 1 to 119/,
            },
            {
                when: "a queue-age threshold a deliberately waiting warning would reach",
                args: { queueAgeAlarmSeconds: 68 },
                message:
                    /\[queueAgeAlarmSeconds\] is 68, at or below the 68 s a warning deliberately left waiting for a re-check can count in the events queue's age \(window 4 s, visibility 20 s\): the alarm would page for it; raise it above 68, at most 119/,
            },
            {
                when: "a visibility timeout no queue-age threshold inside the notice can clear",
                args: { visibilityTimeoutSeconds: 50 },
                message:
                    /\[visibilityTimeoutSeconds\] is 50, but with visibilityTimeoutSeconds 50 a warning left waiting for a re-check can count in the events queue's age for 128 s, so no alarm below the 120 s notice can tell it from a stuck one/,
            },
            {
                when: "a queue-age threshold with direct delivery",
                args: { delivery: "direct", queueAgeAlarmSeconds: 20 },
                message: /\[queueAgeAlarmSeconds\] applies only with delivery "queue"/,
            },
            {
                when: "a dry run that is not a boolean",
                args: { dryRun: "yes" as unknown as boolean },
                message: /\[dryRun\] is "yes"; it must be true or false/,
            },
        ];
        for (const { when, args, message } of cases) {
            it(`refuses ${when}, naming the argument, and registers nothing`, () =>
                assertRefusedBeforeRegistering(components, args, message));
        }
    });

    describe("the dashboard's console link", () => {
        it("links to each partition's own console", async () => {
            const { cloudWatchDashboardUrl } =
                await import("../../components/spot-interruption-handler/monitoring");
            assert.equal(
                cloudWatchDashboardUrl("aws", "eu-west-1", "d"),
                "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/d",
            );
            assert.equal(
                cloudWatchDashboardUrl("aws-cn", "cn-north-1", "d"),
                "https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1#dashboards/dashboard/d",
            );
            assert.equal(
                cloudWatchDashboardUrl("aws-us-gov", "us-gov-west-1", "d"),
                "https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#dashboards/dashboard/d",
            );
            assert.doesNotMatch(cloudWatchDashboardUrl("aws-iso", "us-iso-east-1", "d"), /^https:/);
        });
    });
});
