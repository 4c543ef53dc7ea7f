import {
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
} from "@aws-sdk/client-auto-scaling";
import type { AwsClientStub } from "aws-sdk-client-mock";
import type { GroupAction } from "../../emulator/group-side";
import { autoScalingErrors } from "./auto-scaling-errors";
import { TERMINATING_TRANSITION } from "../../handler/auto-scaling";

export interface FakeInstance {
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
    /** Default false. */
    capacityRebalance?: boolean;
    /** WeightedCapacity per instance type, in the overrides' priority order. Unset: all weigh 1. */
    weights?: Record<string, number>;
    /** Has target groups: a terminating instance stays Terminating while it drains. */
    behindLoadBalancer?: boolean;
}

export interface FakeLifecycleHook {
    readonly group: string;
    readonly name: string;
    readonly transition: string;
}

export type { GroupAction };

export { TERMINATING_TRANSITION };

type Action =
    | "DescribeAutoScalingGroups"
    | "DetachInstances"
    | "DescribeLifecycleHooks"
    | "TerminateInstanceInAutoScalingGroup";

// Standby and Retained instances are already outside desired capacity: leaving replaces nothing.
const COUNTED_STATES = ["InService", "Pending", "Pending:Wait", "Pending:Proceed"];
const ON_THE_WAY_OUT = ["Terminating", "Terminating:Wait", "Terminating:Proceed", "Terminated"];

/**
 * Auto Scaling's state behind aws-sdk-client-mock, answering as AWS does: Describe calls read
 * it, DetachInstances and TerminateInstanceInAutoScalingGroup enforce AWS's refusals (with its
 * exact messages) before changing it, and the group itself reacts to a Spot warning when a test
 * says so (reactToSpotWarning). Tests then assert the calls made and the state left, not an
 * echo of a canned answer. What AWS does not document is listed in emulator/ASSUMPTIONS.md.
 */
export class FakeAutoScaling {
    readonly instances = new Map<string, FakeInstance>();
    readonly groups = new Map<string, FakeGroup>();
    readonly hooks: FakeLifecycleHook[] = [];
    /** Every instance moved out of service by the group or by a call, in order. */
    readonly actions: GroupAction[] = [];
    /** Every DescribeAutoScalingGroups request, as sent. */
    readonly lookups: DescribeAutoScalingGroupsCommandInput[] = [];
    /** Every DescribeLifecycleHooks request answered or denied, as sent (not the throttled). */
    readonly hookLookups: DescribeLifecycleHooksCommandInput[] = [];

    /** Every DetachInstances request throttled before it changed anything. */
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

    members(
        group: string,
        instanceIds: readonly string[],
        lifecycleState = "InService",
        instanceType?: string,
    ) {
        for (const id of instanceIds) {
            this.instances.set(id, { group, lifecycleState, instanceType });
        }
        return this;
    }

    /** PutLifecycleHook: a termination hook unless another transition is given. */
    lifecycleHook(group: string, name: string, transition = TERMINATING_TRANSITION): this {
        this.hooks.push({ group, name, transition });
        return this;
    }

    /**
     * What a group does once EC2's two-minute warning for `instanceId` reaches it: with Capacity
     * Rebalancing, an InService member is taken out of service (Terminating:Wait while its
     * termination hooks run, else Terminating and gone) and replaced. Otherwise nothing.
     * Synchronous: the test calls it where the group's reaction should fall.
     */
    reactToSpotWarning(instanceId: string): GroupAction | undefined {
        const instance = this.instances.get(instanceId);
        const group = instance && this.groups.get(instance.group);
        if (!instance || !group?.capacityRebalance || instance.lifecycleState !== "InService") {
            return undefined;
        }
        return this.takeOutOfService(instanceId, "CapacityRebalancing", false);
    }

