/** What a batch from the events queue reports: its metrics, its detach notification, and a notification that never answers. */
import * as assert from "node:assert/strict";
import { asSqsRecord } from "../../offline/sample-event";
import { autoScaling, ids, stubAutoScalingPerSuite } from "../support/auto-scaling-stub";
import { FakeAutoScaling } from "../support/fake-auto-scaling";
import { GROUP, groupOf, HANDLER, warnings, whenBatchArrives } from "../support/queued-batch";

describe("the handler's metrics and notifications, given a batch from the events queue", () => {
    stubAutoScalingPerSuite();
    describe("given metrics and notifications", () => {
        it("emits EMF whose counts add up, and one notification for the batch", async () => {
            const [a, b, neighbour] = ids(3);
            new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 10, desiredCapacity: 2 })
                .members(GROUP, [a, b])
                .members("batch", [neighbour])
                .install(autoScaling);
            const emitted: string[] = [];
            const published: { subject: string; message: string }[] = [];

            await whenBatchArrives(
                [...warnings([a, b, a, neighbour]), asSqsRecord("{}", { messageId: "m9" })],
                {
                    reporting: {
                        emit: (line) => emitted.push(line),
                        notifier: {
                            publish: async (subject, message) =>
                                void published.push({ subject, message }),
                        },
                    },
                },
            );

            const [counts, ...more] = emitted.map((line) => JSON.parse(line));
            assert.deepEqual(
                [counts.Handler, counts.WarningsReceived, counts.Detached, counts.Ignored],
                [HANDLER, 5, 2, 3],
            );
            assert.deepEqual(
                [counts.Failed, counts.AutoScalingCalls, counts.MissingGroups],
                [0, 2, 0],
            );
            assert.deepEqual(
                more.filter((d) => d.Reason !== undefined).map((d) => [d.Reason, d.Ignored]),
                [
                    ["malformed", 1],
                    ["duplicate", 1],
                    ["not-a-member", 1],
                ],
            );
            assert.deepEqual(
                more
                    .filter((d) => d.AutoScalingGroupName !== undefined)
                    .map((d) => [d.Handler, d.AutoScalingGroupName, d.Detached, d.Failed]),
                [[HANDLER, GROUP, 2, 0]],
            );
            assert.deepEqual(counts.DetachLatency, [5_000, 5_000]);
            assert.deepEqual(published, [
                {
                    subject: "Spot interruption: 2 left web",
                    message: JSON.stringify({
                        handler: HANDLER,
                        capacityOnInterruption: "keep",
                        detached: 2,
                        terminated: 0,
                        groups: { [GROUP]: 2 },
                        instanceIds: [a, b],
                        detachLatencyMs: { min: 5_000, max: 5_000 },
                    }),
                },
            ]);
        });

        it("never fails a record because the notification could not be published", async () => {
            const [a] = ids(1);
            const fake = groupOf([a], { minSize: 0, maxSize: 10, desiredCapacity: 1 });

            const { response, logged } = await whenBatchArrives(warnings([a]), {
                reporting: {
                    notifier: {
                        publish: async () => {
                            throw Object.assign(new Error("denied"), {
                                name: "AuthorizationError",
                            });
                        },
                    },
                },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(fake.membersOf(GROUP), []);
            assert.ok(
                logged.some(
                    (l) => l.level === "WARN" && /notification failed/.test(l.record.message),
                ),
            );
        });
    });

    describe("given a notification topic that never answers", () => {
        it("bounds the publish by the time left, so the invocation answers inside its deadline", async () => {
            const [a] = ids(1);
            const fake = groupOf([a], { minSize: 0, maxSize: 10, desiredCapacity: 1 });
            const startedAt = Date.now();
            // 2.5 s left: 1.5 s stays for the answer, so the publish gets at most 1 s.
            const remainingTimeMs = () => 2_500 - (Date.now() - startedAt);
            let aborted = false;

            const { response, logged } = await whenBatchArrives(warnings([a]), {
                remainingTimeMs,
                reporting: {
                    notifier: {
                        publish: (_subject, _message, signal) =>
                            new Promise((_, reject) =>
                                signal.addEventListener("abort", () => {
                                    aborted = true;
                                    reject(signal.reason);
                                }),
                            ),
                    },
                },
            });

            assert.ok(aborted, "the publish was not aborted");
            assert.ok(remainingTimeMs() >= 1_400, `only ${remainingTimeMs()} ms left to answer`);
            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(fake.membersOf(GROUP), []);
            assert.ok(logged.some((l) => /notification failed/.test(l.record.message)));
        });

        it("skips the publish, saying so, when no time is left for it", async () => {
            const [a] = ids(1);
            const fake = groupOf([a], { minSize: 0, maxSize: 10, desiredCapacity: 1 });
            let published = 0;

            const { logged } = await whenBatchArrives(warnings([a]), {
                // Time enough for the two calls; once the instance is out, under 250 ms to spare.
                remainingTimeMs: () => (fake.membersOf(GROUP).length > 0 ? 20_000 : 1_600),
                reporting: { notifier: { publish: async () => void published++ } },
            });

            assert.equal(published, 0);
            assert.ok(logged.some((l) => /Skipped the detach notification/.test(l.record.message)));
        });
    });
});
