/**
 * Watching a deployment react to a warning, one poll at a time: the handler's log, the group's
 * members and scaling activities, the watched instances' target health and EC2 state. Each
 * change becomes one timeline step; both the console test and the FIS experiment poll with it.
 */
import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import {
    describeGroup,
    type GroupSnapshot,
    newLogEvents,
    recentActivities,
    targetHealth,
} from "./simulate-aws";
import { awsCall } from "./simulate-errors";
import { type HandlerLogEntry, parseLogLine } from "./simulate-log";
import type { Timeline } from "./simulate-timeline";
import { type SimulationClients } from "./simulate-clients";

export interface ObserverSettings {
    readonly groupName: string;
    readonly region: string;
    /** The function's log group; without it the log is not read. */
    readonly logGroupName?: string;
    readonly targetGroupArns: readonly string[];
    /** Logs and activities from this time on (epoch ms). */
    readonly sinceMs: number;
    /** The group's members before: any other member is a replacement. */
    readonly membersBefore: readonly string[];
}

/** A lifecycle for an instance that is no longer a member of the group. */
export const LEFT_GROUP = "left the group";

/** Log records may reach the log group with their invocation's start time, a little earlier. */
const LOG_CLOCK_SKEW_MS = 5_000;

export class DeploymentObserver {
    /** Every handler entry read so far, in order. */
    readonly entries: HandlerLogEntry[] = [];
    /** Members that were not in the group before, in the order they appeared. */
    readonly replacements: string[] = [];
    private readonly watched = new Set<string>();
    private readonly lifecycles = new Map<string, string>();
    private readonly history = new Map<string, Set<string>>();
    private readonly targetStates = new Map<string, string>();
    private readonly ec2States = new Map<string, string>();
    private readonly activityStatuses = new Map<string, string>();
    private readonly seenLogEvents = new Set<string>();

    constructor(
        private readonly clients: SimulationClients,
        private readonly timeline: Timeline,
        private readonly settings: ObserverSettings,
    ) {}

    /** Follows this instance from now on; `lifecycle` is what it is known to be now. */
    watch(instanceId: string, lifecycle?: string): void {
        this.watched.add(instanceId);
        if (lifecycle !== undefined && !this.lifecycles.has(instanceId)) {
            this.lifecycles.set(instanceId, lifecycle);
        }
    }

    lifecycleOf(instanceId: string): string | undefined {
        return this.lifecycles.get(instanceId);
    }

    /** True once a poll has seen the instance in `lifecycle`: a termination hook's Wait, say. */
    hasBeen(instanceId: string, lifecycle: string): boolean {
        return this.history.get(instanceId)?.has(lifecycle) === true;
    }

    targetStateOf(targetGroupArn: string, instanceId: string): string | undefined {
        return this.targetStates.get(`${targetGroupArn} ${instanceId}`);
    }

    ec2StateOf(instanceId: string): string | undefined {
        return this.ec2States.get(instanceId);
    }

    /** Reads new log entries; those `relevant` says concern the simulation become steps. */
    async readLog(relevant: (entry: HandlerLogEntry) => boolean): Promise<HandlerLogEntry[]> {
        if (this.settings.logGroupName === undefined) {
            return [];
        }
        const events = await newLogEvents(
            this.clients,
            this.settings.logGroupName,
            this.settings.sinceMs - LOG_CLOCK_SKEW_MS,
            this.seenLogEvents,
        );
        const fresh = events.flatMap((e) => parseLogLine(e.message, e.timestamp) ?? []);
        this.entries.push(...fresh);
        for (const entry of fresh.filter(relevant)) {
            this.timeline.add("handler", handlerLine(entry), {
                level: entry.level,
                loggedAt: new Date(entry.timestamp).toISOString(),
                ...entry.fields,
            });
        }
        return fresh;
    }