    /** The capacity units `instanceId` counts for: its type's weight, or 1. */
    weightOf(instanceId: string): number {
        const instance = this.instances.get(instanceId);
        const weights = instance && this.groups.get(instance.group)?.weights;
        if (!weights) {
            return 1;
        }
        return (instance.instanceType && weights[instance.instanceType]) || 1;
    }

    /** The instances still in `group`. */
    membersOf(group: string): string[] {
        return [...this.instances].filter(([, i]) => i.group === group).map(([id]) => id);
    }

    /** Answers the client's calls from this state, from now on. */
    install(client: AwsClientStub<AutoScalingClient>): this {
        client
            .on(DescribeAutoScalingGroupsCommand)
            .callsFake((input: DescribeAutoScalingGroupsCommandInput) =>
                this.answered("DescribeAutoScalingGroups", input, (i) => this.describe(i)),
            );
        client
            .on(DetachInstancesCommand)
            .callsFake((input: DetachInstancesCommandInput) =>
                this.answered("DetachInstances", input, (i) => this.detach(i)),
            );
        client
            .on(DescribeLifecycleHooksCommand)
            .callsFake((input: DescribeLifecycleHooksCommandInput) =>
                this.answered("DescribeLifecycleHooks", input, (i) => this.describeHooks(i)),
            );
        client
            .on(TerminateInstanceInAutoScalingGroupCommand)
            .callsFake((input: TerminateInstanceInAutoScalingGroupCommandInput) =>
                this.answered("TerminateInstanceInAutoScalingGroup", input, (i) =>
                    this.terminate(i),
                ),
            );
        return this;
    }

    private answered<I, T>(action: Action, input: I, answer: (input: I) => T): T {
        const call = this.calls.get(action) ?? 0;
        this.calls.set(action, call + 1);
        if (this.throttled.get(action)?.has(call)) {
            if (action === "DetachInstances") {
                this.throttledDetaches.push({ ...(input as DetachInstancesCommandInput) });
            }
            throw autoScalingErrors.throttling();
        }
        const result = answer(input);
        const change = this.afterNext.get(action);
        this.afterNext.delete(action);
        change?.();
        return result;
    }

