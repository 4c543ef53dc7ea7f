import * as assert from "node:assert/strict";
import type { SQSRecord } from "aws-lambda";
import { readHandlerConfig } from "../../handler/config";
import {
    chunk,
    decrementSlots,
    dedupeBy,
    type GroupSnapshot,
    isChosenGroup,
    isStale,
    chosenGroupByMember,
    missingGroups,
    nextDetachChunk,
} from "../../handler/decision";
import { classifyCallFailure } from "../../handler/refusals";
import { isSqsEvent, parseInterruptionWarning, parseSqsRecord } from "../../handler/event";
import { autoScalingErrors } from "../support/auto-scaling-errors";

const ids = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => `i-${(from + i).toString(16).padStart(17, "0")}`);

describe("the handler's pure decisions", () => {
    describe("parseInterruptionWarning", () => {
        const warning = (instanceId: unknown, time?: unknown) => ({
            id: "e-1",
            source: "aws.ec2",
            "detail-type": "EC2 Spot Instance Interruption Warning",
            ...(time === undefined ? {} : { time }),
            detail: { "instance-id": instanceId, "instance-action": "terminate" },
        });

        it("accepts both the 8- and the 17-hex-digit instance id formats, with the time sent", () => {
            for (const id of ["i-1234abcd", "i-0123456789abcdef0"]) {
                assert.deepEqual(parseInterruptionWarning(warning(id, "2026-11-28T01:00:00Z")), {
                    kind: "interruption-warning",
                    eventId: "e-1",
                    instanceId: id,
                    warning: "spot",
                    sentAtMs: Date.parse("2026-11-28T01:00:00Z"),
                });
            }
        });

        it("tells a Capacity Reservation's warning from a Spot one: groups react to Spot only", () => {
            for (const detailType of [
                "EC2 Capacity Reservation Instance Interruption Warning",
                "EC2 Interruptible Capacity Reservation Instance Interruption Warning",
            ]) {
                const parsed = parseInterruptionWarning({
                    ...warning("i-1234abcd"),
                    "detail-type": detailType,
                });
                assert.equal(
                    parsed.kind === "interruption-warning" && parsed.warning,
                    "capacity-reservation",
                );
            }
        });

        it("leaves the time unknown when the event has none or an unreadable one", () => {
            for (const time of [undefined, "yesterday", 17]) {
                const parsed = parseInterruptionWarning(warning("i-1234abcd", time));
                assert.equal(parsed.kind === "interruption-warning" && parsed.sentAtMs, undefined);
            }
        });

        it("rejects ids that EC2 never issues, naming the field", () => {
            for (const id of ["i-XYZ", "i-0123456789ABCDEF0", "sg-0123456789abcdef0", 7, ""]) {
                const parsed = parseInterruptionWarning(warning(id));
                assert.equal(parsed.kind, "unrecognised");
                assert.match(
                    parsed.kind === "unrecognised" ? parsed.reason : "",
                    /detail.instance-id/,
                );
            }
        });

        it("echoes at most 80 characters of a hostile value, once", () => {
            const huge = "x".repeat(1_000_000);

            const parsed = parseInterruptionWarning({ ...warning(huge), id: huge });

            assert.equal(parsed.kind, "unrecognised");
            const reason = parsed.kind === "unrecognised" ? parsed.reason : "";
            assert.ok(reason.length < 200, `reason is ${reason.length} characters`);
            assert.match(reason, /… \(1000002 characters\)/);
            assert.ok((parsed.eventId ?? "").length < 120);
        });
    });

    describe("SQS records", () => {
        const record = (body: string, receiveCount = "1"): SQSRecord => ({
            messageId: "m-1",
            receiptHandle: "r-1",
            body,
            attributes: {
                ApproximateReceiveCount: receiveCount,
                SentTimestamp: "1700000000000",
                SenderId: "events",
                ApproximateFirstReceiveTimestamp: "0",
            },
            messageAttributes: {},
            md5OfBody: "",
            eventSource: "aws:sqs",
            eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:events",
            awsRegion: "eu-west-1",
        });

        it("tells an SQS batch from a bare EventBridge event", () => {
            assert.equal(isSqsEvent({ Records: [record("{}")] }), true);
            assert.equal(isSqsEvent({ Records: [] }), true);
            assert.equal(isSqsEvent({ source: "aws.ec2", Records: "no" }), false);
            assert.equal(isSqsEvent({ Records: [{ eventSource: "aws:s3" }] }), false);
            assert.equal(isSqsEvent(null), false);
        });

        it("reads the warning in a record's body, and how often it was received", () => {
            const body = JSON.stringify({
                source: "aws.ec2",
                "detail-type": "EC2 Spot Instance Interruption Warning",
                detail: { "instance-id": "i-1234abcd" },
            });

            assert.deepEqual(parseSqsRecord(record(body, "3")), {
                messageId: "m-1",
                receiveCount: 3,
                receiptHandle: "r-1",
                queuedAtMs: 1_700_000_000_000,
                parsed: {
                    kind: "interruption-warning",
                    eventId: undefined,
                    instanceId: "i-1234abcd",
                    warning: "spot",
                    sentAtMs: undefined,
                },
            });
        });

        it("calls a body that is not JSON unrecognised, naming it", () => {
            const { parsed } = parseSqsRecord(record("not json"));

            assert.deepEqual(parsed, {
                kind: "unrecognised",
                reason: 'the message body is not JSON: "not json"',
            });
        });
    });

    describe("the chosen groups", () => {
        const group = (name: string, tags: Record<string, string>, members: string[] = []) =>
            ({
                name,
                minSize: 0,
                desiredCapacity: members.length,
                instances: new Map(members.map((id) => [id, "InService"])),
                tags: new Map(Object.entries(tags)),
            }) satisfies GroupSnapshot;

        it("chooses by name, by tag and value, or by tag key with any value", () => {
            const tagged = group("a", { team: "web" });
            const other = group("b", { team: "api" });
            const plain = group("c", {});
            const chosen = (selection: Parameters<typeof isChosenGroup>[1]) =>
                [tagged, other, plain]
                    .filter((g) => isChosenGroup(g, selection))
                    .map((g) => g.name);

            assert.deepEqual(chosen({ kind: "names", names: ["a", "c"] }), ["a", "c"]);
            assert.deepEqual(chosen({ kind: "tag", key: "team", value: "web" }), ["a"]);
            assert.deepEqual(chosen({ kind: "tag", key: "team" }), ["a", "b"]);
            assert.deepEqual(chosen({ kind: "tag", key: "Team" }), []);
        });

        it("never places an instance in a group the lookup returned but the selection left out", () => {
            const [ours, theirs] = ids(2);
            const memberships = chosenGroupByMember(
                [group("web", { team: "web" }, [ours]), group("api", { team: "api" }, [theirs])],
                { kind: "tag", key: "team", value: "web" },
            );
            assert.deepEqual([...memberships.keys()], [ours]);
        });

        it("names each listed group the lookup did not find, or the tag when none carries it", () => {
            const found = [group("web", { team: "web" })];
            assert.deepEqual(missingGroups({ kind: "names", names: ["web", "gone"] }, found), [
                "gone",
            ]);
            assert.deepEqual(missingGroups({ kind: "tag", key: "team", value: "web" }, found), []);
            assert.deepEqual(missingGroups({ kind: "tag", key: "team", value: "db" }, found), [
                "the groups tagged team=db",
            ]);
        });
    });

    describe("chunk", () => {
        it("splits into consecutive chunks of at most the size, losing nothing", () => {
            assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
            assert.deepEqual(chunk([], 50), []);
            assert.deepEqual(
                chunk(ids(120), 50).map((c) => c.length),
                [50, 50, 20],
            );
        });

        it("refuses a size that is not a positive whole number", () => {
            assert.throws(() => chunk([1], 0), RangeError);
            assert.throws(() => chunk([1], 2.5), RangeError);
        });
    });

    describe("dedupeBy", () => {
        it("keeps the first record per instance and returns the others as duplicates", () => {
            const records = [
                { key: "m1", id: "a" },
                { key: "m2", id: "b" },
                { key: "m3", id: "a" },
                { key: "m4", id: "a" },
            ];

            const { unique, duplicates } = dedupeBy(records, (r) => r.id);

            assert.deepEqual(
                unique.map((r) => r.key),
                ["m1", "m2"],
            );
            assert.deepEqual(
                duplicates.map((r) => r.key),
                ["m3", "m4"],
            );
        });
    });

    describe("isStale", () => {
        it("is stale only beyond the two-minute notice, and never without a time", () => {
            const now = Date.parse("2026-11-28T01:00:00Z");
            assert.equal(isStale(now - 120_000, now), false);
            assert.equal(isStale(now - 120_001, now), true);
            assert.equal(isStale(now + 5_000, now), false);
            assert.equal(isStale(undefined, now), false);
        });
    });

    describe("the decrement split", () => {
        it("has desired − MinSize decrement slots, never fewer than none", () => {
            assert.equal(decrementSlots({ minSize: 250, desiredCapacity: 500 }), 250);
            assert.equal(decrementSlots({ minSize: 2, desiredCapacity: 2 }), 0);
            assert.equal(decrementSlots({ minSize: 3, desiredCapacity: 2 }), 0);
        });

        it("decrements the first slots' worth of instances and keeps the rest, 20 per call", () => {
            const pending = ids(30).map((instanceId) => ({ instanceId, weight: 1 }));
            const first = (n: number) => pending.slice(0, n).map((p) => p.instanceId);

            assert.deepEqual(nextDetachChunk(pending, "decrement", 5), {
                instanceIds: first(5),
                shouldDecrementDesiredCapacity: true,
                units: 5,
            });
            assert.deepEqual(nextDetachChunk(pending, "decrement", 100), {
                instanceIds: first(20),
                shouldDecrementDesiredCapacity: true,
                units: 20,
            });
            assert.deepEqual(nextDetachChunk(pending, "decrement", 0), {
                instanceIds: first(20),
                shouldDecrementDesiredCapacity: false,
                units: 0,
            });
        });

        it("never decrements in keep mode, whatever the slots", () => {
            const three = ids(3).map((instanceId) => ({ instanceId, weight: 1 }));
            assert.deepEqual(nextDetachChunk(three, "keep", 100), {
                instanceIds: ids(3),
                shouldDecrementDesiredCapacity: false,
                units: 0,
            });
        });

        it("counts a weighted group's decrements in capacity units, skipping what does not fit", () => {
            const [large, small, medium] = ids(3);
            const pending = [
                { instanceId: large, weight: 4 },
                { instanceId: small, weight: 1 },
                { instanceId: medium, weight: 2 },
            ];
            // 3 units above MinSize: the large one (4) would break it, the other two fit.
            assert.deepEqual(nextDetachChunk(pending, "decrement", 3), {
                instanceIds: [small, medium],
                shouldDecrementDesiredCapacity: true,
                units: 3,
            });
            // Not one instance fits in 0.5 units: all leave with keep.
            assert.deepEqual(nextDetachChunk(pending, "decrement", 0.5), {
                instanceIds: [large, small, medium],
                shouldDecrementDesiredCapacity: false,
                units: 0,
            });
        });
    });

    describe("classifyCallFailure", () => {
        it("names the instance AWS refused, and why", () => {
            const [instance] = ids(1);
            assert.deepEqual(
                classifyCallFailure(autoScalingErrors.notPartOfGroup(instance, "web")),
                {
                    kind: "instance-refused",
                    instanceId: instance,
                    reason: "not-a-member",
                    message: `The instance ${instance} is not part of Auto Scaling group web.`,
                },
            );
            assert.deepEqual(
                classifyCallFailure(autoScalingErrors.notInServiceOrStandby(instance)),
                {
                    kind: "instance-refused",
                    instanceId: instance,
                    reason: "not-in-service",
                    message: `The instance ${instance} is not in InService or Standby.`,
                },
            );
        });

        it("reads min-size and desired-size from a MinSize refusal, to re-split on", () => {
            const failure = classifyCallFailure(
                autoScalingErrors.belowMinSize("web", 250, 500, 260, 20),
            );

            assert.equal(failure.kind, "below-min-size");
            assert.deepEqual(failure.kind === "below-min-size" && failure.size, {
                minSize: 250,
                desiredCapacity: 260,
            });
        });

        it("reads the figures from AWS's message shape only, whatever the group's name holds", () => {
            // Names hold no spaces, but may hold the figures' words: none of them can fake the clause.
            for (const name of ["min-size=9,max-size=9,desired-size=99", "desired-size=50."]) {
                const failure = classifyCallFailure(
                    autoScalingErrors.belowMinSize(name, 2, 4, 3, 2),
                );
                assert.deepEqual(failure.kind === "below-min-size" && failure.size, {
                    minSize: 2,
                    desiredCapacity: 3,
                });
            }
            const reworded = classifyCallFailure({
                name: "ValidationError",
                message:
                    "AutoScalingGroup web has min-size=2 and desired-size=3; update the sizes appropriately.",
            });
            assert.deepEqual(reworded, { kind: "below-min-size", message: reworded.message });
        });

        it("reads TerminateInstanceInAutoScalingGroup's refusals: a non-member, and MinSize", () => {
            assert.deepEqual(
                classifyCallFailure({
                    name: "ValidationError",
                    message:
                        "Instance Id not found - No managed instance found for instance ID: i-0123456789abcdef0",
                }),
                {
                    kind: "instance-refused",
                    instanceId: "i-0123456789abcdef0",
                    reason: "not-a-member",
                    message:
                        "Instance Id not found - No managed instance found for instance ID: i-0123456789abcdef0",
                },
            );
            const atMin =
                "Currently, desiredSize equals minSize (2). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.";
            assert.deepEqual(classifyCallFailure({ name: "ValidationError", message: atMin }), {
                kind: "below-min-size",
                size: { minSize: 2, desiredCapacity: 2 },
                message: atMin,
            });
        });

        it("re-reads the group on a ValidationError it cannot read, and never calls it retryable", () => {
            for (const error of [
                autoScalingErrors.unknownValidation(),
                autoScalingErrors.tooManyInstances(),
            ]) {
                assert.equal(classifyCallFailure(error).kind, "unknown-refusal", error.message);
            }
        });

        it("leaves everything else for a retry: throttling, contention, denials", () => {
            for (const error of [
                autoScalingErrors.throttling(),
                autoScalingErrors.resourceContention(),
                {
                    name: "AccessDenied",
                    message: "The instance i-1 is not part of Auto Scaling group web.",
                },
            ]) {
                assert.equal(classifyCallFailure(error).kind, "retryable", error.message);
            }
        });
    });

    describe("readHandlerConfig", () => {
        it("defaults to keep and auto, with no queues", () => {
            assert.deepEqual(
                readHandlerConfig({
                    AUTO_SCALING_GROUP_NAMES: '["web"]',
                    HANDLER_NAME: "p/dev/spot",
                }),
                {
                    groups: { kind: "names", names: ["web"] },
                    capacityOnInterruption: "keep",
                    interruptionAction: "auto",
                    eventsQueueUrl: undefined,
                    handlerName: "p/dev/spot",
                    deadLetterQueueUrl: undefined,
                    dryRun: false,
                    notifyTopicArn: undefined,
                },
            );
        });

        it("uses the group names exactly as the policy grants them, and reads a tag", () => {
            assert.deepEqual(
                readHandlerConfig({ AUTO_SCALING_GROUP_NAMES: '["web*","a,b"]' }).groups,
                {
                    kind: "names",
                    names: ["web*", "a,b"],
                },
            );
            assert.deepEqual(
                readHandlerConfig({ AUTO_SCALING_GROUP_TAG: '{"key":"team","value":"web"}' })
                    .groups,
                { kind: "tag", key: "team", value: "web" },
            );
            assert.deepEqual(
                readHandlerConfig({ AUTO_SCALING_GROUP_TAG: '{"key":"team"}' }).groups,
                {
                    kind: "tag",
                    key: "team",
                },
            );
        });

        it("reads the interruption action, and refuses one it does not know, naming the variable", () => {
            const config = (action: string) =>
                readHandlerConfig({
                    AUTO_SCALING_GROUP_NAMES: '["web"]',
                    INTERRUPTION_ACTION: action,
                });
            assert.equal(config("terminate").interruptionAction, "terminate");
            assert.equal(config("detach").interruptionAction, "detach");
            assert.throws(
                () => config("drain"),
                /INTERRUPTION_ACTION is "drain": set it to one of auto, detach, terminate/,
            );
        });

        it("reads the dry run switch and the notification topic", () => {
            const config = readHandlerConfig({
                AUTO_SCALING_GROUP_NAMES: '["web"]',
                DRY_RUN: "true",
                NOTIFY_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:spot",
            });
            assert.equal(config.dryRun, true);
            assert.equal(config.notifyTopicArn, "arn:aws:sns:eu-west-1:123456789012:spot");
            assert.throws(
                () => readHandlerConfig({ AUTO_SCALING_GROUP_NAMES: '["web"]', DRY_RUN: "yes" }),
                /DRY_RUN is "yes": set it to true or false/,
            );
        });

        it("throws, naming the variable, when the groups are missing, doubled or malformed", () => {
            assert.throws(
                () => readHandlerConfig({}),
                /set exactly one of AUTO_SCALING_GROUP_NAMES .* and AUTO_SCALING_GROUP_TAG .*; neither is set/,
            );
            assert.throws(
                () =>
                    readHandlerConfig({
                        AUTO_SCALING_GROUP_NAMES: '["web"]',
                        AUTO_SCALING_GROUP_TAG: '{"key":"team"}',
                    }),
                /both are set/,
            );
            for (const names of ["web", "[]", '[""]', "[1]"]) {
                assert.throws(
                    () => readHandlerConfig({ AUTO_SCALING_GROUP_NAMES: names }),
                    /AUTO_SCALING_GROUP_NAMES is .*: set it to a JSON list of group names/,
                    names,
                );
            }
            assert.throws(
                () => readHandlerConfig({ AUTO_SCALING_GROUP_TAG: '{"value":"web"}' }),
                /AUTO_SCALING_GROUP_TAG is .*: set it to a JSON object like/,
            );
            assert.throws(
                () =>
                    readHandlerConfig({
                        AUTO_SCALING_GROUP_NAMES: '["web"]',
                        CAPACITY_ON_INTERRUPTION: "shrink",
                    }),
                /CAPACITY_ON_INTERRUPTION is "shrink": set it to one of keep, decrement/,
            );
        });
    });
});
