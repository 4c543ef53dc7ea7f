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
import { chunk } from "./decision";

export const deploymentOnlyModule = true;

/** How many warnings ended each way: each warning has one outcome in one invocation. */
export interface OutcomeCounts {
    readonly detached: number;
    readonly terminated: number;
    /** Capacity Rebalancing took the instance out itself. */
    readonly leftToGroup: number;
    readonly wouldDetach: number;
    readonly wouldTerminate: number;
    /** Left for a re-check: the group's grace, or an instance still launching. */
    readonly waiting: number;
    readonly failed: number;
}

/** One chosen group's share of an invocation. */
export interface GroupMetrics extends OutcomeCounts {
    readonly autoScalingGroupName: string;
    /** Members acknowledged without a call (already leaving, Standby, Retained, …). */
    readonly ignored: number;
}

/**
 * What a batch's outcomes add up to. received = detached + terminated + leftToGroup + wouldDetach
 * + wouldTerminate + waiting + ignored + failed; safetyNet, hooksSkipped and hooksUnknown say why
 * some of the detached or terminated ones went as they did.
 */
export interface OutcomeTally extends OutcomeCounts {
    readonly received: number;
    /** In IGNORE_REASONS order, reasons with none left out. */
    readonly ignored: Partial<Record<IgnoreReason, number>>;
    /** Taken out by the safety net: the group had Capacity Rebalancing and did not act. */
    readonly safetyNet: number;
    /** Detached from a group with a termination hook: the batch's terminations ran out. */
    readonly hooksSkipped: number;
    /** Detached because the group's hooks could not be looked up. */
    readonly hooksUnknown: number;
    /** From each warning's `time` to its instance out of the group. */
    readonly detachLatencyMs: readonly number[];
    /** Each chosen group's share: every group an outcome names, in first-seen order. */
    readonly groups: readonly GroupMetrics[];
}

/** What one invocation did, in numbers: its outcomes, and what it cost. */
export interface InvocationMetrics extends OutcomeTally {
    readonly handlerName: string;
    readonly timestampMs: number;
    /** Records in the invocation: 1 for a direct event. */
    readonly batchSize: number;
    readonly autoScalingCalls: number;
    readonly throttles: number;
    /** Auto Scaling calls refused with a ValidationError (a member leaving, MinSize). */
    readonly refusals: number;
    /** Listed names (or the tag) that the batch's lookup did not find. */
    readonly missingGroups: number;
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

/** EMF allows at most 100 values per metric in one document. */
const MAX_VALUES_PER_METRIC = 100;

/**
 * The fewest documents EMF allows (a document carries one value per dimension): the handler's
 * counts, one per ignore reason, one per group with its share, and latencies 100 to a document.
 */
export function emfDocuments(metrics: InvocationMetrics): EmfDocument[] {
    const handler = { [HANDLER_DIMENSION]: metrics.handlerName };
    const ignoredTotal = IGNORE_REASONS.reduce((sum, r) => sum + (metrics.ignored[r] ?? 0), 0);
    const counts: Partial<Record<HandlerMetricName, number>> = {
        WarningsReceived: metrics.received,
        ...outcomeValues(metrics),
        Ignored: ignoredTotal,
        SafetyNet: metrics.safetyNet,
        HooksSkipped: metrics.hooksSkipped,
        HooksUnknown: metrics.hooksUnknown,
        BatchSize: metrics.batchSize,
        AutoScalingCalls: metrics.autoScalingCalls,
        Throttles: metrics.throttles,
        Refusals: metrics.refusals,
        MissingGroups: metrics.missingGroups,
    };
    const [firstLatencies = [], ...moreLatencies] = chunk(
        metrics.detachLatencyMs.map(Math.round),
        MAX_VALUES_PER_METRIC,
    );
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
                { ...outcomeValues(group), Ignored: group.ignored },
            ),
        );
    }
    for (const latencies of moreLatencies) {
        documents.push(emf(metrics.timestampMs, handler, { DetachLatency: latencies }));
    }
    return documents;
}

function outcomeValues(counts: OutcomeCounts): Partial<Record<HandlerMetricName, number>> {
    return {
        Detached: counts.detached,
        Terminated: counts.terminated,
        LeftToGroup: counts.leftToGroup,
        WouldDetach: counts.wouldDetach,
        WouldTerminate: counts.wouldTerminate,
        Waiting: counts.waiting,
        Failed: counts.failed,
    };
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
