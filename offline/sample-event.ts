import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { SQSRecord } from "aws-lambda";

/** The seed workshop's sample event, from its Lambda console test step. */
const SEED_SAMPLE_EVENT_FILE = path.resolve(
    __dirname,
    "../tests/fixtures/events/seed-sample-event.json",
);

/** Fills the `<instance-id>` placeholders of an event's JSON, as the workshop has you do by hand. */
export function fillInstanceId(eventJson: string, instanceId: string): string {
    return eventJson.split("<instance-id>").join(instanceId);
}

export function loadSampleEvent(instanceId: string): Record<string, unknown> {
    const text = fs.readFileSync(SEED_SAMPLE_EVENT_FILE, "utf8");
    return JSON.parse(fillInstanceId(text, instanceId)) as Record<string, unknown>;
}

/** The seed's sample event for `instanceId`, sent at `sentAt`: a fresh warning, not a stale one. */
export function freshSampleEvent(instanceId: string, sentAt = new Date()): Record<string, unknown> {
    // EventBridge's `time` has whole seconds.
    return { ...loadSampleEvent(instanceId), time: sentAt.toISOString().replace(/\.\d{3}Z$/, "Z") };
}

/** The event as the mapping delivers it: the whole EventBridge event as one record's body. */
export function asSqsRecord(
    event: unknown,
    options: { messageId: string; receiveCount?: number; queueArn?: string },
): SQSRecord {
    const body = typeof event === "string" ? event : JSON.stringify(event);
    const queueArn = options.queueArn ?? "arn:aws:sqs:eu-west-1:123456789012:events";
    return {
        messageId: options.messageId,
        receiptHandle: `receipt-${options.messageId}`,
        body,
        attributes: {
            ApproximateReceiveCount: String(options.receiveCount ?? 1),
            SentTimestamp: String(Date.now()),
            SenderId: "AIDAEVENTBRIDGE",
            ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: createHash("md5").update(body).digest("hex"),
        eventSource: "aws:sqs",
        eventSourceARN: queueArn,
        awsRegion: queueArn.split(":")[3] ?? "eu-west-1",
    };
}
