/** SQS's wire shapes into Lambda's: records, deletes in DeleteMessageBatch's chunks, and queue counts. */
import {
    DeleteMessageBatchCommand,
    GetQueueAttributesCommand,
    type Message,
    type MessageAttributeValue,
    type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSMessageAttribute, SQSRecord, SQSRecordAttributes } from "aws-lambda";
import { required } from "../emulator/group-state";

const DELETE_BATCH_SIZE = 10; // DeleteMessageBatch's own cap

/** Turns a received message into the record Lambda would put in the event. */
export function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
    const messageId = required(message.MessageId, "MessageId");
    const attributes: Partial<Record<string, string>> = message.Attributes ?? {};
    const system = (name: string): string =>
        required(attributes[name], `attribute ${name} of message ${messageId}`);
    const recordAttributes: SQSRecordAttributes = {
        ApproximateReceiveCount: system("ApproximateReceiveCount"),
        SentTimestamp: system("SentTimestamp"),
        SenderId: system("SenderId"),
        ApproximateFirstReceiveTimestamp: system("ApproximateFirstReceiveTimestamp"),
    };
    for (const name of OPTIONAL_SYSTEM_ATTRIBUTES) {
        if (attributes[name] !== undefined) {
            recordAttributes[name] = attributes[name];
        }
    }
    const messageAttributes = Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
            name,
            toRecordAttribute(value),
        ]),
    );
    return {
        messageId,
        receiptHandle: required(message.ReceiptHandle, "ReceiptHandle"),
        body: message.Body ?? "",
        attributes: recordAttributes,
        messageAttributes,
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

const OPTIONAL_SYSTEM_ATTRIBUTES = [
    "AWSTraceHeader",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "DeadLetterQueueSourceArn",
] as const;

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

/** Deletes in chunks of 10; returns how many SQS confirmed. Failed records are left alone: their visibility is not changed, so they reappear after the queue's timeout. */
export async function deleteRecords(
    sqs: SQSClient,
    queueUrl: string,
    records: readonly SQSRecord[],
    noteError: (error: unknown) => void,
): Promise<number> {
    let deleted = 0;
    for (let start = 0; start < records.length; start += DELETE_BATCH_SIZE) {
        const chunk = records.slice(start, start + DELETE_BATCH_SIZE);
        try {
            const response = await sqs.send(
                new DeleteMessageBatchCommand({
                    QueueUrl: queueUrl,
                    // Ids only need to be unique within the request.
                    Entries: chunk.map((record, index) => ({
                        Id: String(index),
                        ReceiptHandle: record.receiptHandle,
                    })),
                }),
            );
            deleted += response.Successful?.length ?? 0;
            for (const failure of response.Failed ?? []) {
                noteError(new Error(`DeleteMessageBatch: ${failure.Code}: ${failure.Message}`));
            }
        } catch (error) {
            noteError(error);
        }
    }
    return deleted;
}

export interface QueueCounts {
    readonly visible: number;
    readonly notVisible: number;
    readonly delayed: number;
}

export async function queueCounts(sqs: SQSClient, queueUrl: string): Promise<QueueCounts> {
    const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: [
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        }),
    );
    const counts: Partial<Record<string, string>> = Attributes;
    const count = (name: string): number => Number(counts[name] ?? 0);
    return {
        visible: count("ApproximateNumberOfMessages"),
        notVisible: count("ApproximateNumberOfMessagesNotVisible"),
        delayed: count("ApproximateNumberOfMessagesDelayed"),
    };
}