    /** The group now: watched members that changed state, and replacements, become steps. */
    async observeGroup(): Promise<GroupSnapshot> {
        const group = await describeGroup(
            this.clients,
            this.settings.groupName,
            this.settings.region,
        );
        const members = new Map(group.instances.map((i) => [i.instanceId, i]));
        for (const instanceId of this.watched) {
            const now = members.get(instanceId)?.lifecycleState ?? LEFT_GROUP;
            if (this.lifecycles.get(instanceId) !== now) {
                this.lifecycles.set(instanceId, now);
                this.history.set(instanceId, (this.history.get(instanceId) ?? new Set()).add(now));
                this.timeline.add(
                    "group",
                    now === LEFT_GROUP
                        ? `${instanceId} has left group ${group.name}`
                        : `${instanceId} is ${now} in group ${group.name}`,
                    { instanceId, lifecycleState: now },
                );
            }
        }
        for (const member of group.instances) {
            const isNew =
                !this.settings.membersBefore.includes(member.instanceId) &&
                !this.replacements.includes(member.instanceId);
            if (isNew) {
                this.replacements.push(member.instanceId);
                this.timeline.add(
                    "group",
                    `Replacement ${member.instanceId} launched into group ${group.name} (${member.lifecycleState}${member.instanceType ? `, ${member.instanceType}` : ""}${member.availabilityZone ? ` in ${member.availabilityZone}` : ""})`,
                    { instanceId: member.instanceId, lifecycleState: member.lifecycleState },
                );
            }
        }
        return group;
    }

    /** The group's activities since the start: new ones and status changes become steps. */
    async observeActivities(): Promise<void> {
        const activities = await recentActivities(
            this.clients,
            this.settings.groupName,
            this.settings.sinceMs - LOG_CLOCK_SKEW_MS,
        );
        // Oldest first, so that the timeline reads in order.
        for (const activity of [...activities].reverse()) {
            if (this.activityStatuses.get(activity.activityId) !== activity.statusCode) {
                this.activityStatuses.set(activity.activityId, activity.statusCode);
                // Capacity Rebalancing's own activities say so only in their cause.
                const why = /rebalanc/i.test(activity.cause) ? ` (${activity.cause})` : "";
                this.timeline.add(
                    "activity",
                    `${activity.description}: ${activity.statusCode}${why}`,
                    {
                        activityId: activity.activityId,
                        statusCode: activity.statusCode,
                        cause: activity.cause,
                    },
                );
            }
        }
    }

    /** Each watched instance's health in each target group: changes become steps. */
    async observeTargets(): Promise<void> {
        for (const targetGroupArn of this.settings.targetGroupArns) {
            for (const instanceId of this.watched) {
                const health = await targetHealth(this.clients, targetGroupArn, instanceId);
                const key = `${targetGroupArn} ${instanceId}`;
                if (this.targetStates.get(key) !== health.state) {
                    this.targetStates.set(key, health.state);
                    this.timeline.add(
                        "target",
                        `${instanceId} in target group ${targetGroupName(targetGroupArn)}: ${health.state}${health.reason ? ` (${health.reason})` : ""}`,
                        { instanceId, targetGroupArn, ...health },
                    );
                }
            }
        }
    }

    /** Each watched instance's EC2 state (running, shutting-down, terminated...): changes become steps. */
    async observeInstances(): Promise<void> {
        if (this.watched.size === 0) {
            return;
        }
        const { Reservations = [] } = await awsCall("ec2:DescribeInstances", (abortSignal) =>
            this.clients.ec2.send(
                new DescribeInstancesCommand({ InstanceIds: [...this.watched] }),
                { abortSignal },
            ),
        );
        for (const instance of Reservations.flatMap((r) => r.Instances ?? [])) {
            const id = instance.InstanceId ?? "";
            const state = instance.State?.Name ?? "unknown";
            if (this.ec2States.get(id) !== state) {
                const first = !this.ec2States.has(id);
                this.ec2States.set(id, state);
                if (!first || state !== "running") {
                    const reason = instance.StateReason?.Message;
                    this.timeline.add(
                        "instance",
                        `${id} is ${state}${reason ? ` (${reason})` : ""}`,
                        { instanceId: id, state, stateReason: instance.StateReason?.Code },
                    );
                }
            }
        }
    }
}

/** "web-tg" from "arn:aws:elasticloadbalancing:…:targetgroup/web-tg/0123456789abcdef". */
export function targetGroupName(targetGroupArn: string): string {
    return /:targetgroup\/([^/]+)\//.exec(targetGroupArn)?.[1] ?? targetGroupArn;
}

function handlerLine(entry: HandlerLogEntry): string {
    const f = entry.fields;
    const extras = [
        typeof f.capacityOnInterruption === "string" && !/^Batch/.test(entry.message)
            ? `capacity ${f.capacityOnInterruption}`
            : undefined,
        typeof f.reason === "string" ? f.reason : undefined,
    ].filter((e) => e !== undefined);
    const level = entry.level === "INFO" ? "" : `${entry.level} `;
    return `${level}${entry.message}${extras.length > 0 ? ` (${extras.join("; ")})` : ""}`;
}
