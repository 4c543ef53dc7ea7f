import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { BOUNDED_REQUESTS } from "./auto-scaling";

export const deploymentOnlyModule = true;

/** The one SNS call the handler makes: telling people that instances left the group. */
export interface DetachNotifier {
    publish(subject: string, message: string, signal: AbortSignal): Promise<void>;
}

/** A client from the SDK's standard environment, with the same HTTP bounds as Auto Scaling's. */
export function createSnsClient(): SNSClient {
    return new SNSClient({ requestHandler: BOUNDED_REQUESTS });
}

export function createDetachNotifier(client: SNSClient, topicArn: string): DetachNotifier {
    return {
        async publish(subject, message, signal) {
            await client.send(
                new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }),
                { abortSignal: signal },
            );
        },
    };
}
