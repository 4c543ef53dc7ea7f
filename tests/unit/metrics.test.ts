import * as assert from "node:assert/strict";
import { emfDocuments, type InvocationMetrics } from "../../handler/metrics";
import { noOutcomes } from "../../handler/report";

const NOW = Date.parse("2026-11-28T01:00:00Z");

const metrics = (overrides: Partial<InvocationMetrics> = {}): InvocationMetrics => ({
    handlerName: "p/dev/spot",
    timestampMs: NOW,
    received: 10,
    detached: 6,
    terminated: 0,
    leftToGroup: 0,
    wouldDetach: 0,
    wouldTerminate: 0,
    waiting: 0,
    failed: 1,
    safetyNet: 0,
    hooksSkipped: 0,
    hooksUnknown: 0,
    ignored: { duplicate: 2, "not-a-member": 1 },
    batchSize: 10,
    autoScalingCalls: 3,
    throttles: 4,
    refusals: 1,
    missingGroups: 0,
    detachLatencyMs: [1200.4, 1500.6],
    groups: [
        { autoScalingGroupName: "web", ...noOutcomes(), detached: 4, failed: 1, ignored: 0 },
        { autoScalingGroupName: "api", ...noOutcomes(), detached: 2, ignored: 0 },
    ],
    ...overrides,
});

/** The metric names a document declares, and the members it must then carry (the EMF spec). */
function assertValidEmf(document: Record<string, unknown>): void {
    const [directive] = (document._aws as { CloudWatchMetrics: Record<string, unknown>[] })
        .CloudWatchMetrics;
    for (const dimension of (directive.Dimensions as string[][]).flat()) {
        assert.equal(typeof document[dimension], "string", `dimension ${dimension} has a value`);
    }
    for (const { Name } of directive.Metrics as { Name: string }[]) {
        const value = document[Name];
        const values = Array.isArray(value) ? value : [value];
        assert.ok(values.length <= 100, `${Name} has at most 100 values`);
        assert.ok(
            values.every((v) => typeof v === "number"),
            `${Name} is numeric`,
        );
    }
}

/** What each group's document counts, in order; the handler-wide document counts them too. */
const PER_GROUP = [
    "Detached",
    "Terminated",
    "LeftToGroup",
    "WouldDetach",
    "WouldTerminate",
    "Waiting",
    "Failed",
    "Ignored",
];
/** EMF metric definitions of these names, each a count. */
const counts = (...names: string[]) => names.map((Name) => ({ Name, Unit: "Count" }));

describe("the handler's metrics, in Embedded Metric Format", () => {
    describe("given a batch with detaches, ignored records and a failure", () => {
        it("writes one document of counts and latencies, then one per ignore reason, then one per group", () => {
            const documents = emfDocuments(metrics());

            assert.deepEqual(documents, [
                {
                    _aws: {
                        Timestamp: NOW,
                        CloudWatchMetrics: [
                            {
                                Namespace: "SpotInterruptionHandler",
                                Dimensions: [["Handler"]],
                                Metrics: [
                                    ...counts(
                                        "WarningsReceived",
                                        ...PER_GROUP,
                                        "SafetyNet",
                                        "HooksSkipped",
                                        "HooksUnknown",
                                        "BatchSize",
                                        "AutoScalingCalls",
                                        "Throttles",
                                        "Refusals",
                                        "MissingGroups",
                                    ),
                                    { Name: "DetachLatency", Unit: "Milliseconds" },
                                ],
                            },
                        ],
                    },
                    Handler: "p/dev/spot",
                    WarningsReceived: 10,
                    Detached: 6,
                    Terminated: 0,
                    LeftToGroup: 0,
                    WouldDetach: 0,
                    WouldTerminate: 0,
                    Waiting: 0,
                    Failed: 1,
                    Ignored: 3,
                    SafetyNet: 0,
                    HooksSkipped: 0,
                    HooksUnknown: 0,
                    BatchSize: 10,
                    AutoScalingCalls: 3,
                    Throttles: 4,
                    Refusals: 1,
                    MissingGroups: 0,
                    DetachLatency: [1200, 1501],
                },
                ...[
                    ["duplicate", 2],
                    ["not-a-member", 1],
                ].map(([reason, count]) => ({
                    _aws: {
                        Timestamp: NOW,
                        CloudWatchMetrics: [
                            {
                                Namespace: "SpotInterruptionHandler",
                                Dimensions: [["Handler", "Reason"]],
                                Metrics: [{ Name: "Ignored", Unit: "Count" }],
                            },
                        ],
                    },
                    Handler: "p/dev/spot",
                    Reason: reason,
                    Ignored: count,
                })),
                ...[
                    ["web", 4, 1],
                    ["api", 2, 0],
                ].map(([group, detached, failed]) => ({
                    _aws: {
                        Timestamp: NOW,
                        CloudWatchMetrics: [
                            {
                                Namespace: "SpotInterruptionHandler",
                                Dimensions: [["Handler", "AutoScalingGroupName"]],
                                Metrics: [...counts(...PER_GROUP)],
                            },
                        ],
                    },
                    Handler: "p/dev/spot",
                    AutoScalingGroupName: group,
                    Detached: detached,
                    Terminated: 0,
                    LeftToGroup: 0,
                    WouldDetach: 0,
                    WouldTerminate: 0,
                    Waiting: 0,
                    Failed: failed,
                    Ignored: 0,
                })),
            ]);
            documents.forEach(assertValidEmf);
        });

        it("adds up: received is the sum of every final outcome, waiting included", () => {
            const [counts] = emfDocuments(
                metrics({
                    received: 20,
                    detached: 6,
                    terminated: 3,
                    leftToGroup: 4,
                    waiting: 2,
                    failed: 2,
                    ignored: { standby: 1, "still-pending": 2 },
                }),
            );

            // Every final outcome is one a group's document counts.
            assert.equal(
                counts.WarningsReceived,
                PER_GROUP.reduce((sum, name) => sum + Number(counts[name]), 0),
            );
        });
    });

    describe("given more than 100 latencies", () => {
        it("splits them 100 to a document, as EMF requires", () => {
            const latencies = Array.from({ length: 250 }, (_, i) => i);

            const documents = emfDocuments(
                metrics({
                    detached: 250,
                    received: 250,
                    ignored: {},
                    failed: 0,
                    detachLatencyMs: latencies,
                    groups: [],
                }),
            );

            assert.deepEqual(
                documents.map((d) => (d.DetachLatency as number[] | undefined)?.length),
                [100, 100, 50],
            );
            assert.deepEqual(
                documents.slice(1).map((d) => Object.keys(d).sort()),
                [
                    ["DetachLatency", "Handler", "_aws"],
                    ["DetachLatency", "Handler", "_aws"],
                ],
            );
            documents.forEach(assertValidEmf);
        });
    });

    describe("given nothing detached", () => {
        it("declares no latency metric at all", () => {
            const [counts] = emfDocuments(metrics({ detachLatencyMs: [] }));

            assert.equal(counts.DetachLatency, undefined);
            assert.ok(
                !counts._aws.CloudWatchMetrics[0].Metrics.some((m) => m.Name === "DetachLatency"),
            );
        });
    });
});
