import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { BOUNDED_REQUESTS } from "./auto-scaling";

export const deploymentOnlyModule = true;

/** The one SQS call the handler makes itself: dead-lettering a warning that came back too late. */
export interface DeadLetterGateway {
    send(body: string, reason: string, signal: AbortSignal): Promise<void>;
}

/** A client from the SDK's standard environment, with the same HTTP bounds as Auto Scaling's. */
export function createSqsClient(): SQSClient {
    return new SQSClient({ requestHandler: BOUNDED_REQUESTS });
}

export function createDeadLetterGateway(client: SQSClient, queueUrl: string): DeadLetterGateway {
    return {
        async send(body, reason, signal) {
            await client.send(
                new SendMessageCommand({
                    QueueUrl: queueUrl,
                    MessageBody: body,
                    MessageAttributes: { reason: { DataType: "String", StringValue: reason } },
                }),
                { abortSignal: signal },
            );
        },
    };
}
