/** What Lambda reads and writes around an SQS batch: records made from messages, its reading of a response, and queue counts. */
import {
    GetQueueAttributesCommand,
    type Message,
    type MessageAttributeValue,
    type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSMessageAttribute, SQSRecord } from "aws-lambda";
import { required } from "../emulator/group-state";

/** Which records of a batch come back to the queue, and why the whole batch failed if it did. */
export type Verdict = { readonly failed: ReadonlySet<string>; readonly error?: string };

/** Lambda's reading of a response: no failures listed is success; anything malformed fails all. */
export function judge(
    response: unknown,
    records: readonly Pick<SQSRecord, "messageId">[],
): Verdict {
    const all = new Set(records.map((r) => r.messageId));
    const wholeBatch = (error: string): Verdict => ({ failed: all, error });
    let wire: unknown;
    try {
        // Lambda sees the response as JSON: undefined members vanish, and so does an undefined response.
        const json = JSON.stringify(response);
        wire = json === undefined ? null : JSON.parse(json);
    } catch (error) {
        return wholeBatch(`the response is not JSON: ${String(error)}`);
    }
    if (wire === null) {
        return { failed: new Set() };
    }
    if (typeof wire !== "object" || Array.isArray(wire)) {
        return wholeBatch(`the response is not an object: ${JSON.stringify(wire)}`);
    }
    const failures = (wire as { batchItemFailures?: unknown }).batchItemFailures ?? [];
    if (!Array.isArray(failures)) {
        return wholeBatch("batchItemFailures is not a list");
    }
    const failed = new Set<string>();
    for (const failure of failures) {
        const identifier =
            typeof failure === "object" && failure !== null
                ? (failure as { itemIdentifier?: unknown }).itemIdentifier
                : undefined;
        if (typeof identifier !== "string" || identifier === "") {
            return wholeBatch(`invalid batch item failure ${JSON.stringify(failure)}`);
        }
        if (!all.has(identifier)) {
            return wholeBatch(`itemIdentifier ${identifier} names no record of the batch`);
        }
        failed.add(identifier);
    }
    return { failed };
}

/** The system attributes every record has; SQS returns the others (FIFO's, tracing's) only when set. */
const SYSTEM_ATTRIBUTES = [
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
] as const;

/** A received message as the record Lambda would put in the event. */
export function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
    const messageId = required(message.MessageId, "MessageId");
    for (const name of SYSTEM_ATTRIBUTES) {
        required(message.Attributes?.[name], `attribute ${name} of message ${messageId}`);
    }
    return {
        messageId,
        receiptHandle: required(message.ReceiptHandle, "ReceiptHandle"),
        body: message.Body ?? "",
        attributes: { ...message.Attributes } as SQSRecord["attributes"],
        messageAttributes: Object.fromEntries(
            Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
                name,
                toRecordAttribute(value),
            ]),
        ),
        md5OfBody: required(message.MD5OfBody, "MD5OfBody"),
        // Only when SQS sent one: a message with no attributes has none.
        ...(message.MD5OfMessageAttributes === undefined
            ? {}
            : { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
        eventSource: "aws:sqs",
        eventSourceARN: queueArn,
        awsRegion: region,
    };
}

/** Lambda's shape: camel-case names, base64 binaries, list members always present. */
function toRecordAttribute(value: MessageAttributeValue): SQSMessageAttribute {
    const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
    return {
        stringListValues: value.StringListValues ?? [],
        binaryListValues: (value.BinaryListValues ?? []).map(base64),
        dataType: value.DataType ?? "String",
        ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
        ...(value.BinaryValue === undefined ? {} : { binaryValue: base64(value.BinaryValue) }),
    };
}

const COUNT_ATTRIBUTES = {
    visible: "ApproximateNumberOfMessages",
    notVisible: "ApproximateNumberOfMessagesNotVisible",
    delayed: "ApproximateNumberOfMessagesDelayed",
} as const;
export type QueueCounts = Readonly<Record<keyof typeof COUNT_ATTRIBUTES, number>>;

export async function queueCounts(sqs: SQSClient, queueUrl: string): Promise<QueueCounts> {
    const AttributeNames = Object.values(COUNT_ATTRIBUTES);
    const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames }),
    );
    const counts = Object.entries(COUNT_ATTRIBUTES).map(([key, name]) => [
        key,
        Number(Attributes?.[name] ?? 0),
    ]);
    return Object.fromEntries(counts) as QueueCounts;
}

export const totalMessages = (c: QueueCounts) => c.visible + c.notVisible + c.delayed;
