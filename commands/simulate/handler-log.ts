/** The handler's log read for the simulation: its lines, its decision about one instance, and what it should do. Pure. */
import {
    type CapacityOnInterruption,
    type InterruptionAction,
    SAFETY_NET_GRACE_MS,
} from "../../contract";
import type { DetachActivity } from "../../handler/auto-scaling";
import { leftToGroupByDefault } from "../../handler/decision";
import { isRecord } from "../../handler/event";

/** One entry the handler logged; `requestId` is set under Lambda's JSON log format. */
export interface HandlerLogEntry {
    readonly timestamp: number;
    readonly level: string;
    readonly message: string;
    readonly requestId?: string;
    readonly fields: Readonly<Record<string, unknown>>;
}

/** One line in Lambda's JSON format, the handler's own, or text; metrics and platform records are no entries. */
export function parseLogLine(text: string, timestamp: number): HandlerLogEntry | undefined {
    const trimmed = text.trim();
    let parsed: unknown;
    try {
        parsed = JSON.parse(trimmed);
    } catch {
        // START, END and REPORT lines of the text format say nothing about a decision.
        return /^(START|END|REPORT|INIT_START) /.test(trimmed) || trimmed === ""
            ? undefined
            : { timestamp, level: "TEXT", message: trimmed, fields: {} };
    }
    if (!isRecord(parsed) || "_aws" in parsed || typeof parsed.type === "string") {
        return undefined;
    }
    const nested = typeof parsed.message === "string" && parsed.message.trim().startsWith("{");
    const inner = nested ? parseLogLine(String(parsed.message), timestamp) : undefined;
    const record: Record<string, unknown> = isRecord(parsed.message)
        ? parsed.message
        : !nested
          ? parsed
          : inner === undefined
            ? { message: parsed.message }
            : { ...inner.fields, message: inner.message };
    const { message, ...fields } = record;
    delete fields.level;
    return {
        timestamp,
        level: typeof parsed.level === "string" ? parsed.level : "INFO",
        message: typeof message === "string" ? message : JSON.stringify(message ?? ""),
        ...(typeof parsed.requestId === "string" ? { requestId: parsed.requestId } : {}),
        fields,
    };
}

export type ActedDecision = "detached" | "terminated" | "would-detach" | "would-terminate";

/** What the handler did with the warning for one instance; `inferred` when read from a batch's counts. */
export type DecisionSummary =
    | {
          readonly action: ActedDecision;
          readonly capacityOnInterruption?: string;
          readonly reason?: string;
          readonly activities: readonly DetachActivity[];
          /** The group's grace passed with the instance InService. */
          readonly safetyNet?: true;
      }
    | { readonly action: "left-to-group"; readonly inferred: boolean }
    /** Queue delivery: the record was left for a re-check at the group's grace's end. */
    | { readonly action: "waiting"; readonly inferred: true }
    | { readonly action: "ignored"; reason: string; detail?: string; inferred: boolean }
    | { readonly action: "failed"; readonly error: string };

export type Decision = DecisionSummary & { readonly entry: HandlerLogEntry };

/** Which entries are the simulation's: its invocation's, and batches when only its warning is expected. */
export interface DecisionScope {
    readonly requestId?: string;
    readonly attributeBatches: boolean;
}

/** The entry concerns `instanceId`: it names it, or belongs to the simulation's invocation. */
export function isAbout(entry: HandlerLogEntry, instanceId: string, scope: DecisionScope): boolean {
    return (
        names(entry, instanceId) ||
        (scope.requestId !== undefined && entry.requestId === scope.requestId) ||
        (scope.attributeBatches && isBatchEntry(entry))
    );
}

/** The handler's decision about `instanceId` from the entries logged so far; undefined yet. */
export function decisionFor(
    entries: readonly HandlerLogEntry[],
    instanceId: string,
    scope: DecisionScope,
): Decision | undefined {
    for (const entry of entries) {
        const f = entry.fields;
        const ids = stringList(f.instanceIds);
        const acted = ids.includes(instanceId) ? actedBy(entry.message) : undefined;
        if (acted !== undefined) {
            // The acting entry names no safety net: its batch's counts do.
            const safetyNet = entries.some(
                (e) =>
                    isBatchEntry(e) &&
                    Number(e.fields.safetyNet ?? 0) > 0 &&
                    sameInvocation(e, entry.requestId, scope),
            );
            return {
                action: acted,
                capacityOnInterruption: stringOrUndefined(f.capacityOnInterruption),
                reason: stringOrUndefined(f.reason),
                activities: Array.isArray(f.activities) ? (f.activities as DetachActivity[]) : [],
                ...(safetyNet ? { safetyNet: true as const } : {}),
                entry,
            };
        }
        if (f.instanceId === instanceId && f.action === "left-to-group") {
            return { action: "left-to-group", inferred: false, entry };
        }
        if (f.instanceId === instanceId && entry.message.startsWith("Ignored the warning")) {
            const reason = entry.message.replace(/^Ignored the warning: /, "");
            const detail = stringOrUndefined(f.reason);
            return { action: "ignored", reason, detail, inferred: false, entry };
        }
        const failed = [...ids, ...stringList(f.failedInstanceIds)].includes(instanceId);
        if (entry.level === "ERROR" && failed) {
            return { action: "failed", error: describeLoggedError(entry), entry };
        }
    }
    // A batch names no instance: only its counts tell what became of an unnamed warning.
    let waiting: Decision | undefined;
    for (const entry of entries.filter((e) => sameInvocation(e, scope.requestId, scope))) {
        const batch = isBatchEntry(entry) ? entry.fields : {};
        const count = (field: string) => Number(batch[field] ?? 0);
        const ignored = isRecord(batch.ignored) ? Object.keys(batch.ignored) : [];
        if (entry.level === "ERROR" && !isBatchEntry(entry)) {
            return { action: "failed", error: describeLoggedError(entry), entry };
        }
        if (count("failed") > 0) {
            return { action: "failed", error: entry.message, entry };
        }
        if (ignored.length > 0) {
            return { action: "ignored", reason: ignored[0], inferred: true, entry };
        }
        if (count("leftToGroup") > 0) {
            return { action: "left-to-group", inferred: true, entry };
        }
        // A re-check's batch, logged later, settles what this one left waiting.
        if (count("waiting") > 0) {
            waiting ??= { action: "waiting", inferred: true, entry };
        }
    }
    return waiting;
}

