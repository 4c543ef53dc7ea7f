/**
 * No silent drops: each reason that means "the handler can't do its job" has an alarm, and the
 * serialized handler, run on that very case, emits the metric that alarm watches (same namespace,
 * name and dimensions) above its threshold.
 */
import * as assert from "node:assert/strict";
import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import type { SQSEvent } from "aws-lambda";
import { asSqsRecord, freshSampleEvent } from "../../offline/sample-event";
import { type HandlerArchive } from "../../offline/handler-archive";
import { installPulumiMocks, recorded, registrationsSettled } from "../../offline/pulumi-engine";
import { autoScalingErrors } from "../support/auto-scaling-errors";
import { autoScaling, stubAutoScalingPerSuite } from "../support/auto-scaling-stub";
import { answerWithOneMember, groupLookupAnswer } from "../support/fake-auto-scaling";

const INSTANCE = "i-0aaaabbbbccccdddd";

interface WatchedMetric {
    readonly alarm: string;
    readonly namespace: string;
    readonly metricName: string;
    readonly dimensions: Record<string, string>;
    readonly threshold: number;
}

type EmfLine = {
    _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
} & Record<string, unknown>;

/** True when an EMF document is exactly the alarm's metric and is above its threshold. */
function breaches(document: EmfLine, watched: WatchedMetric): boolean {
    const [directive] = document._aws.CloudWatchMetrics;
    const dimensionNames = [...(directive.Dimensions[0] ?? [])].sort();
    return (
        directive.Namespace === watched.namespace &&
        JSON.stringify(dimensionNames) === JSON.stringify(Object.keys(watched.dimensions).sort()) &&
        Object.entries(watched.dimensions).every(([name, value]) => document[name] === value) &&
        typeof document[watched.metricName] === "number" &&
        (document[watched.metricName] as number) > watched.threshold
    );
}

describe("every drop that means the handler can't do its job pages someone", () => {
    stubAutoScalingPerSuite();
    let archive: HandlerArchive;
    let watched: Map<string, WatchedMetric>;

    before(async () => {
        installPulumiMocks();
        const { SpotInterruptionHandler } = await import("../../components");
        const { materializeHandlerArchive } = await import("../../offline/handler-archive");
        // One listed group that exists and one that does not.
        const handler = new SpotInterruptionHandler("drops", {
            autoScalingGroupNames: ["web", "web-gone"],
        });
        archive = await materializeHandlerArchive(handler.handlerFunction, "drops");
        await registrationsSettled();
        watched = new Map(
            recorded
                .filter(
                    (r) =>
                        r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" &&
                        r.name.startsWith("drops-") &&
                        r.inputs.namespace === "SpotInterruptionHandler",
                )
                .map((r) => [
                    r.name.slice("drops-".length),
                    {
                        alarm: r.name,
                        namespace: r.inputs.namespace as string,
                        metricName: r.inputs.metricName as string,
                        dimensions: r.inputs.dimensions as Record<string, string>,
                        threshold: r.inputs.threshold as number,
                    },
                ]),
        );
    });
    beforeEach(() => answerWithOneMember("web", INSTANCE));
    after(() => archive?.remove());

    it("alarms on exactly these of the handler's own metrics", () => {
        assert.deepEqual([...watched.keys()].sort(), [
            "failed-warnings",
            "malformed-warnings",
            "missing-groups",
            "safety-net",
            "stale-warnings",
        ]);
    });

    const cases: { alarm: string; when: string; batch: () => SQSEvent; arrange?: () => void }[] = [
        {
            alarm: "stale-warnings",
            when: "a warning already older than the notice on its first receive",
            batch: () => ({
                Records: [
                    asSqsRecord(freshSampleEvent(INSTANCE, new Date(Date.now() - 180_000)), {
                        messageId: "m0",
                    }),
                ],
            }),
        },
        {
            alarm: "malformed-warnings",
            when: "a queued record the handler cannot read",
            batch: () => ({ Records: [asSqsRecord("not json", { messageId: "m0" })] }),
        },
        {
            alarm: "missing-groups",
            when: "a listed group that does not exist",
            batch: () => ({
                Records: [asSqsRecord(freshSampleEvent(INSTANCE), { messageId: "m0" })],
            }),
        },
        {
            alarm: "safety-net",
            when: "a group with Capacity Rebalancing that did not act within the grace",
            arrange: () =>
                autoScaling.on(DescribeAutoScalingGroupsCommand).resolves(
                    groupLookupAnswer("web", {
                        members: [[INSTANCE, "InService"]],
                        capacityRebalance: true,
                    }),
                ),
            batch: () => ({
                Records: [
                    asSqsRecord(freshSampleEvent(INSTANCE, new Date(Date.now() - 30_000)), {
                        messageId: "m0",
                        receiveCount: 2,
                    }),
                ],
            }),
        },
        {
            alarm: "failed-warnings",
            when: "a lookup that keeps failing",
            arrange: () =>
                autoScaling
                    .on(DescribeAutoScalingGroupsCommand)
                    .rejects(autoScalingErrors.throttling()),
            batch: () => ({
                Records: [asSqsRecord(freshSampleEvent(INSTANCE), { messageId: "m0" })],
            }),
        },
    ];

    for (const { alarm, when, batch, arrange } of cases) {
        it(`given ${when}, emits what ${alarm} watches, above its threshold`, async () => {
            arrange?.();
            const metric = watched.get(alarm);
            assert.ok(metric, `the component has the ${alarm} alarm`);

            const { logLines } = await archive.invoke([batch()], { AWS_REGION: "eu-west-1" });

            const documents = logLines
                .map((line) => JSON.parse(line) as EmfLine)
                .filter((line) => line._aws !== undefined);
            assert.ok(
                documents.some((d) => breaches(d, metric)),
                `no document breaches ${JSON.stringify(metric)}: ${JSON.stringify(documents)}`,
            );
        });
    }

    it("leaves the ordinary reasons (a duplicate, an instance of no chosen group) to the chart", async () => {
        const { logLines } = await archive.invoke(
            [
                {
                    Records: [
                        asSqsRecord(freshSampleEvent(INSTANCE), { messageId: "m0" }),
                        asSqsRecord(freshSampleEvent(INSTANCE), { messageId: "m1" }),
                        asSqsRecord(freshSampleEvent("i-0fffffffffffffff0"), { messageId: "m2" }),
                    ],
                },
            ],
            { AWS_REGION: "eu-west-1" },
        );

        const documents = logLines
            .map((line) => JSON.parse(line) as EmfLine)
            .filter((line) => line._aws !== undefined);
        const reasons = documents.flatMap((d) => (d.Reason === undefined ? [] : [d.Reason]));
        assert.deepEqual(reasons, ["duplicate", "not-a-member"]);
        const paging = [...watched.values()].filter(
            (m) => m.alarm !== "drops-missing-groups" && documents.some((d) => breaches(d, m)),
        );
        assert.deepEqual(paging, []);
    });
});
