/**
 * The handler's CloudWatch dashboard and alarms, as pure data: what an operator watches during a
 * storm, and when a human is needed. Unit-tested as exact documents.
 */
import { handlerArgumentError } from "./argument-checks";
import {
    GROUP_DIMENSION,
    HANDLER_DIMENSION,
    type HandlerMetricName,
    IGNORE_REASONS,
    METRICS_NAMESPACE,
    REASON_DIMENSION,
} from "../../contract";

/** What the dashboard and alarms point at. */
export interface MonitoredResources {
    readonly region: string;
    /** The metrics' Handler dimension. */
    readonly handlerName: string;
    /** The chosen groups, in words, for titles and alarm descriptions. */
    readonly groupsDescription: string;
    /** The listed groups; unset in tag mode, whose groups are known only as warnings arrive. */
    readonly autoScalingGroupNames?: readonly string[];
    readonly functionName: string;
    readonly deadLetterQueueName: string;
    /** Queue delivery only. */
    readonly eventsQueueName?: string;
    /** `targetgroup/<name>/<id>`, the target group ARN's suffix, when a target group is given. */
    readonly targetGroupArnSuffix?: string;
}

type MetricRow = (string | { readonly [option: string]: string | number })[];

interface Widget {
    readonly type: "metric";
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
    readonly properties: {
        readonly title: string;
        readonly region: string;
        readonly view: "timeSeries";
        readonly stat: string;
        readonly period: number;
        readonly metrics: MetricRow[];
    };
}

export interface DashboardBody {
    readonly widgets: Widget[];
}

const WIDTH = 12;
const HEIGHT = 6;
const PERIOD_SECONDS = 60;

/** The target group ARN's suffix, as ApplicationELB metrics name it. */
export function targetGroupArnSuffix(targetGroupArn: string): string {
    const suffix = /:(targetgroup\/[^/]+\/[0-9a-f]+)$/.exec(targetGroupArn)?.[1];
    if (suffix === undefined) {
        throw handlerArgumentError(
            "targetGroupArn",
            `${JSON.stringify(targetGroupArn)} is not a target group ARN (arn:…:elasticloadbalancing:…:targetgroup/<name>/<id>)`,
        );
    }
    return suffix;
}

/**
 * Warnings against outcomes, detach latency, the queues, the function's health, and (given a
 * target group) the instances that serve traffic, two widgets to a row.
 */
