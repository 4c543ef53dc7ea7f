/**
 * The handler's log as the rehearsal shows it: each line parsed into its level, message and
 * fields, and a line of embedded metrics summed up in words.
 */

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
    if (isEmfDocument(parsed)) {
        return { level: "METRICS", message: describeMetrics(parsed), emf: parsed };
    }
    return { ...parsed, level: String(parsed.level ?? "INFO"), message: String(parsed.message) };
}

interface EmfDocument {
    readonly _aws: {
        readonly CloudWatchMetrics: readonly {
            readonly Namespace: string;
            readonly Dimensions: readonly (readonly string[])[];
            readonly Metrics: readonly { readonly Name: string; readonly Unit?: string }[];
        }[];
    };
    readonly [member: string]: unknown;
}

/** CloudWatch's embedded metric format: the handler's metrics, one document a line. */
function isEmfDocument(entry: Record<string, unknown>): entry is EmfDocument {
    const metadata = entry._aws as { CloudWatchMetrics?: unknown } | undefined;
    return Array.isArray(metadata?.CloudWatchMetrics);
}

/** "SpotInterruptionHandler, AutoScalingGroupName web: Detached 1, DetachLatency 1820 ms (the rest 0)" */
function describeMetrics(document: EmfDocument): string {
    return document._aws.CloudWatchMetrics.map((directive) => {
        const dimensions = [...new Set(directive.Dimensions.flat())]
            .map((name) => `${name} ${String(document[name])}`)
            .join(", ");
        const values = directive.Metrics.map((metric) => {
            const value = [document[metric.Name]].flat().join("/");
            return {
                text: `${metric.Name} ${value}${unitSuffix(metric.Unit)}`,
                zero: value === "0",
            };
        });
        const zeros = values.filter((v) => v.zero).length;
        const shown = values.filter((v) => !v.zero).map((v) => v.text);
        return `${directive.Namespace}, ${dimensions}: ${shown.join(", ")}${zeros > 0 ? ` (the other ${zeros} are 0)` : ""}`;
    }).join("; ");
}

function unitSuffix(unit: string | undefined): string {
    return unit === "Milliseconds" ? " ms" : unit === "Seconds" ? " s" : "";
}
