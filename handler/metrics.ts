/**
 * The handler's metrics as CloudWatch Embedded Metric Format documents: JSON log lines that
 * CloudWatch turns into metrics, with no API call and no permission. Pure, so that the exact
 * shapes are unit-tested against the EMF specification.
 */
import {
    GROUP_DIMENSION,
    HANDLER_DIMENSION,
    HANDLER_METRICS,
    type HandlerMetricName,
    IGNORE_REASONS,
    type IgnoreReason,
    METRICS_NAMESPACE,
    REASON_DIMENSION,
} from "../contract";

export const deploymentOnlyModule = true;

/** EMF allows at most 100 values per metric in one document. */
export const MAX_VALUES_PER_METRIC = 100;

/** One chosen group's share of an invocation. */
export interface GroupMetrics {
    readonly autoScalingGroupName: string;
    readonly detached: number;
    readonly wouldDetach: number;
    readonly failed: number;
    /** Members already leaving the group (not-in-service). */
    readonly ignored: number;
}

/** What one invocation did, in numbers. received = detached + wouldDetach + ignored + failed. */
export interface InvocationMetrics {
    readonly handlerName: string;
    readonly timestampMs: number;
    readonly received: number;
    readonly detached: number;
    readonly wouldDetach: number;
    readonly failed: number;
    readonly ignored: Partial<Record<IgnoreReason, number>>;
    /** Records in the invocation: 1 for a direct event. */
    readonly batchSize: number;
    readonly autoScalingCalls: number;
    readonly throttles: number;
    /** Auto Scaling calls refused with a ValidationError (a member leaving, MinSize). */
    readonly refusals: number;
    /** Listed names (or the tag) that the batch's lookup did not find. */
    readonly missingGroups: number;
    /** From each warning's `time` to its instance out of the group. */
    readonly detachLatencyMs: readonly number[];
    /** Each chosen group's share. */
    readonly groups: readonly GroupMetrics[];
}

/** One EMF document: the `_aws` metadata, the dimension values and the metric values. */
export interface EmfDocument {
    readonly _aws: {
        readonly Timestamp: number;
        readonly CloudWatchMetrics: readonly {
            readonly Namespace: string;
            readonly Dimensions: readonly (readonly string[])[];
            readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
        }[];
    };
    readonly [member: string]: unknown;
}

/**
 * The fewest documents EMF allows (a document carries one value per dimension): the handler's
 * counts, one per ignore reason, one per group with its share, and latencies 100 to a document.
 */
export function emfDocuments(metrics: InvocationMetrics): EmfDocument[] {
    const handler = { [HANDLER_DIMENSION]: metrics.handlerName };
    const ignoredTotal = IGNORE_REASONS.reduce((sum, r) => sum + (metrics.ignored[r] ?? 0), 0);
    const counts: Partial<Record<HandlerMetricName, number>> = {
        WarningsReceived: metrics.received,
        Detached: metrics.detached,
        WouldDetach: metrics.wouldDetach,
        Ignored: ignoredTotal,
        Failed: metrics.failed,
        BatchSize: metrics.batchSize,
        AutoScalingCalls: metrics.autoScalingCalls,
        Throttles: metrics.throttles,
        Refusals: metrics.refusals,
        MissingGroups: metrics.missingGroups,
    };
    const [firstLatencies = [], ...moreLatencies] = chunkValues(metrics.detachLatencyMs);
    const documents: EmfDocument[] = [
        emf(metrics.timestampMs, handler, {
            ...counts,
            ...(firstLatencies.length > 0 ? { DetachLatency: firstLatencies } : {}),
        }),
    ];
    for (const reason of IGNORE_REASONS) {
        const count = metrics.ignored[reason];
        if (count !== undefined && count > 0) {
            documents.push(
                emf(
                    metrics.timestampMs,
                    { ...handler, [REASON_DIMENSION]: reason },
                    { Ignored: count },
                ),
            );
        }
    }
    for (const group of metrics.groups) {
        documents.push(
            emf(
                metrics.timestampMs,
                { ...handler, [GROUP_DIMENSION]: group.autoScalingGroupName },
                {
                    Detached: group.detached,
                    WouldDetach: group.wouldDetach,
                    Failed: group.failed,
                    Ignored: group.ignored,
                },
            ),
        );
    }
    for (const latencies of moreLatencies) {
        documents.push(emf(metrics.timestampMs, handler, { DetachLatency: latencies }));
    }
    return documents;
}

function emf(
    timestampMs: number,
    dimensions: Record<string, string>,
    values: Partial<Record<HandlerMetricName, number | readonly number[]>>,
): EmfDocument {
    const names = Object.keys(values) as HandlerMetricName[];
    return {
        _aws: {
            Timestamp: timestampMs,
            CloudWatchMetrics: [
                {
                    Namespace: METRICS_NAMESPACE,
                    Dimensions: [Object.keys(dimensions)],
                    Metrics: names.map((name) => ({ Name: name, Unit: HANDLER_METRICS[name] })),
                },
            ],
        },
        ...dimensions,
        ...values,
    };
}

function chunkValues(values: readonly number[]): number[][] {
    const chunks: number[][] = [];
    for (let start = 0; start < values.length; start += MAX_VALUES_PER_METRIC) {
        chunks.push(values.slice(start, start + MAX_VALUES_PER_METRIC).map(Math.round));
    }
    return chunks;
}
