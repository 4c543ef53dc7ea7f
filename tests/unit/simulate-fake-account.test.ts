/** The fake AWS account of the simulate tests (tests/support/fake-account.ts), held to AWS's behaviour. */
import * as assert from "node:assert/strict";
import {
    DescribeAutoScalingGroupsCommand,
    DescribeScalingActivitiesCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { FakeAccount } from "../support/fake-account";
import {
    DRAIN_SECONDS,
    FUNCTION,
    GROUP,
    INSTANCES,
    REPLACEMENT,
    T0,
    TG_ARN,
} from "../support/fake-account";

/** An account whose function got the warning for the first instance, bare, once. */
async function accountWarnedOnce(): Promise<FakeAccount> {
    const account = new FakeAccount();
    const warning = { detail: { "instance-id": INSTANCES[0] } };
    const Payload = new TextEncoder().encode(JSON.stringify(warning));
    await account.clients.lambda.send(new InvokeCommand({ FunctionName: FUNCTION, Payload }));
    return account;
}

describe("the fake AWS account of the simulate tests answers as AWS does", () => {
    it("reports a registered instance as healthy before any drain", async () => {
        const account = new FakeAccount();

        const { TargetHealthDescriptions } = await account.clients.elbv2.send(
            new DescribeTargetHealthCommand({
                TargetGroupArn: TG_ARN,
                Targets: [{ Id: INSTANCES[0] }],
            }),
        );

        assert.equal(TargetHealthDescriptions?.[0].TargetHealth?.State, "healthy");
    });

    it("lists scaling activities newest first", async () => {
        const account = await accountWarnedOnce();

        const { Activities = [] } = await account.clients.autoScaling.send(
            new DescribeScalingActivitiesCommand({ AutoScalingGroupName: GROUP }),
        );

        assert.deepEqual(
            Activities.map((a) => a.Description),
            [
                `Launching a new EC2 instance: ${REPLACEMENT}`,
                `Detaching EC2 instance: ${INSTANCES[0]}`,
            ],
        );
    });

    it("ends a drain after the deregistration delay: the target unused, the instance out of the group", async () => {
        const account = await accountWarnedOnce();

        account.advance(T0 + DRAIN_SECONDS * 1000);

        const health = await account.clients.elbv2.send(
            new DescribeTargetHealthCommand({
                TargetGroupArn: TG_ARN,
                Targets: [{ Id: INSTANCES[0] }],
            }),
        );
        const groups = await account.clients.autoScaling.send(
            new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }),
        );
        assert.equal(health.TargetHealthDescriptions?.[0].TargetHealth?.State, "unused");
        assert.ok(
            !groups.AutoScalingGroups?.[0].Instances?.some((i) => i.InstanceId === INSTANCES[0]),
        );
    });
});
