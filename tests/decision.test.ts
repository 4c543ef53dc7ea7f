import * as assert from "node:assert/strict";
import type { SQSRecord } from "aws-lambda";
import {
    chunk,
    classifyCallFailure,
    decrementSlots,
    dedupeBy,
    isSqsEvent,
    isStale,
    judgeMembership,
    nextDetachChunk,
    parseInterruptionWarning,
    parseSqsRecord,
    readHandlerConfig,
} from "../handler";
import { autoScalingErrors } from "./support/auto-scaling-errors";

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
                    sentAtMs: Date.parse("2026-11-28T01:00:00Z"),
                });
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
                SentTimestamp: "0",
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
                parsed: {
                    kind: "interruption-warning",
                    eventId: undefined,
                    instanceId: "i-1234abcd",
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

    describe("judgeMembership", () => {
        it("detaches only InService or Standby members of the configured group", () => {
            const member = (state: string, group = "web") =>
                judgeMembership(
                    "i-1234abcd",
                    { autoScalingGroupName: group, lifecycleState: state },
                    "web",
                );

            assert.deepEqual(member("InService"), { verdict: "detach" });
            assert.deepEqual(member("Standby"), { verdict: "detach" });
            assert.deepEqual(member("Pending"), {
                verdict: "ignore",
                reason: "not-in-service",
                detail: "i-1234abcd is Pending, not InService or Standby: it is already leaving the group",
            });
            assert.deepEqual(member("InService", "batch"), {
                verdict: "ignore",
                reason: "not-a-member",
                detail: "i-1234abcd belongs to Auto Scaling group batch, not web",
            });
            assert.deepEqual(judgeMembership("i-1234abcd", undefined, "web"), {
                verdict: "ignore",
                reason: "not-a-member",
                detail: "i-1234abcd is not in any Auto Scaling group",
            });
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
            const pending = ids(30);

            assert.deepEqual(nextDetachChunk(pending, "decrement", 5), {
                instanceIds: pending.slice(0, 5),
                shouldDecrementDesiredCapacity: true,
            });
            assert.deepEqual(nextDetachChunk(pending, "decrement", 100), {
                instanceIds: pending.slice(0, 20),
                shouldDecrementDesiredCapacity: true,
            });
            assert.deepEqual(nextDetachChunk(pending, "decrement", 0), {
                instanceIds: pending.slice(0, 20),
                shouldDecrementDesiredCapacity: false,
            });
        });

        it("never decrements in keep mode, whatever the slots", () => {
            assert.deepEqual(nextDetachChunk(ids(3), "keep", 100), {
                instanceIds: ids(3),
                shouldDecrementDesiredCapacity: false,
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

        it("leaves everything else for a retry: throttling, contention, unknown validation errors", () => {
            for (const error of [
                autoScalingErrors.throttling(),
                autoScalingErrors.resourceContention(),
                autoScalingErrors.unknownValidation(),
                autoScalingErrors.tooManyInstances(),
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
        it("defaults to keep, with no dead-letter queue", () => {
            assert.deepEqual(readHandlerConfig({ AUTO_SCALING_GROUP_NAME: "web" }), {
                autoScalingGroupName: "web",
                capacityOnInterruption: "keep",
                deadLetterQueueUrl: undefined,
                dryRun: false,
                notifyTopicArn: undefined,
            });
        });

        it("uses the group name exactly as the policy grants it", () => {
            assert.equal(
                readHandlerConfig({ AUTO_SCALING_GROUP_NAME: "web*" }).autoScalingGroupName,
                "web*",
            );
        });

        it("reads the dry run switch and the notification topic", () => {
            const config = readHandlerConfig({
                AUTO_SCALING_GROUP_NAME: "web",
                DRY_RUN: "true",
                NOTIFY_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:spot",
            });
            assert.equal(config.dryRun, true);
            assert.equal(config.notifyTopicArn, "arn:aws:sns:eu-west-1:123456789012:spot");
            assert.throws(
                () => readHandlerConfig({ AUTO_SCALING_GROUP_NAME: "web", DRY_RUN: "yes" }),
                /DRY_RUN is "yes": set it to true or false/,
            );
        });

        it("throws, naming the variable, when the group is missing or the choice is unknown", () => {
            assert.throws(() => readHandlerConfig({}), /AUTO_SCALING_GROUP_NAME is not set/);
            assert.throws(
                () => readHandlerConfig({ AUTO_SCALING_GROUP_NAME: "  " }),
                /AUTO_SCALING_GROUP_NAME is not set/,
            );
            assert.throws(
                () =>
                    readHandlerConfig({
                        AUTO_SCALING_GROUP_NAME: "web",
                        CAPACITY_ON_INTERRUPTION: "shrink",
                    }),
                /CAPACITY_ON_INTERRUPTION is "shrink": set it to one of keep, decrement/,
            );
        });
    });
});
