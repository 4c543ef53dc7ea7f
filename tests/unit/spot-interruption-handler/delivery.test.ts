/**
 * SpotInterruptionHandler's two deliveries under Pulumi mocks, their resources and settings: warnings
 * queued for batches (the default), or one invocation per warning.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { recorded } from "../../../offline/pulumi-engine";
import {
    arn,
    assertDeadLetterQueuePolicy,
    assertExactChildren,
    assertSharedRolePolicy,
    buildHandler,
    childOf,
    childrenOf,
    childTypes,
    COMPONENT_TYPE,
    components,
    defaultFunctionInputs,
    denyInsecureTransport,
    describeComponents,
    functionInputsWithoutCode,
    type Handler,
    hasProperties,
    INTERRUPTION_WARNING_PATTERN,
    named,
    parseJson,
    queueUrl,
    ruleSends,
    ruleTarget,
    withParsed,
} from "../../support/handler-mocks";

/** The whole events queue: SSE-SQS, `settings`, and dead letters to the DLQ after `maxReceiveCount`. */
function assertEventsQueue(
    component: string,
    settings: Record<string, unknown>,
    maxReceiveCount: number,
) {
    assert.deepEqual(
        withParsed(named(`${component}-queue`, "aws:sqs/queue:Queue").inputs, "redrivePolicy"),
        {
            sqsManagedSseEnabled: true,
            ...settings,
            redrivePolicy: {
                deadLetterTargetArn: arn("sqs", `${component}-dlq-a1b2c3d`),
                maxReceiveCount,
            },
        },
    );
}

