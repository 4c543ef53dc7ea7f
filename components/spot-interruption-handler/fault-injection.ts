/**
 * Opt-in real Spot interruptions for the protected group, through AWS Fault Injection Service:
 * an experiment template that sends `aws:ec2:send-spot-instance-interruptions` to running Spot
 * instances of the group, and the role FIS assumes to do it. Starting the template (`npm run
 * simulate -- --fis`) proves rule → queue → function → group end to end, and reclaims the
 * instances for real. The documents and settings are pure functions, unit-tested without mocks.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ComponentArgsError } from "../shared/argument-checks";
import { handlerArgumentError } from "./argument-checks";
import { escapeIamResourceText, type PolicyDocument } from "../shared/iam";

/** The FIS action that sends a rebalance recommendation, then the warning, then interrupts. */
export const SPOT_INTERRUPTION_ACTION_ID = "aws:ec2:send-spot-instance-interruptions";
/** The only target type that action accepts. */
export const SPOT_INSTANCE_RESOURCE_TYPE = "aws:ec2:spot-instance";
/** Auto Scaling tags every instance it launches with its group's name under this key. */
export const GROUP_NAME_TAG = "aws:autoscaling:groupName";
/** FIS sends interruptions to at most this many Spot instances in one experiment. */
export const MAX_FAULT_INJECTION_INSTANCES = 5;
/** The action's allowed range for durationBeforeInterruption, in seconds: 2 to 15 minutes. */
export const DURATION_BEFORE_INTERRUPTION_RANGE = { min: 120, max: 900 } as const;

/** The FIS experiment template's settings (`faultInjection` of the component's args). */
export interface FaultInjectionArgs {
    /** Create the experiment template and the role FIS assumes. Defaults to false. */
    readonly enabled?: boolean;
    /**
     * How many running Spot instances of the group one experiment interrupts, 1 to 5 (FIS's
     * limit for this action). Defaults to 1.
     */
    readonly instanceCount?: number;
    /**
     * ISO-8601 duration from the experiment's start to the interruption, PT2M to PT15M. The
     * rebalance recommendation is sent at once and the two-minute warning two minutes before the
     * interruption, so with PT2M both arrive together. Defaults to "PT2M".
     */
    readonly durationBeforeInterruption?: string;
    /**
     * A CloudWatch alarm whose ALARM state stops the experiment, e.g. one of the component's
     * alarms. Defaults to none: the experiment runs to the end.
     */
    readonly stopConditionAlarmArn?: pulumi.Input<string>;
    /**
     * The group whose Spot instances the experiment interrupts. Defaults to the protected group
     * (the first of autoScalingGroupNames); required with autoScalingGroupTag.
     * Defaults to none.
     */
    readonly autoScalingGroupName?: pulumi.Input<string>;
}

/** `faultInjection` after validation, when enabled. */
export interface FaultInjectionSettings {
    readonly instanceCount: number;
    readonly durationBeforeInterruption: string;
}

const DEFAULT_DURATION_BEFORE_INTERRUPTION = "PT2M";
const ISO_8601_TIME_DURATION = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/;
const ALARM_ARN = /^arn:[a-z-]+:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$/;

/**
 * Validates `faultInjection`; resolves to its settings, or undefined when it is not enabled.
 * Throws with the argument's name and what is allowed.
 */
