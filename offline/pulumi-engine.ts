/** An offline Pulumi engine: mocks that record every resource's inputs, for tests and `npm start`. */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { fullKey } from "./pulumi-config-merge";

/** One resource as the program registered it: its exact inputs, before any provider ran. */
export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
    readonly provider?: string;
    readonly parent?: string;
}

export const MOCK_ACCOUNT_ID = "123456789012";
export const MOCK_REGION = "eu-west-1";
export const MOCK_PARTITION = "aws";

type CallMock = (inputs: Record<string, unknown>) => Record<string, unknown>;

/** Call mocks per token; a test may replace any of them. */
export const callMocks: Record<string, CallMock> = {
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({
        accountId: MOCK_ACCOUNT_ID,
        arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/mock`,
        userId: "AIDAMOCK",
    }),
    "aws:index/getRegion:getRegion": () => ({
        name: MOCK_REGION,
        region: MOCK_REGION,
        id: MOCK_REGION,
        endpoint: `ec2.${MOCK_REGION}.amazonaws.com`,
        description: "Europe (Ireland)",
    }),
    "aws:index/getPartition:getPartition": () => ({
        partition: MOCK_PARTITION,
        dnsSuffix: "amazonaws.com",
        id: MOCK_PARTITION,
        reverseDnsPrefix: "com.amazonaws",
    }),
    "aws:index/getAvailabilityZones:getAvailabilityZones": () => ({
        names: [`${MOCK_REGION}a`, `${MOCK_REGION}b`, `${MOCK_REGION}c`],
        zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"],
        id: MOCK_REGION,
    }),
    "aws:ssm/getParameter:getParameter": (inputs) => ({
        name: inputs.name,
        value: "ami-0123456789abcdef0",
        insecureValue: "ami-0123456789abcdef0",
        type: "String",
        id: String(inputs.name),
    }),
};

export const recorded: RecordedResource[] = [];

/** Forgets every recorded resource, so that the next program run starts from nothing. */
export function resetRecorded(): void {
    recorded.length = 0;
}

/** Waits for every registration, even those no output depends on, then reconnects for more. */
export async function registrationsSettled(): Promise<void> {
    await pulumi.runtime.disconnect();
    installPulumiMocks(pulumi.getStack());
}

/** Plausible provider-computed attributes, so that ARNs and names flow like in a real deployment. */
function computedState(
    type: string,
    name: string,
    inputs: Record<string, unknown>,
): Record<string, unknown> {
    const physicalName = (inputs.name as string | undefined) ?? `${name}-a1b2c3d`;
    const arn = (service: string, resource: string) =>
        `arn:${MOCK_PARTITION}:${service}:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:${resource}`;
    const elbArn = (kind: string) =>
        arn("elasticloadbalancing", `${kind}/${physicalName}/0123456789abcdef`);
    const byType: Record<string, Record<string, unknown>> = {
        "aws:cloudwatch/logGroup:LogGroup": { arn: arn("logs", `log-group:${physicalName}`) },
        "aws:sqs/queue:Queue": {
            arn: arn("sqs", physicalName),
            url: `https://sqs.${MOCK_REGION}.amazonaws.com/${MOCK_ACCOUNT_ID}/${physicalName}`,
        },
        "aws:iam/role:Role": {
            arn: `arn:${MOCK_PARTITION}:iam::${MOCK_ACCOUNT_ID}:role/${physicalName}`,
        },
        "aws:lambda/function:Function": { arn: arn("lambda", `function:${physicalName}`) },
        "aws:cloudwatch/eventRule:EventRule": { arn: arn("events", `rule/${physicalName}`) },
        "aws:lb/loadBalancer:LoadBalancer": {
            arn: elbArn("loadbalancer/app"),
            dnsName: `${physicalName}-1234567890.${MOCK_REGION}.elb.amazonaws.com`,
        },
        "aws:lb/targetGroup:TargetGroup": { arn: elbArn("targetgroup") },
        "aws:ec2/launchTemplate:LaunchTemplate": {
            arn: arn("ec2", "launch-template/lt-0123456789abcdef0"),
            latestVersion: 1,
        },
    };
    return { name: physicalName, arn: arn("mock", `${type}/${physicalName}`), ...byType[type] };
}

/** Call before importing a program; preview is false so that applies run and tests cannot pass vacuously. */
export function installPulumiMocks(stack = "dev"): void {
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                recorded.push({
                    type: args.type,
                    name: args.name,
                    inputs: args.inputs as Record<string, unknown>,
                    provider: args.provider,
                });
                return {
                    id: `${args.name}-id`,
                    state: { ...args.inputs, ...computedState(args.type, args.name, args.inputs) },
                };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                const mock = callMocks[args.token];
                if (mock === undefined) {
                    throw new Error(`No call mock for ${args.token}: add one to callMocks`);
                }
                return mock(args.inputs as Record<string, unknown>);
            },
        },
        "spot-interruption-handler",
        stack,
        false,
    );
}

/** Resolves an Output's value in a test (Output.promise() is not public). */
export function unwrap<T>(output: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(output).apply((value) => resolve(value as T)));
}

const PROJECT = "spot-interruption-handler";
const PROGRAM_FILE = path.resolve(__dirname, "..", "index.ts");

/** Runs index.ts under the mocks with `config` (JSON for lists and objects); rejects with its own error. */
export async function runStackProgram<Program = Record<string, unknown>>(
    config: Readonly<Record<string, string>>,
): Promise<{ program: Program; resources: RecordedResource[] }> {
    installPulumiMocks();
    resetRecorded();
    const entries = Object.entries(config).map(([key, value]) => [fullKey(PROJECT, key), value]);
    pulumi.runtime.setAllConfig(Object.fromEntries(entries));
    // The program reads its config at load time, so each run needs a fresh module.
    Reflect.deleteProperty(require.cache, require.resolve(PROGRAM_FILE));
    const program = (await import(PROGRAM_FILE).finally(registrationsSettled)) as Program;
    return { program, resources: [...recorded] };
}
