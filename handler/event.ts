import type { EventBridgeEvent } from "aws-lambda";

// Pulumi's closure serializer then inlines this module even from an importer's node_modules.
export const deploymentOnlyModule = true;

export const INTERRUPTION_WARNING_SOURCE = "aws.ec2";
export const INTERRUPTION_WARNING_DETAIL_TYPE = "EC2 Spot Instance Interruption Warning";

/** The `detail` of an EC2 Spot Instance Interruption Warning. */
export interface SpotInterruptionWarningDetail {
    readonly "instance-id": string;
    readonly "instance-action": "terminate" | "stop" | "hibernate";
}

export type SpotInterruptionWarningEvent = EventBridgeEvent<
    typeof INTERRUPTION_WARNING_DETAIL_TYPE,
    SpotInterruptionWarningDetail
>;

/** What the handler makes of whatever EventBridge (or a console test) delivered. */
export type ParsedEvent =
    | {
          readonly kind: "interruption-warning";
          readonly eventId?: string;
          readonly instanceId: string;
      }
    | { readonly kind: "unrecognised"; readonly eventId?: string; readonly reason: string };

// Old ids are 8 hex digits, current ones 17.
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * Recognises a Spot interruption warning, or says in words why the event is not one.
 *
 * @example
 * parseInterruptionWarning({ source: "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning",
 *     detail: { "instance-id": "i-0123456789abcdef0", "instance-action": "terminate" } });
 * // => { kind: "interruption-warning", eventId: undefined, instanceId: "i-0123456789abcdef0" }
 */
export function parseInterruptionWarning(event: unknown): ParsedEvent {
    if (!isRecord(event)) {
        return { kind: "unrecognised", reason: "the event is not a JSON object" };
    }
    const eventId = typeof event.id === "string" ? event.id : undefined;
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
    if (event["detail-type"] !== INTERRUPTION_WARNING_DETAIL_TYPE) {
        return unrecognised(
            `detail-type is ${quoteValue(event["detail-type"])}, not "${INTERRUPTION_WARNING_DETAIL_TYPE}"`,
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
    return { kind: "interruption-warning", eventId, instanceId };
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function quoteValue(value: unknown): string {
    return value === undefined ? "missing" : JSON.stringify(value);
}
