import {
    AutoScalingClient,
    type AutoScalingGroup,
    DescribeAutoScalingGroupsCommand,
    type DescribeAutoScalingGroupsCommandInput,
    DescribeLifecycleHooksCommand,
    DetachInstancesCommand,
    TerminateInstanceInAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import type { MiddlewareStack } from "@smithy/types";
import type { GroupSnapshot } from "./decision";
import { type GroupSelection, MAX_DESCRIBED_GROUPS } from "../contract";

export const deploymentOnlyModule = true;

/** The scaling activity that DetachInstances starts, as the group's activity history shows it. */
export interface DetachActivity {
    readonly activityId?: string;
    readonly description?: string;
    readonly statusCode?: string;
}

/** One page of the chosen groups, and the token for the next page when there is one. */
export interface GroupPage {
    readonly groups: GroupSnapshot[];
    readonly nextToken?: string;
}

/** The Auto Scaling calls the handler makes, behind one thin seam. */
export interface AutoScalingGateway {
    /**
     * One page of the groups the selection names (at most 100 names) or tags: their sizes, their
     * members' lifecycle states and their tags, in one DescribeAutoScalingGroups call.
     */
    describeGroups(
        selection: GroupSelection,
        nextToken: string | undefined,
        signal: AbortSignal,
    ): Promise<GroupPage>;
    /**
     * Detaches `instanceIds` (at most 20) in one call; AWS refuses the whole call or none. A
     * refusal after an attempt whose outcome is unknown carries `afterUncertainAttempt: true`:
     * that attempt may have detached them.
     */
    detachInstances(
        autoScalingGroupName: string,
        instanceIds: readonly string[],
        shouldDecrementDesiredCapacity: boolean,
        signal: AbortSignal,
    ): Promise<DetachActivity[]>;
    /**
     * TerminateInstanceInAutoScalingGroup for one instance: the group runs its termination hooks
     * (after deregistering it) and launches a replacement unless told to decrement. Marks a
     * refusal after an uncertain attempt as detachInstances does.
     */
    terminateInstance(
        instanceId: string,
        shouldDecrementDesiredCapacity: boolean,
        signal: AbortSignal,
    ): Promise<DetachActivity>;
    /** True when the group has a lifecycle hook on termination (DescribeLifecycleHooks). */
    hasTerminationHook(autoScalingGroupName: string, signal: AbortSignal): Promise<boolean>;
}

/** The lifecycle transition of a termination hook. */
export const TERMINATING_TRANSITION = "autoscaling:EC2_INSTANCE_TERMINATING";

/** The DescribeAutoScalingGroups request for one page of a selection. */
export function describeGroupsInput(
    selection: GroupSelection,
    nextToken: string | undefined,
): DescribeAutoScalingGroupsCommandInput {
    return {
        ...(selection.kind === "names"
            ? { AutoScalingGroupNames: [...selection.names] }
            : {
                  Filters: [
                      selection.value === undefined
                          ? { Name: "tag-key", Values: [selection.key] }
                          : { Name: `tag:${selection.key}`, Values: [selection.value] },
                  ],
              }),
        MaxRecords: MAX_DESCRIBED_GROUPS,
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
    };
}

/**
 * Every client's HTTP bounds: a hung connection fails in seconds, not minutes. Without
 * throwOnRequestTimeout the SDK only logs a hung request and waits for the socket.
 */
export const BOUNDED_REQUESTS = {
    connectionTimeout: 3_000,
    requestTimeout: 5_000,
    throwOnRequestTimeout: true,
};

/** Retry budget when the environment sets none; the invocation's deadline bounds it in time. */
const DEFAULT_MAX_ATTEMPTS = 8;

/**
 * A client configured from the SDK's standard environment (AWS_REGION, AWS_ENDPOINT_URL,
 * credentials, AWS_MAX_ATTEMPTS, AWS_RETRY_MODE), with adaptive retries by default: Auto Scaling
 * throttles per account and region, and an interruption storm is exactly when that budget runs out.
 */
export function createAutoScalingClient(env: NodeJS.ProcessEnv = process.env): AutoScalingClient {
    return new AutoScalingClient({
        retryMode: env.AWS_RETRY_MODE ?? "adaptive",
        maxAttempts: Number(env.AWS_MAX_ATTEMPTS) || DEFAULT_MAX_ATTEMPTS,
        requestHandler: BOUNDED_REQUESTS,
    });
}

const THROTTLING_ERRORS = ["Throttling", "ThrottlingException", "TooManyRequestsException"];

/** Set on a DetachInstances error when an earlier attempt of the same call may have succeeded. */
export const AFTER_UNCERTAIN_ATTEMPT = "afterUncertainAttempt";

/**
 * True for an attempt AWS may have carried out although it failed: a 5xx other than
 * ResourceContention (which refuses the change), a timeout or a lost connection.
 */
function outcomeUnknown(error: unknown): boolean {
    if (!(error instanceof Error) || error.name === "ResourceContentionFault") {
        return false;
    }
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return status === undefined || status >= 500;
}

/** The requests a client sent so far, each retry an attempt of its own, and those throttled. */
export interface RequestCounts {
    readonly requests: number;
    readonly throttles: number;
}

/**
 * Counts every attempt that reaches Auto Scaling, and those it throttled, retries included: the
 * middleware sits inside the SDK's retry loop. Returns the running counts.
 */
export function countRequests(client: AutoScalingClient): () => RequestCounts {
    let requests = 0;
    let throttles = 0;
    client.middlewareStack.add(
        (next) => async (args) => {
            requests++;
            try {
                return await next(args);
            } catch (error) {
                if (error instanceof Error && THROTTLING_ERRORS.includes(error.name)) {
                    throttles++;
                }
                throw error;
            }
        },
        { step: "finalizeRequest", priority: "low", name: "countRequests" },
    );
    return () => ({ requests, throttles });
}

export function createAutoScalingGateway(client: AutoScalingClient): AutoScalingGateway {
    return {
        async describeGroups(selection, nextToken, signal) {
            const { AutoScalingGroups = [], NextToken } = await client.send(
                new DescribeAutoScalingGroupsCommand(describeGroupsInput(selection, nextToken)),
                { abortSignal: signal },
            );
            const groups = AutoScalingGroups.flatMap((group) => {
                const snapshot = groupSnapshot(group);
                return snapshot === undefined ? [] : [snapshot];
            });
            return { groups, ...(NextToken ? { nextToken: NextToken } : {}) };
        },

        async detachInstances(autoScalingGroupName, instanceIds, shouldDecrement, signal) {
            const command = new DetachInstancesCommand({
                AutoScalingGroupName: autoScalingGroupName,
                InstanceIds: [...instanceIds],
                ShouldDecrementDesiredCapacity: shouldDecrement,
            });
            const { Activities = [] } = await sendMarkingUncertainAttempts(command, () =>
                client.send(command, { abortSignal: signal }),
            );
            return Activities.map(activityOf);
        },

        async terminateInstance(instanceId, shouldDecrement, signal) {
            const command = new TerminateInstanceInAutoScalingGroupCommand({
                InstanceId: instanceId,
                ShouldDecrementDesiredCapacity: shouldDecrement,
            });
            const { Activity = {} } = await sendMarkingUncertainAttempts(command, () =>
                client.send(command, { abortSignal: signal }),
            );
            return activityOf(Activity);
        },

        async hasTerminationHook(autoScalingGroupName, signal) {
            const { LifecycleHooks = [] } = await client.send(
                new DescribeLifecycleHooksCommand({ AutoScalingGroupName: autoScalingGroupName }),
                { abortSignal: signal },
            );
            return LifecycleHooks.some(
                (hook) => hook.LifecycleTransition === TERMINATING_TRANSITION,
            );
        },
    };
}

/** A group as the handler judges it; undefined when AWS left out a field it cannot do without. */
export function groupSnapshot(group: AutoScalingGroup): GroupSnapshot | undefined {
    const { AutoScalingGroupName: name, MinSize, DesiredCapacity } = group;
    if (name === undefined || MinSize === undefined || DesiredCapacity === undefined) {
        return undefined;
    }
    const instances = group.Instances ?? [];
    // WeightedCapacity is a string of capacity units; a group without weights counts 1 each.
    const weights = new Map(
        instances.flatMap((i) => {
            const weight = Number(i.WeightedCapacity);
            return i.InstanceId !== undefined &&
                Number.isFinite(weight) &&
                weight > 0 &&
                weight !== 1
                ? [[i.InstanceId, weight] as const]
                : [];
        }),
    );
    return {
        name,
        minSize: MinSize,
        desiredCapacity: DesiredCapacity,
        instances: new Map(
            instances.flatMap((i) =>
                i.InstanceId === undefined ? [] : [[i.InstanceId, i.LifecycleState ?? "unknown"]],
            ),
        ),
        tags: new Map(
            (group.Tags ?? []).flatMap((t) =>
                t.Key === undefined ? [] : [[t.Key, t.Value ?? ""]],
            ),
        ),
        capacityRebalance: group.CapacityRebalance === true,
        ...(weights.size > 0 ? { weights } : {}),
    };
}

function activityOf(activity: {
    ActivityId?: string;
    Description?: string;
    StatusCode?: string;
}): DetachActivity {
    return {
        activityId: activity.ActivityId,
        description: activity.Description,
        statusCode: activity.StatusCode,
    };
}

/**
 * Sends a call that changes a group, marking its error when an earlier attempt of the same call
 * (inside the SDK's retry loop) failed with an unknown outcome: that attempt may have acted.
 */
async function sendMarkingUncertainAttempts<Input extends object, Output extends object>(
    command: { readonly middlewareStack: MiddlewareStack<Input, Output> },
    send: () => Promise<Output>,
): Promise<Output> {
    let uncertainAttempts = 0;
    command.middlewareStack.add(
        (next) => async (args) => {
            try {
                return await next(args);
            } catch (error) {
                uncertainAttempts += outcomeUnknown(error) ? 1 : 0;
                throw error;
            }
        },
        { step: "finalizeRequest", priority: "low", name: "noteUncertainAttempts" },
    );
    try {
        return await send();
    } catch (error) {
        if (uncertainAttempts > 0 && error instanceof Error) {
            Object.assign(error, { [AFTER_UNCERTAIN_ATTEMPT]: true });
        }
        throw error;
    }
}
