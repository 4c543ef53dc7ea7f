import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    CAPACITY_ON_INTERRUPTION_CHOICES,
    type CapacityOnInterruption,
    ENV_AUTO_SCALING_GROUP_NAME,
    ENV_CAPACITY_ON_INTERRUPTION,
    handleLambdaEvent,
    type InterruptionSummary,
    isCapacityOnInterruption,
} from "../handler";
import {
    autoScalingGroupArn,
    deadLetterQueuePolicyDocument,
    handlerPolicyDocument,
    interruptionWarningEventPattern,
    serviceAssumeRolePolicy,
} from "./policies";

/** This package's own name: an importer's archive must not carry it. */
const PACKAGE_NAME = "spot-interruption-handler";

/** Node.js runtimes the handler supports; both ship AWS SDK v3, which the archive relies on. */
export type HandlerRuntime = "nodejs24.x" | "nodejs22.x";
export const HANDLER_RUNTIMES: readonly HandlerRuntime[] = ["nodejs24.x", "nodejs22.x"];

/** Retention values CloudWatch Logs accepts (0 means never expire). */
export const LOG_RETENTION_DAYS = [
    0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
] as const;

export interface SpotInterruptionHandlerArgs {
    /** Name of the Auto Scaling group whose Spot instances are detached on an interruption warning. Required. */
    readonly autoScalingGroupName: pulumi.Input<string>;
    /**
     * What the group does when an instance is detached: "keep" keeps desired capacity, so the
     * group launches a replacement; "decrement" shrinks the group by one (falling back to "keep"
     * where that would break MinSize). Defaults to "keep".
     */
    readonly capacityOnInterruption?: CapacityOnInterruption;
    /** Lambda runtime. Defaults to "nodejs24.x"; "nodejs22.x" also works. */
    readonly runtime?: HandlerRuntime;
    /** Retention of the function's log group, in days (a CloudWatch Logs value). Defaults to 30. */
    readonly logRetentionInDays?: number;
    /** Function timeout in seconds, 10 to 900. Defaults to 60: SDK retries fit well inside it. */
    readonly timeoutSeconds?: number;
    /** Function memory in MB, 128 to 10240. Defaults to 256. */
    readonly memorySizeMb?: number;
    /**
     * How long EventBridge and Lambda keep retrying one warning, in seconds, 60 to 120.
     * Defaults to 120: a warning older than its own two-minute notice is worthless.
     */
    readonly maximumEventAgeInSeconds?: number;
    /** Tags for every taggable child resource. Defaults to none. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The args after validation, with every default applied. */
export interface ResolvedHandlerSettings {
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly runtime: HandlerRuntime;
    readonly logRetentionInDays: number;
    readonly timeoutSeconds: number;
    readonly memorySizeMb: number;
    readonly maximumEventAgeInSeconds: number;
}

/** Validates the plain args, so that a mistake fails `pulumi preview` with a message that says how to fix it. */
export function resolveHandlerSettings(args: SpotInterruptionHandlerArgs): ResolvedHandlerSettings {
    if (args.autoScalingGroupName === undefined || args.autoScalingGroupName === "") {
        throw new Error(
            "SpotInterruptionHandler: [autoScalingGroupName] is required: pass the name of the Auto Scaling group to protect",
        );
    }
    const capacityOnInterruption = args.capacityOnInterruption ?? "keep";
    if (!isCapacityOnInterruption(capacityOnInterruption)) {
        throw new Error(
            `SpotInterruptionHandler: [capacityOnInterruption] is ${JSON.stringify(capacityOnInterruption)}; allowed values are ${quoteAll(CAPACITY_ON_INTERRUPTION_CHOICES)}`,
        );
    }
    const runtime = args.runtime ?? "nodejs24.x";
    if (!HANDLER_RUNTIMES.includes(runtime)) {
        throw new Error(
            `SpotInterruptionHandler: [runtime] is ${JSON.stringify(runtime)}; allowed values are ${quoteAll(HANDLER_RUNTIMES)}`,
        );
    }
    const logRetentionInDays = args.logRetentionInDays ?? 30;
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionInDays)) {
        throw new Error(
            `SpotInterruptionHandler: [logRetentionInDays] is ${logRetentionInDays}; CloudWatch Logs accepts ${LOG_RETENTION_DAYS.join(", ")}`,
        );
    }
    return {
        capacityOnInterruption,
        runtime,
        logRetentionInDays,
        timeoutSeconds: integerInRange("timeoutSeconds", args.timeoutSeconds ?? 60, 10, 900),
        memorySizeMb: integerInRange("memorySizeMb", args.memorySizeMb ?? 256, 128, 10240),
        maximumEventAgeInSeconds: integerInRange(
            "maximumEventAgeInSeconds",
            args.maximumEventAgeInSeconds ?? 120,
            60,
            120,
        ),
    };
}

