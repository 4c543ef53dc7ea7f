/** SpotInterruptionHandler with direct delivery under Pulumi mocks: one invocation per warning. */
import * as assert from "node:assert/strict";
import { recorded } from "../../../offline/pulumi-engine";
import {
    arn,
    assertDeadLetterQueuePolicy,
    assertExactChildren,
    assertSharedRolePolicy,
    buildHandler,
    childOf,
    childrenOf,
    type Components,
    defaultFunctionInputs,
    functionInputsWithoutCode,
    type Handler,
    INTERRUPTION_WARNING_PATTERN,
    mockedComponents,
    parseJson,
    ruleTarget,
} from "../../support/handler-mocks";

describe("SpotInterruptionHandler, given direct delivery", () => {
    let components: Components;
    let handler: Handler;
    const child = (type: string) => childOf("spotdir", type);

    before(async () => {
        components = await mockedComponents();
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
