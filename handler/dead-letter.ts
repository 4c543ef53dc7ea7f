import { SendMessageBatchCommand, SQSClient, type SQSClientConfig } from "@aws-sdk/client-sqs";
import { BOUNDED_REQUESTS } from "./auto-scaling";
import type { ErrorDescription } from "./batch-steps";

export const deploymentOnlyModule = true;

/** SendMessageBatch's limit: entries per call. */
export const MAX_BATCH_ENTRIES = 10;

/** One message for the dead-letter queue; `id` must be distinct within its call. */
export interface DeadLetterEntry {
    readonly id: string;
    readonly body: string;
    readonly reason: string;
}

/** The one SQS call the handler makes itself: dead-lettering warnings that came back too late. */
export interface DeadLetterGateway {
    /**
     * Sends up to 10 entries in one SendMessageBatch. Resolves to the entries SQS did not accept,
     * by id (HTTP 200 can still refuse some, in `Failed`, and an entry in neither list counts as
     * refused); rejects when the call as a whole failed or was aborted.
     */
    sendBatch(
        entries: readonly DeadLetterEntry[],
        signal: AbortSignal,
    ): Promise<ReadonlyMap<string, ErrorDescription>>;
}

/** A client from the SDK's standard environment, with the same HTTP bounds as Auto Scaling's. */
export function createSqsClient(config: SQSClientConfig = {}): SQSClient {
    return new SQSClient({ requestHandler: BOUNDED_REQUESTS, ...config });
}

export function createDeadLetterGateway(client: SQSClient, queueUrl: string): DeadLetterGateway {
    return {
        async sendBatch(entries, signal) {
            const answer = await client.send(
                new SendMessageBatchCommand({
                    QueueUrl: queueUrl,
                    Entries: entries.map((entry) => ({
                        Id: entry.id,
                        MessageBody: entry.body,
                        MessageAttributes: {
                            reason: { DataType: "String", StringValue: entry.reason },
                        },
                    })),
                }),
                { abortSignal: signal },
            );
            const refused = new Map<string, ErrorDescription>();
            for (const failed of answer.Failed ?? []) {
                refused.set(failed.Id ?? "", {
                    name: failed.Code ?? "UnknownError",
                    message: failed.Message ?? `SendMessageBatch refused entry ${failed.Id}`,
                });
            }
            const accepted = new Set((answer.Successful ?? []).map((s) => s.Id));
            for (const entry of entries) {
                if (!accepted.has(entry.id) && !refused.has(entry.id)) {
                    refused.set(entry.id, {
                        name: "NotAcknowledged",
                        message: `SendMessageBatch answered without entry ${entry.id}`,
                    });
                }
            }
            return refused;
        },
    };
}
