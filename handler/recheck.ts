/**
 * Bringing a waiting warning's re-check forward: at the end of an invocation, a record left for
 * the group's grace is made visible again when the grace ends, not a whole visibility timeout on.
 */
import { ChangeMessageVisibilityBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";

export const deploymentOnlyModule = true;

/** One record whose re-check is due in `seconds`. */
export interface Recheck {
    readonly id: string;
    readonly receiptHandle: string;
    readonly seconds: number;
}

/** The one call: ChangeMessageVisibilityBatch, 10 records at most. */
export interface RecheckGateway {
    /** Resolves to the ids SQS did not change. */
    schedule(rechecks: readonly Recheck[], signal: AbortSignal): Promise<string[]>;
}

/** ChangeMessageVisibilityBatch takes at most 10 entries. */
export const MAX_VISIBILITY_ENTRIES = 10;

export function createRecheckGateway(client: SQSClient, queueUrl: string): RecheckGateway {
    return {
        async schedule(rechecks, signal) {
            const { Failed = [] } = await client.send(
                new ChangeMessageVisibilityBatchCommand({
                    QueueUrl: queueUrl,
                    Entries: rechecks.map((r) => ({
                        Id: r.id,
                        ReceiptHandle: r.receiptHandle,
                        VisibilityTimeout: r.seconds,
                    })),
                }),
                { abortSignal: signal },
            );
            return Failed.flatMap((f) => (f.Id === undefined ? [] : [f.Id]));
        },
    };
}

/** Seconds until a re-check is due, as SQS takes them: whole, and not negative. */
export function secondsUntil(recheckAtMs: number, nowMs: number): number {
    return Math.min(43_200, Math.max(0, Math.ceil((recheckAtMs - nowMs) / 1000)));
}
