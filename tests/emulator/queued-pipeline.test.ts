/**
 * The whole queued path on the emulator: PutEvents of real warning events (standing in for EC2),
 * the component's rule pattern matching them into an events queue with the component's settings,
 * the local event source mapping feeding the serialized handler. Every verdict is read back from
 * the emulator: the groups, the queue and the dead-letter queue.
 */
import * as assert from "node:assert/strict";
import type { ResolvedHandlerSettings } from "../../components/spot-interruption-handler/args";
import {
    clientConfigFor,
    type Emulator,
    freshSampleEvent,
    type HandlerArchive,
    installPulumiMocks,
} from "../../local";
import type * as Pipeline from "../../local";
import type * as Workshop from "../../local";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import {
    CreateQueueCommand,
    GetQueueAttributesCommand,
    ReceiveMessageCommand,
    SQSClient,
} from "@aws-sdk/client-sqs";
import { loadEvent } from "../support/events";
import { tierEmulator } from "../support/tier-emulator";

const DRAIN_TIMEOUT_MS = 30_000;

describe("the queued pipeline, rule → events queue → mapping → handler, on the emulator", function () {
    this.timeout(600_000);

    let emulator: Emulator;
    let workshop: typeof Workshop;
    let pipeline: typeof Pipeline;
    const archives: Record<
        "keep" | "decrement" | "dry" | "notify",
        { archive: HandlerArchive; settings: ResolvedHandlerSettings }
    > = {} as never;

    before(async () => {
        installPulumiMocks();
        const { SpotInterruptionHandler, resolveHandlerSettings } =
            await import("../../components");
        const { materializeHandlerArchive } = await import("../../local");
        workshop = await import("../../local");
        pipeline = await import("../../local");
        const variants = {
            keep: { capacityOnInterruption: "keep" },
            decrement: { capacityOnInterruption: "decrement" },
            dry: { capacityOnInterruption: "decrement", dryRun: true },
            notify: { notificationEmail: "ops@example.com", notifyOnDetach: true },
        } as const;
        for (const [variant, extra] of Object.entries(variants)) {
            const args = { autoScalingGroupName: workshop.WEB_GROUP_NAME, ...extra };
            archives[variant as keyof typeof variants] = {
                settings: resolveHandlerSettings(args),
                archive: await materializeHandlerArchive(
                    new SpotInterruptionHandler(`queued-${variant}`, args).handlerFunction,
                    `queued-${variant}`,
                ),
            };
        }
        emulator = await tierEmulator();
    });

    after(async () => {
        for (const { archive } of Object.values(archives)) {
            archive.remove();
        }
    });

    async function seed(webGroup?: Workshop.WorkshopSeedOptions["webGroup"]) {
        await emulator.reset();
        return workshop.seedWorkshopEnvironment(emulator, { webGroup });
    }

    function run<T>(
        variant: keyof typeof archives,
        body: (p: Pipeline.LocalPipeline) => Promise<T>,
        handlerEnvironment: Record<string, string> = {},
    ) {
        const { archive, settings } = archives[variant];
        assert.ok(settings.queue, "the component's default delivery is the queue");
        return pipeline.withLocalPipeline(
            emulator,
            archive,
            { settings: settings.queue, handlerEnvironment },
            body,
        );
    }

    /** The handler-wide EMF documents among the handler's lines, and their counts summed. */
    function metricsOf(logLines: string[]) {
        const documents = logLines.map((l) => JSON.parse(l)).filter((l) => l._aws !== undefined);
        const sum = (name: string) =>
            documents
                .filter((d) => d.Reason === undefined && d.AutoScalingGroupName === undefined)
                .reduce((total, d) => total + (typeof d[name] === "number" ? d[name] : 0), 0);
        return {
            received: sum("WarningsReceived"),
            detached: sum("Detached"),
            wouldDetach: sum("WouldDetach"),
            ignored: sum("Ignored"),
            failed: sum("Failed"),
        };
    }

    const ids = (group: Workshop.GroupState) => group.instances.map((i) => i.instanceId);

    describe("given 20 warnings for the web group, with duplicates and a neighbour's warnings", () => {
        it("detaches each instance once, keeps capacity, and leaves nothing queued or dead-lettered", async () => {
            const environment = await seed({ minSize: 2, desiredCapacity: 24, maxSize: 30 });
            const web = await workshop.describeGroupState(emulator, environment.webGroupName);
            const neighbours = await workshop.describeGroupState(
                emulator,
                environment.otherGroupName,
            );
            const victims = ids(web).slice(0, 20);
            const warnings = [...victims, ...victims.slice(0, 5), ...ids(neighbours)].map((id) =>
                freshSampleEvent(id),
            );

            const { value: counts, logLines } = await run("keep", async (p) => {
                await p.putEvents(warnings);
                await p.mapping.drained(DRAIN_TIMEOUT_MS);
                return { ...(await p.counts()), records: p.mapping.stats.records };
            });

            const after = await workshop.describeGroupState(emulator, environment.webGroupName);
            assert.deepEqual(
                ids(after).filter((id) => victims.includes(id)),
                [],
            );
            assert.equal(after.desiredCapacity, 24);
            assert.deepEqual(
                await workshop.describeGroupState(emulator, environment.otherGroupName),
                neighbours,
            );
            assert.deepEqual(counts, { queued: 0, deadLettered: 0, records: warnings.length });
            const batches = logLines
                .map((l) => JSON.parse(l))
                .filter((l) => /^Batch of/.test(l.message));
            assert.equal(
                batches.reduce((sum, b) => sum + b.detached, 0),
                20,
                "each instance detached exactly once",
            );
        });
    });

    describe("given decrement mode and a storm over every instance of a group whose MinSize is half", () => {
        it("leaves desired capacity exactly at MinSize and every interrupted instance out of the group", async () => {
            const environment = await seed({ minSize: 10, desiredCapacity: 20, maxSize: 24 });
            const web = await workshop.describeGroupState(emulator, environment.webGroupName);

            await run("decrement", async (p) => {
                await p.putEvents(ids(web).map((id) => freshSampleEvent(id)));
                await p.mapping.drained(DRAIN_TIMEOUT_MS);
                assert.deepEqual(await p.counts(), { queued: 0, deadLettered: 0 });
            });

            const after = await workshop.describeGroupState(emulator, environment.webGroupName);
            assert.equal(after.desiredCapacity, 10);
            assert.deepEqual(
                ids(after).filter((id) => ids(web).includes(id)),
                [],
            );
        });
    });

    describe("given events the rule must not match", () => {
        it("never queues a rebalance recommendation or another source's event", async () => {
            const environment = await seed();
            const [instance] = ids(
                await workshop.describeGroupState(emulator, environment.webGroupName),
            );

            const { value: counts } = await run("keep", async (p) => {
                await p.putEvents([
                    loadEvent("rebalance-recommendation", instance),
                    loadEvent("other-source", instance),
                ]);
                await p.mapping.drained(DRAIN_TIMEOUT_MS);
                return { ...(await p.counts()), records: p.mapping.stats.records };
            });

            assert.deepEqual(counts, { queued: 0, deadLettered: 0, records: 0 });
        });
    });

    describe("given a storm in dry-run mode", () => {
        it("changes nothing, and counts what it would have detached", async () => {
            const environment = await seed({ minSize: 5, desiredCapacity: 10, maxSize: 12 });
            const before = await workshop.describeGroupState(emulator, environment.webGroupName);

            const { logLines } = await run("dry", async (p) => {
                await p.putEvents(ids(before).map((id) => freshSampleEvent(id)));
                await p.mapping.drained(DRAIN_TIMEOUT_MS);
            });

            assert.deepEqual(
                await workshop.describeGroupState(emulator, environment.webGroupName),
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
            const web = await workshop.describeGroupState(emulator, environment.webGroupName);
            const others = await workshop.describeGroupState(emulator, environment.otherGroupName);
            const warned = [...ids(web).slice(0, 10), ...ids(web).slice(0, 3), ...ids(others)];

            const { logLines } = await run("keep", async (p) => {
                await p.putEvents(warned.map((id) => freshSampleEvent(id)));
                await p.mapping.drained(DRAIN_TIMEOUT_MS);
            });

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
            const victims = ids(
                await workshop.describeGroupState(emulator, environment.webGroupName),
            ).slice(0, 5);
            const inbox = await subscribeQueueToNewTopic(emulator, "spot-notifications");

            await run(
                "notify",
                async (p) => {
                    await p.putEvents(victims.map((id) => freshSampleEvent(id)));
                    await p.mapping.drained(DRAIN_TIMEOUT_MS);
                },
                { NOTIFY_TOPIC_ARN: inbox.topicArn },
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
