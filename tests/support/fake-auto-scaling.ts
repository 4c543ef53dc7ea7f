import * as assert from "node:assert/strict";
import {
    type Activity,
    type AutoScalingClient,
    type DescribeAutoScalingGroupsCommandOutput,
    DescribeAutoScalingGroupsCommand,
    type DescribeAutoScalingGroupsCommandInput,
    DescribeLifecycleHooksCommand,
    type DescribeLifecycleHooksCommandInput,
    DetachInstancesCommand,
    type DetachInstancesCommandInput,
    type LifecycleState,
    TerminateInstanceInAutoScalingGroupCommand,
    type TerminateInstanceInAutoScalingGroupCommandInput,
    type ServiceInputTypes,
    type ServiceOutputTypes,
} from "@aws-sdk/client-auto-scaling";
import type { AwsClientStub, AwsCommand } from "aws-sdk-client-mock";
import type { GroupAction } from "../../emulator/group-side";
import { autoScalingErrors } from "./auto-scaling-errors";
import { autoScaling } from "./auto-scaling-stub";
import { TERMINATING_TRANSITION } from "../../handler/auto-scaling";

interface FakeInstance {
    readonly group: string;
    lifecycleState: string;
    /** Its type, which gives its WeightedCapacity in a weighted group. */
    readonly instanceType?: string;
}

export interface FakeGroup {
    minSize: number;
    maxSize: number;
    /** In capacity units: instances, or the sum of their weights in a weighted group. */
    desiredCapacity: number;
    tags: Record<string, string>;
    capacityRebalance?: boolean;
    /** WeightedCapacity per instance type, in the overrides' priority order. Unset: all weigh 1. */
    weights?: Record<string, number>;
    /** Has target groups: a terminating instance stays Terminating while it drains. */
    behindLoadBalancer?: boolean;
}

type Action =
    | "DescribeAutoScalingGroups"
    | "DetachInstances"
    | "DescribeLifecycleHooks"
    | "TerminateInstanceInAutoScalingGroup";

// Standby and Retained instances are already outside desired capacity: leaving replaces nothing.
const COUNTED_STATES = ["InService", "Pending", "Pending:Wait", "Pending:Proceed"];
const ON_THE_WAY_OUT = ["Terminating", "Terminating:Wait", "Terminating:Proceed", "Terminated"];

/** The activity a detach or terminate of `instanceId` answers with, just started. */
const activity = (cause: "detach" | "terminate", instanceId: string, group: string): Activity => ({
    ActivityId: `activity-${cause === "detach" ? "" : "terminate-"}${instanceId}`,
    AutoScalingGroupName: group,
    Cause: cause,
    StartTime: new Date(0),
    StatusCode: "InProgress",
    Description: `${cause === "detach" ? "Detaching" : "Terminating"} EC2 instance: ${instanceId}`,
});

/**
 * Auto Scaling's state behind aws-sdk-client-mock: Describe calls read it, Detach and Terminate
 * refuse what AWS refuses (with its messages) before changing it, and the group reacts to a Spot
 * warning when a test says so. What AWS does not document is listed in emulator/ASSUMPTIONS.md.
 */
export class FakeAutoScaling {
    readonly instances = new Map<string, FakeInstance>();
    readonly groups = new Map<string, FakeGroup>();
    readonly hooks: { group: string; name: string; transition: string }[] = [];
    /** Every instance moved out of service by the group or by a call, in order. */
    readonly actions: GroupAction[] = [];
    /** Every DescribeLifecycleHooks request answered or denied (not the throttled). */
    readonly hookLookups: DescribeLifecycleHooksCommandInput[] = [];
    readonly throttledDetaches: DetachInstancesCommandInput[] = [];

    private readonly afterNext = new Map<Action, () => void>();
    private readonly throttled = new Map<Action, Set<number>>();
    private readonly calls = new Map<Action, number>();
    private hookLookupsDenied = false;
    private launched = 0;

    /** Runs `change` once, right after the next answer to `action`: a concurrent actor's move. */
    afterNextCall(action: Action, change: () => void): this {
        this.afterNext.set(action, change);
        return this;
    }

    /** Throttles these calls of `action` (0 is the first) before they look at anything, as AWS does. */
    throttleCalls(action: Action, callIndexes: Iterable<number>): this {
        this.throttled.set(action, new Set(callIndexes));
        return this;
    }

    /** Refuses every DescribeLifecycleHooks with AccessDenied, as a permissions boundary may. */
    denyHookLookups(): this {
        this.hookLookupsDenied = true;
        return this;
    }

