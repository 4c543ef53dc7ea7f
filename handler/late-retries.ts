/**
 * Retries that came back after their warning's notice (an Auto Scaling outage longer than the
 * notice brings them all at once): which records they are, how they count, and sending them to
 * the dead-letter queue in SendMessageBatch calls, a few at a time, inside the invocation's time.
 */
import type { SQSRecord } from "aws-lambda";
import { describeError, type ErrorDescription, type WarningOutcome } from "./batch-steps";
import type { HandlerDependencies } from "./batch-context";
import { type DeadLetterEntry, type DeadLetterGateway, MAX_BATCH_ENTRIES } from "./dead-letter";
import { deadlineExceeded } from "./deadline";
import type { QueuedWarning } from "./event";
import { MAX_LISTED_IDS } from "./report";

export const deploymentOnlyModule = true;

/** A record to dead-letter: its body as SQS delivered it, and why, for the message's attribute. */
export interface LateRetry {
    readonly messageId: string;
    readonly instanceId?: string;
    readonly body: string;
    readonly reason: string;
}

// SendMessageBatch calls in flight at once: 100 calls of 60 ms take 0.6 s, and stay far below
// the SDK's 50 sockets and SQS's per-queue throughput.
export const CONCURRENT_SENDS = 10;
// SendMessageBatch's payload limit was 256 KiB before SQS raised it: stay under the older one.
const MAX_BATCH_BYTES = 256 * 1024;
// The same as the entry's: what the invocation keeps back to log and return before Lambda stops it.
const RESPONSE_MARGIN_MS = 1_500;
// A call that cannot get this long is not started; its records are left for a retry instead.
const MIN_SEND_MS = 200;

/**
 * The records that are retries of a warning already older than its notice. Pure. Each is counted
 * before any send, as what it already is: with a dead-letter queue a `late-retry` (the handler
 * will never act on it; a send that fails only returns it to the queue, to be counted at its next
 * receive or dead-lettered by SQS's redrive), without one `failed`.
 */
export function lateRetriesOf(
    records: readonly SQSRecord[],
    warnings: readonly QueuedWarning[],
    outcomes: ReadonlyMap<string, WarningOutcome>,
    deadLetterConfigured: boolean,
): { retries: LateRetry[]; outcomes: Map<string, WarningOutcome> } {
    const retries: LateRetry[] = [];
    const counted = new Map<string, WarningOutcome>();
    for (const [index, warning] of warnings.entries()) {
        const outcome = outcomes.get(warning.messageId);
        if (
            outcome?.action !== "ignored" ||
            outcome.reason !== "stale" ||
            warning.receiveCount <= 1
        ) {
            continue;
        }
        retries.push({
            messageId: warning.messageId,
            ...(outcome.instanceId === undefined ? {} : { instanceId: outcome.instanceId }),
            body: records[index].body,
            reason: `${outcome.detail}; a retry came too late to detach it`,
        });
        counted.set(
            warning.messageId,
            deadLetterConfigured
                ? { ...outcome, reason: "late-retry" }
                : {
                      action: "failed",
                      instanceId: outcome.instanceId ?? "unknown",
                      error: {
                          name: "NoDeadLetterQueue",
                          message: "no dead-letter queue is configured",
                      },
                  },
        );
    }
    return { retries, outcomes: counted };
}

/** Groups retries into SendMessageBatch calls: at most 10 entries and 256 KiB each. Pure. */
export function sendBatchesOf(retries: readonly LateRetry[]): LateRetry[][] {
    const batches: LateRetry[][] = [];
    let current: LateRetry[] = [];
    let bytes = 0;
    for (const retry of retries) {
        const size = Buffer.byteLength(retry.body) + Buffer.byteLength(retry.reason);
        if (
            current.length === MAX_BATCH_ENTRIES ||
            (current.length > 0 && bytes + size > MAX_BATCH_BYTES)
        ) {
            batches.push(current);
            current = [];
            bytes = 0;
        }
        current.push(retry);
        bytes += size;
    }
    if (current.length > 0) batches.push(current);
    return batches;
}