    /** As AWS answers: by names (at most 100), or by one tag filter; pages of MaxRecords. */
    describe(input: DescribeAutoScalingGroupsCommandInput) {
        this.lookups.push(input);
        const { AutoScalingGroupNames, Filters = [], MaxRecords = 50, NextToken } = input;
        if ((AutoScalingGroupNames?.length ?? 0) > 100 || MaxRecords > 100) {
            throw Object.assign(new Error("1 validation error detected"), {
                name: "ValidationError",
            });
        }
        const matches = [...this.groups].filter(([name, group]) => {
            if (AutoScalingGroupNames !== undefined && !AutoScalingGroupNames.includes(name)) {
                return false;
            }
            return Filters.every(({ Name = "", Values = [] }) =>
                Name === "tag-key"
                    ? Values.some((key) => key in group.tags)
                    : Name.startsWith("tag:")
                      ? Values.includes(group.tags[Name.slice(4)])
                      : true,
            );
        });
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
                ...(group.weights
                    ? {
                          MixedInstancesPolicy: {
                              LaunchTemplate: {
                                  Overrides: Object.entries(group.weights).map(
                                      ([InstanceType, weight]) => ({
                                          InstanceType,
                                          WeightedCapacity: String(weight),
                                      }),
                                  ),
                              },
                          },
                      }
                    : {}),
                Instances: [...this.instances]
                    .filter(([, i]) => i.group === name)
                    .map(([id, i]) => ({
                        InstanceId: id,
                        ...(i.instanceType ? { InstanceType: i.instanceType } : {}),
                        LifecycleState: i.lifecycleState as LifecycleState,
                        AvailabilityZone: "eu-west-1b",
                        HealthStatus: "HEALTHY",
                        ProtectedFromScaleIn: false,
                        ...(group.weights ? { WeightedCapacity: String(this.weightOf(id)) } : {}),
                    })),
                Tags: Object.entries(group.tags).map(([Key, Value]) => ({
                    Key,
                    Value,
                    ResourceId: name,
                    ResourceType: "auto-scaling-group",
                    PropagateAtLaunch: false,
                })),
            })),
            ...(start + MaxRecords < matches.length
                ? { NextToken: String(start + MaxRecords) }
                : {}),
        };
    }

    private describeHooks(input: DescribeLifecycleHooksCommandInput) {
        this.hookLookups.push(input);
        if (this.hookLookupsDenied) {
            throw autoScalingErrors.accessDenied("DescribeLifecycleHooks");
        }
        const { AutoScalingGroupName, LifecycleHookNames } = input;
        return {
            LifecycleHooks: this.hooks
                .filter(
                    (hook) =>
                        hook.group === AutoScalingGroupName &&
                        (LifecycleHookNames === undefined ||
                            LifecycleHookNames.includes(hook.name)),
                )
                .map((hook) => ({
                    LifecycleHookName: hook.name,
                    AutoScalingGroupName: hook.group,
                    LifecycleTransition: hook.transition,
                    HeartbeatTimeout: 3600,
                    GlobalTimeout: 172800,
                    DefaultResult: "ABANDON",
                })),
        };
    }

    private detach({
        AutoScalingGroupName: groupName = "",
        InstanceIds = [],
        ShouldDecrementDesiredCapacity,
    }: DetachInstancesCommandInput) {
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
        const sizes = this.requiredGroup(groupName);
        // Decrements are counted in capacity units (assumed for the refusal's figures).
        const units = InstanceIds.reduce((sum, id) => sum + this.weightOf(id), 0);
        if (ShouldDecrementDesiredCapacity && sizes.desiredCapacity - units < sizes.minSize) {
            throw autoScalingErrors.belowMinSize(
                groupName,
                sizes.minSize,
                sizes.maxSize,
                sizes.desiredCapacity,
                InstanceIds.length,
            );
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
        if (ShouldDecrementDesiredCapacity) {
            sizes.desiredCapacity -= units;
        }
        return {
            Activities: InstanceIds.map((id: string) => ({
                ActivityId: `activity-${id}`,
                AutoScalingGroupName: groupName,
                Cause: "detach",
                StartTime: new Date(0),
                StatusCode: "InProgress" as const,
                Description: `Detaching EC2 instance: ${id}`,
            })),
        };
    }

    /** One instance per call; its group's termination hooks run; refused as AWS refuses it. */
    private terminate({
        InstanceId = "",
        ShouldDecrementDesiredCapacity = false,
    }: TerminateInstanceInAutoScalingGroupCommandInput) {
        const instance = this.instances.get(InstanceId);
        if (instance === undefined) {
            throw autoScalingErrors.instanceNotFound(InstanceId);
        }
        const group = this.requiredGroup(instance.group);
        const counted = COUNTED_STATES.includes(instance.lifecycleState);
        const units = this.weightOf(InstanceId);
        if (ShouldDecrementDesiredCapacity && counted) {
            if (group.desiredCapacity === group.minSize) {
                throw autoScalingErrors.terminateAtMinSize(group.minSize);
            }
            if (group.desiredCapacity - units < group.minSize) {
                throw autoScalingErrors.belowMinSize(
                    instance.group,
                    group.minSize,
                    group.maxSize,
                    group.desiredCapacity,
                );
            }
        }
        const activity = {
            ActivityId: `activity-terminate-${InstanceId}`,
            AutoScalingGroupName: instance.group,
            Cause: "terminate",
            StartTime: new Date(0),
            StatusCode: "InProgress" as const,
            Description: `Terminating EC2 instance: ${InstanceId}`,
            Progress: 0,
        };
        // Already on its way out: a second request changes nothing (assumed). A Retained instance
        // waits for exactly this call.
        if (ON_THE_WAY_OUT.includes(instance.lifecycleState)) {
            return { Activity: activity };
        }
        this.takeOutOfService(
            InstanceId,
            "TerminateInstanceInAutoScalingGroup",
            ShouldDecrementDesiredCapacity,
        );
        return { Activity: activity };
    }

    /** Runs the termination hooks (or ends the instance), then replaces or decrements. */
    private takeOutOfService(
        instanceId: string,
        by: GroupAction["by"],
        decrement: boolean,
    ): GroupAction {
        const instance = this.instances.get(instanceId);
        if (instance === undefined) {
            throw new Error(`FakeAutoScaling has no instance ${instanceId}`);
        }
        const group = this.requiredGroup(instance.group);
        const counted = COUNTED_STATES.includes(instance.lifecycleState);
        const units = this.weightOf(instanceId);
        // A Retained instance has been through its termination hooks already (assumed).
        const hooksRun = this.hooks
            .filter((h) => h.group === instance.group && h.transition === TERMINATING_TRANSITION)
            .filter(() => instance.lifecycleState !== "Terminating:Retained")
            .map((h) => h.name);
        const lifecycleState = hooksRun.length > 0 ? "Terminating:Wait" : "Terminating";
        // Behind a load balancer the group deregisters it first: it is Terminating while it drains.
        if (hooksRun.length > 0 || group.behindLoadBalancer === true) {
            instance.lifecycleState = lifecycleState;
        } else {
            this.instances.delete(instanceId);
        }
        const replacements: string[] = [];
        if (counted && decrement) {
            group.desiredCapacity -= units;
        } else if (counted) {
            replacements.push(...this.launchReplacements(instance.group, group, units));
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

    /** InService at once, of the first type in priority order, enough to restore `units`. */
    private launchReplacements(name: string, group: FakeGroup, units: number): string[] {
        const [type, weight] = Object.entries(group.weights ?? {})[0] ?? [undefined, 1];
        const ids = Array.from({ length: Math.ceil(units / weight) }, () => {
            this.launched += 1;
            return `i-f${this.launched.toString(16).padStart(16, "0")}`;
        });
        this.members(name, ids, "InService", type);
        return ids;
    }

    private requiredGroup(name: string): FakeGroup {
        const group = this.groups.get(name);
        if (group === undefined) {
            throw new Error(`FakeAutoScaling has no group ${name}`);
        }
        return group;
    }
}

/** One group as DescribeAutoScalingGroups answers for it: sizes, members in their states, tags. */
export function groupLookupAnswer(
    name: string,
    {
        minSize = 0,
        desiredCapacity = 4,
        members = [],
        tags = {},
        capacityRebalance = false,
    }: {
        minSize?: number;
        desiredCapacity?: number;
        /** Instance id and lifecycle state, e.g. ["i-…", "InService"]. */
        members?: readonly (readonly [string, string])[];
        tags?: Record<string, string>;
        /** The group replaces a warned Spot instance by itself. */
        capacityRebalance?: boolean;
    } = {},
): Pick<DescribeAutoScalingGroupsCommandOutput, "AutoScalingGroups"> {
    const sizes = { minSize, maxSize: Math.max(12, desiredCapacity), desiredCapacity };
    const fake = new FakeAutoScaling().group(name, sizes, tags, { capacityRebalance });
    members.forEach(([id, state]) => fake.members(name, [id], state));
    return fake.describe({ AutoScalingGroupNames: [name] });
}

/**
 * From now on, the stubbed client finds `instanceId` InService in `group`, a plain group with
 * no lifecycle hook, and every detach succeeds.
 */
export function answerWithOneMember(
    autoScaling: AwsClientStub<AutoScalingClient>,
    group: string,
    instanceId: string,
): void {
    autoScaling.reset();
    autoScaling
        .on(DescribeAutoScalingGroupsCommand)
        .resolves(groupLookupAnswer(group, { members: [[instanceId, "InService"]] }));
    autoScaling.on(DescribeLifecycleHooksCommand).resolves({ LifecycleHooks: [] });
    autoScaling.on(DetachInstancesCommand).resolves({});
}
