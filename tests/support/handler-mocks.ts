/** What the component suites under Pulumi mocks share: mocks, builders, look-ups, expected documents. */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import {
    installPulumiMocks,
    MOCK_ACCOUNT_ID,
    recorded,
    type RecordedResource,
    registrationsSettled,
    resetRecorded,
    unwrap,
} from "../../offline/pulumi-engine";

export type Components = typeof import("../../components");
export type Handler = InstanceType<Components["SpotInterruptionHandler"]>;
export type HandlerArgs = import("../../components").SpotInterruptionHandlerArgs;

export const COMPONENT_TYPE = "spot-interruption-handler:index:SpotInterruptionHandler";
const URN_PREFIX = "urn:pulumi:dev::spot-interruption-handler::";

/** For the current suite: the mocks installed first, and no stack config or record left after it. */
export function mockedStackPerSuite(): void {
    before(() => installPulumiMocks());
    after(() => {
        pulumi.runtime.setAllConfig({});
        resetRecorded();
    });
}

/** The components, once a suite's mockedComponents (or describeComponents) has run. */
export let components: Components;

/** Installs the mocks first, then imports the components, as Pulumi's mocks require. */
export async function mockedComponents(): Promise<Components> {
    installPulumiMocks();
    components = await import("../../components");
    return components;
}

/** A suite of tests that build components: before it, the mocks installed, then `components` imported. */
export function describeComponents(title: string, body: () => void): Mocha.Suite {
    return describe(title, () => {
        before(mockedComponents);
        body();
    });
}

export const arn = (service: string, resource: string) =>
    `arn:aws:${service}:eu-west-1:${MOCK_ACCOUNT_ID}:${resource}`;
export const roleArn = (name: string) => `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${name}`;
export const queueUrl = (name: string) =>
    `https://sqs.eu-west-1.amazonaws.com/${MOCK_ACCOUNT_ID}/${name}`;
/** The ARN the mocks give a resource without a service of its own (topics, keys). */
export const mockArn = (type: string, name: string) =>
    `arn:aws:mock:eu-west-1:${MOCK_ACCOUNT_ID}:${type}/${name}-a1b2c3d`;
export const handlerName = (component: string) => `spot-interruption-handler/dev/${component}`;

export const INTERRUPTION_WARNING_PATTERN = {
    source: ["aws.ec2"],
    // Spot's warning, and the interruptible Capacity Reservation's under both of its names.
    "detail-type": [
        "EC2 Spot Instance Interruption Warning",
        "EC2 Capacity Reservation Instance Interruption Warning",
        "EC2 Interruptible Capacity Reservation Instance Interruption Warning",
    ],
};

/** Every recorded child of the component called `component`, of `type` if given. */
export const childrenOf = (component: string, type?: string): RecordedResource[] =>
    recorded.filter((r) => (type ?? r.type) === r.type && r.name.startsWith(`${component}-`));

/** The one resource of `type` that the component called `component` created. */
export function childOf(component: string, type: string): RecordedResource {
    const matches = childrenOf(component, type);
    assert.equal(matches.length, 1, `expected exactly one ${type} in ${component}`);
    return matches[0];
}

/** The one recorded resource called `name`, which must be of `type`. */
export function named(name: string, type: string): RecordedResource {
    const matches = recorded.filter((r) => r.name === name);
    assert.equal(matches.length, 1, `expected exactly one resource called ${name}`);
    assert.equal(matches[0].type, type, `${name}'s type`);
    return matches[0];
}

/** The sorted types of every child of the component called `component`. */
export const childTypes = (component: string): string[] =>
    childrenOf(component)
        .map((r) => r.type)
        .sort();

export function parseJson(value: unknown): unknown {
    assert.equal(typeof value, "string", "a policy, pattern or redrive input is a JSON string");
    return JSON.parse(value as string);
}

/** A recorded input with its JSON string fields parsed, so that it is compared as a document. */
export function withParsed(inputs: Record<string, unknown>, ...jsonFields: string[]) {
    return {
        ...inputs,
        ...Object.fromEntries(jsonFields.map((field) => [field, parseJson(inputs[field])])),
    };
}

/** The role policy of the component called `component`, as a document. */
export function rolePolicyOf(component: string): {
    Statement: { Sid: string; Action: unknown; Resource: unknown; Condition?: unknown }[];
} {
    return parseJson(
        named(`${component}-policy`, "aws:iam/rolePolicy:RolePolicy").inputs.policy,
    ) as ReturnType<typeof rolePolicyOf>;
}

/** Asserts `expected`'s properties only, each deeply equal, as CDK's hasResourceProperties does. */
export function hasProperties(
    actual: Record<string, unknown>,
    expected: Record<string, unknown>,
    what = "the resource",
): void {
    const picked = Object.fromEntries(Object.keys(expected).map((key) => [key, actual[key]]));
    assert.deepEqual(picked, expected, `${what}'s ${Object.keys(expected).join(", ")}`);
}