/**
 * Sends the late retries to the dead-letter queue, 10 to a call and CONCURRENT_SENDS calls at a
 * time, and stops at the invocation's response margin: every call is aborted there, and no call
 * starts that could not finish. Resolves to the message ids left for a retry (not sent in time,
 * or refused); logs one ERROR line for them all, since each one's instance was reclaimed undrained.
 * Entry ids are positions within their call: distinct, as SQS requires.
 */
export async function deadLetterLateRetries(
    retries: readonly LateRetry[],
    deadLetter: DeadLetterGateway | undefined,
    deps: HandlerDependencies,
): Promise<Set<string>> {
    const left = new Map<string, ErrorDescription>();
    if (retries.length === 0) {
        return new Set();
    }
    const { handlerName } = deps.config;
    const instanceIds = retries.flatMap((r) => (r.instanceId === undefined ? [] : [r.instanceId]));
    if (deadLetter === undefined) {
        deps.log("ERROR", {
            message: `${retries.length} retries came after their warning's notice. No dead-letter queue is configured, so they are left for the queue's redrive policy`,
            handler: handlerName,
            instanceIds: instanceIds.slice(0, MAX_LISTED_IDS),
        });
        return new Set(retries.map((r) => r.messageId));
    }
    const startedAt = Date.now();
    const budgetMs = deps.remainingTimeMs() - RESPONSE_MARGIN_MS;
    const controller = new AbortController();
    const timer = setTimeout(
        () =>
            controller.abort(
                deadlineExceeded(
                    `the dead-letter queue did not take every late retry within the ${Math.round(budgetMs)} ms the invocation had left`,
                ),
            ),
        Math.max(0, budgetMs),
    );
    const aborted = new Promise<never>((_, reject) => {
        controller.signal.addEventListener("abort", () => reject(controller.signal.reason), {
            once: true,
        });
    });
    aborted.catch(() => undefined);
    const batches = sendBatchesOf(retries);
    let calls = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
        while (next < batches.length) {
            const batch = batches[next++];
            if (
                controller.signal.aborted ||
                deps.remainingTimeMs() - RESPONSE_MARGIN_MS < MIN_SEND_MS
            ) {
                const reason = describeError(
                    controller.signal.aborted
                        ? controller.signal.reason
                        : deadlineExceeded(
                              "too little time left in the invocation to start a send",
                          ),
                );
                batch.forEach((r) => left.set(r.messageId, reason));
                continue;
            }
            const entries: DeadLetterEntry[] = batch.map((r, i) => ({
                id: String(i),
                body: r.body,
                reason: r.reason,
            }));
            calls++;
            try {
                const refused = await Promise.race([
                    deadLetter.sendBatch(entries, controller.signal),
                    aborted,
                ]);
                for (const [i, retry] of batch.entries()) {
                    const error = refused.get(String(i));
                    if (error !== undefined) left.set(retry.messageId, error);
                }
            } catch (error) {
                const reason = describeError(
                    controller.signal.aborted ? controller.signal.reason : error,
                );
                batch.forEach((r) => left.set(r.messageId, reason));
            }
        }
    };
    try {
        await Promise.all(
            Array.from({ length: Math.min(CONCURRENT_SENDS, batches.length) }, worker),
        );
    } finally {
        clearTimeout(timer);
    }
    const sent = retries.length - left.size;
    const leftNote =
        left.size > 0 ? `, ${left.size} left for a retry or the queue's redrive policy` : "";
    deps.log("ERROR", {
        message: `${retries.length} retries came after their warning's notice: ${sent} sent to the dead-letter queue${leftNote}`,
        handler: handlerName,
        sent,
        left: left.size,
        sendMessageBatchCalls: calls,
        durationMs: Date.now() - startedAt,
        instanceIds: instanceIds.slice(0, MAX_LISTED_IDS),
        ...(left.size > 0 ? { error: [...left.values()][0] } : {}),
    });
    return new Set(left.keys());
}
