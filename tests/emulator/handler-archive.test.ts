import * as assert from "node:assert/strict";
import * as net from "node:net";
import {
    DescribeAutoScalingGroupsCommand,
    DetachInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import { asSqsRecord, freshSampleEvent } from "../../offline/sample-event";
import { type HandlerArchive } from "../../offline/handler-archive";
import type { SQSBatchResponse } from "aws-lambda";
import { autoScalingErrors } from "../support/auto-scaling-errors";
import { autoScaling, stubAutoScalingPerSuite } from "../support/auto-scaling-stub";
import { handlerArchivesForSuite } from "../support/emulated-workshop";
import { loadEvent } from "../support/events";
import { answerWithOneMember, groupLookupAnswer } from "../support/fake-auto-scaling";

const INSTANCE = "i-0fedcba9876543210";
/** The bound the project promises for the deployment package. */
// The handler alone, the SDK excluded: about 21 KiB since it works with each group's own machinery.
const MAX_ZIPPED_BYTES = 24 * 1024;

const REGION = { AWS_REGION: "eu-west-1" };

/** The seed's sample event for INSTANCE, in a fresh container of `archive`, in REGION. */
const invokeWithSeedEvent = (archive: HandlerArchive, environment: Record<string, string> = {}) =>
    archive.invoke([loadEvent("seed-sample-event", INSTANCE)], { ...REGION, ...environment });

describe("the deployment package, as pulumi up would upload it", () => {
    stubAutoScalingPerSuite();
    const archives = handlerArchivesForSuite("pkg", {
        keep: { autoScalingGroupName: "web" },
        decrement: { autoScalingGroupName: "web", capacityOnInterruption: "decrement" },
    });
    beforeEach(() => answerWithOneMember("web", INSTANCE));

    it("holds only the serialized handler: no node_modules, so no bundled AWS SDK", () => {
        assert.deepEqual(archives.keep.paths, ["__index.js"]);
    });

    it("zips to under 24 KiB", () => {
        const size = archives.keep.zippedBytes;
        assert.ok(size < MAX_ZIPPED_BYTES, `zipped archive is ${size} bytes`);
    });

    it("requires nothing at run time but the SDK v3 clients that Lambda ships", () => {
        const required = [...archives.keep.indexSource.matchAll(/require\("([^"]+)"\)/g)].map(
            (m) => m[1],
        );
        // The serializer names the package's CommonJS entry, e.g. ".../dist-cjs/index.js".
        const packages = required.map((name) => name.split("/").slice(0, 2).join("/"));
        assert.deepEqual([...new Set(packages)].sort(), [
            "@aws-sdk/client-auto-scaling",
            "@aws-sdk/client-sns",
            "@aws-sdk/client-sqs",
        ]);
    });

    it("builds its SDK client once per container, not per invocation", async () => {
        const event = loadEvent("seed-sample-event", INSTANCE);
        const clientsPerContainer = async () => {
            autoScaling.resetHistory();
            await archives.keep.withContainer(REGION, async (invoke) => {
                await invoke(event);
                await invoke(event);
            });
            return new Set(autoScaling.send.getCalls().map((call) => call.thisValue));
        };

        const first = await clientsPerContainer();
        const second = await clientsPerContainer();

        assert.equal(
            autoScaling.send.callCount,
            5,
            "2 invocations × (one lookup + one Detach), one hook lookup the container remembers, and no separate cold-start check",
        );
        assert.equal(first.size, 1);
        assert.equal(second.size, 1);
        assert.notEqual([...first][0], [...second][0], "a new container builds a new client");
    });

    it("reports a configured group that does not exist on every lookup, at ERROR and in MissingGroups", async () => {
        autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
        const event = loadEvent("seed-sample-event", INSTANCE);

        const { logLines } = await archives.keep.withContainer(REGION, async (invoke) => {
            await invoke(event);
            await invoke(event);
        });

        const lines = logLines.map((line) => JSON.parse(line));
        const error = {
            level: "ERROR",
            message:
                "web not found in this account and Region: warnings for its instances are ignored as not ours. Fix the handler's group selection",
            missingGroups: ["web"],
        };
        assert.deepEqual(
            lines.filter((l) => l.level === "ERROR"),
            [error, error],
        );
        assert.deepEqual(
            lines
                .filter((l) => l._aws !== undefined && l.Reason === undefined)
                .map((l) => l.MissingGroups),
            [1, 1],
        );
    });

    it("answers inside its deadline when the notification topic's endpoint never answers", async () => {
        // An SNS endpoint on 127.0.0.1 that accepts connections and never says a word.
        const sockets = new Set<net.Socket>();
        const silent = net.createServer((socket) => void sockets.add(socket));
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const { port } = silent.address() as net.AddressInfo;
        const startedAt = Date.now();
        try {
            const {
                results: [result],
                logLines,
            } = await archives.keep.invoke<SQSBatchResponse>(
                [{ Records: [asSqsRecord(freshSampleEvent(INSTANCE), { messageId: "m-1" })] }],
                {
                    ...REGION,
                    AWS_ACCESS_KEY_ID: "test",
                    AWS_SECRET_ACCESS_KEY: "test",
                    AWS_ENDPOINT_URL_SNS: `http://127.0.0.1:${port}`,
                    NOTIFY_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:spot",
                },
            );
            const elapsedMs = Date.now() - startedAt;

            // The publish was sent, waited, and was abandoned at its 3 s; the record stays acknowledged.
            assert.ok(sockets.size >= 1, "the publish reached the silent endpoint");
            assert.ok(elapsedMs >= 2_500 && elapsedMs < 4_500, `took ${elapsedMs} ms`);
            assert.deepEqual(result, { status: "fulfilled", value: { batchItemFailures: [] } });
            assert.ok(
                logLines.some((line) => /notification failed/.test(line)),
                "the lost notification is logged",
            );
        } finally {
            sockets.forEach((socket) => socket.destroy());
            await new Promise((resolve) => silent.close(resolve));
        }
    });

    it("answers an SQS batch from the events queue with the records to retry", async () => {
        autoScaling.on(DetachInstancesCommand).rejects(autoScalingErrors.resourceContention());
        const event = {
            Records: [
                asSqsRecord(freshSampleEvent(INSTANCE), { messageId: "m-1" }),
                asSqsRecord("not json", { messageId: "m-2" }),
            ],
        };

        const {
            results: [result],
        } = await archives.keep.invoke<SQSBatchResponse>([event], REGION);

        assert.deepEqual(result, {
            status: "fulfilled",
            value: { batchItemFailures: [{ itemIdentifier: "m-1" }] },
        });
    });

    it("detaches the instance named in the seed's sample event, keeping capacity", async () => {
        const {
            results: [result],
            logLines,
        } = await invokeWithSeedEvent(archives.keep);

        const lines = logLines.map((line) => JSON.parse(line));
        assert.deepEqual(
            lines.filter((line) => line._aws === undefined),
            [
                {
                    level: "INFO",
                    message: `Instance ${INSTANCE} belongs to AutoScaling Group web. Detaching instance...`,
                    autoScalingGroupName: "web",
                    capacityOnInterruption: "keep",
                    instanceIds: [INSTANCE],
                    activities: [],
                },
            ],
        );
        assert.deepEqual(result, {
            status: "fulfilled",
            value: {
                instanceId: INSTANCE,
                autoScalingGroupName: "web",
                action: "detached",
                capacityOnInterruption: "keep",
            },
        });
        // Metrics go out as a raw EMF line; the seed event's 2020 time gives no latency.
        const [metrics, ...more] = lines.filter((line) => line._aws !== undefined);
        assert.deepEqual(
            more.map((d) => [d.AutoScalingGroupName, d.Detached]),
            [["web", 1]],
        );
        assert.deepEqual(
            {
                namespace: metrics._aws.CloudWatchMetrics[0].Namespace,
                handler: metrics.Handler,
                received: metrics.WarningsReceived,
                detached: metrics.Detached,
                calls: metrics.AutoScalingCalls,
            },
            {
                namespace: "SpotInterruptionHandler",
                handler: "spot-interruption-handler/dev/pkg-keep",
                received: 1,
                detached: 1,
                // The lookup, the group's hooks (none: a plain group) and the detach.
                calls: 3,
            },
        );
        assert.deepEqual(
            autoScaling.commandCalls(DetachInstancesCommand).map((c) => c.args[0].input),
            [
                {
                    AutoScalingGroupName: "web",
                    InstanceIds: [INSTANCE],
                    ShouldDecrementDesiredCapacity: false,
                },
            ],
        );
    });

    it("decrements when built with capacityOnInterruption decrement", async () => {
        autoScaling.on(DescribeAutoScalingGroupsCommand).resolves(
            groupLookupAnswer("web", {
                minSize: 2,
                desiredCapacity: 4,
                members: [[INSTANCE, "InService"]],
            }),
        );

        const {
            results: [result],
        } = await invokeWithSeedEvent(archives.decrement);

        assert.equal(result.status, "fulfilled");
        assert.equal(
            autoScaling.commandCalls(DetachInstancesCommand)[0]?.args[0].input
                .ShouldDecrementDesiredCapacity,
            true,
        );
    });

    it("throws with a structured ERROR entry, so the event is retried, when its configuration is missing", async () => {
        const {
            results: [result],
            logLines,
        } = await invokeWithSeedEvent(archives.keep, { AUTO_SCALING_GROUP_NAMES: "" });

        assert.equal(result.status, "rejected");
        assert.match(
            String((result as PromiseRejectedResult).reason),
            /AUTO_SCALING_GROUP_NAMES is "": set it to a JSON list of group names/,
        );
        assert.equal(autoScaling.calls().length, 0);
        assert.deepEqual(
            logLines.map((line) => JSON.parse(line)),
            [
                {
                    level: "ERROR",
                    message: "The function is misconfigured; the warning is left for a retry",
                    error: {
                        name: "Error",
                        message:
                            'AUTO_SCALING_GROUP_NAMES is "": set it to a JSON list of group names, like ["web"]',
                    },
                },
            ],
        );
    });
});
