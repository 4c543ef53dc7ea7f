/**
 * Late retries, dead-lettered by the serialized handler through the real SDK's SendMessageBatch
 * into a queue of the emulator: the protocol end to end, where the unit tests use a stand-in.
 */
import * as assert from "node:assert/strict";
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse } from "aws-lambda";
import { asSqsRecord, freshSampleEvent } from "../../offline/sample-event";
import { clientConfigFor } from "../../emulator/group-state";
import { HANDLER_ENV } from "../../contract";
import { emulatedWorkshopSuite } from "../support/emulated-workshop";

const ids = (n: number) =>
    Array.from({ length: n }, (_, i) => `i-${(i + 1).toString(16).padStart(17, "0")}`);

describe("late retries, dead-lettered into the emulator's queue", function () {
    this.timeout(120_000);

    const { emulator, archives } = emulatedWorkshopSuite("late-retries", { defaults: {} });

    it("sends every retry of a warning past its notice there, with its reason, and acknowledges it", async () => {
        // Given 25 second receives of warnings sent three minutes ago, and an empty queue
        const sqs = new SQSClient(clientConfigFor(emulator()));
        try {
            const { QueueUrl } = await sqs.send(
                new CreateQueueCommand({ QueueName: `late-dlq-${Date.now()}` }),
            );
            assert.ok(QueueUrl !== undefined);
            const stale = new Date(Date.now() - 180_000);
            const records = ids(25).map((id, i) =>
                asSqsRecord(freshSampleEvent(id, stale), { messageId: `m${i}`, receiveCount: 2 }),
            );

            // When the handler gets them in one batch
            const { results, logLines } = await archives.defaults.invoke<SQSBatchResponse>(
                [{ Records: records }],
                { ...emulator().environment(), [HANDLER_ENV.deadLetterQueueUrl]: QueueUrl },
            );

            // Then none is left for a retry, and the queue holds each one once, with its reason
            const [result] = results;
            assert.equal(result.status, "fulfilled", JSON.stringify(logLines.slice(-3)));
            assert.deepEqual(result.status === "fulfilled" && result.value, {
                batchItemFailures: [],
            });
            const bodies: string[] = [];
            for (let attempt = 0; attempt < 10 && bodies.length < records.length; attempt++) {
                const { Messages = [] } = await sqs.send(
                    new ReceiveMessageCommand({
                        QueueUrl,
                        MaxNumberOfMessages: 10,
                        MessageAttributeNames: ["reason"],
                    }),
                );
                for (const message of Messages) {
                    bodies.push(message.Body ?? "");
                    assert.match(
                        message.MessageAttributes?.reason?.StringValue ?? "",
                        /a retry came too late to detach it$/,
                    );
                }
            }
            assert.deepEqual(bodies.sort(), records.map((r) => r.body).sort());
        } finally {
            sqs.destroy();
        }
    });
});