/** Waits for the registrations under way, then forgets every recorded resource. */
export async function emptyRecord(): Promise<void> {
    await registrationsSettled();
    resetRecorded();
}

/** Runs `create` on an empty record and waits until `recorded` holds exactly what it registered. */
export async function build<T>(create: () => T): Promise<T> {
    await emptyRecord();
    const built = create();
    await registrationsSettled();
    return built;
}

const newHandler = (components: Components, name: string, args: object) =>
    new components.SpotInterruptionHandler(name, { autoScalingGroupName: "web", ...args });

/** Builds a handler for the group "web" with `args` on top, on an empty record. */
export function buildHandler(
    components: Components,
    name: string,
    args: Partial<HandlerArgs> = {},
): Promise<Handler> {
    return build(() => newHandler(components, name, args));
}

/** Asserts that a handler for "web" with `args` on top throws `expected`, registering nothing at all. */
export async function assertRefusedBeforeRegistering(
    components: Components,
    args: Record<string, unknown>,
    expected: Parameters<typeof assert.throws>[1],
): Promise<void> {
    await emptyRecord();
    assert.throws(() => newHandler(components, "bad", args), expected);
    // Not even the component: with validation moved after super(), this failed.
    await registrationsSettled();
    assert.deepEqual(recorded, []);
}

/** The statement that lets only this rule's EventBridge send to `queue`. */
export const ruleSends = (queue: string, rule: string) => ({
    Sid: "EventBridgeSendsForThisRule",
    Effect: "Allow",
    Principal: { Service: "events.amazonaws.com" },
    Action: "sqs:SendMessage",
    Resource: queue,
    Condition: { ArnEquals: { "aws:SourceArn": rule } },
});

/** The statement that refuses every request to `queue` without TLS. */
export const denyInsecureTransport = (queue: string) => ({
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: "sqs:*",
    Resource: queue,
    Condition: { Bool: { "aws:SecureTransport": "false" } },
});

/** The children every handler has, whichever the delivery, and exposes: role, member and type. */
function childrenInBothModes(
    handler: Handler,
): Record<string, [pulumi.Resource | undefined, string]> {
    return {
        logs: [handler.logGroup, "aws:cloudwatch/logGroup:LogGroup"],
        dlq: [handler.deadLetterQueue, "aws:sqs/queue:Queue"],
        role: [handler.role, "aws:iam/role:Role"],
        policy: [handler.rolePolicy, "aws:iam/rolePolicy:RolePolicy"],
        function: [handler.handlerFunction, "aws:lambda/function:Function"],
        rule: [handler.eventRule, "aws:cloudwatch/eventRule:EventRule"],
        "dlq-policy": [handler.deadLetterQueuePolicy, "aws:sqs/queuePolicy:QueuePolicy"],
        target: [handler.eventTarget, "aws:cloudwatch/eventTarget:EventTarget"],
    };
}

/** The types of the children every handler has but does not expose: its dashboard and 7 alarms. */
const UNEXPOSED_IN_BOTH_MODES = [
    "aws:cloudwatch/dashboard:Dashboard",
    ...Array<string>(7).fill("aws:cloudwatch/metricAlarm:MetricAlarm"),
];

/** Asserts the DLQ's whole policy in either mode: this rule's EventBridge and the function's role, over TLS. */
export function assertDeadLetterQueuePolicy(component: string): void {
    const dlqArn = arn("sqs", `${component}-dlq-a1b2c3d`);
    const ruleArn = arn("events", `rule/${component}-rule-a1b2c3d`);
    const { inputs } = named(`${component}-dlq-policy`, "aws:sqs/queuePolicy:QueuePolicy");
    const policy = {
        Version: "2012-10-17",
        Statement: [
            ruleSends(dlqArn, ruleArn),
            {
                Sid: "DenyOtherSenders",
                Effect: "Deny",
                Principal: "*",
                Action: "sqs:SendMessage",
                Resource: dlqArn,
                Condition: {
                    ArnNotEquals: {
                        "aws:SourceArn": ruleArn,
                        "aws:PrincipalArn": roleArn(`${component}-role-a1b2c3d`),
                    },
                },
            },
            denyInsecureTransport(dlqArn),
        ],
    };
    assert.deepEqual(withParsed(inputs, "policy"), {
        queueUrl: queueUrl(`${component}-dlq-a1b2c3d`),
        policy,
    });
}

/** The ARN of the group called `escapedGroup` (already escaped for IAM) in the mocks' account. */
export const groupArn = (escapedGroup: string) =>
    arn("autoscaling", `autoScalingGroup:*:autoScalingGroupName/${escapedGroup}`);