    group(
        name: string,
        sizes: { minSize: number; maxSize: number; desiredCapacity: number },
        tags: Record<string, string> = {},
        options: Pick<FakeGroup, "capacityRebalance" | "weights" | "behindLoadBalancer"> = {},
    ) {
        this.groups.set(name, { ...sizes, tags: { ...tags }, ...options });
        return this;
    }

    members(group: string, ids: readonly string[], lifecycleState = "InService", type?: string) {
        ids.forEach((id) => this.instances.set(id, { group, lifecycleState, instanceType: type }));
        return this;
    }

    /** PutLifecycleHook: a termination hook unless another transition is given. */
    lifecycleHook(group: string, name: string, transition = TERMINATING_TRANSITION): this {
        this.hooks.push({ group, name, transition });
        return this;
    }

    /** The group's reaction to EC2's warning, where the test calls it: only with Capacity Rebalancing, only InService. */
    reactToSpotWarning(instanceId: string): GroupAction | undefined {
        const instance = this.instances.get(instanceId);
        const group = instance && this.groups.get(instance.group);
        if (!group?.capacityRebalance || instance?.lifecycleState !== "InService") {
            return undefined;
        }
        return this.takeOutOfService(instanceId, "CapacityRebalancing", false);
    }

    /** The instances still in `group`. */
    membersOf(group: string): string[] {
        return [...this.instances].filter(([, i]) => i.group === group).map(([id]) => id);
    }

    /** Answers the client's calls from this state, from now on. */
    install(client: AwsClientStub<AutoScalingClient>): this {
        this.serve(client, DescribeAutoScalingGroupsCommand, this.describe);
        this.serve(client, DetachInstancesCommand, this.detach);
        this.serve(client, DescribeLifecycleHooksCommand, this.describeHooks);
        this.serve(client, TerminateInstanceInAutoScalingGroupCommand, this.terminate);
        return this;
    }

    /** Answers `command` with `reply`, but for the calls throttled, then runs a pending change. */
    private serve<I extends ServiceInputTypes, O extends ServiceOutputTypes>(
        client: AwsClientStub<AutoScalingClient>,
        command: new (input: I) => AwsCommand<I, O>,
        reply: (input: I) => unknown,
    ): void {
        const action = command.name.replace(/Command$/, "") as Action;
        client.on(command).callsFake((input: I) => {
            const call = this.calls.get(action) ?? 0;
            this.calls.set(action, call + 1);
            if (this.throttled.get(action)?.has(call)) {
                if (action === "DetachInstances") {
                    this.throttledDetaches.push({ ...(input as DetachInstancesCommandInput) });
                }
                throw autoScalingErrors.throttling();
            }
            const result = reply(input);
            const change = this.afterNext.get(action);
            this.afterNext.delete(action);
            change?.();
            return result;
        });
    }

    /** As AWS answers: by names (at most 100), or by one tag filter; pages of MaxRecords. */
    readonly describe = (input: DescribeAutoScalingGroupsCommandInput) => {
        const { AutoScalingGroupNames, Filters = [], MaxRecords = 50, NextToken } = input;
        if ((AutoScalingGroupNames?.length ?? 0) > 100 || MaxRecords > 100) {
            throw autoScalingErrors.unknownValidation();
        }
        const matches = [...this.groups].filter(
            ([name, group]) =>
                (AutoScalingGroupNames?.includes(name) ?? true) &&
                Filters.every(({ Name = "", Values = [] }) =>
                    Name === "tag-key"
                        ? Values.some((key) => key in group.tags)
                        : !Name.startsWith("tag:") || Values.includes(group.tags[Name.slice(4)]),
                ),
        );
        const start = NextToken === undefined ? 0 : Number(NextToken);
        const page = matches.slice(start, start + MaxRecords);
        return {
            AutoScalingGroups: page.map(([name, group]) => ({
                AutoScalingGroupName: name,
                MinSize: group.minSize,
                MaxSize: group.maxSize,
                DesiredCapacity: group.desiredCapacity,
                DesiredCapacityType: "units",
                CapacityRebalance: group.capacityRebalance ?? false,
                DefaultCooldown: 300,
                AvailabilityZones: ["eu-west-1b"],
                HealthCheckType: "ELB",
                CreatedTime: new Date(0),
                ...(group.weights && {
                    MixedInstancesPolicy: {
                        LaunchTemplate: {
                            Overrides: Object.entries(group.weights).map(([type, weight]) => ({
                                InstanceType: type,
                                WeightedCapacity: String(weight),
                            })),
                        },
                    },
                }),
                Instances: this.membersOf(name).map((id) => {
                    const { instanceType, lifecycleState } = this.instances.get(id) ?? {};
                    return {
                        InstanceId: id,
                        ...(instanceType && { InstanceType: instanceType }),
                        LifecycleState: lifecycleState as LifecycleState,
                        AvailabilityZone: "eu-west-1b",
                        HealthStatus: "HEALTHY",
                        ProtectedFromScaleIn: false,
                        ...(group.weights && { WeightedCapacity: String(this.weightOf(id)) }),
                    };
                }),
                // The handler reads a tag's Key and Value only.
                Tags: Object.entries(group.tags).map(([Key, Value]) => ({ Key, Value })),
            })),
            ...(start + MaxRecords < matches.length && { NextToken: String(start + MaxRecords) }),
        };
    };

