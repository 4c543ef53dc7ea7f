/** Watches a deployment react, poll by poll: the handler's log, the group, its activities, the drain, EC2; a change is a step. */
import { DescribeScalingActivitiesCommand } from "@aws-sdk/client-auto-scaling";
import { FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { awsCall, describeGroup, SimulationError } from "./aws";
import { type HandlerLogEntry, handlerLine, parseLogLine } from "./handler-log";
import { type Discovered, type Run } from "./run";

export const LEFT_GROUP = "left the group";

/** Log records may reach the log group with their invocation's start time, a little earlier. */
const LOG_CLOCK_SKEW_MS = 5_000;

/** Enough pages for any run's log; a busier log group is cut short rather than read forever. */
const MAX_LOG_PAGES = 10;

export class DeploymentObserver {
    readonly entries: HandlerLogEntry[] = [];
    readonly replacements: string[] = [];
    private readonly watched = new Set<string>();
    /** Each watched instance's lifecycle now, and every one a poll has seen it in. */
    readonly lifecycles = new Map<string, string>();
    readonly history = new Map<string, Set<string>>();
    /** Each target's, activity's, instance's and experiment's last state, to record only changes. */
    private readonly states = new Map<string, string>();
    private readonly seenLogEvents = new Set<string>();
    private readonly sinceMs: number;

    constructor(
        private readonly run: Run,
        private readonly discovered: Discovered,
        sinceMs: number,
    ) {
        this.sinceMs = sinceMs - LOG_CLOCK_SKEW_MS;
    }

    /** Follows this instance from now on, from the lifecycle it had when the run found the group. */
    watch(instanceId: string): void {
        this.watched.add(instanceId);
        const member = this.discovered.group?.instances.find((i) => i.instanceId === instanceId);
        if (member !== undefined && !this.lifecycles.has(instanceId)) {
            this.lifecycles.set(instanceId, member.lifecycleState);
        }
    }

    stateOf(what: "target" | "instance", ...ids: string[]): string | undefined {
        return this.states.get([what, ...ids].join(" "));
    }

    changed(key: string, state: string): boolean {
        const known = this.states.get(key);
        this.states.set(key, state);
        return known !== state;
    }

    /** The log group's lines not read before, in order, as entries; the `relevant` ones are steps too. */
    async readLog(relevant: (entry: HandlerLogEntry) => boolean): Promise<void> {
        const { logGroupName } = this.discovered.facts;
        if (logGroupName === undefined) {
            return;
        }
        const notFound = new SimulationError(
            "function-not-found",
            `The function's log group ${logGroupName} does not exist: the function has never logged, or logs elsewhere.`,
        );
        const fresh: HandlerLogEntry[] = [];
        let nextToken: string | undefined;
        for (let page = 0; page < MAX_LOG_PAGES; page++) {
            const startTime = this.sinceMs;
            const command = new FilterLogEventsCommand({ logGroupName, startTime, nextToken });
            const response = await awsCall(
                "logs:FilterLogEvents",
                (timeout) => this.run.clients.logs.send(command, timeout),
                { notFound },
            );
            for (const event of response.events ?? []) {
                const key = `${event.logStreamName ?? ""}/${event.eventId ?? event.timestamp}`;
                const entry = this.seenLogEvents.has(key)
                    ? undefined
                    : parseLogLine(event.message ?? "", event.timestamp ?? 0);
                this.seenLogEvents.add(key);
                fresh.push(...(entry === undefined ? [] : [entry]));
            }
            nextToken = response.nextToken;
            if (nextToken === undefined) {
                break;
            }
        }
        fresh.sort((a, b) => a.timestamp - b.timestamp);
        this.entries.push(...fresh);
        for (const entry of fresh.filter(relevant)) {
            const { level, fields } = entry;
            const loggedAt = new Date(entry.timestamp).toISOString();
            this.run.add("handler", handlerLine(entry), { level, loggedAt, ...fields });
        }
    }

    async observe(options: { readonly instances: boolean }): Promise<void> {
        const { run, discovered } = this;
        const { region, facts } = discovered;
        const group = await describeGroup(run.clients, facts.groupName, region);
        const members = new Map(group.instances.map((i) => [i.instanceId, i]));
        for (const instanceId of this.watched) {
            const now = members.get(instanceId)?.lifecycleState ?? LEFT_GROUP;
            if (this.lifecycles.get(instanceId) !== now) {
                this.lifecycles.set(instanceId, now);
                this.history.set(instanceId, (this.history.get(instanceId) ?? new Set()).add(now));
                const where = now === LEFT_GROUP ? `has left group` : `is ${now} in group`;
                const data = { instanceId, lifecycleState: now };
                run.add("group", `${instanceId} ${where} ${group.name}`, data);
            }
        }
        const before = discovered.group?.instances.map((i) => i.instanceId) ?? [];
        for (const { instanceId, lifecycleState, ...member } of group.instances) {
            const { instanceType: type, availabilityZone: zone } = member;
            if (!before.includes(instanceId) && !this.replacements.includes(instanceId)) {
                this.replacements.push(instanceId);
                run.add(
                    "group",
                    `Replacement ${instanceId} launched into group ${group.name} (${lifecycleState}${type ? `, ${type}` : ""}${zone ? ` in ${zone}` : ""})`,
                    { instanceId, lifecycleState },
                );
            }
        }
        // The group's most recent activities (one page), oldest first, so that the timeline reads in order.
        const command = new DescribeScalingActivitiesCommand({
            AutoScalingGroupName: group.name,
            MaxRecords: 20,
        });
        const { Activities = [] } = await awsCall(
            "autoscaling:DescribeScalingActivities",
            (timeout) => run.clients.autoScaling.send(command, timeout),
        );
        const activities = Activities.filter((a) => (a.StartTime?.getTime() ?? 0) >= this.sinceMs);
        for (const activity of activities.reverse()) {
            const { ActivityId: activityId, Description, StatusCode: statusCode = "" } = activity;
            const cause = activity.Cause ?? "";
            if (this.changed(`activity ${activityId}`, statusCode)) {
                // Capacity Rebalancing's own activities say so only in their cause.
                const why = /rebalanc/i.test(cause) ? ` (${cause})` : "";
                const data = { activityId, statusCode, cause };
                run.add("activity", `${Description}: ${statusCode}${why}`, data);
            }
        }
        for (const targetGroupArn of facts.targetGroupArns) {
            const command = new DescribeTargetHealthCommand({
                TargetGroupArn: targetGroupArn,
                Targets: [...this.watched].map((Id) => ({ Id })),
            });
            const { TargetHealthDescriptions = [] } = await awsCall(
                "elasticloadbalancing:DescribeTargetHealth",
                (timeout) => run.clients.elbv2.send(command, timeout),
            );
            for (const instanceId of this.watched) {
                const found = TargetHealthDescriptions.find((d) => d.Target?.Id === instanceId);
                const health = {
                    state: found?.TargetHealth?.State ?? "unused",
                    reason: found?.TargetHealth?.Reason,
                };
                if (this.changed(`target ${targetGroupArn} ${instanceId}`, health.state)) {
                    run.add(
                        "target",
                        `${instanceId} in target group ${targetGroupName(targetGroupArn)}: ${health.state}${health.reason ? ` (${health.reason})` : ""}`,
                        { instanceId, targetGroupArn, ...health },
                    );
                }
            }
        }
        if (options.instances && this.watched.size > 0) {
            await this.observeInstances();
        }
    }

    /** The watched instances' EC2 state (running, shutting-down…); a first "running" is no news. */
    private async observeInstances(): Promise<void> {
        const command = new DescribeInstancesCommand({ InstanceIds: [...this.watched] });
        const { Reservations = [] } = await awsCall("ec2:DescribeInstances", (timeout) =>
            this.run.clients.ec2.send(command, timeout),
        );
        for (const instance of Reservations.flatMap((r) => r.Instances ?? [])) {
            const id = instance.InstanceId ?? "";
            const state = instance.State?.Name ?? "unknown";
            const first = !this.states.has(`instance ${id}`);
            if (this.changed(`instance ${id}`, state) && (!first || state !== "running")) {
                const reason = instance.StateReason?.Message;
                this.run.add("instance", `${id} is ${state}${reason ? ` (${reason})` : ""}`, {
                    instanceId: id,
                    state,
                    stateReason: instance.StateReason?.Code,
                });
            }
        }
    }
}

/** "web-tg" from "arn:aws:elasticloadbalancing:…:targetgroup/web-tg/0123456789abcdef". */
export function targetGroupName(targetGroupArn: string): string {
    return /:targetgroup\/([^/]+)\//.exec(targetGroupArn)?.[1] ?? targetGroupArn;
}
