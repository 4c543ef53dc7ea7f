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
    describeMembership(instanceId: string): Promise<Membership | undefined>;
    describeGroupSize(autoScalingGroupName: string): Promise<GroupSize | undefined>;
    detachInstance(
        autoScalingGroupName: string,
        instanceId: string,
        shouldDecrementDesiredCapacity: boolean,
    ): Promise<DetachActivity | undefined>;
}

/** Retry budget when the environment sets none: about 13 s of backoff at worst, well inside the timeout. */
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
        // A hung connection must not eat the two-minute notice.
        requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
    });
}

export function createAutoScalingGateway(client: AutoScalingClient): AutoScalingGateway {
    return {
        async describeMembership(instanceId) {
            const { AutoScalingInstances = [] } = await client.send(
                new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
            );
            const member = AutoScalingInstances.find((i) => i.InstanceId === instanceId);
            if (member?.AutoScalingGroupName === undefined) {
                return undefined;
            }
            return {
                autoScalingGroupName: member.AutoScalingGroupName,
                lifecycleState: member.LifecycleState ?? "unknown",
            };
        },

        async describeGroupSize(autoScalingGroupName) {
            const { AutoScalingGroups = [] } = await client.send(
                new DescribeAutoScalingGroupsCommand({
                    AutoScalingGroupNames: [autoScalingGroupName],
                }),
            );
            const group = AutoScalingGroups.find(
                (g) => g.AutoScalingGroupName === autoScalingGroupName,
            );
            if (group?.MinSize === undefined || group.DesiredCapacity === undefined) {
                return undefined;
            }
            return { minSize: group.MinSize, desiredCapacity: group.DesiredCapacity };
        },

        async detachInstance(autoScalingGroupName, instanceId, shouldDecrementDesiredCapacity) {
            const { Activities = [] } = await client.send(
                new DetachInstancesCommand({
                    AutoScalingGroupName: autoScalingGroupName,
                    InstanceIds: [instanceId],
                    ShouldDecrementDesiredCapacity: shouldDecrementDesiredCapacity,
                }),
            );
            const [activity] = Activities;
            return activity === undefined
                ? undefined
                : {
                      activityId: activity.ActivityId,
                      description: activity.Description,
                      statusCode: activity.StatusCode,
                  };
        },
    };
}