describeComponents("SpotInterruptionHandler's delivery", () => {
    describe("given only a group name, so warnings are queued (the default delivery)", () => {
        let handler: Handler;
        const child = (type: string) => childOf("spot", type);

        before(async () => {
            // Given only a group name; When the component is built
            handler = await buildHandler(components, "spot", { autoScalingGroupName: "web" });
        });

        it("creates exactly the queued handler's resources, no role policy attachment, and exposes its members, each the component's child named after it", async () => {
            assert.equal(named("spot", COMPONENT_TYPE).type, COMPONENT_TYPE);
            await assertExactChildren(
                "spot",
                handler,
                {
                    queue: [handler.queue, "aws:sqs/queue:Queue"],
                    "drain-policy": [handler.drainPolicy, "aws:iam/rolePolicy:RolePolicy"],
                    "queue-policy": [handler.queuePolicy, "aws:sqs/queuePolicy:QueuePolicy"],
                    mapping: [
                        handler.eventSourceMapping,
                        "aws:lambda/eventSourceMapping:EventSourceMapping",
                    ],
                },
                // The queue's 2 alarms, which the handler does not expose.
                Array<string>(2).fill("aws:cloudwatch/metricAlarm:MetricAlarm"),
            );
        });

        it("has no Lambda permission and no async invoke config, as members or as resources", () => {
            assert.equal(handler.permission, undefined);
            assert.equal(handler.invokeConfig, undefined);
            assert.equal(childTypes("spot").includes("aws:lambda/permission:Permission"), false);
            assert.equal(
                childTypes("spot").includes(
                    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
                ),
                false,
            );
        });

        it("matches exactly the Spot interruption warnings of the default bus", () => {
            assert.deepEqual(
                withParsed(child("aws:cloudwatch/eventRule:EventRule").inputs, "eventPattern"),
                {
                    description:
                        "EC2 Spot and interruptible Capacity Reservation interruption warnings, for the Spot interruption handler",
                    eventPattern: INTERRUPTION_WARNING_PATTERN,
                },
            );
        });

        it("queues warnings under SSE-SQS, hides a failed one for the 20 s timeout, keeps it 1 h and dead-letters it after 8 receives, once the notice has ended", () => {
            assertEventsQueue(
                "spot",
                { visibilityTimeoutSeconds: 20, messageRetentionSeconds: 3600 },
                8,
            );
        });

        it("lets only this rule's EventBridge send to the events queue, and only over TLS", () => {
            const queueArn = arn("sqs", "spot-queue-a1b2c3d");
            const ruleArn = arn("events", "rule/spot-rule-a1b2c3d");
            assert.deepEqual(
                withParsed(
                    named("spot-queue-policy", "aws:sqs/queuePolicy:QueuePolicy").inputs,
                    "policy",
                ),
                {
                    queueUrl: queueUrl("spot-queue-a1b2c3d"),
                    policy: {
                        Version: "2012-10-17",
                        Statement: [
                            ruleSends(queueArn, ruleArn),
                            {
                                Sid: "DenyOtherSenders",
                                Effect: "Deny",
                                Principal: "*",
                                Action: "sqs:SendMessage",
                                Resource: queueArn,
                                Condition: { ArnNotEquals: { "aws:SourceArn": ruleArn } },
                            },
                            denyInsecureTransport(queueArn),
                        ],
                    },
                },
            );
        });

        it("drains the queue into the function in batches of up to 1000 gathered for 4 s, 2 at a time, reporting per-record failures", () => {
            assert.deepEqual(child("aws:lambda/eventSourceMapping:EventSourceMapping").inputs, {
                eventSourceArn: arn("sqs", "spot-queue-a1b2c3d"),
                functionName: arn("lambda", "function:spot-function-a1b2c3d"),
                batchSize: 1000,
                maximumBatchingWindowInSeconds: 4,
                functionResponseTypes: ["ReportBatchItemFailures"],
                scalingConfig: { maximumConcurrency: 2 },
            });
        });

        it("targets the events queue with a retry window no longer than the notice, and the dead-letter queue", () => {
            assert.deepEqual(
                child("aws:cloudwatch/eventTarget:EventTarget").inputs,
                ruleTarget("spot", arn("sqs", "spot-queue-a1b2c3d")),
            );
        });

        it("keeps dead letters encrypted for 14 days", () => {
            hasProperties(named("spot-dlq", "aws:sqs/queue:Queue").inputs, {
                sqsManagedSseEnabled: true,
                messageRetentionSeconds: 1_209_600,
            });
        });

        it("lets only this rule's EventBridge and the function's role send dead letters, over TLS", () => {
            assertDeadLetterQueuePolicy("spot");
        });

        it("runs the serialized handler on nodejs24.x for 16 s, with the DLQ's URL and JSON logs", () => {
            assert.deepEqual(
                functionInputsWithoutCode("spot"),
                defaultFunctionInputs(
                    "spot",
                    { timeout: 16 },
                    {
                        DEAD_LETTER_QUEUE_URL: queueUrl("spot-dlq-a1b2c3d"),
                        EVENTS_QUEUE_URL: queueUrl("spot-queue-a1b2c3d"),
                    },
                ),
            );
        });

        it("deploys a package that holds only the serialized handler file", async () => {
            const code = child("aws:lambda/function:Function").inputs.code;
            assert.ok(code instanceof pulumi.asset.AssetArchive, "the code is an AssetArchive");
            const assets = await code.assets;
            assert.deepEqual(Object.keys(assets), ["__index.js"]);
            const index = assets["__index.js"];
            assert.ok(index instanceof pulumi.asset.StringAsset);
            assert.match(await index.text, /exports\.handler = /);
        });

        it("keeps the function's logs for 30 days", () => {
            hasProperties(child("aws:cloudwatch/logGroup:LogGroup").inputs, {
                retentionInDays: 30,
            });
        });

        it("lets only Lambda assume the role, and attaches no managed policy", () => {
            assert.deepEqual(withParsed(child("aws:iam/role:Role").inputs, "assumeRolePolicy"), {
                description:
                    "Spot interruption handler: detaches interrupted instances from the chosen groups",
                assumeRolePolicy: {
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "lambda.amazonaws.com" },
                            Action: "sts:AssumeRole",
                        },
                    ],
                },
            });
        });

        it("grants exactly its own logs, the group and hook look-ups on *, detaching and terminating in this group, and the DLQ", () => {
            assertSharedRolePolicy("spot");
        });

        it("grants draining this queue in a policy of its own", () => {
            assert.deepEqual(
                withParsed(
                    named("spot-drain-policy", "aws:iam/rolePolicy:RolePolicy").inputs,
                    "policy",
                ),
                {
                    role: "spot-role-id",
                    policy: {
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Sid: "DrainEventsQueue",
                                Effect: "Allow",
                                Action: [
                                    "sqs:ReceiveMessage",
                                    "sqs:DeleteMessage",
                                    "sqs:GetQueueAttributes",
                                    "sqs:ChangeMessageVisibility",
                                ],
                                Resource: arn("sqs", "spot-queue-a1b2c3d"),
                            },
                        ],
                    },
                },
            );
        });
    });

    describe("given tuned queue settings, a reservation, tags and a longer timeout", () => {
        const tags = { team: "web", env: "prod" };

        before(async () => {
            // Given every queue setting chosen by hand; When the component is built
            await buildHandler(components, "spottuned", {
                autoScalingGroupName: "web",
                delivery: "queue",
                timeoutSeconds: 30,
                memorySizeMb: 512,
                logRetentionInDays: 7,
                maximumEventAgeInSeconds: 90,
                batchSize: 10,
                maximumBatchingWindowInSeconds: 0,
                maximumConcurrency: 5,
                visibilityTimeoutSeconds: 45,
                maxReceiveCount: 5,
                messageRetentionSeconds: 600,
                reservedConcurrentExecutions: 5,
                tags,
            });
        });

        it("configures the events queue with them", () => {
            assertEventsQueue(
                "spottuned",
                { visibilityTimeoutSeconds: 45, messageRetentionSeconds: 600, tags },
                5,
            );
        });

        it("configures the mapping with them", () => {
            assert.deepEqual(
                childOf("spottuned", "aws:lambda/eventSourceMapping:EventSourceMapping").inputs,
                {
                    eventSourceArn: arn("sqs", "spottuned-queue-a1b2c3d"),
                    functionName: arn("lambda", "function:spottuned-function-a1b2c3d"),
                    batchSize: 10,
                    maximumBatchingWindowInSeconds: 0,
                    functionResponseTypes: ["ReportBatchItemFailures"],
                    scalingConfig: { maximumConcurrency: 5 },
                    tags,
                },
            );
        });

        it("configures the function, its logs and the target's retry window with them", () => {
            const fn = functionInputsWithoutCode("spottuned");
            assert.deepEqual(
                [fn.timeout, fn.memorySize, fn.reservedConcurrentExecutions],
                [30, 512, 5],
            );
            assert.equal(
                childOf("spottuned", "aws:cloudwatch/logGroup:LogGroup").inputs.retentionInDays,
                7,
            );
            assert.deepEqual(
                childOf("spottuned", "aws:cloudwatch/eventTarget:EventTarget").inputs.retryPolicy,
                { maximumEventAgeInSeconds: 90, maximumRetryAttempts: 185 },
            );
        });

        it("tags every taggable child, and only those", () => {
            const tagged = recorded
                .filter((r) => r.name.startsWith("spottuned-") && r.inputs.tags !== undefined)
                .map((r) => {
                    assert.deepEqual(r.inputs.tags, tags, `${r.name}'s tags`);
                    return r.name;
                })
                .sort();
            assert.deepEqual(tagged, [
                "spottuned-dead-letters",
                "spottuned-dlq",
                "spottuned-failed-warnings",
                "spottuned-function",
                "spottuned-function-errors",
                "spottuned-function-throttles",
                "spottuned-logs",
                "spottuned-malformed-warnings",
                "spottuned-mapping",
                "spottuned-missing-groups",
                "spottuned-queue",
                "spottuned-role",
                "spottuned-rule",
                "spottuned-safety-net",
                "spottuned-stale-warnings",
                "spottuned-warnings-waiting",
            ]);
        });
    });

    describe("given a 40 s timeout with queue delivery and no visibility timeout", () => {
        it("hides a failed warning for at least the function's timeout plus the batching window", async () => {
            // Given a timeout whose sum with the 4 s window exceeds the default visibility timeout
            await buildHandler(components, "spotslow", {
                autoScalingGroupName: "web",
                timeoutSeconds: 40,
            });
            // Then the visibility timeout covers the window the mapping may hold a record for, too
            const queue = named("spotslow-queue", "aws:sqs/queue:Queue").inputs;
            assert.equal(queue.visibilityTimeoutSeconds, 44);
            assert.equal(childOf("spotslow", "aws:lambda/function:Function").inputs.timeout, 40);
        });
    });

    describe("given direct delivery: one invocation per warning", () => {
        let handler: Handler;
        const child = (type: string) => childOf("spotdir", type);

        before(async () => {
            // Given direct delivery, and a reservation below the queue's default concurrency
            // When the component is built
            handler = await buildHandler(components, "spotdir", {
                autoScalingGroupName: "web",
                delivery: components.Delivery.Direct,
                reservedConcurrentExecutions: 1,
            });
        });

        it("creates exactly the direct handler's resources, one queue (the DLQ) and no mapping, and exposes its members, each the component's child named after it", async () => {
            await assertExactChildren("spotdir", handler, {
                "invoke-config": [
                    handler.invokeConfig,
                    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
                ],
                permission: [handler.permission, "aws:lambda/permission:Permission"],
            });
        });

        it("has no events queue, queue policy or mapping, as members or as resources", () => {
            assert.equal(handler.queue, undefined);
            assert.equal(handler.queuePolicy, undefined);
            assert.equal(handler.eventSourceMapping, undefined);
            assert.deepEqual(
                recorded.filter((r) => r.type === "aws:sqs/queue:Queue").map((r) => r.name),
                ["spotdir-dlq"],
            );
        });

        it("matches exactly the Spot interruption warnings of the default bus", () => {
            assert.deepEqual(
                parseJson(child("aws:cloudwatch/eventRule:EventRule").inputs.eventPattern),
                INTERRUPTION_WARNING_PATTERN,
            );
        });

        it("lets EventBridge invoke the function for this rule only", () => {
            assert.deepEqual(child("aws:lambda/permission:Permission").inputs, {
                action: "lambda:InvokeFunction",
                function: "spotdir-function-a1b2c3d",
                principal: "events.amazonaws.com",
                sourceArn: arn("events", "rule/spotdir-rule-a1b2c3d"),
            });
        });

        it("targets the function with a retry window no longer than the notice, and the dead-letter queue", () => {
            assert.deepEqual(
                child("aws:cloudwatch/eventTarget:EventTarget").inputs,
                ruleTarget("spotdir", arn("lambda", "function:spotdir-function-a1b2c3d")),
            );
        });

        it("dead-letters Lambda's own failed invocations after at most 2 retries within 120 s", () => {
            assert.deepEqual(
                child("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").inputs,
                {
                    functionName: "spotdir-function-a1b2c3d",
                    maximumRetryAttempts: 2,
                    maximumEventAgeInSeconds: 120,
                    destinationConfig: {
                        onFailure: { destination: arn("sqs", "spotdir-dlq-a1b2c3d") },
                    },
                },
            );
        });

        it("lets only this rule's EventBridge and the function's role send dead letters, over TLS", () => {
            assertDeadLetterQueuePolicy("spotdir");
        });

        it("runs the serialized handler for 60 s, one warning per invocation, without the DLQ's URL", () => {
            assert.deepEqual(
                functionInputsWithoutCode("spotdir"),
                defaultFunctionInputs("spotdir", {
                    timeout: 60,
                    // No mapping can be starved, so any reservation is accepted.
                    reservedConcurrentExecutions: 1,
                }),
            );
        });

        it("grants exactly its own logs, the group and hook look-ups on *, detaching and terminating in this group, and the DLQ: no SQS draining", () => {
            assertSharedRolePolicy("spotdir");
            assert.equal(
                childrenOf("spotdir", "aws:iam/rolePolicy:RolePolicy").length,
                1,
                "no drain policy beside it",
            );
        });
    });
});