export function handlerDashboardBody(resources: MonitoredResources): DashboardBody {
    const handler = [HANDLER_DIMENSION, resources.handlerName];
    const handlerMetric = (
        name: HandlerMetricName,
        options: Record<string, string | number> = {},
    ) => [METRICS_NAMESPACE, name, ...handler, options];
    // Listed groups by name, so that a quiet group shows as a flat line; tagged ones by search.
    const perGroup = (name: HandlerMetricName, id: string): MetricRow[] =>
        resources.autoScalingGroupNames === undefined
            ? [
                  [
                      {
                          expression: `SEARCH('{${METRICS_NAMESPACE},${GROUP_DIMENSION},${HANDLER_DIMENSION}} ${HANDLER_DIMENSION}="${resources.handlerName}" MetricName="${name}"', 'Sum', ${PERIOD_SECONDS})`,
                          id,
                      },
                  ],
              ]
            : resources.autoScalingGroupNames.map((group) => [
                  METRICS_NAMESPACE,
                  name,
                  ...handler,
                  GROUP_DIMENSION,
                  group,
                  { label: group },
              ]);
    const queue = (name: string, queueName: string, label: string) => [
        "AWS/SQS",
        name,
        "QueueName",
        queueName,
        { label },
    ];
    const panels: { title: string; stat: string; metrics: MetricRow[] }[] = [
        {
            title: "Warnings and what became of them",
            stat: "Sum",
            metrics: [
                handlerMetric("WarningsReceived", { label: "received" }),
                handlerMetric("Detached", { label: "detached" }),
                handlerMetric("Terminated", { label: "terminated through the group" }),
                handlerMetric("LeftToGroup", { label: "left to Capacity Rebalancing" }),
                handlerMetric("WouldDetach", { label: "would detach (dry run)" }),
                handlerMetric("WouldTerminate", { label: "would terminate (dry run)" }),
                handlerMetric("Waiting", { label: "waiting for a re-check" }),
                handlerMetric("Ignored", { label: "ignored" }),
                handlerMetric("Failed", { label: "failed, left for a retry" }),
            ],
        },
        {
            title: "Working with the groups: the safety net, and hooks skipped",
            stat: "Sum",
            metrics: [
                handlerMetric("SafetyNet", {
                    label: "safety net (Capacity Rebalancing did not act)",
                }),
                handlerMetric("HooksSkipped", { label: "detached past the termination budget" }),
                handlerMetric("HooksUnknown", { label: "detached, hooks unknown" }),
            ],
        },
        {
            title: "Detach latency, from the warning to out of the group (ms)",
            stat: "p50",
            metrics: [
                handlerMetric("DetachLatency", { label: "p50", stat: "p50" }),
                handlerMetric("DetachLatency", { label: "p99", stat: "p99" }),
            ],
        },
        {
            title: "Queues: warnings waiting, and dead letters",
            stat: "Maximum",
            metrics: [
                ...(resources.eventsQueueName === undefined
                    ? []
                    : [
                          queue(
                              "ApproximateNumberOfMessagesVisible",
                              resources.eventsQueueName,
                              "events queue depth",
                          ),
                          queue(
                              "ApproximateAgeOfOldestMessage",
                              resources.eventsQueueName,
                              "oldest warning (s)",
                          ),
                      ]),
                queue(
                    "ApproximateNumberOfMessagesVisible",
                    resources.deadLetterQueueName,
                    "dead letters",
                ),
            ],
        },
        {
            title: "The function: errors, throttles and Auto Scaling calls",
            stat: "Sum",
            metrics: [
                [
                    "AWS/Lambda",
                    "Errors",
                    "FunctionName",
                    resources.functionName,
                    { label: "errors" },
                ],
                [
                    "AWS/Lambda",
                    "Throttles",
                    "FunctionName",
                    resources.functionName,
                    { label: "throttles" },
                ],
                handlerMetric("AutoScalingCalls", { label: "Auto Scaling calls" }),
                handlerMetric("Throttles", { label: "Auto Scaling throttles" }),
            ],
        },
        {
            title: `Detached, per group (${resources.groupsDescription})`,
            stat: "Sum",
            metrics: perGroup("Detached", "detached"),
        },
        {
            title: "Failed (left for a retry), per group",
            stat: "Sum",
            metrics: perGroup("Failed", "failed"),
        },
        {
            title: "Ignored, by reason; and listed groups not found",
            stat: "Sum",
            metrics: [
                ...IGNORE_REASONS.map((reason) => [
                    METRICS_NAMESPACE,
                    "Ignored",
                    ...handler,
                    REASON_DIMENSION,
                    reason,
                    { label: reason },
                ]),
                handlerMetric("MissingGroups", { label: "groups not found", stat: "Maximum" }),
            ],
        },
    ];
    if (resources.targetGroupArnSuffix !== undefined) {
        const search = (metric: string, stat: string, id: string) => ({
            expression: `SEARCH('{AWS/ApplicationELB,LoadBalancer,TargetGroup} TargetGroup="${resources.targetGroupArnSuffix}" MetricName="${metric}"', '${stat}', ${PERIOD_SECONDS})`,
            id,
        });
        panels.push({
            title: "The target group: healthy hosts and requests",
            stat: "Sum",
            metrics: [
                [search("HealthyHostCount", "Minimum", "healthy")],
                [search("RequestCount", "Sum", "requests")],
            ],
        });
    }
    return {
        widgets: panels.map((panel, index) => ({
            type: "metric",
            x: (index % 2) * WIDTH,
            y: Math.floor(index / 2) * HEIGHT,
            width: WIDTH,
            height: HEIGHT,
            properties: {
                title: panel.title,
                region: resources.region,
                view: "timeSeries",
                stat: panel.stat,
                period: PERIOD_SECONDS,
                metrics: panel.metrics,
            },
        })),
    };
}

/**
 * What the alarms point at. Generic over a name, so that the component builds its alarms once
 * from names that are still Outputs, and a test from plain strings.
 */
export interface AlarmedResources<Name = string> {
    /** The metrics' Handler dimension: always plain. */
    readonly handlerName: string;
    readonly functionName: Name;
    readonly deadLetterQueueName: Name;
    /** Queue delivery only. */
    readonly eventsQueueName?: Name;
}

/** One alarm, as aws.cloudwatch.MetricAlarm takes it, without its actions. */
export interface AlarmSpec<Name = string> {
    /** Appended to the component's name. */
    readonly role: string;
    readonly namespace: string;
    readonly metricName: string;
    readonly dimensions: Record<string, Name | string>;
    readonly statistic: "Sum" | "Maximum";
    /**
     * Metric math over the metric, which is `m` in it: the alarm then watches the expression.
     * E.g. "DIFF(FILL(m, 0))": the rise since the last period, not the level.
     */
    readonly expression?: string;
    readonly threshold: number;
    /** The description, given the chosen groups in words (known once their names are). */
    readonly alarmDescription: (groupsDescription: string) => string;
}

/** The rise of a level since the last period: 0 while nothing new arrives, so the alarm re-arms. */
export const RISE_OF_METRIC = "DIFF(FILL(m, 0))";

/**
 * When a human is needed: a warning dead-lettered, warnings piling up, the function failing or
 * throttled, or the handler leaving instances for a retry. All compare "greater than threshold".
 */