/** The entry belongs to the invocation `requestId`, or, with none known, batches are attributed. */
function sameInvocation(
    entry: HandlerLogEntry,
    requestId: string | undefined,
    scope: DecisionScope,
): boolean {
    return requestId === undefined ? scope.attributeBatches : entry.requestId === requestId;
}

/** The action a log line says the handler took, in the handler's own words. */
function actedBy(message: string): ActedDecision | undefined {
    if (/Detaching instances?\.\.\./.test(message)) {
        return "detached";
    }
    if (/Terminating it through the group/.test(message)) {
        return "terminated";
    }
    const dry = /^Dry run: would (detach|terminate) /.exec(message)?.[1];
    return dry === undefined ? undefined : `would-${dry as "detach" | "terminate"}`;
}

export function withoutEntry({ entry: _entry, ...summary }: Decision): DecisionSummary {
    return summary as DecisionSummary;
}

function isBatchEntry(entry: HandlerLogEntry): boolean {
    return /^Batch of \d+ records/.test(entry.message);
}

function names(entry: HandlerLogEntry, instanceId: string): boolean {
    const f = entry.fields;
    return (
        entry.message.includes(instanceId) ||
        f.instanceId === instanceId ||
        [...stringList(f.instanceIds), ...stringList(f.failedInstanceIds)].includes(instanceId)
    );
}

function describeLoggedError(entry: HandlerLogEntry): string {
    const error = entry.fields.error;
    return isRecord(error) && typeof error.message === "string"
        ? `${entry.message}: ${String(error.name ?? "Error")}: ${error.message}`
        : entry.message;
}

function stringList(value: unknown): string[] {
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function stringOrUndefined(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

/** An entry as one timeline line: its level unless INFO, its message, its capacity and reason. */
export function handlerLine(entry: HandlerLogEntry): string {
    const f = entry.fields;
    const extras = [
        typeof f.capacityOnInterruption === "string" && !isBatchEntry(entry)
            ? `capacity ${f.capacityOnInterruption}`
            : undefined,
        stringOrUndefined(f.reason),
    ].filter((e) => e !== undefined);
    const level = entry.level === "INFO" ? "" : `${entry.level} `;
    return `${level}${entry.message}${extras.length > 0 ? ` (${extras.join("; ")})` : ""}`;
}

/** The handler's own rule for the test's warning: EC2 did not send it, so where the group should act, the safety net will. */
export function expectsSafetyNet(
    settings: {
        readonly interruptionAction: InterruptionAction;
        readonly capacityOnInterruption: CapacityOnInterruption;
    },
    group: { readonly name: string; readonly capacityRebalance: boolean },
): boolean {
    const none = new Map<string, string>();
    const snapshot = { ...group, minSize: 0, desiredCapacity: 0, instances: none, tags: none };
    return leftToGroupByDefault(snapshot, "spot", settings);
}

export function describeExpectation(bySafetyNet: boolean, groupName: string): string {
    return !bySafetyNet
        ? `Expected: the handler takes it out of ${groupName} at once (detached, or terminated through the group if it has a termination hook)`
        : `Expected: ${groupName} has Capacity Rebalancing, so the handler leaves the Spot warning to the group for its ${SAFETY_NET_GRACE_MS / 1000} s grace; this warning is not one EC2 sent, so the group never reacts, and the handler's safety net takes the instance out at the grace's end`;
}

/** What the handler did, in the report's words; "hook ran" only when a poll saw it. */
export function verdictOf(decision: DecisionSummary, hookSeen: boolean): string {
    const byNet = "safetyNet" in decision && decision.safetyNet === true;
    const first = byNet ? "left it to the group, then the safety net " : "";
    const dryNet = byNet ? ", by the safety net" : "";
    switch (decision.action) {
        case "detached":
            return `${first}detached it`;
        case "terminated":
            return `${first}terminated it through the group${hookSeen ? " (hook ran)" : ""}`;
        case "would-detach":
            return `would have detached it (DRY_RUN=true)${dryNet}`;
        case "would-terminate":
            return `would have terminated it through the group (DRY_RUN=true)${dryNet}`;
        case "left-to-group":
            return "left it to the group, whose Capacity Rebalancing terminated and replaced it";
        default:
            return decision.action;
    }
}
