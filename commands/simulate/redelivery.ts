/**
 * The queue's part in a console test. The record the test invokes the function with is not in
 * the events queue: when the handler leaves it waiting for the group's grace (batchItemFailures,
 * and "waiting" in its batch's log entry), nothing would bring it back. The simulation brings it
 * back itself, as the queue would: at the grace's end, with its receive count one higher.
 */
import { SAFETY_NET_GRACE_MS } from "../../contract";
import { isRecord } from "../../handler/event";
import { SimulationError } from "./simulate-errors";
import { followUntil, pollsWithin } from "./simulate-follow";
import { type Decision, type DecisionScope, decisionFor, entriesAbout } from "./simulate-log";
import type { DeploymentObserver } from "./simulate-observe";
import type { InvokeResult, Invoker, Timing } from "./simulate-run";
import type { Clock, Timeline } from "./simulate-timeline";

/** The first delivery, one re-check at the grace's end, and one spare for a slow group. */
export const MAX_DELIVERIES = 3;

/** One invocation of the console test, and where its log entries start. */
export interface Delivery {
    readonly result: InvokeResult;
    readonly invokedAtMs: number;
    readonly scope: DecisionScope;
    /** Index into the observer's entries: what this delivery's decision is read from. */
    readonly entriesFrom: number;
    /** 1 for the first invoke. */
    readonly number: number;
}

export interface RedeliverySettings {
    readonly invoke: Invoker;
    readonly functionName: string;
    readonly timeoutMs: number;
    readonly instanceId: string;
    /** The warning's `time`: the grace runs from it. */
    readonly sentAtMs: number;
    readonly logGroupName?: string;
    readonly clock: Clock;
    readonly timing: Timing;
    readonly newId: () => string;
}

/**
 * Invokes the function, and again at the grace's end while the handler leaves the record
 * waiting; resolves to the last delivery, whose record the handler settled.
 */
export async function deliverUntilSettled(
    firstPayload: unknown,
    settings: RedeliverySettings,
    observer: DeploymentObserver,
    timeline: Timeline,
): Promise<Delivery> {
    let payload = firstPayload;
    for (let number = 1; number <= MAX_DELIVERIES; number++) {
        const entriesFrom = observer.entries.length;
        const invokedAtMs = settings.clock.now();
        const result = await settings.invoke(settings.functionName, payload, settings.timeoutMs);
        timeline.add(
            "invoke",
            `Invoked ${settings.functionName}${number > 1 ? ` again (delivery ${number})` : ""}${result.requestId ? ` (request ${result.requestId})` : ""}: it answered ${JSON.stringify(result.payload)}`,
            { ...result },
        );
        checkThrown(result, settings);
        // Without Lambda's request id (the emulator), the invocation held this one warning only.
        const scope = {
            requestId: result.requestId,
            attributeBatches: result.requestId === undefined,
        };
        const delivery = { result, invokedAtMs, scope, entriesFrom, number };
        const failures = batchItemFailures(result.payload);
        if (failures.length === 0) {
            return delivery;
        }
        const why = await batchDecision(delivery, settings, observer);
        if (why === undefined || why.action === "failed" || why.action === "ignored") {
            throw leftForRetry(failures, settings);
        }
        if (why.action !== "waiting") {
            // A real queue (the emulator's pipeline) brought the record back and settled it.
            return delivery;
        }
        const recheckAtMs = settings.sentAtMs + SAFETY_NET_GRACE_MS;
        timeline.add(
            "note",
            `The handler left the record waiting for ${settings.instanceId}'s group to act on the warning (Capacity Rebalancing) until ${new Date(recheckAtMs).toISOString()}: on AWS the events queue brings it back then. This record is not in the queue, so the simulation brings it back itself, as the queue would. A console test's warning is not one EC2 sent: the group never reacts to it, and the safety net should act.`,
        );
        // Bounded: the grace ends at most SAFETY_NET_GRACE_MS after the warning's time.
        await settings.clock.sleep(
            Math.min(SAFETY_NET_GRACE_MS, Math.max(0, recheckAtMs - settings.clock.now())),
        );
        payload = redeliveredPayload(payload, settings.newId());
    }
    throw new SimulationError(
        "handler-failed",
        `The handler still left the record for ${settings.instanceId} waiting after ${MAX_DELIVERIES} deliveries, the last past the group's grace.`,
    );
}

/**
 * The record as the queue delivers it again: the same message and body, a fresh receipt handle,
 * and ApproximateReceiveCount one higher. Pure.
 */
export function redeliveredPayload(payload: unknown, receiptId: string): unknown {
    if (!isRecord(payload) || !Array.isArray(payload.Records)) {
        return payload;
    }
    return {
        ...payload,
        Records: payload.Records.map((record: unknown) => {
            if (!isRecord(record) || !isRecord(record.attributes)) {
                return record;
            }
            const count = Number(record.attributes.ApproximateReceiveCount ?? 1);
            return {
                ...record,
                receiptHandle: `receipt-${receiptId}`,
                attributes: { ...record.attributes, ApproximateReceiveCount: String(count + 1) },
            };
        }),
    };
}

/** The records the function left for the queue (ReportBatchItemFailures). */
function batchItemFailures(payload: unknown): unknown[] {
    const failures = isRecord(payload) ? payload.batchItemFailures : undefined;
    return Array.isArray(failures) ? failures : [];
}

/** The decision the delivery's own entries hold: its batch's counts say why a record came back. */
async function batchDecision(
    delivery: Delivery,
    settings: RedeliverySettings,
    observer: DeploymentObserver,
): Promise<Decision | undefined> {
    const { clock, timing, instanceId } = settings;
    const deadlineMs = delivery.invokedAtMs + timing.decisionTimeoutMs;
    const read = async () => {
        await observer.readLog(
            (entry) => entriesAbout([entry], instanceId, delivery.scope).length > 0,
        );
        return decisionFor(
            observer.entries.slice(delivery.entriesFrom),
            instanceId,
            delivery.scope,
        );
    };
    try {
        return await followUntil({
            clock,
            intervalMs: timing.pollIntervalMs,
            deadlineMs: () => deadlineMs,
            maxPolls: pollsWithin(timing.decisionTimeoutMs, timing.pollIntervalMs),
            poll: read,
            giveUp: () => new Error("no batch entry"),
        });
    } catch (error) {
        if (error instanceof SimulationError) {
            throw error;
        }
        // Without the batch's entry the record's return cannot be told from a failure.
        return undefined;
    }
}

/** A thrown handler ends the test here. */
function checkThrown(result: InvokeResult, settings: RedeliverySettings): void {
    if (result.functionError === undefined) {
        return;
    }
    const payload = result.payload as { errorType?: string; errorMessage?: string } | null;
    throw new SimulationError(
        "handler-failed",
        `${settings.functionName} failed (${result.functionError}): ${payload?.errorType ?? "Error"}: ${payload?.errorMessage ?? JSON.stringify(result.payload)}.${whereLogged(settings.logGroupName)}`,
    );
}

function leftForRetry(failures: unknown[], settings: RedeliverySettings): SimulationError {
    return new SimulationError(
        "handler-failed",
        `${settings.functionName} left the record for a retry (batchItemFailures ${JSON.stringify(failures)}): its detach failed.${whereLogged(settings.logGroupName)}`,
    );
}

function whereLogged(logGroupName: string | undefined): string {
    return logGroupName === undefined ? "" : ` Its log group ${logGroupName} has the details.`;
}
