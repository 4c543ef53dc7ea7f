import * as assert from "node:assert/strict";
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    installPulumiMocks,
    MOCK_ACCOUNT_ID,
    recorded,
    type RecordedResource,
    registrationsSettled,
    resetRecorded,
    unwrap,
} from "../../local";

type Components = typeof import("../../components");
type Handler = InstanceType<Components["SpotInterruptionHandler"]>;
type HandlerArgs = import("../../components").SpotInterruptionHandlerArgs;

const COMPONENT_TYPE = "spot-interruption-handler:index:SpotInterruptionHandler";
const URN_PREFIX = "urn:pulumi:dev::spot-interruption-handler::";
const arn = (service: string, resource: string) =>
    `arn:aws:${service}:eu-west-1:${MOCK_ACCOUNT_ID}:${resource}`;
const roleArn = (name: string) => `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${name}`;
const queueUrl = (name: string) => `https://sqs.eu-west-1.amazonaws.com/${MOCK_ACCOUNT_ID}/${name}`;

const INTERRUPTION_WARNING_PATTERN = {
    source: ["aws.ec2"],
    // Spot's warning, and the interruptible Capacity Reservation's under both of its names.
    "detail-type": [
        "EC2 Spot Instance Interruption Warning",
        "EC2 Capacity Reservation Instance Interruption Warning",
        "EC2 Interruptible Capacity Reservation Instance Interruption Warning",
    ],
};

/** The one resource of `type` that the component called `component` created. */
function childOf(component: string, type: string): RecordedResource {
    const matches = recorded.filter((r) => r.type === type && r.name.startsWith(`${component}-`));
    assert.equal(matches.length, 1, `expected exactly one ${type} in ${component}`);
    return matches[0];
}

/** The one recorded resource called `name`, which must be of `type`. */
function named(name: string, type: string): RecordedResource {
    const matches = recorded.filter((r) => r.name === name);
    assert.equal(matches.length, 1, `expected exactly one resource called ${name}`);
    assert.equal(matches[0].type, type, `${name}'s type`);
    return matches[0];
}

/** The sorted types of every child of the component called `component`. */
function childTypes(component: string): string[] {
    return recorded
        .filter((r) => r.name.startsWith(`${component}-`))
        .map((r) => r.type)
        .sort();
}

function parseJson(value: unknown): unknown {
    assert.equal(typeof value, "string", "a policy, pattern or redrive input is a JSON string");
    return JSON.parse(value as string);
}

/** A recorded input with its JSON string fields parsed, so that it is compared as a document. */
function withParsed(inputs: Record<string, unknown>, ...jsonFields: string[]) {
    return {
        ...inputs,
        ...Object.fromEntries(jsonFields.map((field) => [field, parseJson(inputs[field])])),
    };
}

/**
 * Runs `create` on an empty record and resolves once every registration it started has reached
 * the mocks, so that `recorded` holds exactly what it registered.
 */
async function build<T>(create: () => T): Promise<T> {
    await registrationsSettled();
    resetRecorded();
    const built = create();
    await registrationsSettled();
    return built;
}

/** Each child's exact URN: a child of the component, of its type, named after the component. */
async function assertChildren(
    component: string,
    children: Record<string, [pulumi.Resource | undefined, string]>,
): Promise<void> {
    for (const [role, [resource, type]] of Object.entries(children)) {
        assert.ok(resource !== undefined, `${role} is a public member`);
        assert.equal(
            await unwrap(resource.urn),
            `${URN_PREFIX}${COMPONENT_TYPE}$${type}::${component}-${role}`,
        );
    }
}

/** The DLQ's policy in either mode: this rule's EventBridge and the function's role, over TLS. */
function expectedDeadLetterQueuePolicy(component: string): unknown {
    const dlqArn = arn("sqs", `${component}-dlq-a1b2c3d`);
    const ruleArn = arn("events", `rule/${component}-rule-a1b2c3d`);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "EventBridgeSendsForThisRule",
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: "sqs:SendMessage",
                Resource: dlqArn,
                Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
            },
            {
                Sid: "DenyOtherSenders",
                Effect: "Deny",
                Principal: "*",
                Action: "sqs:SendMessage",
                Resource: dlqArn,
                Condition: {
                    ArnNotEquals: {
                        "aws:SourceArn": ruleArn,
                        "aws:PrincipalArn": roleArn(`${component}-role-a1b2c3d`),
                    },
                },
            },
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "sqs:*",
                Resource: dlqArn,
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ],
    };
}

/** The role policy's statements that both modes share, for the group called `group`. */
function sharedRoleStatements(component: string, escapedGroup: string): Record<string, unknown>[] {
    return [
        {
            Sid: "WriteOwnLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: `${arn("logs", `log-group:${component}-logs-a1b2c3d`)}:*`,
        },
        {
            Sid: "FindInstanceGroup",
            Effect: "Allow",
            Action: "autoscaling:DescribeAutoScalingGroups",
            Resource: "*",
        },
        {
            Sid: "FindTerminationHooks",
            Effect: "Allow",
            Action: "autoscaling:DescribeLifecycleHooks",
            Resource: "*",
        },
        {
            Sid: "ActOnChosenGroupsOnly",
            Effect: "Allow",
            Action: [
                "autoscaling:DetachInstances",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
            ],
            Resource: arn("autoscaling", `autoScalingGroup:*:autoScalingGroupName/${escapedGroup}`),
        },
        {
            Sid: "DeadLetterFailedWarnings",
            Effect: "Allow",
            Action: "sqs:SendMessage",
            Resource: arn("sqs", `${component}-dlq-a1b2c3d`),
        },
    ];
}