    private readonly describeHooks = (input: DescribeLifecycleHooksCommandInput) => {
        this.hookLookups.push(input);
        if (this.hookLookupsDenied) {
            throw autoScalingErrors.accessDenied("DescribeLifecycleHooks");
        }
        const { AutoScalingGroupName, LifecycleHookNames } = input;
        const hooks = this.hooks.filter(
            (hook) =>
                hook.group === AutoScalingGroupName &&
                (LifecycleHookNames?.includes(hook.name) ?? true),
        );
        return {
            LifecycleHooks: hooks.map((hook) => ({
                LifecycleHookName: hook.name,
                AutoScalingGroupName: hook.group,
                LifecycleTransition: hook.transition,
                HeartbeatTimeout: 3600,
                GlobalTimeout: 172800,
                DefaultResult: "ABANDON",
            })),
        };
    };

    private readonly detach = ({
        AutoScalingGroupName: groupName = "",
        InstanceIds = [],
        ShouldDecrementDesiredCapacity,
    }: DetachInstancesCommandInput) => {
        if (InstanceIds.length > 20) {
            throw autoScalingErrors.tooManyInstances();
        }
        for (const id of InstanceIds) {
            const instance = this.instances.get(id);
            if (instance?.group !== groupName) {
                throw autoScalingErrors.notPartOfGroup(id, groupName);
            }
            if (!["InService", "Standby"].includes(instance.lifecycleState)) {
                throw autoScalingErrors.notInServiceOrStandby(id);
            }
        }
        const group = this.requiredGroup(groupName);
        // Decrements are counted in capacity units (assumed for the refusal's figures).
        const units = InstanceIds.reduce((sum, id) => sum + this.weightOf(id), 0);
        if (ShouldDecrementDesiredCapacity) {
            this.refuseBelowMinSize(groupName, units, InstanceIds.length);
            group.desiredCapacity -= units;
        }
        for (const id of InstanceIds) {
            this.instances.delete(id);
            this.actions.push({
                instanceId: id,
                groupName,
                by: "DetachInstances",
                lifecycleState: "Detached",
                hooksRun: [],
                replacements: [],
            });
        }
        return { Activities: InstanceIds.map((id) => activity("detach", id, groupName)) };
    };

    /** One instance per call; its group's termination hooks run; refused as AWS refuses it. */
    private readonly terminate = ({
        InstanceId = "",
        ShouldDecrementDesiredCapacity = false,
    }: TerminateInstanceInAutoScalingGroupCommandInput) => {
        const instance = this.instances.get(InstanceId);
        if (instance === undefined) {
            throw autoScalingErrors.instanceNotFound(InstanceId);
        }
        const group = this.requiredGroup(instance.group);
        if (ShouldDecrementDesiredCapacity && COUNTED_STATES.includes(instance.lifecycleState)) {
            if (group.desiredCapacity === group.minSize) {
                throw autoScalingErrors.terminateAtMinSize(group.minSize);
            }
            this.refuseBelowMinSize(instance.group, this.weightOf(InstanceId), 1);
        }
        // Already on its way out: a second request changes nothing (assumed). A Retained instance
        // waits for exactly this call.
        if (!ON_THE_WAY_OUT.includes(instance.lifecycleState)) {
            const by = "TerminateInstanceInAutoScalingGroup";
            this.takeOutOfService(InstanceId, by, ShouldDecrementDesiredCapacity);
        }
        return { Activity: { ...activity("terminate", InstanceId, instance.group), Progress: 0 } };
    };

