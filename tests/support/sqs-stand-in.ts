/**
 * SQS's SendMessageBatch on 127.0.0.1 for the real SDK (it sends to the queue URL's host): answers
 * after a set latency, refuses what SQS refuses, and the entries a test picks, in `Failed`.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { json } from "node:stream/consumers";
import type { SendMessageBatchRequest } from "@aws-sdk/client-sqs";

interface StandInOptions {
    /** How long each call waits before it answers. */
    readonly latencyMs: number;
    /** A refusal for the entries SQS should put in `Failed`, by message body. */
    readonly refuse?: (body: string) => { code: string; message: string } | undefined;
}

interface StandInCall {
    readonly startedAtMs: number;
    readonly ids: readonly string[];
    /** The client gave up before the answer. */
    aborted: boolean;
}

export type SqsStandIn = Awaited<ReturnType<typeof startSqsStandIn>>;

export async function startSqsStandIn(options: StandInOptions) {
    const calls: StandInCall[] = [];
    /** Every message accepted (answered in `Successful`), with its `reason` attribute. */
    const accepted: { body: string; reason?: string }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const timers = new Set<NodeJS.Timeout>();

    const answer = (res: http.ServerResponse, status: number, payload: unknown, error?: string) => {
        res.writeHead(status, {
            "content-type": "application/x-amz-json-1.0",
            ...(error && { "x-amzn-query-error": `AWS.SimpleQueueService.${error};Sender` }),
        });
        res.end(JSON.stringify(payload));
    };

    const server = http.createServer((req, res) => {
        void json(req).then((request) => {
            const entries = (request as SendMessageBatchRequest).Entries ?? [];
            const ids = entries.map((e) => e.Id ?? "");
            const call: StandInCall = { startedAtMs: performance.now(), ids, aborted: false };
            calls.push(call);
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            let answered = false;
            res.on("close", () => {
                call.aborted = !answered;
                inFlight--;
            });
            const timer = setTimeout(() => {
                timers.delete(timer);
                if (res.destroyed) return;
                answered = true;
                const refused =
                    entries.length === 0
                        ? "EmptyBatchRequest"
                        : entries.length > 10
                          ? "TooManyEntriesInBatchRequest"
                          : new Set(ids).size !== ids.length
                            ? "BatchEntryIdsNotDistinct"
                            : undefined;
                if (refused !== undefined) {
                    answer(
                        res,
                        400,
                        { __type: `com.amazonaws.sqs#${refused}`, message: refused },
                        refused,
                    );
                    return;
                }
                const successful: unknown[] = [];
                const failed: unknown[] = [];
                for (const { Id, MessageBody = "", MessageAttributes } of entries) {
                    const refusal = options.refuse?.(MessageBody);
                    if (refusal !== undefined) {
                        failed.push({
                            Id,
                            SenderFault: true,
                            Code: refusal.code,
                            Message: refusal.message,
                        });
                        continue;
                    }
                    accepted.push({
                        body: MessageBody,
                        reason: MessageAttributes?.reason?.StringValue,
                    });
                    successful.push({
                        Id,
                        MessageId: `dlq-${accepted.length}`,
                        MD5OfMessageBody: createHash("md5").update(MessageBody).digest("hex"),
                    });
                }
                answer(res, 200, { Successful: successful, Failed: failed });
            }, options.latencyMs);
            timers.add(timer);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;

    return {
        queueUrl: () => `http://127.0.0.1:${port}/123456789012/dlq`,
        calls,
        accepted,
        maxInFlight: () => maxInFlight,
        /** Resolves once no call is in flight (an abort reaches the server a moment later), or fails. */
        async idle(withinMs: number) {
            const until = performance.now() + withinMs;
            while (inFlight > 0) {
                if (performance.now() > until) {
                    throw new Error(`${inFlight} calls still in flight after ${withinMs} ms`);
                }
                await new Promise((resolve) => setTimeout(resolve, 10));
            }
        },
        async stop() {
            timers.forEach(clearTimeout);
            timers.clear();
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
