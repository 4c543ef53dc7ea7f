/**
 * Reading the handler's log group: its lines parsed whatever the function's log format, and the
 * handler's decision about one instance found among them. Pure.
 */
import { isRecord } from "../../handler/event";

/** One entry the handler logged: its level, message and structured fields. */
export interface HandlerLogEntry {
    readonly timestamp: number;
    readonly level: string;
    readonly message: string;
    /** Set under Lambda's JSON log format: the invocation that wrote it. */
    readonly requestId?: string;
    readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * Parses one log line: Lambda's JSON format (the handler's record nested as `message`), the
 * handler's own JSON line (text format, or the emulator), or plain text. Metric (EMF) documents
 * and Lambda's platform records are not the handler's entries: undefined.
 */
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
    const level = typeof parsed.level === "string" ? parsed.level : "INFO";
    const requestId = typeof parsed.requestId === "string" ? parsed.requestId : undefined;
    let record: Record<string, unknown> = parsed;
    if (isRecord(parsed.message)) {
        record = parsed.message;
    } else if (typeof parsed.message === "string" && parsed.message.trim().startsWith("{")) {
        const inner = parseLogLine(parsed.message, timestamp);
        record =
            inner === undefined
                ? { message: parsed.message }
                : { ...inner.fields, message: inner.message };
    }
    const fields = { ...record };
    delete fields.message;
    delete fields.level;
    const message = record.message;
    return {
        timestamp,
        level,
        message: typeof message === "string" ? message : JSON.stringify(message ?? ""),
        ...(requestId === undefined ? {} : { requestId }),
        fields,
    };
}

/** An activity from the DetachInstances response, as the handler logged it. */
export interface LoggedActivity {
    readonly activityId?: string;
    readonly description?: string;
    readonly statusCode?: string;
}

/** How the handler took an instance out of service, or would have in a dry run. */
export type ActedDecision = "detached" | "terminated" | "would-detach" | "would-terminate";

/** What the handler did with the warning for one instance. */
export type Decision =
    | {
          readonly action: ActedDecision;
          readonly capacityOnInterruption?: string;
          readonly reason?: string;
          readonly activities: readonly LoggedActivity[];
          /** The group had Capacity Rebalancing and its grace passed with the instance InService. */
          readonly safetyNet?: true;
          readonly entry: HandlerLogEntry;
      }
    | {
          /** The group's Capacity Rebalancing is taking the instance out itself. */
          readonly action: "left-to-group";
          /** True when read from a batch's counts, which name no instance. */
          readonly inferred: boolean;
          readonly entry: HandlerLogEntry;
      }
    | {
          /** Queue delivery: the record was left for a re-check at the group's grace's end. */
          readonly action: "waiting";
          readonly inferred: true;
          readonly entry: HandlerLogEntry;
      }
    | {
          readonly action: "ignored";
          /** The handler's reason, e.g. "not-in-service". */
          readonly reason: string;
          readonly detail?: string;
          /** True when read from a batch's counts, which name no instance. */
          readonly inferred: boolean;
          readonly entry: HandlerLogEntry;
      }
    | { readonly action: "failed"; readonly error: string; readonly entry: HandlerLogEntry };

export interface DecisionScope {
    /** The invocation the simulation made (Lambda's request id), when known. */
    readonly requestId?: string;
    /**
     * Read a batch's counts, which name no instance, as the decision about this one: true when
     * this instance's warning is the only one expected (the invocation is ours, or FIS sent it).
     */
    readonly attributeBatches: boolean;
}

/** The entries that concern `instanceId`: they name it, or belong to the simulation's invocation. */
export function entriesAbout(
    entries: readonly HandlerLogEntry[],
    instanceId: string,
    scope: DecisionScope,
): HandlerLogEntry[] {
    return entries.filter(
        (entry) =>
            names(entry, instanceId) ||
            (scope.requestId !== undefined && entry.requestId === scope.requestId) ||
            (scope.attributeBatches && isBatchEntry(entry)),
    );
}