export function resolveFaultInjectionSettings(
    args: FaultInjectionArgs | undefined,
): FaultInjectionSettings | undefined {
    if (args === undefined || args === null) {
        return undefined;
    }
    if (args.enabled !== undefined && typeof args.enabled !== "boolean") {
        throw faultInjectionArgumentError(
            "enabled",
            `is ${JSON.stringify(args.enabled)}; use true or false`,
        );
    }
    if (args.enabled !== true) {
        const misplaced = (
            [
                "instanceCount",
                "durationBeforeInterruption",
                "stopConditionAlarmArn",
                "autoScalingGroupName",
            ] as const
        ).find((name) => args[name] !== undefined);
        if (misplaced !== undefined) {
            throw faultInjectionArgumentError(
                misplaced,
                "applies only with faultInjection.enabled true; set enabled: true, or remove it",
            );
        }
        return undefined;
    }
    const instanceCount = args.instanceCount ?? 1;
    if (!Number.isInteger(instanceCount) || instanceCount < 1) {
        throw faultInjectionArgumentError(
            "instanceCount",
            `is ${instanceCount}; it must be a whole number from 1 to ${MAX_FAULT_INJECTION_INSTANCES}`,
        );
    }
    if (instanceCount > MAX_FAULT_INJECTION_INSTANCES) {
        throw faultInjectionArgumentError(
            "instanceCount",
            `is ${instanceCount}, but FIS sends Spot interruptions to at most ${MAX_FAULT_INJECTION_INSTANCES} instances per experiment; use 1 to ${MAX_FAULT_INJECTION_INSTANCES}, and run the experiment again for more`,
        );
    }
    const durationBeforeInterruption =
        args.durationBeforeInterruption ?? DEFAULT_DURATION_BEFORE_INTERRUPTION;
    validateDurationBeforeInterruption(durationBeforeInterruption);
    const alarm = args.stopConditionAlarmArn;
    if (typeof alarm === "string" && !ALARM_ARN.test(alarm)) {
        throw faultInjectionArgumentError(
            "stopConditionAlarmArn",
            `${JSON.stringify(alarm)} is not a CloudWatch alarm ARN (arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>)`,
        );
    }
    return { instanceCount, durationBeforeInterruption };
}

/** Seconds of an ISO-8601 duration of hours, minutes and seconds, e.g. "PT2M" → 120. */
export function isoDurationSeconds(duration: string): number | undefined {
    const match = ISO_8601_TIME_DURATION.exec(duration);
    if (match === null || duration === "PT") {
        return undefined;
    }
    const [hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0));
    return hours * 3600 + minutes * 60 + seconds;
}

function validateDurationBeforeInterruption(duration: string): void {
    const { min, max } = DURATION_BEFORE_INTERRUPTION_RANGE;
    const seconds = typeof duration === "string" ? isoDurationSeconds(duration) : undefined;
    if (seconds === undefined) {
        throw faultInjectionArgumentError(
            "durationBeforeInterruption",
            `is ${JSON.stringify(duration)}; it must be an ISO-8601 duration such as "PT2M", "PT5M" or "PT150S"`,
        );
    }
    if (seconds < min || seconds > max) {
        throw faultInjectionArgumentError(
            "durationBeforeInterruption",
            `is ${JSON.stringify(duration)} (${seconds} s), but FIS interrupts from 2 to 15 minutes after the experiment starts; use PT2M to PT15M`,
        );
    }
}

function faultInjectionArgumentError(argument: string, problem: string): ComponentArgsError {
    return handlerArgumentError(`faultInjection.${argument}`, problem);
}

/**
 * Who may assume the role: FIS, for experiments of this account only, so that no other
 * account's experiment can borrow it (the confused-deputy guard FIS documents).
 */
export function faultInjectionTrustPolicy(
    partition: string,
    region: string,
    accountId: string,
): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Service: "fis.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: {
                    StringEquals: { "aws:SourceAccount": accountId },
                    ArnLike: {
                        "aws:SourceArn": `arn:${partition}:fis:${region}:${accountId}:experiment/*`,
                    },
                },
            },
        ],
    };
}

/** What FIS may do: interrupt Spot instances of this group only, and find them. */
export function faultInjectionRolePolicyDocument(inputs: {
    readonly partition: string;
    readonly region: string;
    readonly accountId: string;
    readonly autoScalingGroupName: string;
}): PolicyDocument {
    const { partition, region, accountId, autoScalingGroupName } = inputs;
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "InterruptOwnGroupSpotInstancesOnly",
                Effect: "Allow",
                Action: "ec2:SendSpotInstanceInterruptions",
                Resource: `arn:${partition}:ec2:${region}:${accountId}:instance/*`,
                // Condition values read ${...} as policy variables, like resource ARNs do.
                Condition: {
                    StringEquals: {
                        [`aws:ResourceTag/${GROUP_NAME_TAG}`]:
                            escapeIamResourceText(autoScalingGroupName),
                    },
                },
            },
            {
                // FIS resolves the tag-selected targets with it; it supports no resource ARN.
                Sid: "FindTargetInstances",
                Effect: "Allow",
                Action: "ec2:DescribeInstances",
                Resource: "*",
            },
        ],
    };
}

