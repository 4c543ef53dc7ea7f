import {
    type AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DescribeAutoScalingInstancesCommand,
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
        { minSize: number; maxSize: number; desiredCapacity: number }
    >();

    private readonly afterNext = new Map<string, () => void>();

    /** Runs `change` once, right after the next answer to `action`: a concurrent actor's move. */
    afterNextCall(
        action: "DescribeAutoScalingInstances" | "DescribeAutoScalingGroups",
        change: () => void,
    ): this {
        this.afterNext.set(action, change);
        return this;
    }

    private answered<T>(action: string, answer: T): T {
        const change = this.afterNext.get(action);
        this.afterNext.delete(action);
        change?.();
        return answer;
    }

    group(name: string, sizes: { minSize: number; maxSize: number; desiredCapacity: number }) {
        this.groups.set(name, { ...sizes });
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
        client.on(DescribeAutoScalingInstancesCommand).callsFake(({ InstanceIds = [] }) =>
            this.answered("DescribeAutoScalingInstances", {
                AutoScalingInstances: InstanceIds.flatMap((id: string) => {
                    const instance = this.instances.get(id);
                    return instance === undefined
                        ? []
                        : [
                              {
                                  InstanceId: id,
                                  AutoScalingGroupName: instance.group,
                                  LifecycleState: instance.lifecycleState,
                                  AvailabilityZone: "eu-west-1b",
                                  HealthStatus: "HEALTHY",
                                  ProtectedFromScaleIn: false,
                              },
                          ];
                }),
            }),
        );
        client.on(DescribeAutoScalingGroupsCommand).callsFake(({ AutoScalingGroupNames = [] }) =>
            this.answered("DescribeAutoScalingGroups", {
                AutoScalingGroups: AutoScalingGroupNames.flatMap((name: string) => {
                    const sizes = this.groups.get(name);
                    return sizes === undefined
                        ? []
                        : [
                              {
                                  AutoScalingGroupName: name,
                                  MinSize: sizes.minSize,
                                  MaxSize: sizes.maxSize,
                                  DesiredCapacity: sizes.desiredCapacity,
                                  DefaultCooldown: 300,
                                  AvailabilityZones: ["eu-west-1b"],
                                  HealthCheckType: "ELB",
                                  CreatedTime: new Date(0),
                              },
                          ];
                }),
            }),
        );
        client
            .on(DetachInstancesCommand)
            .callsFake((input: DetachInstancesCommandInput) => this.detach(input));
        return this;
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