/**
 * Detaches EC2 Spot instances from their Auto Scaling group when EC2 sends the two-minute
 * interruption warning, so that the group's target groups drain them while the group either
 * launches a replacement or shrinks.
 */
export class SpotInterruptionHandler extends pulumi.ComponentResource {
    /** Matches `EC2 Spot Instance Interruption Warning` events on the default bus. */
    public readonly eventRule: aws.cloudwatch.EventRule;
    /** Delivers matched events to the function, with a bounded retry and a dead-letter queue. */
    public readonly eventTarget: aws.cloudwatch.EventTarget;
    /** The function that detaches the instance. */
    public readonly handlerFunction: aws.lambda.CallbackFunction<unknown, InterruptionSummary>;
    /** The function's least-privilege execution role. */
    public readonly role: aws.iam.Role;
    /** Lets EventBridge, for this rule only, invoke the function. */
    public readonly permission: aws.lambda.Permission;
    /** Holds warnings that could not be handled, from EventBridge and from Lambda's own retries. */
    public readonly deadLetterQueue: aws.sqs.Queue;
    /** The function's log group, with retention. */
    public readonly logGroup: aws.cloudwatch.LogGroup;
    /** The role's only policy: the exact permissions the function needs. */
    public readonly rolePolicy: aws.iam.RolePolicy;
    /** Bounds Lambda's own retries of a failed invocation and sends the failure to the dead-letter queue. */
    public readonly invokeConfig: aws.lambda.FunctionEventInvokeConfig;
    /** Lets EventBridge, for this rule only, dead-letter into the queue. */
    public readonly deadLetterQueuePolicy: aws.sqs.QueuePolicy;

    /**
     * @param name The _unique_ name of this component; every child is named `${name}-<role>`.
     * @param args The group to protect and how its capacity responds.
     * @param opts Options for the component; `provider`/`providers` reach every child.
     */
    constructor(
        name: string,
        args: SpotInterruptionHandlerArgs,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        // Validate first, so that bad args register nothing at all.
        const settings = resolveHandlerSettings(args);
        super("spot-interruption-handler:index:SpotInterruptionHandler", name, {}, opts);
        const childOpts: pulumi.CustomResourceOptions = { parent: this };
        const tags = args.tags;

        const partition = aws.getPartitionOutput({}, childOpts).partition;
        const region = aws.getRegionOutput({}, childOpts).region;
        const accountId = aws.getCallerIdentityOutput({}, childOpts).accountId;

        this.logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { retentionInDays: settings.logRetentionInDays, tags },
            childOpts,
        );

        this.deadLetterQueue = new aws.sqs.Queue(
            `${name}-dlq`,
            {
                sqsManagedSseEnabled: true,
                messageRetentionSeconds: 14 * 24 * 60 * 60,
                tags,
            },
            childOpts,
        );

        this.role = new aws.iam.Role(
            `${name}-role`,
            {
                description:
                    "Spot interruption handler: detaches interrupted instances from one group",
                assumeRolePolicy: JSON.stringify(serviceAssumeRolePolicy("lambda.amazonaws.com")),
                tags,
            },
            childOpts,
        );

        this.rolePolicy = new aws.iam.RolePolicy(
            `${name}-policy`,
            {
                role: this.role.id,
                policy: pulumi
                    .all([
                        partition,
                        region,
                        accountId,
                        args.autoScalingGroupName,
                        this.logGroup.arn,
                        this.deadLetterQueue.arn,
                    ])
                    .apply(([part, reg, account, groupName, logGroupArn, queueArn]) =>
                        JSON.stringify(
                            handlerPolicyDocument({
                                autoScalingGroupArn: autoScalingGroupArn(
                                    part,
                                    reg,
                                    account,
                                    groupName,
                                ),
                                logGroupArn,
                                deadLetterQueueArn: queueArn,
                                capacityOnInterruption: settings.capacityOnInterruption,
                            }),
                        ),
                    ),
            },
            childOpts,
        );

