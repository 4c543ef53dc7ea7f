/** `npm run simulate` reading the handler's log: Lambda's log lines, and the decision about an instance among them. */
import * as assert from "node:assert/strict";
import {
    decisionFor,
    type HandlerLogEntry,
    parseLogLine,
} from "../../commands/simulate/handler-log";

const INSTANCE = "i-0aaaaaaaaaaaaaaa1";

describe("npm run simulate: reading the handler's log", () => {
    const detach = {
        message: `Instance ${INSTANCE} belongs to AutoScaling Group web. Detaching instance...`,
        autoScalingGroupName: "web",
        capacityOnInterruption: "decrement",
        instanceIds: [INSTANCE],
        activities: [{ activityId: "a-1", statusCode: "InProgress" }],
    };

    it("reads Lambda's JSON format, the record nested as its message", () => {
        const line = JSON.stringify({
            timestamp: "2026-05-01T12:00:00.000Z",
            level: "WARN",
            requestId: "req-1",
            message: detach,
        });

        assert.deepEqual(parseLogLine(line, 7), {
            timestamp: 7,
            level: "WARN",
            message: detach.message,
            requestId: "req-1",
            fields: {
                autoScalingGroupName: "web",
                capacityOnInterruption: "decrement",
                instanceIds: [INSTANCE],
                activities: detach.activities,
            },
        });
    });

    it("reads the handler's own JSON line, as the text format and the emulator carry it", () => {
        const entry = parseLogLine(JSON.stringify({ level: "INFO", ...detach }), 7);

        assert.equal(entry?.message, detach.message);
        assert.equal(entry?.level, "INFO");
        assert.equal(entry?.requestId, undefined);
    });

    it("skips metrics, platform records and START/END lines; keeps other text", () => {
        assert.equal(parseLogLine(JSON.stringify({ _aws: {}, Detached: 1 }), 1), undefined);
        assert.equal(
            parseLogLine(JSON.stringify({ type: "platform.start", record: {} }), 1),
            undefined,
        );
        assert.equal(parseLogLine("START RequestId: 1 Version: $LATEST", 1), undefined);
        assert.deepEqual(parseLogLine("Task timed out after 20.02 seconds", 1), {
            timestamp: 1,
            level: "TEXT",
            message: "Task timed out after 20.02 seconds",
            fields: {},
        });
    });

    const entry = (
        message: string,
        fields: Record<string, unknown>,
        extra = {},
    ): HandlerLogEntry => ({
        timestamp: 1,
        level: "INFO",
        message,
        fields,
        ...extra,
    });

    it("finds a direct invocation's ignore, with the handler's reason", () => {
        const decision = decisionFor(
            [
                entry("Ignored the warning: not-a-member", {
                    instanceId: INSTANCE,
                    reason: `${INSTANCE} is not in any Auto Scaling group`,
                }),
            ],
            INSTANCE,
            { attributeBatches: false },
        );

        assert.deepEqual(decision && { ...decision, entry: undefined }, {
            action: "ignored",
            reason: "not-a-member",
            detail: `${INSTANCE} is not in any Auto Scaling group`,
            inferred: false,
            entry: undefined,
        });
    });

    it("finds a failed detach from its ERROR entry", () => {
        const decision = decisionFor(
            [
                entry(
                    "DetachInstances failed for 1 instance(s); they are left for a retry",
                    {
                        instanceIds: [INSTANCE],
                        error: { name: "Throttling", message: "Rate exceeded" },
                    },
                    { level: "ERROR" },
                ),
            ],
            INSTANCE,
            { attributeBatches: false },
        );

        assert.equal(decision?.action, "failed");
        assert.equal(
            decision?.action === "failed" ? decision.error : "",
            "DetachInstances failed for 1 instance(s); they are left for a retry: Throttling: Rate exceeded",
        );
    });

    it("reads another invocation's batch counts as nobody's decision", () => {
        const batch = entry(
            "Batch of 1 records: 0 detached, 1 ignored, 0 left for a retry",
            { ignored: { "not-in-service": 1 } },
            { requestId: "someone-else" },
        );

        assert.equal(
            decisionFor([batch], INSTANCE, { requestId: "req-1", attributeBatches: false }),
            undefined,
        );
        assert.equal(
            decisionFor([batch], INSTANCE, { requestId: "someone-else", attributeBatches: false })
                ?.action,
            "ignored",
        );
    });
});