/** The handler's decision about `instanceId`, from the entries logged so far; undefined yet. */
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
            return {
                action: acted,
                capacityOnInterruption: stringOrUndefined(f.capacityOnInterruption),
                reason: stringOrUndefined(f.reason),
                activities: Array.isArray(f.activities) ? (f.activities as LoggedActivity[]) : [],
                ...(safetyNetCounted(entries, entry, scope) ? { safetyNet: true as const } : {}),
                entry,
            };
        }
        if (f.instanceId === instanceId && f.action === "left-to-group") {
            return { action: "left-to-group", inferred: false, entry };
        }
        if (f.instanceId === instanceId && /^Ignored the warning/.test(entry.message)) {
            return {
                action: "ignored",
                reason: entry.message.replace(/^Ignored the warning: /, ""),
                detail: stringOrUndefined(f.reason),
                inferred: false,
                entry,
            };
        }
        if (
            entry.level === "ERROR" &&
            (ids.includes(instanceId) || stringList(f.failedInstanceIds).includes(instanceId))
        ) {
            return { action: "failed", error: describeLoggedError(entry), entry };
        }
    }
    // A batch names no instance: only its counts tell what became of an unnamed warning.
    let waiting: Decision | undefined;
    for (const entry of entries) {
        const ours =
            (scope.requestId !== undefined && entry.requestId === scope.requestId) ||
            (scope.requestId === undefined && scope.attributeBatches);
        if (!ours) {
            continue;
        }
        if (entry.level === "ERROR" && !isBatchEntry(entry)) {
            return { action: "failed", error: describeLoggedError(entry), entry };
        }
        if (isBatchEntry(entry) && Number(entry.fields.failed ?? 0) > 0) {
            return { action: "failed", error: entry.message, entry };
        }
        const ignored = entry.fields.ignored;
        if (isBatchEntry(entry) && isRecord(ignored) && Object.keys(ignored).length > 0) {
            return { action: "ignored", reason: Object.keys(ignored)[0], inferred: true, entry };
        }
        if (isBatchEntry(entry) && Number(entry.fields.leftToGroup ?? 0) > 0) {
            return { action: "left-to-group", inferred: true, entry };
        }
        if (isBatchEntry(entry) && Number(entry.fields.waiting ?? 0) > 0) {
            // A re-check's batch, logged later, settles what this one left waiting.
            waiting ??= { action: "waiting", inferred: true, entry };
        }
    }
    return waiting;
}

/** The action a log line says the handler took, by the handler's own words; undefined if none. */
function actedBy(message: string): ActedDecision | undefined {
    if (/Detaching instances?\.\.\./.test(message)) {
        return "detached";
    }
    if (/Terminating it through the group/.test(message)) {
        return "terminated";
    }
    const dry = /^Dry run: would (detach|terminate) /.exec(message)?.[1];
    return dry === undefined ? undefined : dry === "detach" ? "would-detach" : "would-terminate";
}

/**
 * The batch that logged `acted` counted a safety net: its own entry names no instance, so it
 * is read from the invocation's batch entry (queue delivery; direct delivery's answer says it).
 */
function safetyNetCounted(
    entries: readonly HandlerLogEntry[],
    acted: HandlerLogEntry,
    scope: DecisionScope,
): boolean {
    return entries.some(
        (entry) =>
            isBatchEntry(entry) &&
            Number(entry.fields.safetyNet ?? 0) > 0 &&
            ((acted.requestId !== undefined && entry.requestId === acted.requestId) ||
                (acted.requestId === undefined && scope.attributeBatches)),
    );
}

/** A decision as a report holds it: without the log entry it was read from. */
export type DecisionSummary = Decision extends infer D
    ? D extends unknown
        ? Omit<D, "entry">
        : never
    : never;

export function withoutEntry(decision: Decision): DecisionSummary {
    const copy: Record<string, unknown> = { ...decision };
    delete copy.entry;
    return copy as DecisionSummary;
}

function isBatchEntry(entry: HandlerLogEntry): boolean {
    return /^Batch of \d+ records/.test(entry.message);
}

function names(entry: HandlerLogEntry, instanceId: string): boolean {
    return (
        entry.message.includes(instanceId) ||
        entry.fields.instanceId === instanceId ||
        stringList(entry.fields.instanceIds).includes(instanceId) ||
        stringList(entry.fields.failedInstanceIds).includes(instanceId)
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