/** The statement that lets "auto" take instances out of `Resource` (and only there). */
export const actOnChosenGroups = (resource: unknown, condition?: unknown) => ({
    Sid: "ActOnChosenGroupsOnly",
    Effect: "Allow",
    Action: ["autoscaling:DetachInstances", "autoscaling:TerminateInstanceInAutoScalingGroup"],
    Resource: resource,
    ...(condition === undefined ? {} : { Condition: condition }),
});

/** The role policy's statements that both modes share, for the group called `group`. */
export function sharedRoleStatements(
    component: string,
    escapedGroup: string,
): Record<string, unknown>[] {
    return [
        {
            Sid: "WriteOwnLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: `${arn("logs", `log-group:${component}-logs-a1b2c3d`)}:*`,
        },
        {
            Sid: "FindInstanceGroup",
            Effect: "Allow",
            Action: "autoscaling:DescribeAutoScalingGroups",
            Resource: "*",
        },
        {
            Sid: "FindTerminationHooks",
            Effect: "Allow",
            Action: "autoscaling:DescribeLifecycleHooks",
            Resource: "*",
        },
        actOnChosenGroups(groupArn(escapedGroup)),
        {
            Sid: "DeadLetterFailedWarnings",
            Effect: "Allow",
            Action: "sqs:SendMessage",
            Resource: arn("sqs", `${component}-dlq-a1b2c3d`),
        },
    ];
}

/** The function's inputs but its code, for "web" with the defaults, the delivery's own on top. */
export const defaultFunctionInputs = (
    component: string,
    inputs: Record<string, unknown>,
    variables: Record<string, string> = {},
) => ({
    description:
        "Detaches Spot instances from their Auto Scaling group on the interruption warning",
    handler: "__index.handler",
    role: roleArn(`${component}-role-a1b2c3d`),
    runtime: "nodejs24.x",
    architectures: ["arm64"],
    memorySize: 256,
    ...inputs,
    environment: {
        variables: {
            AUTO_SCALING_GROUP_NAMES: '["web"]',
            CAPACITY_ON_INTERRUPTION: "keep",
            INTERRUPTION_ACTION: "auto",
            HANDLER_NAME: handlerName(component),
            ...variables,
        },
    },
    loggingConfig: {
        logFormat: "JSON",
        logGroup: `${component}-logs-a1b2c3d`,
        applicationLogLevel: "INFO",
        // START and REPORT lines stay: each invocation's duration and memory.
        systemLogLevel: "INFO",
    },
});

/** The rule's whole target in either delivery: `arn`, retried within the notice, dead-lettering to the DLQ. */
export const ruleTarget = (component: string, targetArn: string) => ({
    rule: `${component}-rule-a1b2c3d`,
    arn: targetArn,
    retryPolicy: { maximumEventAgeInSeconds: 120, maximumRetryAttempts: 185 },
    deadLetterConfig: { arn: arn("sqs", `${component}-dlq-a1b2c3d`) },
});

/** The function's inputs without its code, which is checked on its own. */
export function functionInputsWithoutCode(component: string): Record<string, unknown> {
    const { code, ...inputs } = childOf(component, "aws:lambda/function:Function").inputs;
    assert.ok(code !== undefined, "the function has code");
    return inputs;
}

/** The function's environment variables. */
export function functionEnvironment(component: string): Record<string, string> {
    const { environment } = functionInputsWithoutCode(component);
    return (environment as { variables: Record<string, string> }).variables;
}

/**
 * Asserts that `component` has exactly the children of both modes, the mode's `own` (role: member
 * and type) and the types in `unexposed`; and that each exposed one is the component's, named after it.
 */
export async function assertExactChildren(
    component: string,
    handler: Handler,
    own: Record<string, [pulumi.Resource | undefined, string]>,
    unexposed: readonly string[] = [],
): Promise<void> {
    const exposed = { ...childrenInBothModes(handler), ...own };
    const exposedTypes = Object.values(exposed).map(([, type]) => type);
    assert.deepEqual(
        childTypes(component),
        [...exposedTypes, ...UNEXPOSED_IN_BOTH_MODES, ...unexposed].sort(),
    );
    for (const [role, [resource, type]] of Object.entries(exposed)) {
        assert.ok(resource !== undefined, `${role} is a public member`);
        assert.equal(
            await unwrap(resource.urn),
            `${URN_PREFIX}${COMPONENT_TYPE}$${type}::${component}-${role}`,
        );
    }
}

/** Asserts the whole role policy of a handler for the group "web": the statements both modes share. */
export function assertSharedRolePolicy(component: string): void {
    const { inputs } = named(`${component}-policy`, "aws:iam/rolePolicy:RolePolicy");
    assert.deepEqual(withParsed(inputs, "policy"), {
        role: `${component}-role-id`,
        policy: { Version: "2012-10-17", Statement: sharedRoleStatements(component, "web") },
    });
}
