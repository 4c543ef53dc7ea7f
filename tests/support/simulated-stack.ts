/**
 * The deployed stack the simulate tests run against: its names, ids and clock, shared by the
 * fake account that plays it and the tests that judge it.
 */
import type { Deployment } from "../../commands/simulate/run";

export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";
export const T0 = Date.parse("2026-05-01T12:00:00.000Z");
export const FUNCTION = "spot-function-1a2b3c4";
export const LOG_GROUP = "spot-logs-5d6e7f8";
export const QUEUE_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/spot-queue-0f1e2d3`;
export const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:spot-queue-0f1e2d3`;
export const GROUP = "web-asg-9a8b7c6";
export const TG_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/web-tg/0123456789abcdef`;
export const TEMPLATE = "EXTa1b2c3d4e5";
export const INSTANCES = ["i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2", "i-0aaaaaaaaaaaaaaa3"];
export const ZONES = ["eu-west-1b", "eu-west-1c", "eu-west-1a"];
export const REPLACEMENT = "i-0bbbbbbbbbbbbbbb1";
export const CALLER = `arn:aws:sts::${ACCOUNT}:assumed-role/Admin/alice`;
export const DRAIN_SECONDS = 120;

/** What --dry-run may send: reads, and the policy simulator. */
export const READ_ONLY_COMMANDS = [
    "GetCallerIdentityCommand",
    "GetFunctionConfigurationCommand",
    "GetQueueAttributesCommand",
    "DescribeAutoScalingGroupsCommand",
    "GetExperimentTemplateCommand",
    "SimulatePrincipalPolicyCommand",
];

/** The stack as the simulate command finds it from its flags. */
export const DEPLOYMENT: Deployment = {
    functionName: FUNCTION,
    groupName: GROUP,
    queueUrl: QUEUE_URL,
    targetGroupArn: TG_ARN,
    templateId: TEMPLATE,
    source: "the flags",
};
