import type { EventBridgeEvent, SQSEvent, SQSRecord } from "aws-lambda";

import type { WarningKind } from "./decision";
import {
    CAPACITY_RESERVATION_WARNING_DETAIL_TYPE,
    INTERRUPTION_WARNING_DETAIL_TYPE,
    INTERRUPTION_WARNING_DETAIL_TYPES,
    INTERRUPTION_WARNING_SOURCE,
} from "../contract";

export const deploymentOnlyModule = true;

/** The `detail` of an EC2 Spot Instance Interruption Warning. */
export interface SpotInterruptionWarningDetail {
    readonly "instance-id": string;
    readonly "instance-action": "terminate" | "stop" | "hibernate";
}

export type SpotInterruptionWarningEvent = EventBridgeEvent<
    typeof INTERRUPTION_WARNING_DETAIL_TYPE,
    SpotInterruptionWarningDetail
>;

/** The `detail` of an EC2 Interruptible Capacity Reservation Instance Interruption Warning. */
export interface CapacityReservationWarningDetail {
    readonly "instance-id": string;
    readonly "instance-action": string;
    readonly "instance-termination-time": string;
    readonly azId: string;
}

/** AWS's published sample has `resources` as a string, not a list: the parser reads neither. */
export type CapacityReservationWarningEvent = Omit<
    EventBridgeEvent<
        typeof CAPACITY_RESERVATION_WARNING_DETAIL_TYPE,
        CapacityReservationWarningDetail
    >,
    "resources"
> & { readonly resources: string | string[] };

/** What the handler makes of whatever EventBridge, SQS or a console test delivered. */
export type ParsedEvent =
    | {
          readonly kind: "interruption-warning";
          readonly eventId?: string;
          readonly instanceId: string;
          /** Spot, or an interruptible Capacity Reservation's: only Spot ones does a group react to. */
          readonly warning: WarningKind;
          /** When EC2 sent the warning (the event's `time`), in epoch milliseconds. */
          readonly sentAtMs?: number;
      }
    | { readonly kind: "unrecognised"; readonly eventId?: string; readonly reason: string };

// Old ids are 8 hex digits, current ones 17.
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
/** Echoed input is cut to this many characters: a hostile event must not flood the log. */
export const MAX_ECHOED_CHARS = 80;

/**
 * Recognises an interruption warning (Spot, or interruptible Capacity Reservation), or says in
 * words why the event is not one.
 *
 * @example
 * parseInterruptionWarning({ source: "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning",
 *     detail: { "instance-id": "i-0123456789abcdef0", "instance-action": "terminate" } });
 * // => { kind: "interruption-warning", eventId: undefined, instanceId: "i-0123456789abcdef0",
 * //      warning: "spot", sentAtMs: undefined }
 */
export function parseInterruptionWarning(event: unknown): ParsedEvent {
    if (!isRecord(event)) {
        return { kind: "unrecognised", reason: "the event is not a JSON object" };
    }
    const eventId = typeof event.id === "string" ? truncate(event.id) : undefined;
    const unrecognised = (reason: string): ParsedEvent => ({
        kind: "unrecognised",
        eventId,
        reason,
    });

    if (event.source !== INTERRUPTION_WARNING_SOURCE) {
        return unrecognised(
            `source is ${quoteValue(event.source)}, not "${INTERRUPTION_WARNING_SOURCE}"`,
        );
    }
    const detailType = event["detail-type"];
    if (typeof detailType !== "string" || !INTERRUPTION_WARNING_DETAIL_TYPES.includes(detailType)) {
        return unrecognised(
            `detail-type is ${quoteValue(detailType)}, not ${INTERRUPTION_WARNING_DETAIL_TYPES.map((t) => `"${t}"`).join(" or ")}`,
        );
    }
    if (!isRecord(event.detail)) {
        return unrecognised("the event has no detail object");
    }
    const instanceId = event.detail["instance-id"];
    if (typeof instanceId !== "string" || !INSTANCE_ID.test(instanceId)) {
        return unrecognised(
            `detail.instance-id is ${quoteValue(instanceId)}, not an EC2 instance id`,
        );
    }
    const sentAtMs = typeof event.time === "string" ? Date.parse(event.time) : Number.NaN;
    return {
        kind: "interruption-warning",
        eventId,
        instanceId,
        warning: detailType === INTERRUPTION_WARNING_DETAIL_TYPE ? "spot" : "capacity-reservation",
        sentAtMs: Number.isNaN(sentAtMs) ? undefined : sentAtMs,
    };
}

/** True for what an SQS event source mapping delivers, as opposed to a bare EventBridge event. */
export function isSqsEvent(event: unknown): event is SQSEvent {
    return (
        isRecord(event) &&
        Array.isArray(event.Records) &&
        event.Records.every((record) => isRecord(record) && record.eventSource === "aws:sqs")
    );
}

/** One queued warning: the SQS record it came in, and what its body holds. */
export interface QueuedWarning {
    readonly messageId: string;
    /** How often SQS has delivered this record, this time included. */
    readonly receiveCount: number;
    /** When SQS took the record in (SentTimestamp): a warning without `time` waits from then. */
    readonly queuedAtMs?: number;
    /** What ChangeMessageVisibility needs to make the record visible again sooner. */
    readonly receiptHandle: string;
    readonly parsed: ParsedEvent;
}

/** Parses one SQS record whose body EventBridge wrote: the whole event, as JSON. */
export function parseSqsRecord(record: SQSRecord): QueuedWarning {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? 1);
    const sentTimestamp = Number(record.attributes?.SentTimestamp);
    const common = {
        messageId: record.messageId,
        receiveCount,
        receiptHandle: record.receiptHandle,
        ...(Number.isFinite(sentTimestamp) && sentTimestamp > 0
            ? { queuedAtMs: sentTimestamp }
            : {}),
    };
    let body: unknown;
    try {
        body = JSON.parse(record.body);
    } catch {
        return {
            ...common,
            parsed: {
                kind: "unrecognised",
                reason: `the message body is not JSON: ${quoteValue(record.body)}`,
            },
        };
    }
    return { ...common, parsed: parseInterruptionWarning(body) };
}

/** A JSON object: not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function truncate(text: string): string {
    return text.length <= MAX_ECHOED_CHARS
        ? text
        : `${text.slice(0, MAX_ECHOED_CHARS)}… (${text.length} characters)`;
}

function quoteValue(value: unknown): string {
    return value === undefined ? "missing" : truncate(JSON.stringify(value) ?? String(value));
}

/**
 * One record per message id, the one with the highest receive count (SQS can deliver a message
 * twice in one batch): Lambda fails the whole batch when batchItemFailures names an id twice.
 */
export function distinctRecords(records: readonly SQSRecord[]): SQSRecord[] {
    const byId = new Map<string, SQSRecord>();
    const receives = (r: SQSRecord) => Number(r.attributes?.ApproximateReceiveCount ?? 1);
    for (const record of records) {
        const kept = byId.get(record.messageId);
        if (kept === undefined || receives(record) > receives(kept)) {
            byId.set(record.messageId, record);
        }
    }
    return [...byId.values()];
}