    private refuseBelowMinSize(name: string, units: number, count: number): void {
        const { minSize, maxSize, desiredCapacity } = this.requiredGroup(name);
        if (desiredCapacity - units < minSize) {
            throw autoScalingErrors.belowMinSize(name, minSize, maxSize, desiredCapacity, count);
        }
    }

    /** Runs the termination hooks (or ends the instance), then replaces or decrements. */
    private takeOutOfService(instanceId: string, by: GroupAction["by"], decrement: boolean) {
        const instance = this.instances.get(instanceId) as FakeInstance;
        const group = this.requiredGroup(instance.group);
        const units = this.weightOf(instanceId);
        // A Retained instance has been through its termination hooks already (assumed).
        const hooksRun = this.hooks
            .filter((h) => h.group === instance.group && h.transition === TERMINATING_TRANSITION)
            .filter(() => instance.lifecycleState !== "Terminating:Retained")
            .map((h) => h.name);
        const lifecycleState = hooksRun.length > 0 ? "Terminating:Wait" : "Terminating";
        const counted = COUNTED_STATES.includes(instance.lifecycleState);
        if (counted && decrement) {
            group.desiredCapacity -= units;
        }
        const replacements =
            counted && !decrement ? this.launchReplacements(instance.group, group, instanceId) : [];
        // Behind a load balancer the group deregisters it first: it is Terminating while it drains.
        if (hooksRun.length > 0 || group.behindLoadBalancer === true) {
            instance.lifecycleState = lifecycleState;
        } else {
            this.instances.delete(instanceId);
        }
        const action: GroupAction = {
            instanceId,
            groupName: instance.group,
            by,
            lifecycleState,
            hooksRun,
            replacements,
        };
        this.actions.push(action);
        return action;
    }

    /** InService at once, of the first type in priority order: as AWS, enough to fill desired capacity (in units) back up. */
    private launchReplacements(name: string, group: FakeGroup, leaving: string): string[] {
        const [type, weight] = Object.entries(group.weights ?? {})[0] ?? [undefined, 1];
        let inService = 0;
        for (const [id, { group: of, lifecycleState }] of this.instances) {
            if (id !== leaving && of === name && COUNTED_STATES.includes(lifecycleState)) {
                inService += this.weightOf(id);
            }
        }
        const shortfall = Math.max(0, group.desiredCapacity - inService);
        const ids = Array.from({ length: Math.ceil(shortfall / weight) }, () => {
            this.launched += 1;
            return `i-f${this.launched.toString(16).padStart(16, "0")}`;
        });
        this.members(name, ids, "InService", type);
        return ids;
    }

    /** The capacity units `instanceId` counts for: its type's weight, or 1. */
    private weightOf(instanceId: string): number {
        const instance = this.instances.get(instanceId);
        const weights = instance && this.groups.get(instance.group)?.weights;
        return (instance?.instanceType && weights?.[instance.instanceType]) || 1;
    }

    private requiredGroup(name: string): FakeGroup {
        return this.groups.get(name) ?? assert.fail(`FakeAutoScaling has no group ${name}`);
    }
}

/** One group as DescribeAutoScalingGroups answers for it: sizes, members as [id, lifecycle state]. */
export function groupLookupAnswer(
    name: string,
    lookup: {
        minSize?: number;
        desiredCapacity?: number;
        members?: readonly (readonly [string, string])[];
        capacityRebalance?: boolean;
    } = {},
): Pick<DescribeAutoScalingGroupsCommandOutput, "AutoScalingGroups"> {
    const { minSize = 0, desiredCapacity = 4, members = [], capacityRebalance } = lookup;
    const sizes = { minSize, maxSize: Math.max(12, desiredCapacity), desiredCapacity };
    const fake = new FakeAutoScaling().group(name, sizes, {}, { capacityRebalance });
    members.forEach(([id, state]) => fake.members(name, [id], state));
    return fake.describe({ AutoScalingGroupNames: [name] });
}

/** From now on, the stub finds `instanceId` InService in `group`, with no hook, and every detach succeeds. */
export function answerWithOneMember(group: string, instanceId: string): void {
    autoScaling
        .on(DescribeAutoScalingGroupsCommand)
        .resolves(groupLookupAnswer(group, { members: [[instanceId, "InService"]] }));
    autoScaling.on(DescribeLifecycleHooksCommand).resolves({ LifecycleHooks: [] });
    autoScaling.on(DetachInstancesCommand).resolves({});
}
