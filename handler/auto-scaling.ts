import {
    AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DescribeAutoScalingInstancesCommand,
    DetachInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import type { GroupSize, Membership } from "./decision";

// Pulumi's closure serializer then inlines this module even from an importer's node_modules.
export const deploymentOnlyModule = true;

/** The scaling activity that DetachInstances starts, as the group's activity history shows it. */
export interface DetachActivity {
    readonly activityId?: string;
    readonly description?: string;
    readonly statusCode?: string;
}

/** The three Auto Scaling calls the handler makes, behind one thin seam. */
export interface AutoScalingGateway {
    /** Members among `instanceIds` (at most 50); an instance in no group is absent. */
    describeMemberships(
        instanceIds: readonly string[],
        signal: AbortSignal,
    ): Promise<Map<string, Membership>>;
    describeGroupSize(
        autoScalingGroupName: string,
        signal: AbortSignal,
    ): Promise<GroupSize | undefined>;
    /** Detaches `instanceIds` (at most 20) in one call; AWS refuses the whole call or none. */
    detachInstances(
        autoScalingGroupName: string,
        instanceIds: readonly string[],
        shouldDecrementDesiredCapacity: boolean,
        signal: AbortSignal,
    ): Promise<DetachActivity[]>;
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

/**
 * Counts every attempt the service throttled, retries included: the middleware sits inside the
 * SDK's retry loop. Returns the running count.
 */
export function countThrottles(client: AutoScalingClient): () => number {
    let throttles = 0;
    client.middlewareStack.add(
        (next) => async (args) => {
            try {
                return await next(args);
            } catch (error) {
                if (error instanceof Error && THROTTLING_ERRORS.includes(error.name)) {
                    throttles++;
                }
                throw error;
            }
        },
        { step: "finalizeRequest", priority: "low", name: "countThrottles" },
    );
    return () => throttles;
}

export function createAutoScalingGateway(client: AutoScalingClient): AutoScalingGateway {
    return {
        async describeMemberships(instanceIds, signal) {
            const { AutoScalingInstances = [] } = await client.send(
                new DescribeAutoScalingInstancesCommand({ InstanceIds: [...instanceIds] }),
                { abortSignal: signal },
            );
            const memberships = new Map<string, Membership>();
            for (const member of AutoScalingInstances) {
                if (member.InstanceId !== undefined && member.AutoScalingGroupName !== undefined) {
                    memberships.set(member.InstanceId, {
                        autoScalingGroupName: member.AutoScalingGroupName,
                        lifecycleState: member.LifecycleState ?? "unknown",
                    });
                }
            }
            return memberships;
        },

        async describeGroupSize(autoScalingGroupName, signal) {
            const { AutoScalingGroups = [] } = await client.send(
                new DescribeAutoScalingGroupsCommand({
                    AutoScalingGroupNames: [autoScalingGroupName],
                }),
                { abortSignal: signal },
            );
            const group = AutoScalingGroups.find(
                (g) => g.AutoScalingGroupName === autoScalingGroupName,
            );
            if (group?.MinSize === undefined || group.DesiredCapacity === undefined) {
                return undefined;
            }
            return { minSize: group.MinSize, desiredCapacity: group.DesiredCapacity };
        },

        async detachInstances(autoScalingGroupName, instanceIds, shouldDecrement, signal) {
            const { Activities = [] } = await client.send(
                new DetachInstancesCommand({
                    AutoScalingGroupName: autoScalingGroupName,
                    InstanceIds: [...instanceIds],
                    ShouldDecrementDesiredCapacity: shouldDecrement,
                }),
                { abortSignal: signal },
            );
            return Activities.map((activity) => ({
                activityId: activity.ActivityId,
                description: activity.Description,
                statusCode: activity.StatusCode,
            }));
        },
    };
}