/** The experiment template's inputs: COUNT(n) running Spot instances tagged with the group. */
export function experimentTemplateInputs(inputs: {
    readonly autoScalingGroupName: pulumi.Input<string>;
    readonly settings: FaultInjectionSettings;
    readonly roleArn: pulumi.Input<string>;
    readonly stopConditionAlarmArn?: pulumi.Input<string>;
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}): aws.fis.ExperimentTemplateArgs {
    const { settings } = inputs;
    const description = pulumi.interpolate`Spot interruption of ${settings.instanceCount} running instance(s) of Auto Scaling group ${inputs.autoScalingGroupName}: rebalance recommendation at once, interruption after ${settings.durationBeforeInterruption}`;
    return {
        description,
        roleArn: inputs.roleArn,
        targets: [
            {
                name: "SpotInstancesOfGroup",
                resourceType: SPOT_INSTANCE_RESOURCE_TYPE,
                resourceTags: [{ key: GROUP_NAME_TAG, value: inputs.autoScalingGroupName }],
                // A pending or stopping instance cannot be interrupted; FIS would fail on it.
                filters: [{ path: "State.Name", values: ["running"] }],
                selectionMode: `COUNT(${settings.instanceCount})`,
            },
        ],
        actions: [
            {
                name: "InterruptSpotInstances",
                actionId: SPOT_INTERRUPTION_ACTION_ID,
                parameters: [
                    {
                        key: "durationBeforeInterruption",
                        value: settings.durationBeforeInterruption,
                    },
                ],
                target: { key: "SpotInstances", value: "SpotInstancesOfGroup" },
            },
        ],
        stopConditions:
            inputs.stopConditionAlarmArn === undefined
                ? [{ source: "none" }]
                : [{ source: "aws:cloudwatch:alarm", value: inputs.stopConditionAlarmArn }],
        tags: inputs.tags,
    };
}

export interface FaultInjection {
    /** The role FIS assumes to run the experiment. */
    readonly role: aws.iam.Role;
    /** The role's only policy: interrupt this group's Spot instances, and find them. */
    readonly rolePolicy: aws.iam.RolePolicy;
    /** Start it to interrupt Spot instances of the group for real. */
    readonly template: aws.fis.ExperimentTemplate;
}

/**
 * The experiment template and its role, named `${name}-fis-…`. The component creates them as
 * its children (pass `{ parent: this }` in `opts`) when `faultInjection.enabled` is true.
 */
export function createFaultInjection(
    name: string,
    inputs: {
        readonly autoScalingGroupName: pulumi.Input<string>;
        readonly settings: FaultInjectionSettings;
        readonly account: {
            readonly partition: pulumi.Input<string>;
            readonly region: pulumi.Input<string>;
            readonly accountId: pulumi.Input<string>;
        };
        readonly stopConditionAlarmArn?: pulumi.Input<string>;
        /** The boundary of the FIS role, as of the component's other roles. */
        readonly permissionsBoundary?: pulumi.Input<string>;
        readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    },
    opts: pulumi.CustomResourceOptions = {},
): FaultInjection {
    const { partition, region, accountId } = inputs.account;
    const role = new aws.iam.Role(
        `${name}-fis-role`,
        {
            description:
                "Spot interruption handler: lets FIS interrupt Spot instances of one group",
            assumeRolePolicy: pulumi
                .all([partition, region, accountId])
                .apply(([part, reg, account]) =>
                    JSON.stringify(faultInjectionTrustPolicy(part, reg, account)),
                ),
            permissionsBoundary: inputs.permissionsBoundary,
            tags: inputs.tags,
        },
        opts,
    );
    const rolePolicy = new aws.iam.RolePolicy(
        `${name}-fis-policy`,
        {
            role: role.id,
            policy: pulumi
                .all([partition, region, accountId, inputs.autoScalingGroupName])
                .apply(([part, reg, account, group]) =>
                    JSON.stringify(
                        faultInjectionRolePolicyDocument({
                            partition: part,
                            region: reg,
                            accountId: account,
                            autoScalingGroupName: group,
                        }),
                    ),
                ),
        },
        opts,
    );
    const template = new aws.fis.ExperimentTemplate(
        `${name}-fis-template`,
        experimentTemplateInputs({
            autoScalingGroupName: inputs.autoScalingGroupName,
            settings: inputs.settings,
            roleArn: role.arn,
            stopConditionAlarmArn: inputs.stopConditionAlarmArn,
            tags: inputs.tags,
        }),
        // An experiment started before the role has its policy would fail on its first target.
        { ...opts, dependsOn: [rolePolicy] },
    );
    return { role, rolePolicy, template };
}
