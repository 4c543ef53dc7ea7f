/** The handler's log as the rehearsal shows it: level, message and fields, metrics in words. */
import type { EmfDocument } from "../../handler/metrics";

/** One line of the handler's log: its level, message and structured fields. */
export interface LogEntry {
    readonly level: string;
    readonly message: string;
    readonly [field: string]: unknown;
}

export function parseLogLine(line: string): LogEntry {
    let parsed: Record<string, unknown>;
    try {
        parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
        // Not the handler's structured line (e.g. a runtime warning): keep it as text.
        return { level: "TEXT", message: line };
    }
    const metadata = parsed._aws as { CloudWatchMetrics?: unknown } | undefined;
    if (!Array.isArray(metadata?.CloudWatchMetrics)) {
        const level = String(parsed.level ?? "INFO");
        return { ...parsed, level, message: String(parsed.message) };
    }
    // An EMF line in words, e.g. "Namespace, Handler h: Detached 1 (the other 7 are 0)".
    const emf = parsed as EmfDocument;
    const message = emf._aws.CloudWatchMetrics.map((directive) => {
        const dimensions = [...new Set(directive.Dimensions.flat())].map(
            (name) => `${name} ${String(emf[name])}`,
        );
        const rows = metricRows(emf, [directive]);
        const shown = rows
            .filter(([, value]) => value !== "0")
            .map(([name, value, unit]) => `${name} ${value}${UNIT_SUFFIXES[unit] ?? ""}`);
        const zeros = rows.length - shown.length;
        return `${directive.Namespace}, ${dimensions.join(", ")}: ${shown.join(", ")}${zeros > 0 ? ` (the other ${zeros} are 0)` : ""}`;
    }).join("; ");
    return { level: "METRICS", message, emf };
}

const UNIT_SUFFIXES: Partial<Record<string, string>> = { Milliseconds: " ms", Seconds: " s" };

/** An EMF document's metrics as [name, value, unit]: a list of values joined with "/". */
export function metricRows(
    emf: EmfDocument,
    directives = emf._aws.CloudWatchMetrics,
): [string, string, string][] {
    return directives.flatMap((directive) =>
        directive.Metrics.map(({ Name, Unit }): [string, string, string] => [
            Name,
            [emf[Name]].flat().join("/"),
            Unit,
        ]),
    );
}
