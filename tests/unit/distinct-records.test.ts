import * as assert from "node:assert/strict";
import type { SQSRecord } from "aws-lambda";
import type { AutoScalingGateway } from "../../handler/auto-scaling";
import { handleSqsBatch } from "../../handler/queue-batch";
import { distinctRecords } from "../../handler/event";
import type { LogRecord } from "../../handler/log";
import { asSqsRecord, freshSampleEvent } from "../../offline/sample-event";

const NOW = Date.parse("2026-11-28T01:00:00Z");
const A = "i-0000000000000000a";
const B = "i-0000000000000000b";

const record = (messageId: string, instanceId: string, receiveCount = 1): SQSRecord =>
    asSqsRecord(freshSampleEvent(instanceId, new Date(NOW - 5_000)), { messageId, receiveCount });

// Every lookup fails: each warning is left for a retry, so batchItemFailures names each one.
const failingAutoScaling: AutoScalingGateway = {
    describeGroups: async () => {
        throw Object.assign(new Error("Rate exceeded"), { name: "Throttling" });
    },
    detachInstances: async () => assert.fail("no detach expected after a failed lookup"),
    terminateInstance: async () => assert.fail("no termination expected after a failed lookup"),
    hasTerminationHook: async () => assert.fail("no hook lookup expected after a failed lookup"),
};

describe("one outcome per distinct messageId", () => {
    describe("distinctRecords", () => {
        it("keeps one record per message id, in first-seen order, the one received most", () => {
            const first = record("m0", A, 1);
            const again = record("m0", A, 2);
            const other = record("m1", B, 1);

            const kept = distinctRecords([first, other, again]);

            assert.deepEqual(kept, [again, other]);
        });
    });

    describe("given a batch that holds one message twice", () => {
        it("counts it once and names it once in batchItemFailures", async () => {
            const logged: LogRecord[] = [];
            const emitted: string[] = [];

            const response = await handleSqsBatch(
                { Records: [record("m0", A, 1), record("m1", B), record("m0", A, 2)] },
                {
                    config: {
                        groups: { kind: "names", names: ["web"] },
                        handlerName: "project/dev/spot",
                        capacityOnInterruption: "keep",
                        interruptionAction: "auto",
                    },
                    autoScaling: failingAutoScaling,
                    log: (_, entry) => logged.push(entry),
                    remainingTimeMs: () => 20_000,
                    now: () => NOW,
                },
                undefined,
                { emit: (line) => emitted.push(line) },
            );

            assert.deepEqual(response.batchItemFailures, [
                { itemIdentifier: "m0" },
                { itemIdentifier: "m1" },
            ]);
            const [counts] = emitted.map((line) => JSON.parse(line) as Record<string, number>);
            assert.deepEqual([counts.WarningsReceived, counts.Failed], [2, 2]);
            const batch = logged.find((l) => /^Batch of/.test(l.message));
            assert.equal(batch?.records, 2);
        });
    });
});
