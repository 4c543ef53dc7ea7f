import {
    type AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    type DescribeAutoScalingGroupsCommandInput,
    DetachInstancesCommand,
    type DetachInstancesCommandInput,
} from "@aws-sdk/client-auto-scaling";
import type { AwsClientStub } from "aws-sdk-client-mock";
import { autoScalingErrors } from "./auto-scaling-errors";

export interface FakeInstance {
    readonly group: string;
    lifecycleState: string;
}

/**
 * Auto Scaling's state behind aws-sdk-client-mock, answering as AWS does: Describe calls read
 * it, and DetachInstances enforces AWS's refusals (with its exact messages) before changing it.
 * Tests then assert the calls made and the state left, not an echo of a canned answer.
 */
export class FakeAutoScaling {
    readonly instances = new Map<string, FakeInstance>();
    readonly groups = new Map<
        string,
        {
            minSize: number;
            maxSize: number;
            desiredCapacity: number;
            tags: Record<string, string>;
        }
    >();
    /** Every DescribeAutoScalingGroups request, as sent. */
    readonly lookups: DescribeAutoScalingGroupsCommandInput[] = [];

    /** Every DetachInstances request throttled before it changed anything. */
    readonly throttledDetaches: DetachInstancesCommandInput[] = [];

    private readonly afterNext = new Map<string, () => void>();
    private throttledDetachCalls = new Set<number>();
    private detachCalls = 0;

    /** Runs `change` once, right after the next answer to `action`: a concurrent actor's move. */
    afterNextCall(
        action: "DescribeAutoScalingGroups" | "DetachInstances",
        change: () => void,
    ): this {
        this.afterNext.set(action, change);
        return this;
    }

    /** Throttles these DetachInstances calls (0 is the first), as AWS does when the budget runs out. */
    throttleDetachCalls(callIndexes: Iterable<number>): this {
        this.throttledDetachCalls = new Set(callIndexes);
        return this;
    }

    private answered<T>(action: string, answer: T): T {
        const change = this.afterNext.get(action);
        this.afterNext.delete(action);
        change?.();
        return answer;
    }

    group(
        name: string,
        sizes: { minSize: number; maxSize: number; desiredCapacity: number },
        tags: Record<string, string> = {},
    ) {
        this.groups.set(name, { ...sizes, tags: { ...tags } });
        return this;
    }

    members(group: string, instanceIds: readonly string[], lifecycleState = "InService") {
        for (const id of instanceIds) {
            this.instances.set(id, { group, lifecycleState });
        }
        return this;
    }

    /** Answers the client's calls from this state, from now on. */
    install(client: AwsClientStub<AutoScalingClient>): this {
        client
            .on(DescribeAutoScalingGroupsCommand)
            .callsFake((input: DescribeAutoScalingGroupsCommandInput) =>
                this.answered("DescribeAutoScalingGroups", this.describe(input)),
            );
        client
            .on(DetachInstancesCommand)
            .callsFake((input: DetachInstancesCommandInput) =>
                this.answered("DetachInstances", this.detach(input)),
            );
        return this;
    }

    /** As AWS answers: by names (at most 100), or by one tag filter; pages of MaxRecords. */
    private describe(input: DescribeAutoScalingGroupsCommandInput) {
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
                DefaultCooldown: 300,
                AvailabilityZones: ["eu-west-1b"],
                HealthCheckType: "ELB",
                CreatedTime: new Date(0),
                Instances: [...this.instances]
                    .filter(([, i]) => i.group === name)
                    .map(([id, i]) => ({
                        InstanceId: id,
                        LifecycleState: i.lifecycleState as "InService",
                        AvailabilityZone: "eu-west-1b",
                        HealthStatus: "HEALTHY",
                        ProtectedFromScaleIn: false,
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

    /** The instances still in `group`. */
    membersOf(group: string): string[] {
        return [...this.instances].filter(([, i]) => i.group === group).map(([id]) => id);
    }

    private detach({
        AutoScalingGroupName: groupName = "",
        InstanceIds = [],
        ShouldDecrementDesiredCapacity,
    }: DetachInstancesCommandInput) {
        if (this.throttledDetachCalls.has(this.detachCalls++)) {
            this.throttledDetaches.push({
                AutoScalingGroupName: groupName,
                InstanceIds,
                ShouldDecrementDesiredCapacity,
            });
            throw autoScalingErrors.throttling();
        }
        if (InstanceIds.length > 20) {
            throw autoScalingErrors.tooManyInstances();
        }
        for (const id of InstanceIds) {
            const instance = this.instances.get(id);
            if (instance?.group !== groupName) {
                throw autoScalingErrors.notPartOfGroup(id, groupName);
            }
            // Retained instances leave only without a decrement: they no longer count as desired.
            const keepOnly = instance.lifecycleState === "Terminating:Retained";
            if (
                !["InService", "Standby"].includes(instance.lifecycleState) &&
                !(keepOnly && ShouldDecrementDesiredCapacity === false)
            ) {
                throw autoScalingErrors.notInServiceOrStandby(id);
            }
        }
        const sizes = this.groups.get(groupName);
        if (sizes === undefined) {
            throw new Error(`FakeAutoScaling has no group ${groupName}`);
        }
        if (
            ShouldDecrementDesiredCapacity &&
            sizes.desiredCapacity - InstanceIds.length < sizes.minSize
        ) {
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
        }
        if (ShouldDecrementDesiredCapacity) {
            sizes.desiredCapacity -= InstanceIds.length;
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
}
