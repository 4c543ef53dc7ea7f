/**
 * How Lambda reads a batch handler's response with ReportBatchItemFailures on: which records come
 * back to the queue, and whether the whole batch failed.
 */
import type { SQSRecord } from "aws-lambda";

export interface Verdict {
    readonly failed: ReadonlySet<string>;
    /** Set when the whole batch failed. */
    readonly error?: string;
}

/**
 * Reads the function's response as Lambda does with ReportBatchItemFailures: no response, or no
 * or an empty `batchItemFailures`, is complete success; a malformed response, or an
 * `itemIdentifier` that is missing, empty or names no record of the batch, fails the whole batch.
 */
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
    const failures = (wire as { batchItemFailures?: unknown }).batchItemFailures;
    if (failures === undefined || failures === null) {
        return { failed: new Set() };
    }
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
