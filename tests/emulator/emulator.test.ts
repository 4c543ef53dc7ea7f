/** The local AWS emulator as the workshop uses it: a seeded environment, EventBridge rules that deliver into SQS, and DetachInstances refused as AWS refuses it, for each reason AWS gives. */
import { strict as assert } from "node:assert";
import { DEFAULT_INSTANCE_TYPES } from "../../components/spot-web-tier";
import {
    AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DescribeAutoScalingInstancesCommand,
    DetachInstancesCommand,
    EnterStandbyCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
    DescribeTargetGroupAttributesCommand,
    DescribeTargetGroupsCommand,
    DescribeTargetHealthCommand,
    ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
    EventBridgeClient,
    PutEventsCommand,
    PutRuleCommand,
    PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import {
    CreateQueueCommand,
    GetQueueAttributesCommand,
    ReceiveMessageCommand,
    SQSClient,
} from "@aws-sdk/client-sqs";
import {
    clientConfigFor,
    describeGroupState,
    describeInstanceState,
} from "../../emulator/group-state";
import { seedWorkshopEnvironment, type WorkshopEnvironment } from "../../emulator/workshop";
import { setLifecycleState } from "../../emulator/group-side";
import { autoScalingErrors } from "../support/auto-scaling-errors";
import { assertRefusedWith as assertRefusedAsAwsDoes, membershipOf } from "../support/group-side";
import { tierEmulatorForSuite } from "../support/tier-emulator";

describe("The local AWS emulator", function () {
    const tier = tierEmulatorForSuite();

    describe("when the workshop environment is seeded", function () {
        let workshop: WorkshopEnvironment;
        let autoScaling: AutoScalingClient;
        let ec2: EC2Client;
        let elbv2: ElasticLoadBalancingV2Client;

        before(async function () {
            await tier.emulator.reset();
            workshop = await seedWorkshopEnvironment(tier.emulator);
            autoScaling = new AutoScalingClient(clientConfigFor(tier.emulator));
            ec2 = new EC2Client(clientConfigFor(tier.emulator));
            elbv2 = new ElasticLoadBalancingV2Client(clientConfigFor(tier.emulator));
        });

        after(function () {
            autoScaling?.destroy();
            ec2?.destroy();
            elbv2?.destroy();
        });

        it("runs the web group at min 2 and desired 4, with 4 InService instances over all three subnets", async function () {
            // Given the seeded environment
            // When the web group and its instances are described
            const web = await describeGroupState(tier.emulator, workshop.webGroupName);
            const instanceIds = web.instances.map((instance) => instance.instanceId);
            const described = await ec2.send(
                new DescribeInstancesCommand({ InstanceIds: instanceIds }),
            );
            const subnetIds = new Set(
                described.Reservations?.flatMap((reservation) =>
                    (reservation.Instances ?? []).map((instance) => instance.SubnetId),
                ),
            );

            // Then
            assert.equal(web.minSize, 2);
            assert.equal(web.desiredCapacity, 4);
            assert.equal(web.maxSize, 12);
            assert.deepEqual(
                web.instances.map((instance) => instance.lifecycleState),
                ["InService", "InService", "InService", "InService"],
            );
            assert.deepEqual(subnetIds, new Set(workshop.subnetIds));
            assert.deepEqual(
                new Set(web.instances.map((instance) => instance.availabilityZone)),
                new Set(["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
            );
        });

        it("gives the web group the web tier's shape: Spot-only, price-capacity-optimized, over its default types", async function () {
            // Given the seeded environment
            // When the web group is described
            const response = await autoScaling.send(
                new DescribeAutoScalingGroupsCommand({
                    AutoScalingGroupNames: [workshop.webGroupName],
                }),
            );
            const policy = response.AutoScalingGroups?.[0]?.MixedInstancesPolicy;

            // Then
            const overrideTypes = policy?.LaunchTemplate?.Overrides?.map(
                (override) => override.InstanceType,
            );
            assert.deepEqual(overrideTypes, [...DEFAULT_INSTANCE_TYPES]);
            assert.equal(
                policy?.LaunchTemplate?.LaunchTemplateSpecification?.LaunchTemplateId,
                workshop.launchTemplateId,
            );
            assert.deepEqual(policy?.InstancesDistribution, {
                OnDemandBaseCapacity: 0,
                OnDemandPercentageAboveBaseCapacity: 0,
                SpotAllocationStrategy: "price-capacity-optimized",
            });
        });

        it("registers the web instances in an HTTP:80 target group whose deregistration delay is 120 s", async function () {
            // Given the seeded environment
            // When the group, the target group and its targets are described
            const groups = await autoScaling.send(
                new DescribeAutoScalingGroupsCommand({
                    AutoScalingGroupNames: [workshop.webGroupName],
                }),
            );
            const targetGroups = await elbv2.send(
                new DescribeTargetGroupsCommand({ TargetGroupArns: [workshop.targetGroupArn] }),
            );
            const attributes = await elbv2.send(
                new DescribeTargetGroupAttributesCommand({
                    TargetGroupArn: workshop.targetGroupArn,
                }),
            );
            const health = await elbv2.send(
                new DescribeTargetHealthCommand({ TargetGroupArn: workshop.targetGroupArn }),
            );

            // Then
            const group = groups.AutoScalingGroups?.[0];
            assert.deepEqual(group?.TargetGroupARNs, [workshop.targetGroupArn]);
            const targetGroup = targetGroups.TargetGroups?.[0];
            assert.equal(targetGroup?.Protocol, "HTTP");
            assert.equal(targetGroup?.Port, 80);
            assert.equal(targetGroup?.HealthCheckPath, "/");
            const deregistrationDelay = attributes.Attributes?.find(
                (attribute) => attribute.Key === "deregistration_delay.timeout_seconds",
            );
            assert.equal(deregistrationDelay?.Value, "120");
            const targetIds = new Set(
                health.TargetHealthDescriptions?.map((description) => description.Target?.Id),
            );
            assert.deepEqual(
                targetIds,
                new Set(group?.Instances?.map((instance) => instance.InstanceId)),
            );
        });

        it("also holds a second group and a standalone instance that belongs to no group", async function () {
            // Given the seeded environment
            // When the other group and the standalone instance are described
            const other = await describeGroupState(tier.emulator, workshop.otherGroupName);
            const standaloneState = await describeInstanceState(
                tier.emulator,
                workshop.standaloneInstanceId,
            );
            const membership = await autoScaling.send(
                new DescribeAutoScalingInstancesCommand({
                    InstanceIds: [workshop.standaloneInstanceId],
                }),
            );

            // Then
            assert.notEqual(other.name, workshop.webGroupName);
            assert.deepEqual([other.minSize, other.desiredCapacity, other.maxSize], [1, 2, 4]);
            assert.equal(other.instances.length, 2);
            assert.equal(standaloneState, "running");
            assert.deepEqual(membership.AutoScalingInstances ?? [], []);
        });
    });

    describe("EventBridge rules with an SQS target", function () {
        it("deliver a matching Spot interruption warning into the queue as the whole event, and neither a rebalance recommendation nor another source's event", async function () {
            // Given a rule for Spot interruption warnings whose target is a queue
            await tier.emulator.reset();
            const events = new EventBridgeClient(clientConfigFor(tier.emulator));
            const sqs = new SQSClient(clientConfigFor(tier.emulator));
            try {
                const { QueueUrl: queueUrl } = await sqs.send(
                    new CreateQueueCommand({ QueueName: "spot-interruptions" }),
                );
                const attributes = await sqs.send(
                    new GetQueueAttributesCommand({
                        QueueUrl: queueUrl,
                        AttributeNames: ["QueueArn"],
                    }),
                );
                await events.send(
                    new PutRuleCommand({
                        Name: "spot-interruption-warning",
                        EventPattern: JSON.stringify({
                            source: ["aws.ec2"],
                            "detail-type": ["EC2 Spot Instance Interruption Warning"],
                        }),
                    }),
                );
                await events.send(
                    new PutTargetsCommand({
                        Rule: "spot-interruption-warning",
                        Targets: [{ Id: "queue", Arn: attributes.Attributes?.QueueArn }],
                    }),
                );
                const warning = {
                    Source: "aws.ec2",
                    DetailType: "EC2 Spot Instance Interruption Warning",
                    Resources: ["arn:aws:ec2:eu-west-1b:instance/i-0123456789abcdef0"],
                    Detail: JSON.stringify({
                        "instance-id": "i-0123456789abcdef0",
                        "instance-action": "terminate",
                    }),
                };

                // When a warning, a rebalance recommendation and another source's warning are put
                // (AWS refuses PutEvents for "aws." sources; moto takes them, which is what lets
                // this test drive the rule)
                const put = await events.send(
                    new PutEventsCommand({
                        Entries: [
                            warning,
                            {
                                Source: "aws.ec2",
                                DetailType: "EC2 Instance Rebalance Recommendation",
                                Detail: JSON.stringify({ "instance-id": "i-0123456789abcdef1" }),
                            },
                            { ...warning, Source: "example.spot-drill" },
                        ],
                    }),
                );
                // moto hands every available message to one receive of up to 10
                const received = await sqs.send(
                    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
                );

                // Then only the warning arrived, its body the whole event
                assert.equal(put.FailedEntryCount, 0);
                assert.equal(received.Messages?.length, 1);
                const event = JSON.parse(received.Messages[0].Body ?? "");
                assert.equal(event.id, put.Entries?.[0]?.EventId);
                assert.equal(event.source, "aws.ec2");
                assert.equal(event["detail-type"], "EC2 Spot Instance Interruption Warning");
                assert.equal(event.region, tier.emulator.region);
                assert.deepEqual(event.resources, warning.Resources);
                assert.deepEqual(event.detail, JSON.parse(warning.Detail));
            } finally {
                events.destroy();
                sqs.destroy();
            }
        });
    });

    describe("DetachInstances, refused as AWS refuses it", function () {
        let web: string[];
        let workshop: WorkshopEnvironment;
        let autoScaling: AutoScalingClient;

        beforeEach(async function () {
            // Given a freshly seeded web group: min 2, desired 4, max 12, 4 InService instances
            await tier.emulator.reset();
            autoScaling = new AutoScalingClient(clientConfigFor(tier.emulator));
            workshop = await seedWorkshopEnvironment(tier.emulator);
            web = (await describeGroupState(tier.emulator, workshop.webGroupName)).instances.map(
                (instance) => instance.instanceId,
            );
        });

        const detach = (instanceIds: string[], decrement: boolean) =>
            autoScaling.send(
                new DetachInstancesCommand({
                    AutoScalingGroupName: workshop.webGroupName,
                    InstanceIds: instanceIds,
                    ShouldDecrementDesiredCapacity: decrement,
                }),
            );
        afterEach(() => autoScaling?.destroy());

        const webGroup = () => membershipOf(tier.emulator, workshop.webGroupName);
        /** A decrement of `instanceIds` from `desired` is refused below MinSize 2, changing nothing. */
        const assertBelowMinSize = async (instanceIds: string[], desired: number) => {
            const before = await webGroup();
            await assertRefusedWith(
                detach(instanceIds, true),
                autoScalingErrors.belowMinSize(
                    workshop.webGroupName,
                    2,
                    12,
                    desired,
                    instanceIds.length,
                ),
            );
            assert.deepEqual(await webGroup(), before);
        };

        it("refuses a batch naming an instance of another group, names the first such id in order, and detaches none of the batch", async function () {
            // Given a member of the other group
            const other = await describeGroupState(tier.emulator, workshop.otherGroupName);
            const otherInstanceId = other.instances[0].instanceId;
            const before = await webGroup();

            // When a batch names it between two web members
            const refusal = detach([web[0], otherInstanceId, web[1]], true);

            // Then it is refused with AWS's message naming it
            await assertRefusedWith(
                refusal,
                autoScalingErrors.notPartOfGroup(otherInstanceId, workshop.webGroupName),
            );

            // When a batch names the standalone instance, in no group, before it
            const standaloneFirst = detach(
                [web[0], workshop.standaloneInstanceId, otherInstanceId],
                false,
            );

            // Then the message names the first non-member in order
            await assertRefusedWith(
                standaloneFirst,
                autoScalingErrors.notPartOfGroup(
                    workshop.standaloneInstanceId,
                    workshop.webGroupName,
                ),
            );
            // And neither call changed the group
            assert.deepEqual(await webGroup(), before);
        });

        it("refuses more than 20 ids before looking at any of them", async function () {
            // Given the 4 members and 17 ids that name no instance at all: 21 ids
            const ids = [...web, ...Array.from({ length: 17 }, (_, n) => unknownInstanceId(n))];
            const before = await webGroup();

            // When they are detached in one call
            const refusal = detach(ids, false);

            // Then AWS's list-size refusal wins over the non-members, and nothing changed
            await assertRefusedWith(refusal, autoScalingErrors.tooManyInstances());
            assert.deepEqual(await webGroup(), before);
        });

        it("refuses a decrement that would take desired capacity below MinSize, counting every id", async function () {
            // Given desired 4 and MinSize 2
            // When 3 members are detached with decrement
            // Then it is refused, and nothing changes
            await assertBelowMinSize(web.slice(0, 3), 4);
        });

        it("allows a decrement exactly down to MinSize, and refuses one instance more", async function () {
            // Given desired 4 and MinSize 2
            // When 2 members are detached with decrement
            const response = await detach(web.slice(0, 2), true);

            // Then both left, and desired capacity is down to MinSize
            const atMinSize = await webGroup();
            assert.equal(response.Activities?.length, 2);
            assert.deepEqual(atMinSize, {
                desiredCapacity: 2,
                instances: web.slice(2).map((id) => `${id} InService`),
            });

            // When 1 more is detached with decrement
            // Then it is refused, and the group stays at MinSize
            await assertBelowMinSize(web.slice(2, 3), 2);
        });

        it("still detaches InService and Standby members together in one call", async function () {
            // Given one member in Standby (with decrement: desired 3)
            await autoScaling.send(
                new EnterStandbyCommand({
                    AutoScalingGroupName: workshop.webGroupName,
                    InstanceIds: [web[3]],
                    ShouldDecrementDesiredCapacity: true,
                }),
            );

            // When it and an InService member are detached without decrement
            const response = await detach([web[0], web[3]], false);

            // Then both left the group, whose desired capacity stayed
            const after = await describeGroupState(tier.emulator, workshop.webGroupName);
            const memberIds = after.instances.map((instance) => instance.instanceId);
            assert.deepEqual(
                response.Activities?.map((activity) => activity.Description),
                [`Detaching EC2 instance: ${web[0]}`, `Detaching EC2 instance: ${web[3]}`],
            );
            assert.equal(after.desiredCapacity, 3);
            assert.ok(!memberIds.includes(web[0]) && !memberIds.includes(web[3]), `${memberIds}`);
        });

        it("refuses a batch naming a member that is not InService or Standby, and detaches none of it", async function () {
            // Given a member that is Pending, as a launching instance is on AWS (moto never reports it)
            await setLifecycleState(tier.emulator, web[1], "Pending");
            const before = await webGroup();
            assert.ok(before.instances.includes(`${web[1]} Pending`), `${before.instances}`);

            // When it is detached along with an InService member
            const refusal = detach([web[0], web[1]], false);

            // Then
            await assertRefusedWith(refusal, autoScalingErrors.notInServiceOrStandby(web[1]));
            assert.deepEqual(await webGroup(), before);
        });
    });

    describe("the tier's shared emulator", function () {
        it("refuses stop(), since the files after this one use it", async function () {
            await assert.rejects(tier.emulator.stop(), /shared by the files after this one/);
            await tier.emulator.reset();
        });
    });
});

/** AWS's refusal, which for DetachInstances is always a ValidationError. */
async function assertRefusedWith(call: Promise<unknown>, expected: Error): Promise<void> {
    assert.equal(expected.name, "ValidationError");
    await assertRefusedAsAwsDoes(call, expected);
}

/** A well-formed instance id that names no instance. */
function unknownInstanceId(n: number): string {
    return `i-${n.toString(16).padStart(17, "0")}`;
}
