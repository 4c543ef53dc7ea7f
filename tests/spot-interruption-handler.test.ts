import * as assert from "node:assert/strict";
import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import {
    installPulumiMocks,
    MOCK_ACCOUNT_ID,
    recorded,
    type RecordedResource,
    unwrap,
} from "../scripts/offline-engine";

type Components = typeof import("../components");

const COMPONENT_TYPE = "spot-interruption-handler:index:SpotInterruptionHandler";
const ARN_PREFIX = `arn:aws:%s:eu-west-1:${MOCK_ACCOUNT_ID}`;
const arn = (service: string, resource: string) =>
    `${ARN_PREFIX.replace("%s", service)}:${resource}`;

/** The one resource of `type` that the component called `component` created. */
function childOf(component: string, type: string): RecordedResource {
    const matches = recorded.filter((r) => r.type === type && r.name.startsWith(`${component}-`));
    assert.equal(matches.length, 1, `expected exactly one ${type} in ${component}`);
    return matches[0];
}

function parseJson(value: unknown): unknown {
    assert.equal(typeof value, "string", "a policy or pattern input is a JSON string");
    return JSON.parse(value as string);
}

/** Waits until every output of the component has resolved, so that `recorded` is complete. */
async function settled(
    handler: InstanceType<Components["SpotInterruptionHandler"]>,
): Promise<void> {
    await unwrap(handler.eventTarget.id);
    await unwrap(handler.deadLetterQueuePolicy.id);
    await unwrap(handler.invokeConfig.id);
}