export function handlerAlarms<Name = string>(
    resources: AlarmedResources<Name>,
    queueAgeThresholdSeconds: number,
): AlarmSpec<Name>[] {
    const alarms: AlarmSpec<Name>[] = [
        {
            // On new arrivals, not the depth: old dead letters must not mute the next ones.
            role: "dead-letters",
            namespace: "AWS/SQS",
            metricName: "ApproximateNumberOfMessagesVisible",
            dimensions: { QueueName: resources.deadLetterQueueName },
            statistic: "Maximum",
            expression: RISE_OF_METRIC,
            threshold: 0,
            alarmDescription: (groups) =>
                `New Spot interruption warnings for ${groups} were dead-lettered: their instances may have been reclaimed without draining. Read the messages in the dead-letter queue and the function's ERROR log entries, and fix the cause. The alarm returns to OK on its own a minute later; each new dead letter raises it again, whatever the queue still holds.`,
        },
        {
            role: "function-errors",
            namespace: "AWS/Lambda",
            metricName: "Errors",
            dimensions: { FunctionName: resources.functionName },
            statistic: "Sum",
            threshold: 0,
            alarmDescription: () =>
                `The Spot interruption handler's function failed. Read its ERROR log entries (misconfiguration, permissions, timeouts) and fix the cause; failed warnings are retried, then dead-lettered.`,
        },
        {
            role: "function-throttles",
            namespace: "AWS/Lambda",
            metricName: "Throttles",
            dimensions: { FunctionName: resources.functionName },
            statistic: "Sum",
            threshold: 0,
            alarmDescription: () =>
                `Lambda throttled the Spot interruption handler. Raise the account's concurrency quota, or reserve concurrency for the function (reservedConcurrentExecutions).`,
        },
        {
            // One alarm for every group: a failed lookup fails warnings before any group is known.
            role: "failed-warnings",
            namespace: METRICS_NAMESPACE,
            metricName: "Failed",
            dimensions: { [HANDLER_DIMENSION]: resources.handlerName },
            statistic: "Sum",
            threshold: 0,
            alarmDescription: (groups) =>
                `The handler left warnings for ${groups} for a retry (throttling, faults or a deadline). Check the dashboard's per-group panel, the Auto Scaling API's throttling and the function's ERROR log entries.`,
        },
        {
            role: "stale-warnings",
            namespace: METRICS_NAMESPACE,
            metricName: "Ignored",
            dimensions: {
                [HANDLER_DIMENSION]: resources.handlerName,
                [REASON_DIMENSION]: "stale",
            },
            statistic: "Sum",
            threshold: 0,
            alarmDescription: (groups) =>
                `Interruption warnings for ${groups} reached the handler older than the two-minute notice, on their first delivery, so their instances were reclaimed undrained. Check the events queue's age, the function's throttles and errors, and whether maximumConcurrency or the Auto Scaling budget is too small for the storms you see.`,
        },
        {
            role: "safety-net",
            namespace: METRICS_NAMESPACE,
            metricName: "SafetyNet",
            dimensions: { [HANDLER_DIMENSION]: resources.handlerName },
            statistic: "Sum",
            threshold: 0,
            alarmDescription: (groups) =>
                `Capacity Rebalancing did not take warned Spot instances of ${groups} out of service within the handler's grace, so the handler's safety net did. Check the group's activity history: it may be at MaxSize, or its replacements may fail to launch.`,
        },
        {
            role: "missing-groups",
            namespace: METRICS_NAMESPACE,
            metricName: "MissingGroups",
            dimensions: { [HANDLER_DIMENSION]: resources.handlerName },
            statistic: "Maximum",
            threshold: 0,
            alarmDescription: (groups) =>
                `A group the handler protects (${groups}) was not found when a warning arrived, so the handler protects none of its instances. Read the function's ERROR entry, which names it, then fix the group's name or tag in the handler's selection, or recreate the group.`,
        },
    ];
    if (resources.eventsQueueName !== undefined) {
        alarms.splice(1, 0, {
            role: "warnings-waiting",
            namespace: "AWS/SQS",
            metricName: "ApproximateAgeOfOldestMessage",
            dimensions: { QueueName: resources.eventsQueueName },
            statistic: "Maximum",
            threshold: queueAgeThresholdSeconds,
            alarmDescription: (groups) =>
                `Spot interruption warnings for ${groups} have waited over ${queueAgeThresholdSeconds} s in the events queue, eating into the two-minute notice. Check the function's errors and throttles, and raise maximumConcurrency if the Auto Scaling budget allows.`,
        });
    }
    if (resources.eventsQueueName !== undefined) {
        // The queue holds only what the rule matched: a record the handler cannot read is a real
        // warning it cannot act on. Direct delivery also takes console tests, so it is charted.
        alarms.push({
            role: "malformed-warnings",
            namespace: METRICS_NAMESPACE,
            metricName: "Ignored",
            dimensions: {
                [HANDLER_DIMENSION]: resources.handlerName,
                [REASON_DIMENSION]: "malformed",
            },
            statistic: "Sum",
            threshold: 0,
            alarmDescription: (groups) =>
                `The handler could not read records that the rule matched for ${groups}, so it acted on none of them. Read the function's log entries for the reason (an event shape it does not know), and update the handler.`,
        });
    }
    return alarms;
}