const FUNCTION_DESCRIPTION =
    "Detaches Spot instances from their Auto Scaling group on the interruption warning";
const loggingConfig = (component: string) => ({
    logFormat: "JSON",
    logGroup: `${component}-logs-a1b2c3d`,
    applicationLogLevel: "INFO",
    // START and REPORT lines stay: each invocation's duration and memory.
    systemLogLevel: "INFO",
});
const handlerName = (component: string) => `spot-interruption-handler/dev/${component}`;

/** The function's inputs without its code, which is checked on its own. */
function functionInputsWithoutCode(component: string): Record<string, unknown> {
    const { code, ...inputs } = childOf(component, "aws:lambda/function:Function").inputs;
    assert.ok(code !== undefined, "the function has code");
    return inputs;
}

describe("SpotInterruptionHandler", () => {
    let components: Components;
    let awsModule: typeof aws;

    before(async () => {
        installPulumiMocks();
        components = await import("../../components");
        awsModule = await import("@pulumi/aws");
    });

    describe("given only a group name, so warnings are queued (the default delivery)", () => {
        let handler: Handler;
        const child = (type: string) => childOf("spot", type);

        before(async () => {
            // Given only a group name; When the component is built
            handler = await build(
                () =>
                    new components.SpotInterruptionHandler("spot", { autoScalingGroupName: "web" }),
            );
        });

        it("creates exactly the queued handler's resources, and no role policy attachment", () => {
            assert.equal(named("spot", COMPONENT_TYPE).type, COMPONENT_TYPE);
            assert.deepEqual(childTypes("spot"), [
                "aws:cloudwatch/dashboard:Dashboard",
                "aws:cloudwatch/eventRule:EventRule",
                "aws:cloudwatch/eventTarget:EventTarget",
                "aws:cloudwatch/logGroup:LogGroup",
                ...Array(9).fill("aws:cloudwatch/metricAlarm:MetricAlarm"),
                "aws:iam/role:Role",
                "aws:iam/rolePolicy:RolePolicy",
                "aws:iam/rolePolicy:RolePolicy",
                "aws:lambda/eventSourceMapping:EventSourceMapping",
                "aws:lambda/function:Function",
                "aws:sqs/queue:Queue",
                "aws:sqs/queue:Queue",
                "aws:sqs/queuePolicy:QueuePolicy",
                "aws:sqs/queuePolicy:QueuePolicy",
            ]);
        });

        it("parents every child to the component, names it after the component, and exposes it", async () => {
            await assertChildren("spot", {
                logs: [handler.logGroup, "aws:cloudwatch/logGroup:LogGroup"],
                dlq: [handler.deadLetterQueue, "aws:sqs/queue:Queue"],
                queue: [handler.queue, "aws:sqs/queue:Queue"],
                role: [handler.role, "aws:iam/role:Role"],
                policy: [handler.rolePolicy, "aws:iam/rolePolicy:RolePolicy"],
                "drain-policy": [handler.drainPolicy, "aws:iam/rolePolicy:RolePolicy"],
                function: [handler.handlerFunction, "aws:lambda/function:Function"],
                rule: [handler.eventRule, "aws:cloudwatch/eventRule:EventRule"],
                "dlq-policy": [handler.deadLetterQueuePolicy, "aws:sqs/queuePolicy:QueuePolicy"],
                "queue-policy": [handler.queuePolicy, "aws:sqs/queuePolicy:QueuePolicy"],
                mapping: [
                    handler.eventSourceMapping,
                    "aws:lambda/eventSourceMapping:EventSourceMapping",
                ],
                target: [handler.eventTarget, "aws:cloudwatch/eventTarget:EventTarget"],
            });
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
            assert.deepEqual(
                withParsed(named("spot-queue", "aws:sqs/queue:Queue").inputs, "redrivePolicy"),
                {
                    sqsManagedSseEnabled: true,
                    visibilityTimeoutSeconds: 20,
                    messageRetentionSeconds: 3600,
                    redrivePolicy: {
                        deadLetterTargetArn: arn("sqs", "spot-dlq-a1b2c3d"),
                        maxReceiveCount: 8,
                    },
                },
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
                            {
                                Sid: "EventBridgeSendsForThisRule",
                                Effect: "Allow",
                                Principal: { Service: "events.amazonaws.com" },
                                Action: "sqs:SendMessage",
                                Resource: queueArn,
                                Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
                            },
                            {
                                Sid: "DenyOtherSenders",
                                Effect: "Deny",
                                Principal: "*",
                                Action: "sqs:SendMessage",
                                Resource: queueArn,
                                Condition: { ArnNotEquals: { "aws:SourceArn": ruleArn } },
                            },
                            {
                                Sid: "DenyInsecureTransport",
                                Effect: "Deny",
                                Principal: "*",
                                Action: "sqs:*",
                                Resource: queueArn,
                                Condition: { Bool: { "aws:SecureTransport": "false" } },
                            },
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
            assert.deepEqual(child("aws:cloudwatch/eventTarget:EventTarget").inputs, {
                rule: "spot-rule-a1b2c3d",
                arn: arn("sqs", "spot-queue-a1b2c3d"),
                retryPolicy: { maximumEventAgeInSeconds: 120, maximumRetryAttempts: 185 },
                deadLetterConfig: { arn: arn("sqs", "spot-dlq-a1b2c3d") },
            });
        });

        it("keeps dead letters encrypted for 14 days", () => {
            assert.deepEqual(named("spot-dlq", "aws:sqs/queue:Queue").inputs, {
                sqsManagedSseEnabled: true,
                messageRetentionSeconds: 1_209_600,
            });
        });

        it("lets only this rule's EventBridge and the function's role send dead letters, over TLS", () => {
            assert.deepEqual(
                withParsed(
                    named("spot-dlq-policy", "aws:sqs/queuePolicy:QueuePolicy").inputs,
                    "policy",
                ),
                {
                    queueUrl: queueUrl("spot-dlq-a1b2c3d"),
                    policy: expectedDeadLetterQueuePolicy("spot"),
                },
            );
        });

        it("runs the serialized handler on nodejs24.x for 16 s, with the DLQ's URL and JSON logs", () => {
            assert.deepEqual(functionInputsWithoutCode("spot"), {
                description: FUNCTION_DESCRIPTION,
                handler: "__index.handler",
                role: roleArn("spot-role-a1b2c3d"),
                runtime: "nodejs24.x",
                architectures: ["arm64"],
                timeout: 16,
                memorySize: 256,
                environment: {
                    variables: {
                        AUTO_SCALING_GROUP_NAMES: '["web"]',
                        CAPACITY_ON_INTERRUPTION: "keep",
                        INTERRUPTION_ACTION: "auto",
                        HANDLER_NAME: handlerName("spot"),
                        DEAD_LETTER_QUEUE_URL: queueUrl("spot-dlq-a1b2c3d"),
                        EVENTS_QUEUE_URL: queueUrl("spot-queue-a1b2c3d"),
                    },
                },
                loggingConfig: loggingConfig("spot"),
            });
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
            assert.deepEqual(child("aws:cloudwatch/logGroup:LogGroup").inputs, {
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

        it("grants exactly logs, Describe on *, DetachInstances on this group and the DLQ", () => {
            assert.deepEqual(
                withParsed(named("spot-policy", "aws:iam/rolePolicy:RolePolicy").inputs, "policy"),
                {
                    role: "spot-role-id",
                    policy: {
                        Version: "2012-10-17",
                        Statement: sharedRoleStatements("spot", "web"),
                    },
                },
            );
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

    describe("given direct delivery", () => {
        let handler: Handler;
        const child = (type: string) => childOf("spotdir", type);

        before(async () => {
            // Given direct delivery, and a reservation below the queue's default concurrency
            // When the component is built
            handler = await build(
                () =>
                    new components.SpotInterruptionHandler("spotdir", {
                        autoScalingGroupName: "web",
                        delivery: components.Delivery.Direct,
                        reservedConcurrentExecutions: 1,
                    }),
            );
        });

        it("creates exactly the direct handler's resources: one queue (the DLQ) and no mapping", () => {
            assert.deepEqual(childTypes("spotdir"), [
                "aws:cloudwatch/dashboard:Dashboard",
                "aws:cloudwatch/eventRule:EventRule",
                "aws:cloudwatch/eventTarget:EventTarget",
                "aws:cloudwatch/logGroup:LogGroup",
                ...Array(7).fill("aws:cloudwatch/metricAlarm:MetricAlarm"),
                "aws:iam/role:Role",
                "aws:iam/rolePolicy:RolePolicy",
                "aws:lambda/function:Function",
                "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
                "aws:lambda/permission:Permission",
                "aws:sqs/queue:Queue",
                "aws:sqs/queuePolicy:QueuePolicy",
            ]);
        });

        it("parents every child to the component, names it after the component, and exposes it", async () => {
            await assertChildren("spotdir", {
                logs: [handler.logGroup, "aws:cloudwatch/logGroup:LogGroup"],
                dlq: [handler.deadLetterQueue, "aws:sqs/queue:Queue"],
                role: [handler.role, "aws:iam/role:Role"],
                policy: [handler.rolePolicy, "aws:iam/rolePolicy:RolePolicy"],
                function: [handler.handlerFunction, "aws:lambda/function:Function"],
                rule: [handler.eventRule, "aws:cloudwatch/eventRule:EventRule"],
                "dlq-policy": [handler.deadLetterQueuePolicy, "aws:sqs/queuePolicy:QueuePolicy"],
                "invoke-config": [
                    handler.invokeConfig,
                    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
                ],
                permission: [handler.permission, "aws:lambda/permission:Permission"],
                target: [handler.eventTarget, "aws:cloudwatch/eventTarget:EventTarget"],
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
            assert.deepEqual(child("aws:cloudwatch/eventTarget:EventTarget").inputs, {
                rule: "spotdir-rule-a1b2c3d",
                arn: arn("lambda", "function:spotdir-function-a1b2c3d"),
                retryPolicy: { maximumEventAgeInSeconds: 120, maximumRetryAttempts: 185 },
                deadLetterConfig: { arn: arn("sqs", "spotdir-dlq-a1b2c3d") },
            });
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
            assert.deepEqual(
                withParsed(child("aws:sqs/queuePolicy:QueuePolicy").inputs, "policy"),
                {
                    queueUrl: queueUrl("spotdir-dlq-a1b2c3d"),
                    policy: expectedDeadLetterQueuePolicy("spotdir"),
                },
            );
        });

        it("runs the serialized handler for 60 s, one warning per invocation, without the DLQ's URL", () => {
            assert.deepEqual(functionInputsWithoutCode("spotdir"), {
                description: FUNCTION_DESCRIPTION,
                handler: "__index.handler",
                role: roleArn("spotdir-role-a1b2c3d"),
                runtime: "nodejs24.x",
                architectures: ["arm64"],
                timeout: 60,
                memorySize: 256,
                // No mapping can be starved, so any reservation is accepted.
                reservedConcurrentExecutions: 1,
                environment: {
                    variables: {
                        AUTO_SCALING_GROUP_NAMES: '["web"]',
                        CAPACITY_ON_INTERRUPTION: "keep",
                        INTERRUPTION_ACTION: "auto",
                        HANDLER_NAME: handlerName("spotdir"),
                    },
                },
                loggingConfig: loggingConfig("spotdir"),
            });
        });

        it("grants exactly logs, Describe on *, DetachInstances on this group and the DLQ: no SQS draining", () => {
            assert.deepEqual(withParsed(child("aws:iam/rolePolicy:RolePolicy").inputs, "policy"), {
                role: "spotdir-role-id",
                policy: {
                    Version: "2012-10-17",
                    Statement: sharedRoleStatements("spotdir", "web"),
                },
            });
        });
    });

    describe("given tuned queue settings, a reservation, tags and a longer timeout", () => {
        const tags = { team: "web", env: "prod" };

        before(async () => {
            // Given every queue setting chosen by hand; When the component is built
            await build(
                () =>
                    new components.SpotInterruptionHandler("spottuned", {
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
                    }),
            );
        });

        it("configures the events queue with them", () => {
            assert.deepEqual(
                withParsed(named("spottuned-queue", "aws:sqs/queue:Queue").inputs, "redrivePolicy"),
                {
                    sqsManagedSseEnabled: true,
                    visibilityTimeoutSeconds: 45,
                    messageRetentionSeconds: 600,
                    redrivePolicy: {
                        deadLetterTargetArn: arn("sqs", "spottuned-dlq-a1b2c3d"),
                        maxReceiveCount: 5,
                    },
                    tags,
                },
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
            await build(
                () =>
                    new components.SpotInterruptionHandler("spotslow", {
                        autoScalingGroupName: "web",
                        timeoutSeconds: 40,
                    }),
            );
            // Then the visibility timeout covers the window the mapping may hold a record for, too
            const queue = named("spotslow-queue", "aws:sqs/queue:Queue").inputs;
            assert.equal(queue.visibilityTimeoutSeconds, 44);
            assert.equal(childOf("spotslow", "aws:lambda/function:Function").inputs.timeout, 40);
        });
    });

    describe("given a group name with the characters IAM reads as wildcards and variables", () => {
        it("grants DetachInstances on exactly that name, escaped, and gives the function the name as is", async () => {
            // Given a group called web*?$ (legal in Auto Scaling)
            // When the component is built
            await build(
                () =>
                    new components.SpotInterruptionHandler("spotesc", {
                        autoScalingGroupName: "web*?$",
                    }),
            );
            // Then the policy's ARN matches that group only, not web-prod or webhooks
            const policy = parseJson(
                named("spotesc-policy", "aws:iam/rolePolicy:RolePolicy").inputs.policy,
            ) as { Statement: { Sid: string; Resource: unknown }[] };
            assert.deepEqual(
                policy.Statement.find((s) => s.Sid === "ActOnChosenGroupsOnly"),
                {
                    Sid: "ActOnChosenGroupsOnly",
                    Effect: "Allow",
                    Action: [
                        "autoscaling:DetachInstances",
                        "autoscaling:TerminateInstanceInAutoScalingGroup",
                    ],
                    Resource: arn(
                        "autoscaling",
                        "autoScalingGroup:*:autoScalingGroupName/web${*}${?}${$}",
                    ),
                },
            );
            const fn = functionInputsWithoutCode("spotesc") as {
                environment: { variables: Record<string, string> };
            };
            assert.equal(fn.environment.variables.AUTO_SCALING_GROUP_NAMES, '["web*?$"]');
        });
    });

    describe("given decrement, a group name from another resource, and an explicit provider", () => {
        let providerUrn: string;

        before(async () => {
            // Given a group whose name is an Output, and a provider for another Region
            // When the component is built with them
            const { provider } = await build(() => {
                const explicit = new awsModule.Provider("explicit", { region: "us-west-2" });
                const group = new awsModule.autoscaling.Group("fleet", {
                    name: "fleet-asg",
                    maxSize: 4,
                    minSize: 1,
                });
                new components.SpotInterruptionHandler(
                    "spotdec",
                    {
                        autoScalingGroupName: group.name,
                        capacityOnInterruption: "decrement",
                        runtime: "nodejs22.x",
                    },
                    { provider: explicit },
                );
                return { provider: explicit };
            });
            providerUrn = await unwrap(provider.urn);
        });

        it("sends the explicit provider to every child", () => {
            const children = recorded.filter((r) => r.name.startsWith("spotdec-"));
            assert.equal(children.length, 22, "12 for the handler, 9 alarms and a dashboard");
            for (const resource of children) {
                assert.ok(
                    resource.provider?.startsWith(`${providerUrn}::`),
                    `${resource.name} uses ${resource.provider}`,
                );
            }
        });

        it("scopes DetachInstances to the resolved group, granted once and never on *", () => {
            const policy = parseJson(
                named("spotdec-policy", "aws:iam/rolePolicy:RolePolicy").inputs.policy,
            ) as { Statement: { Sid: string; Action: unknown; Resource: unknown }[] };
            const detachStatements = policy.Statement.filter((s) =>
                JSON.stringify(s.Action).includes("DetachInstances"),
            );
            assert.deepEqual(detachStatements, [
                {
                    Sid: "ActOnChosenGroupsOnly",
                    Effect: "Allow",
                    Action: [
                        "autoscaling:DetachInstances",
                        "autoscaling:TerminateInstanceInAutoScalingGroup",
                    ],
                    Resource: arn(
                        "autoscaling",
                        "autoScalingGroup:*:autoScalingGroupName/fleet-asg",
                    ),
                },
            ]);
        });

        it("configures the function for decrement on nodejs22.x, with the resolved group", () => {
            const fn = functionInputsWithoutCode("spotdec");
            assert.equal(fn.runtime, "nodejs22.x");
            assert.deepEqual(fn.environment, {
                variables: {
                    AUTO_SCALING_GROUP_NAMES: '["fleet-asg"]',
                    CAPACITY_ON_INTERRUPTION: "decrement",
                    INTERRUPTION_ACTION: "auto",
                    HANDLER_NAME: handlerName("spotdec"),
                    DEAD_LETTER_QUEUE_URL: queueUrl("spotdec-dlq-a1b2c3d"),
                    EVENTS_QUEUE_URL: queueUrl("spotdec-queue-a1b2c3d"),
                },
            });
        });
    });

    describe("given a list of groups", () => {
        before(() =>
            build(
                () =>
                    new components.SpotInterruptionHandler("spotlist", {
                        autoScalingGroupNames: ["web-a", pulumi.output("web-b")],
                    }),
            ),
        );

        it("grants DetachInstances on exactly the listed groups, and Describe on *", () => {
            const policy = parseJson(
                named("spotlist-policy", "aws:iam/rolePolicy:RolePolicy").inputs.policy,
            );
            const groupArn = (name: string) =>
                arn("autoscaling", `autoScalingGroup:*:autoScalingGroupName/${name}`);
            assert.deepEqual(policy, {
                Version: "2012-10-17",
                Statement: sharedRoleStatements("spotlist", "web-a").map((statement) =>
                    statement.Sid === "ActOnChosenGroupsOnly"
                        ? { ...statement, Resource: [groupArn("web-a"), groupArn("web-b")] }
                        : statement,
                ),
            });
        });

        it("refuses a list whose policy would not fit IAM's 10,240 characters of inline policy", () => {
            // Each listed ARN takes about 90 characters besides the name: 100 names never fit.
            const policyFor = (count: number, nameLength: number) =>
                components.handlerPolicyJson({
                    detachScope: components.detachScopeFor(
                        {
                            kind: "names",
                            names: Array.from({ length: count }, (_, i) =>
                                `g${i}`.padEnd(nameLength, "x"),
                            ),
                        },
                        { partition: "aws", region: "eu-west-1", accountId: MOCK_ACCOUNT_ID },
                    ),
                    logGroupArn: arn("logs", "log-group:l"),
                    deadLetterQueueArn: arn("sqs", "dlq"),
                    capacityOnInterruption: "keep",
                    interruptionAction: "auto",
                });

            assert.ok(policyFor(50, 30).length < 9_728);
            assert.throws(() => policyFor(100, 8), {
                message:
                    /^SpotInterruptionHandler: \[autoScalingGroupNames\] make the function's policy 10097 characters, over the 9728 it may use of IAM's 10240 for a role's inline policies: tag the groups and pass autoScalingGroupTag instead$/,
            });
        });

        it("hands the function the names as a JSON list", () => {
            const fn = functionInputsWithoutCode("spotlist") as {
                environment: { variables: Record<string, string> };
            };
            assert.equal(fn.environment.variables.AUTO_SCALING_GROUP_NAMES, '["web-a","web-b"]');
            assert.equal(fn.environment.variables.AUTO_SCALING_GROUP_TAG, undefined);
        });

        it("charts every listed group by name, quiet ones too", () => {
            const body = parseJson(
                childOf("spotlist", "aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody,
            ) as {
                widgets: { properties: { title: string; metrics: unknown[][] } }[];
            };
            const perGroup = body.widgets.find((w) =>
                w.properties.title.startsWith("Detached, per group"),
            );
            assert.deepEqual(perGroup?.properties.metrics, [
                [
                    "SpotInterruptionHandler",
                    "Detached",
                    "Handler",
                    handlerName("spotlist"),
                    "AutoScalingGroupName",
                    "web-a",
                    { label: "web-a" },
                ],
                [
                    "SpotInterruptionHandler",
                    "Detached",
                    "Handler",
                    handlerName("spotlist"),
                    "AutoScalingGroupName",
                    "web-b",
                    { label: "web-b" },
                ],
            ]);
        });
    });

    describe("given a tag, with or without a value", () => {
        before(() =>
            build(() => {
                new components.SpotInterruptionHandler("spottag", {
                    autoScalingGroupTag: { key: "spot-handler", value: "web${aws:username}" },
                });
                new components.SpotInterruptionHandler("spotkey", {
                    autoScalingGroupTag: { key: "spot-handler" },
                    capacityOnInterruption: "decrement",
                });
            }),
        );

        it("grants DetachInstances on this account and Region's groups only where the group carries the tag's value, escaped", () => {
            const policy = parseJson(
                named("spottag-policy", "aws:iam/rolePolicy:RolePolicy").inputs.policy,
            );
            assert.deepEqual(policy, {
                Version: "2012-10-17",
                Statement: sharedRoleStatements("spottag", "unused").map((statement) =>
                    statement.Sid === "ActOnChosenGroupsOnly"
                        ? {
                              ...statement,
                              Resource: arn(
                                  "autoscaling",
                                  "autoScalingGroup:*:autoScalingGroupName/*",
                              ),
                              Condition: {
                                  StringEquals: {
                                      "autoscaling:ResourceTag/spot-handler":
                                          "web${$}{aws:username}",
                                  },
                              },
                          }
                        : statement,
                ),
            });
        });

        it("without a value, grants it where the key is set at all (a Null condition)", () => {
            const policy = parseJson(
                named("spotkey-policy", "aws:iam/rolePolicy:RolePolicy").inputs.policy,
            ) as {
                Statement: { Sid: string }[];
            };
            assert.deepEqual(
                policy.Statement.find((s) => s.Sid === "ActOnChosenGroupsOnly"),
                {
                    Sid: "ActOnChosenGroupsOnly",
                    Effect: "Allow",
                    Action: [
                        "autoscaling:DetachInstances",
                        "autoscaling:TerminateInstanceInAutoScalingGroup",
                    ],
                    Resource: arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*"),
                    Condition: { Null: { "autoscaling:ResourceTag/spot-handler": "false" } },
                },
            );
        });

        it("hands the function the tag, and charts the groups it finds by search", () => {
            const fn = functionInputsWithoutCode("spotkey") as {
                environment: { variables: Record<string, string> };
            };
            assert.equal(fn.environment.variables.AUTO_SCALING_GROUP_TAG, '{"key":"spot-handler"}');
            assert.equal(fn.environment.variables.AUTO_SCALING_GROUP_NAMES, undefined);
            const body = JSON.stringify(
                parseJson(
                    childOf("spotkey", "aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody,
                ),
            );
            assert.ok(
                body.includes(
                    `SEARCH('{SpotInterruptionHandler,AutoScalingGroupName,Handler} Handler=\\"${handlerName("spotkey")}\\" MetricName=\\"Detached\\"', 'Sum', 60)`,
                ),
                body.slice(0, 400),
            );
        });
    });

    describe("given bad arguments", () => {
        const directOnly = (arg: keyof HandlerArgs, value: number) => ({
            when: `${arg} with direct delivery`,
            args: { delivery: "direct", [arg]: value },
            message: `[${arg}] applies only with delivery "queue"; remove it, or set delivery to "queue"`,
        });
        const cases: { when: string; args: Record<string, unknown>; message: string }[] = [
            {
                when: "no group name",
                args: { autoScalingGroupName: undefined },
                message:
                    "[autoScalingGroupName] is required: pass the name of the Auto Scaling group to protect, or autoScalingGroupNames (a list), or autoScalingGroupTag ({ key, value })",
            },
            {
                when: "an empty group name",
                args: { autoScalingGroupName: "" },
                message:
                    "[autoScalingGroupName] is empty: pass the name of the Auto Scaling group to protect",
            },
            {
                when: "a whitespace-only group name",
                args: { autoScalingGroupName: " \t " },
                message:
                    "[autoScalingGroupName] is empty: pass the name of the Auto Scaling group to protect",
            },
            {
                when: "a group name with surrounding whitespace",
                args: { autoScalingGroupName: " web " },
                message:
                    '[autoScalingGroupName] " web " has surrounding whitespace: pass the group\'s exact name, "web"',
            },
            {
                when: "a group name of 256 characters",
                args: { autoScalingGroupName: "w".repeat(256) },
                message:
                    "[autoScalingGroupName] is 256 characters long; Auto Scaling group names have at most 255",
            },
            {
                when: "a group name with a colon (an ARN)",
                args: { autoScalingGroupName: "autoScalingGroupName/web:1" },
                message:
                    '[autoScalingGroupName] "autoScalingGroupName/web:1" contains a colon, which Auto Scaling group names cannot: pass the group\'s name, not its ARN',
            },
            {
                when: "an unknown delivery",
                args: { delivery: "sqs" },
                message: '[delivery] is "sqs"; allowed values are "queue", "direct"',
            },
            {
                when: "an unknown capacity choice",
                args: { capacityOnInterruption: "shrink" },
                message:
                    '[capacityOnInterruption] is "shrink"; allowed values are "keep", "decrement"',
            },
            {
                when: "a deprecated runtime",
                args: { runtime: "nodejs20.x" },
                message: '[runtime] is "nodejs20.x"; allowed values are "nodejs24.x", "nodejs22.x"',
            },
            {
                when: "a retention CloudWatch refuses",
                args: { logRetentionInDays: 31 },
                message:
                    "[logRetentionInDays] is 31; CloudWatch Logs accepts 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
            },
            {
                when: "a timeout below 10 s",
                args: { timeoutSeconds: 5 },
                message: "[timeoutSeconds] is 5; it must be a whole number from 10 to 900",
            },
            {
                when: "a fractional memory size",
                args: { memorySizeMb: 200.5 },
                message: "[memorySizeMb] is 200.5; it must be a whole number from 128 to 10240",
            },
            {
                when: "a retry window longer than the notice",
                args: { maximumEventAgeInSeconds: 300 },
                message:
                    "[maximumEventAgeInSeconds] is 300; it must be a whole number from 60 to 120",
            },
            {
                when: "a visibility timeout shorter than the function's timeout",
                args: { timeoutSeconds: 30, visibilityTimeoutSeconds: 20 },
                message:
                    "[visibilityTimeoutSeconds] is 20, shorter than timeoutSeconds 30: Lambda refuses to map a queue whose visibility timeout is shorter than the function's timeout; raise it to at least 34 (timeoutSeconds + maximumBatchingWindowInSeconds)",
            },
            {
                when: "a visibility timeout shorter than the function's timeout plus the window",
                args: {
                    timeoutSeconds: 16,
                    maximumBatchingWindowInSeconds: 6,
                    visibilityTimeoutSeconds: 20,
                },
                message:
                    "[visibilityTimeoutSeconds] is 20, shorter than timeoutSeconds 16 + maximumBatchingWindowInSeconds 6 = 22: the mapping may hold a record for the whole window before the function's timeout starts, so the record could become visible again, and be received again, while its own batch still runs; raise it to at least 22",
            },
            {
                when: "a batching window that breaks the safety net's 60 s",
                args: { maximumBatchingWindowInSeconds: 11 },
                message:
                    "[maximumBatchingWindowInSeconds] is 11, over 10: the Capacity Rebalancing safety net re-checks a warning 25 s after it, may wait 20 s for Lambda's poller and then the window, and needs 5 s to act, all within 60 s; lower it to at most 10",
            },
            {
                when: "a timeout that, with the window, leaves a lone warning no retry in its notice",
                args: { timeoutSeconds: 57 },
                message:
                    "[timeoutSeconds] leaves a lone warning waiting up to maximumBatchingWindowInSeconds 4 + timeoutSeconds 57 = 61 s for its first attempt, over 60 s (half the 120 s notice): an attempt that runs to its timeout would leave no retry inside the notice; lower either so that they sum to at most 60",
            },
            {
                when: "a window that, with the timeout, leaves a lone warning no retry in its notice",
                args: { timeoutSeconds: 52, maximumBatchingWindowInSeconds: 9 },
                message:
                    "[maximumBatchingWindowInSeconds] leaves a lone warning waiting up to maximumBatchingWindowInSeconds 9 + timeoutSeconds 52 = 61 s for its first attempt, over 60 s (half the 120 s notice): an attempt that runs to its timeout would leave no retry inside the notice; lower either so that they sum to at most 60",
            },
            {
                when: "a batch over 10 with no batching window",
                args: { batchSize: 11, maximumBatchingWindowInSeconds: 0 },
                message:
                    "[maximumBatchingWindowInSeconds] is 0, but Lambda requires at least 1 for a batchSize over 10 (11); raise it or lower batchSize to 10",
            },
            {
                when: "a retention shorter than the receives can take",
                args: {
                    visibilityTimeoutSeconds: 40,
                    maxReceiveCount: 5,
                    messageRetentionSeconds: 300,
                },
                message:
                    "[messageRetentionSeconds] is 300, less than the 320 s that maxReceiveCount 5 receives can take (each up to 20 s of Lambda's long poll plus visibilityTimeoutSeconds 40, and one more poll): SQS would delete a record before its retries end, without dead-lettering it; raise it to at least 320",
            },
            {
                when: "a maximum concurrency of 1",
                args: { maximumConcurrency: 1 },
                message: "[maximumConcurrency] is 1; it must be a whole number from 2 to 1000",
            },
            {
                when: "a maximum concurrency of 1001",
                args: { maximumConcurrency: 1001 },
                message: "[maximumConcurrency] is 1001; it must be a whole number from 2 to 1000",
            },
            directOnly("batchSize", 10),
            directOnly("maximumBatchingWindowInSeconds", 1),
            directOnly("maximumConcurrency", 2),
            directOnly("visibilityTimeoutSeconds", 60),
            directOnly("maxReceiveCount", 5),
            directOnly("messageRetentionSeconds", 3600),
            {
                when: "retries that would dead-letter a warning inside its notice",
                args: { maxReceiveCount: 7 },
                message:
                    "[maxReceiveCount] is 7: with visibilityTimeoutSeconds 20, SQS could dead-letter a waiting or failed warning 100 s after its first receive ((maxReceiveCount − 2) × visibilityTimeoutSeconds, since one re-check may come early), while its 120 s notice still runs; raise it to at least 8",
            },
            {
                when: "a group name and a list of names together",
                args: { autoScalingGroupNames: ["api"] },
                message:
                    "[autoScalingGroupNames] cannot be combined with autoScalingGroupName: pass exactly one of autoScalingGroupName, autoScalingGroupNames, autoScalingGroupTag",
            },
            {
                when: "an empty list of names",
                args: { autoScalingGroupName: undefined, autoScalingGroupNames: [] },
                message:
                    "[autoScalingGroupNames] has 0 names; pass a list of 1 to 100 group names, or autoScalingGroupTag for more",
            },
            {
                when: "101 names",
                args: {
                    autoScalingGroupName: undefined,
                    autoScalingGroupNames: Array.from({ length: 101 }, (_, i) => `g${i}`),
                },
                message:
                    "[autoScalingGroupNames] has 101 names; pass a list of 1 to 100 group names, or autoScalingGroupTag for more",
            },
            {
                when: "a name listed twice",
                args: { autoScalingGroupName: undefined, autoScalingGroupNames: ["a", "b", "a"] },
                message: '[autoScalingGroupNames] names "a" twice: list each group once',
            },
            {
                when: "a listed ARN",
                args: { autoScalingGroupName: undefined, autoScalingGroupNames: ["a", "b:c"] },
                message:
                    '[autoScalingGroupNames[1]] "b:c" contains a colon, which Auto Scaling group names cannot: pass the group\'s name, not its ARN',
            },
            {
                when: "names too long for Lambda's 4 KB of environment",
                args: {
                    autoScalingGroupName: undefined,
                    autoScalingGroupNames: Array.from({ length: 20 }, (_, i) =>
                        `g${i}`.padEnd(200, "x"),
                    ),
                },
                message:
                    "[autoScalingGroupNames] takes 4061 characters of the function's environment, over the 3072 it may use of Lambda's 4 KB: tag the groups and pass autoScalingGroupTag instead",
            },
            {
                when: "a tag without a key",
                args: { autoScalingGroupName: undefined, autoScalingGroupTag: { key: " " } },
                message:
                    '[autoScalingGroupTag.key] is " "; pass the tag\'s key, 1 to 128 characters',
            },
            {
                when: "a tag with a field it does not take",
                args: {
                    autoScalingGroupName: undefined,
                    autoScalingGroupTag: { key: "team", values: ["web"] },
                },
                message: '[autoScalingGroupTag] has "values"; it takes only "key" and "value"',
            },
            {
                when: "a tag value over 256 characters",
                args: {
                    autoScalingGroupName: undefined,
                    autoScalingGroupTag: { key: "team", value: "v".repeat(257) },
                },
                message: `[autoScalingGroupTag.value] is "${"v".repeat(257)}"; pass the tag's value (at most 256 characters), or leave it out to match any value`,
            },
            {
                when: "fault injection by tag, without the group to interrupt",
                args: {
                    autoScalingGroupName: undefined,
                    autoScalingGroupTag: { key: "team", value: "web" },
                    faultInjection: { enabled: true },
                },
                message:
                    "[faultInjection.autoScalingGroupName] is required with autoScalingGroupTag: name the tagged group whose instances the experiment interrupts",
            },
            {
                when: "a reservation below the mapping's maximum concurrency",
                args: { reservedConcurrentExecutions: 1 },
                message:
                    "[reservedConcurrentExecutions] is 1, below maximumConcurrency 2: the mapping's invocations would be throttled; reserve at least 2",
            },
        ];

        for (const { when, args, message } of cases) {
            it(`refuses ${when}, naming the argument, and registers nothing`, async () => {
                // Given an empty record of registrations
                await registrationsSettled();
                resetRecorded();
                // When the component is built with the bad argument
                assert.throws(
                    () =>
                        new components.SpotInterruptionHandler("bad", {
                            autoScalingGroupName: "web",
                            ...args,
                        } as HandlerArgs),
                    { message: `SpotInterruptionHandler: ${message}` },
                );
                // Then, once registrations have settled, not even the component was registered.
                // Proven to fail: with validation moved after super(), this assertion failed.
                await registrationsSettled();
                assert.deepEqual(recorded, []);
            });
        }
    });

    describe("given a group name that is an Output and resolves to a bad name", () => {
        const rejections: unknown[] = [];
        const onRejection = (reason: unknown) => rejections.push(reason);

        before(() => process.on("unhandledRejection", onRejection));
        after(() => {
            process.off("unhandledRejection", onRejection);
            // The failed registrations leave the engine waiting for ever: start a fresh one.
            installPulumiMocks();
            resetRecorded();
        });

        it("fails the program, naming the argument, and never registers the name's policy or function", async () => {
            // Given a group whose name, known only once it is created, is an ARN
            await registrationsSettled();
            resetRecorded();
            const group = new awsModule.autoscaling.Group("badfleet", {
                name: "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:x:autoScalingGroupName/web",
                maxSize: 1,
                minSize: 1,
            });
            // When the component is built with it, which cannot be judged yet
            const handler = new components.SpotInterruptionHandler("spotbad", {
                autoScalingGroupName: group.name,
            });
            // Then the program fails once the name resolves, as `pulumi up` reports an
            // unhandled error (proven to fail: without the component's validating apply, no
            // rejection came)
            const deadline = Date.now() + 10_000;
            const namesTheArgument = (reason: unknown) =>
                reason instanceof Error &&
                reason.message.includes(
                    'SpotInterruptionHandler: [autoScalingGroupName] "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:x:autoScalingGroupName/web" contains a colon',
                );
            while (!rejections.some(namesTheArgument)) {
                assert.ok(Date.now() < deadline, "no error names autoScalingGroupName");
                await new Promise((resolve) => setTimeout(resolve, 20));
            }
            // And what does not carry the name is registered, but the policy and function never
            await unwrap(handler.deadLetterQueuePolicy.urn);
            assert.ok(handler.queuePolicy !== undefined);
            await unwrap(handler.queuePolicy.urn);
            const registered = recorded.map((r) => r.name);
            assert.ok(registered.includes("spotbad-dlq-policy"));
            for (const never of ["spotbad-policy", "spotbad-function", "spotbad-mapping"]) {
                assert.equal(registered.includes(never), false, `${never} was registered`);
            }
        });
    });
});