describe("SpotInterruptionHandler", () => {
    let components: Components;
    let awsModule: typeof aws;

    before(async () => {
        installPulumiMocks();
        components = await import("../components");
        awsModule = await import("@pulumi/aws");
    });

    describe("given only a group name", () => {
        let handler: InstanceType<Components["SpotInterruptionHandler"]>;
        const child = (type: string) => childOf("spot", type);

        before(async () => {
            handler = new components.SpotInterruptionHandler("spot", {
                autoScalingGroupName: "web",
            });
            await settled(handler);
        });

        it("creates exactly the handler's resources, and no role policy attachment", () => {
            const types = recorded
                .filter((r) => r.name.startsWith("spot-"))
                .map((r) => r.type)
                .sort();
            assert.deepEqual(types, [
                "aws:cloudwatch/eventRule:EventRule",
                "aws:cloudwatch/eventTarget:EventTarget",
                "aws:cloudwatch/logGroup:LogGroup",
                "aws:iam/role:Role",
                "aws:iam/rolePolicy:RolePolicy",
                "aws:lambda/function:Function",
                "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
                "aws:lambda/permission:Permission",
                "aws:sqs/queue:Queue",
                "aws:sqs/queuePolicy:QueuePolicy",
            ]);
        });

        it("parents every child to the component and names it after the component", async () => {
            const children: Record<string, pulumi.Resource> = {
                "spot-rule": handler.eventRule,
                "spot-target": handler.eventTarget,
                "spot-function": handler.handlerFunction,
                "spot-role": handler.role,
                "spot-policy": handler.rolePolicy,
                "spot-permission": handler.permission,
                "spot-dlq": handler.deadLetterQueue,
                "spot-dlq-policy": handler.deadLetterQueuePolicy,
                "spot-logs": handler.logGroup,
                "spot-invoke-config": handler.invokeConfig,
            };
            for (const [name, resource] of Object.entries(children)) {
                const urn = await unwrap(resource.urn);
                assert.match(urn, new RegExp(`::${COMPONENT_TYPE}\\$[^:]+:[^:]+:[^:]+::${name}$`));
            }
        });

        it("matches exactly the Spot interruption warnings of the default bus", () => {
            const rule = child("aws:cloudwatch/eventRule:EventRule").inputs;
            assert.deepEqual(parseJson(rule.eventPattern), {
                source: ["aws.ec2"],
                "detail-type": ["EC2 Spot Instance Interruption Warning"],
            });
            assert.equal(rule.eventBusName, undefined);
        });

        it("lets EventBridge invoke the function for this rule only", () => {
            const permission = child("aws:lambda/permission:Permission").inputs;
            assert.deepEqual(permission, {
                action: "lambda:InvokeFunction",
                function: "spot-function-a1b2c3d",
                principal: "events.amazonaws.com",
                sourceArn: arn("events", "rule/spot-rule-a1b2c3d"),
            });
        });

        it("targets the function with a retry window no longer than the notice, and a dead-letter queue", () => {
            const target = child("aws:cloudwatch/eventTarget:EventTarget").inputs;
            assert.equal(target.arn, arn("lambda", "function:spot-function-a1b2c3d"));
            assert.equal(target.rule, "spot-rule-a1b2c3d");
            assert.deepEqual(target.retryPolicy, {
                maximumEventAgeInSeconds: 120,
                maximumRetryAttempts: 185,
            });
            assert.deepEqual(target.deadLetterConfig, { arn: arn("sqs", "spot-dlq-a1b2c3d") });
        });

        it("dead-letters Lambda's own failed invocations after at most 2 retries within 120 s", () => {
            assert.deepEqual(
                child("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").inputs,
                {
                    functionName: "spot-function-a1b2c3d",
                    maximumRetryAttempts: 2,
                    maximumEventAgeInSeconds: 120,
                    destinationConfig: {
                        onFailure: { destination: arn("sqs", "spot-dlq-a1b2c3d") },
                    },
                },
            );
        });

        it("keeps dead letters encrypted for 14 days, sendable only by this rule's EventBridge", () => {
            const queue = child("aws:sqs/queue:Queue").inputs;
            assert.equal(queue.sqsManagedSseEnabled, true);
            assert.equal(queue.messageRetentionSeconds, 1_209_600);
            const queuePolicy = child("aws:sqs/queuePolicy:QueuePolicy").inputs;
            assert.equal(
                queuePolicy.queueUrl,
                `https://sqs.eu-west-1.amazonaws.com/${MOCK_ACCOUNT_ID}/spot-dlq-a1b2c3d`,
            );
            assert.deepEqual(parseJson(queuePolicy.policy), {
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "EventBridgeDeadLetters",
                        Effect: "Allow",
                        Principal: { Service: "events.amazonaws.com" },
                        Action: "sqs:SendMessage",
                        Resource: arn("sqs", "spot-dlq-a1b2c3d"),
                        Condition: {
                            ArnEquals: { "aws:SourceArn": arn("events", "rule/spot-rule-a1b2c3d") },
                        },
                    },
                ],
            });
        });

        it("runs on nodejs24.x with JSON logs into its own log group of 30 days", () => {
            const fn = child("aws:lambda/function:Function").inputs;
            assert.equal(fn.runtime, "nodejs24.x");
            assert.equal(fn.handler, "__index.handler");
            assert.equal(fn.timeout, 60);
            assert.equal(fn.memorySize, 256);
            assert.equal(fn.role, `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/spot-role-a1b2c3d`);
            assert.deepEqual(fn.environment, {
                variables: { AUTO_SCALING_GROUP_NAME: "web", CAPACITY_ON_INTERRUPTION: "keep" },
            });
            assert.deepEqual(fn.loggingConfig, {
                logFormat: "JSON",
                logGroup: "spot-logs-a1b2c3d",
                applicationLogLevel: "INFO",
                systemLogLevel: "WARN",
            });
            assert.equal(child("aws:cloudwatch/logGroup:LogGroup").inputs.retentionInDays, 30);
        });

        it("lets only Lambda assume the role", () => {
            const role = child("aws:iam/role:Role").inputs;
            assert.deepEqual(parseJson(role.assumeRolePolicy), {
                Version: "2012-10-17",
                Statement: [
                    {
                        Effect: "Allow",
                        Principal: { Service: "lambda.amazonaws.com" },
                        Action: "sts:AssumeRole",
                    },
                ],
            });
            assert.equal(role.managedPolicyArns, undefined);
        });

        it("grants exactly logs, Describe on *, DetachInstances on this group's ARN, and the DLQ", () => {
            assert.deepEqual(parseJson(child("aws:iam/rolePolicy:RolePolicy").inputs.policy), {
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "WriteOwnLogs",
                        Effect: "Allow",
                        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                        Resource: `${arn("logs", "log-group:spot-logs-a1b2c3d")}:*`,
                    },
                    {
                        Sid: "FindInstanceGroup",
                        Effect: "Allow",
                        Action: ["autoscaling:DescribeAutoScalingInstances"],
                        Resource: "*",
                    },
                    {
                        Sid: "DetachFromOwnGroupOnly",
                        Effect: "Allow",
                        Action: "autoscaling:DetachInstances",
                        Resource: arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/web"),
                    },
                    {
                        Sid: "DeadLetterFailedInvocations",
                        Effect: "Allow",
                        Action: "sqs:SendMessage",
                        Resource: arn("sqs", "spot-dlq-a1b2c3d"),
                    },
                ],
            });
        });
    });

    describe("given decrement, a group name from another resource, and an explicit provider", () => {
        let providerUrn: string;

        before(async () => {
            const provider = new awsModule.Provider("explicit", { region: "us-west-2" });
            const group = new awsModule.autoscaling.Group("fleet", {
                name: "fleet-asg",
                maxSize: 4,
                minSize: 1,
            });
            const handler = new components.SpotInterruptionHandler(
                "spotdec",
                {
                    autoScalingGroupName: group.name,
                    capacityOnInterruption: "decrement",
                    runtime: "nodejs22.x",
                },
                { provider },
            );
            providerUrn = await unwrap(provider.urn);
            await settled(handler);
        });

        it("sends the explicit provider to every child", () => {
            const children = recorded.filter((r) => r.name.startsWith("spotdec-"));
            assert.equal(children.length, 10);
            for (const resource of children) {
                assert.ok(
                    resource.provider?.startsWith(`${providerUrn}::`),
                    `${resource.name} uses ${resource.provider}`,
                );
            }
        });

        it("scopes DetachInstances to the resolved group and may also read group sizes", () => {
            const policy = parseJson(
                childOf("spotdec", "aws:iam/rolePolicy:RolePolicy").inputs.policy,
            ) as {
                Statement: { Sid: string; Action: unknown; Resource: unknown }[];
            };
            const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
            assert.deepEqual(bySid.FindInstanceGroup.Action, [
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeAutoScalingGroups",
            ]);
            assert.equal(
                bySid.DetachFromOwnGroupOnly.Resource,
                arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/fleet-asg"),
            );
            const detachStatements = policy.Statement.filter((s) =>
                JSON.stringify(s.Action).includes("DetachInstances"),
            );
            assert.equal(detachStatements.length, 1, "DetachInstances is granted once, never on *");
        });

        it("configures the function for decrement on nodejs22.x", () => {
            const fn = childOf("spotdec", "aws:lambda/function:Function").inputs;
            assert.equal(fn.runtime, "nodejs22.x");
            assert.deepEqual(fn.environment, {
                variables: {
                    AUTO_SCALING_GROUP_NAME: "fleet-asg",
                    CAPACITY_ON_INTERRUPTION: "decrement",
                },
            });
        });
    });

    describe("given bad arguments", () => {
        const cases: [string, Record<string, unknown>, RegExp][] = [
            [
                "an empty group name",
                { autoScalingGroupName: "" },
                /\[autoScalingGroupName\] is required/,
            ],
            [
                "an unknown capacity choice",
                { capacityOnInterruption: "shrink" },
                /\[capacityOnInterruption\] is "shrink"; allowed values are "keep", "decrement"/,
            ],
            [
                "a deprecated runtime",
                { runtime: "nodejs20.x" },
                /\[runtime\] is "nodejs20.x"; allowed values are "nodejs24.x", "nodejs22.x"/,
            ],
            [
                "a retention CloudWatch refuses",
                { logRetentionInDays: 31 },
                /\[logRetentionInDays\] is 31/,
            ],
            [
                "a timeout below 10 s",
                { timeoutSeconds: 5 },
                /\[timeoutSeconds\] is 5; it must be a whole number from 10 to 900/,
            ],
            ["a fractional memory size", { memorySizeMb: 200.5 }, /\[memorySizeMb\] is 200.5/],
            [
                "a retry window longer than the notice",
                { maximumEventAgeInSeconds: 300 },
                /\[maximumEventAgeInSeconds\] is 300; it must be a whole number from 60 to 120/,
            ],
        ];
        for (const [what, overrides, message] of cases) {
            it(`throws before registering anything for ${what}, naming the argument`, () => {
                const before = recorded.length;
                assert.throws(
                    () =>
                        new components.SpotInterruptionHandler(`bad-${recorded.length}`, {
                            autoScalingGroupName: "web",
                            ...overrides,
                        } as ConstructorParameters<Components["SpotInterruptionHandler"]>[1]),
                    message,
                );
                assert.deepEqual(recorded.slice(before), [], "nothing is registered");
            });
        }
    });
});
