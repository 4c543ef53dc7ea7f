/**
 * A stand-in for SQS's JSON protocol, only AmazonSQS.SendMessageBatch, on 127.0.0.1: it answers
 * after a set latency, refuses the entries a test picks (HTTP 200 with them in `Failed`, as SQS
 * does), refuses a call whose entry Ids repeat, and records what it accepted and what was aborted.
 * The real SDK talks to it: point a queue URL at `queueUrl()`, since SQS sends to that URL's host.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface StandInOptions {
    /** How long each call waits before it answers. */
    readonly latencyMs: number;
    /** A refusal for the entries SQS should put in `Failed`, by message body. */
    readonly refuse?: (body: string) => { code: string; message: string } | undefined;
    /** Calls beyond this are answered 500: a runaway client cannot spin forever. */
    readonly maxCalls?: number;
}

export interface StandInCall {
    readonly startedAtMs: number;
    readonly ids: readonly string[];
    /** Set once the call was answered; unset when the client gave up first. */
    endedAtMs?: number;
    aborted: boolean;
}

export interface SqsStandIn {
    queueUrl(name?: string): string;
    readonly calls: readonly StandInCall[];
    /** Every message accepted (answered in `Successful`), with its `reason` attribute. */
    readonly accepted: readonly { body: string; reason?: string }[];
    /** The most calls that were in flight at once. */
    maxInFlight(): number;
    /** Resolves once no call is in flight (an abort reaches the server a moment later), or fails. */
    idle(withinMs: number): Promise<void>;
    stop(): Promise<void>;
}

const MAX_BODY_BYTES = 2 * 1024 * 1024;
const ACCOUNT = "123456789012";

interface BatchRequest {
    QueueUrl?: string;
    Entries?: {
        Id: string;
        MessageBody: string;
        MessageAttributes?: Record<string, { StringValue?: string }>;
    }[];
}

export async function startSqsStandIn(options: StandInOptions): Promise<SqsStandIn> {
    const maxCalls = options.maxCalls ?? 2_000;
    const calls: StandInCall[] = [];
    const accepted: { body: string; reason?: string }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const timers = new Set<NodeJS.Timeout>();

    const answer = (res: http.ServerResponse, status: number, payload: unknown, error?: string) => {
        res.writeHead(status, {
            "content-type": "application/x-amz-json-1.0",
            ...(error === undefined ? {} : { "x-amzn-query-error": `${error};Sender` }),
        });
        res.end(JSON.stringify(payload));
    };

    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        req.on("data", (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > MAX_BODY_BYTES) {
                req.destroy();
                return;
            }
            chunks.push(chunk);
        });
        req.on("end", () => {
            if (req.headers["x-amz-target"] !== "AmazonSQS.SendMessageBatch") {
                answer(res, 400, {
                    __type: "UnsupportedOperation",
                    message: "only SendMessageBatch",
                });
                return;
            }
            if (calls.length >= maxCalls) {
                answer(res, 500, { __type: "InternalError", message: "stand-in call limit" });
                return;
            }
            const request = JSON.parse(Buffer.concat(chunks).toString("utf8")) as BatchRequest;
            const entries = request.Entries ?? [];
            const ids = entries.map((e) => e.Id);
            const call: StandInCall = { startedAtMs: performance.now(), ids, aborted: false };
            calls.push(call);
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            let done = false;
            const finish = () => {
                if (!done) {
                    done = true;
                    inFlight--;
                }
            };
            res.on("close", () => {
                if (call.endedAtMs === undefined) call.aborted = true;
                finish();
            });
            const timer = setTimeout(() => {
                timers.delete(timer);
                if (res.destroyed) return;
                call.endedAtMs = performance.now();
                if (entries.length === 0 || entries.length > 10) {
                    const code =
                        entries.length === 0 ? "EmptyBatchRequest" : "TooManyEntriesInBatchRequest";
                    answer(
                        res,
                        400,
                        { __type: `com.amazonaws.sqs#${code}`, message: code },
                        `AWS.SimpleQueueService.${code}`,
                    );
                    return;
                }
                if (new Set(ids).size !== ids.length) {
                    const code = "BatchEntryIdsNotDistinct";
                    answer(
                        res,
                        400,
                        { __type: `com.amazonaws.sqs#${code}`, message: "Id repeated" },
                        `AWS.SimpleQueueService.${code}`,
                    );
                    return;
                }
                const successful: unknown[] = [];
                const failed: unknown[] = [];
                for (const entry of entries) {
                    const refusal = options.refuse?.(entry.MessageBody);
                    if (refusal !== undefined) {
                        failed.push({
                            Id: entry.Id,
                            SenderFault: true,
                            Code: refusal.code,
                            Message: refusal.message,
                        });
                        continue;
                    }
                    accepted.push({
                        body: entry.MessageBody,
                        reason: entry.MessageAttributes?.reason?.StringValue,
                    });
                    successful.push({
                        Id: entry.Id,
                        MessageId: `dlq-${accepted.length}`,
                        MD5OfMessageBody: createHash("md5").update(entry.MessageBody).digest("hex"),
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
        queueUrl: (name = "dlq") => `http://127.0.0.1:${port}/${ACCOUNT}/${name}`,
        calls,
        accepted,
        maxInFlight: () => maxInFlight,
        async idle(withinMs) {
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
