/**
 * What the queued path reports, on the emulator: a dry run's counts, metrics that add up over
 * duplicates and foreign instances, and the notification per batch. The same pipeline as in
 * queued-pipeline.test.ts, judged on the emulator's groups and the handler's own lines.
 */
import * as assert from "node:assert/strict";
import { describeGroupState } from "../../emulator/group-state";
import { freshSampleEvent } from "../../offline/sample-event";
import { clientConfigFor } from "../../emulator/group-state";
import { type Emulator } from "../../emulator/server";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import {
    CreateQueueCommand,
    GetQueueAttributesCommand,
    ReceiveMessageCommand,
    SQSClient,
} from "@aws-sdk/client-sqs";
import { idsOf, metricsOf, ONE_SECOND_WINDOW, queuedPipeline } from "../support/emulated-workshop";

describe("what the queued pipeline reports, on the emulator", function () {
    this.timeout(600_000);

    const { emulator, seed, deliver } = queuedPipeline({
        keep: { capacityOnInterruption: "keep", ...ONE_SECOND_WINDOW },
        dry: { capacityOnInterruption: "decrement", dryRun: true, ...ONE_SECOND_WINDOW },
        notify: {
            notificationEmail: "ops@example.com",
            notifyOnDetach: true,
            ...ONE_SECOND_WINDOW,
        },
    });

    describe("given a storm in dry-run mode", () => {
        it("changes nothing, and counts what it would have detached", async () => {
            const environment = await seed({ minSize: 5, desiredCapacity: 10, maxSize: 12 });
            const before = await describeGroupState(emulator(), environment.webGroupName);

            const { logLines } = await deliver(
                "dry",
                idsOf(before).map((id) => freshSampleEvent(id)),
            );

            assert.deepEqual(
                await describeGroupState(emulator(), environment.webGroupName),
                before,
            );
            assert.deepEqual(metricsOf(logLines), {
                received: 10,
                detached: 0,
                wouldDetach: 10,
                ignored: 0,
                failed: 0,
            });
        });
    });

    describe("given a storm with duplicates and foreign instances", () => {
        it("emits metrics that add up: received = detached + ignored + failed", async () => {
            const environment = await seed({ minSize: 2, desiredCapacity: 12, maxSize: 16 });
            const web = await describeGroupState(emulator(), environment.webGroupName);
            const others = await describeGroupState(emulator(), environment.otherGroupName);
            const warned = [
                ...idsOf(web).slice(0, 10),
                ...idsOf(web).slice(0, 3),
                ...idsOf(others),
            ];

            const { logLines } = await deliver(
                "keep",
                warned.map((id) => freshSampleEvent(id)),
            );

            const metrics = metricsOf(logLines);
            assert.equal(metrics.received, warned.length);
            assert.equal(metrics.detached, 10);
            assert.equal(
                metrics.received,
                metrics.detached + metrics.wouldDetach + metrics.ignored + metrics.failed,
            );
        });
    });

    describe("given notifyOnDetach", () => {
        it("publishes one message per batch that detached instances to the topic", async () => {
            const environment = await seed({ minSize: 2, desiredCapacity: 8, maxSize: 12 });
            const victims = idsOf(
                await describeGroupState(emulator(), environment.webGroupName),
            ).slice(0, 5);
            const inbox = await subscribeQueueToNewTopic(emulator(), "spot-notifications");

            await deliver(
                "notify",
                victims.map((id) => freshSampleEvent(id)),
                { handlerEnvironment: { NOTIFY_TOPIC_ARN: inbox.topicArn } },
            );

            const notices = (await inbox.receive()).map((n) => JSON.parse(n.Message));
            assert.ok(notices.length >= 1, "at least one batch detached");
            assert.deepEqual(notices.flatMap((n) => n.instanceIds).sort(), [...victims].sort());
            assert.deepEqual(
                notices.flatMap((n) => Object.keys(n.groups)),
                notices.map(() => "web"),
            );
        });
    });
});

/** An SNS topic in the emulator with an SQS queue subscribed: an inbox for the notifications. */
async function subscribeQueueToNewTopic(emulator: Emulator, name: string) {
    const config = clientConfigFor(emulator);
    const sns = new SNSClient(config);
    const sqs = new SQSClient(config);
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-inbox` }));
    const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }),
    );
    await sns.send(
        new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: Attributes?.QueueArn }),
    );
    return {
        topicArn: String(TopicArn),
        /** Every notification delivered so far: SNS's envelopes, with `Message` inside. */
        async receive(): Promise<{ Message: string }[]> {
            const { Messages = [] } = await sqs.send(
                new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }),
            );
            sns.destroy();
            sqs.destroy();
            return Messages.map((m) => JSON.parse(String(m.Body)));
        },
    };
}