        this.handlerFunction = new aws.lambda.CallbackFunction(
            `${name}-function`,
            {
                description:
                    "Detaches Spot instances from their Auto Scaling group on the interruption warning",
                callback: handleLambdaEvent,
                // The Lambda runtime ships SDK v3, and the handler is inlined by value (see
                // handler/*.ts `deploymentOnlyModule`), so neither belongs in the archive.
                codePathOptions: {
                    extraExcludePackages: ["@aws-sdk/client-auto-scaling", PACKAGE_NAME],
                },
                role: this.role,
                runtime: settings.runtime,
                timeout: settings.timeoutSeconds,
                memorySize: settings.memorySizeMb,
                environment: {
                    variables: {
                        [ENV_AUTO_SCALING_GROUP_NAME]: args.autoScalingGroupName,
                        [ENV_CAPACITY_ON_INTERRUPTION]: settings.capacityOnInterruption,
                    },
                },
                loggingConfig: {
                    logFormat: "JSON",
                    logGroup: this.logGroup.name,
                    applicationLogLevel: "INFO",
                    systemLogLevel: "WARN",
                },
                tags,
            },
            // The role needs its policy and the log group must exist before the first invocation.
            { ...childOpts, dependsOn: [this.rolePolicy, this.logGroup] },
        );

        this.invokeConfig = new aws.lambda.FunctionEventInvokeConfig(
            `${name}-invoke-config`,
            {
                functionName: this.handlerFunction.name,
                maximumRetryAttempts: 2,
                maximumEventAgeInSeconds: settings.maximumEventAgeInSeconds,
                destinationConfig: { onFailure: { destination: this.deadLetterQueue.arn } },
            },
            childOpts,
        );

        this.eventRule = new aws.cloudwatch.EventRule(
            `${name}-rule`,
            {
                description:
                    "EC2 Spot Instance Interruption Warnings, for the Spot interruption handler",
                eventPattern: JSON.stringify(interruptionWarningEventPattern()),
                tags,
            },
            childOpts,
        );

        this.deadLetterQueuePolicy = new aws.sqs.QueuePolicy(
            `${name}-dlq-policy`,
            {
                queueUrl: this.deadLetterQueue.url,
                policy: pulumi
                    .all([this.deadLetterQueue.arn, this.eventRule.arn])
                    .apply(([queueArn, ruleArn]) =>
                        JSON.stringify(deadLetterQueuePolicyDocument(queueArn, ruleArn)),
                    ),
            },
            childOpts,
        );

        this.permission = new aws.lambda.Permission(
            `${name}-permission`,
            {
                action: "lambda:InvokeFunction",
                function: this.handlerFunction.name,
                principal: "events.amazonaws.com",
                sourceArn: this.eventRule.arn,
            },
            childOpts,
        );

        this.eventTarget = new aws.cloudwatch.EventTarget(
            `${name}-target`,
            {
                rule: this.eventRule.name,
                arn: this.handlerFunction.arn,
                retryPolicy: {
                    maximumEventAgeInSeconds: settings.maximumEventAgeInSeconds,
                    maximumRetryAttempts: 185,
                },
                deadLetterConfig: { arn: this.deadLetterQueue.arn },
            },
            // Without the permission in place, early events would fail to invoke the function.
            { ...childOpts, dependsOn: [this.permission] },
        );

        this.registerOutputs({
            eventRule: this.eventRule,
            eventTarget: this.eventTarget,
            handlerFunction: this.handlerFunction,
            role: this.role,
            permission: this.permission,
            deadLetterQueue: this.deadLetterQueue,
            logGroup: this.logGroup,
            rolePolicy: this.rolePolicy,
            invokeConfig: this.invokeConfig,
            deadLetterQueuePolicy: this.deadLetterQueuePolicy,
        });
    }
}

function integerInRange(argument: string, value: number, min: number, max: number): number {
    if (!Number.isInteger(value) || value < min || value > max) {
        throw new Error(
            `SpotInterruptionHandler: [${argument}] is ${value}; it must be a whole number from ${min} to ${max}`,
        );
    }
    return value;
}

function quoteAll(values: readonly string[]): string {
    return values.map((v) => `"${v}"`).join(", ");
}
