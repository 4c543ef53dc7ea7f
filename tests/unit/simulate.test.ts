/**
 * `npm run simulate`'s console test against a fake AWS account behind aws-sdk-client-mock: a
 * group, its target group, the function (answering as the handler does, and logging as Lambda's
 * JSON format writes) and the log group. Time is a fake clock, so minutes of draining take
 * milliseconds. The tests assert the calls made, the steps recorded and the failures' words.
 */
import * as assert from "node:assert/strict";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { simulateConsoleTest } from "../../commands/simulate/console-test";
import type { Deployment } from "../../commands/simulate/run";
import type { SimulationReport } from "../../commands/simulate/run";
import { loadEvent } from "../support/events";
import { FakeAccount, type FakeAccountOptions, messages } from "../support/fake-account";
import {
    ACCOUNT,
    DEPLOYMENT,
    FUNCTION,
    GROUP,
    INSTANCES,
    QUEUE_ARN,
    QUEUE_URL,
    READ_ONLY_COMMANDS,
    T0,
} from "../support/fake-account";

const DIRECT: Deployment = { ...DEPLOYMENT, queueUrl: undefined };
const [FIRST, SECOND, THIRD] = INSTANCES;

function consoleTest(
    account: FakeAccount,
    options: {
        deployment?: Deployment;
        instanceId?: string;
        terminate?: boolean;
        dryRun?: boolean;
    } = {},
): Promise<SimulationReport> {
    return simulateConsoleTest(
        {
            deployment: options.deployment ?? DEPLOYMENT,
            instanceId: options.instanceId,
            terminate: options.terminate ?? false,
            dryRun: options.dryRun ?? false,
        },
        account.context(),
    );
}

describe("npm run simulate, the console test, against a fake AWS account", () => {
    describe("given queue delivery and a group of three InService instances", () => {
        it("invokes the function once, synchronously, with the seed's warning for the first instance wrapped as one SQS record", async () => {
            const account = new FakeAccount();

            await consoleTest(account);

            const invokes = account.mocks.lambda.commandCalls(InvokeCommand);
            assert.equal(invokes.length, 1);
            const input = invokes[0].args[0].input;
            assert.equal(input.FunctionName, FUNCTION);
            assert.equal(input.InvocationType, "RequestResponse");
            const payload = JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array));
            assert.equal(payload.Records.length, 1);
            const [record] = payload.Records;
            assert.equal(record.messageId, "id-2");
            assert.equal(record.eventSource, "aws:sqs");
            assert.equal(record.eventSourceARN, QUEUE_ARN);
            assert.deepEqual(JSON.parse(record.body), expectedEvent(FIRST));
        });

        it("builds the event in the seed's shape: its keys and detail, this account, region, zone and time", async () => {
            const account = new FakeAccount();

            const report = await consoleTest(account);

            const seed = loadEvent("seed-sample-event", FIRST);
            assert.deepEqual(Object.keys(report.event as object).sort(), Object.keys(seed).sort());
            assert.deepEqual(report.event, expectedEvent(FIRST));
        });

        it("follows the decision, the detach activity, the drain and the replacement, then warns about the running instance", async () => {
            const account = new FakeAccount();

            const report = await consoleTest(account);

            assert.equal(report.outcome, "passed", report.failure?.message);
            assert.deepEqual(messages(report, "invoke", "handler", "activity", "target", "group"), [
                `Invoked ${FUNCTION} (request req-1): it answered {"batchItemFailures":[]}`,
                `Instance ${FIRST} belongs to AutoScaling Group ${GROUP}. Detaching instance... (capacity keep)`,
                "Batch of 1 records: 1 detached, 0 ignored, 0 left for a retry",
                `${FIRST} is Detaching in group ${GROUP}`,
                "Replacement i-0bbbbbbbbbbbbbbb1 launched into group web-asg-9a8b7c6 (Pending, c5.large in eu-west-1a)",
                `Detaching EC2 instance: ${FIRST}: WaitingForELBConnectionDraining`,
                `Launching a new EC2 instance: i-0bbbbbbbbbbbbbbb1: PreInService`,
                `${FIRST} in target group web-tg: draining (Target.DeregistrationInProgress)`,
            ]);
            assert.deepEqual(report.decision, {
                action: "detached",
                capacityOnInterruption: "keep",
                reason: undefined,
                activities: [
                    {
                        activityId: "act-1",
                        description: `Detaching EC2 instance: ${FIRST}`,
                        statusCode: "WaitingForELBConnectionDraining",
                    },
                ],
            });
            assert.equal(
                report.warning,
                `${FIRST} was detached, not terminated: it keeps running (and billing) outside group ${GROUP} until you terminate it (aws ec2 terminate-instances --instance-ids ${FIRST}), or run with --terminate next time.`,
            );
            assert.equal(account.mocks.ec2.commandCalls(TerminateInstancesCommand).length, 0);
        });

        it("with --instance, sends the warning for that instance", async () => {
            const account = new FakeAccount();

            const report = await consoleTest(account, { instanceId: THIRD });

            assert.deepEqual(report.instanceIds, [THIRD]);
            assert.deepEqual(account.invokedInstanceIds(), [THIRD]);
        });

        it("with --terminate, terminates the instance only once its drain has ended and it has left the group", async () => {
            const account = new FakeAccount();

            const report = await consoleTest(account, { terminate: true });

            assert.equal(report.outcome, "passed", report.failure?.message);
            const terminates = account.mocks.ec2.commandCalls(TerminateInstancesCommand);
            assert.equal(terminates.length, 1);
            assert.deepEqual(terminates[0].args[0].input.InstanceIds, [FIRST]);
            const tail = messages(report, "target", "group", "terminate").slice(-3);
            assert.deepEqual(tail, [
                `${FIRST} has left group ${GROUP}`,
                `${FIRST} in target group web-tg: unused (Target.NotRegistered)`,
                `Terminated ${FIRST} as --terminate asks: running → shutting-down`,
            ]);
            const terminatedAt = report.steps.find((s) => s.kind === "terminate")?.elapsedMs ?? 0;
            assert.ok(terminatedAt >= 120_000, "after the 120 s deregistration delay");
            assert.equal(report.warning, undefined);
        });
    });

    describe("given a group that lets a detached instance go before its drain ends", () => {
        it("with --terminate, still waits for the drain", async () => {
            const account = new FakeAccount({ leavesGroupAtDetach: true });

            const report = await consoleTest(account, { terminate: true });

            assert.equal(report.outcome, "passed", report.failure?.message);
            const at = (message: string) =>
                report.steps.find((s) => s.message.startsWith(message))?.elapsedMs ?? -1;
            assert.equal(at(`${FIRST} has left group`), 0);
            assert.equal(at(`${FIRST} in target group web-tg: unused`), 120_000);
            assert.equal(at(`Terminated ${FIRST}`), 120_000);
        });
    });

    describe("given direct delivery", () => {
        it("invokes with the bare event and shows the handler's summary", async () => {
            const account = new FakeAccount({ queueDelivery: false });

            const report = await consoleTest(account, { deployment: DIRECT });

            assert.equal(report.outcome, "passed", report.failure?.message);
            assert.deepEqual(account.invokedPayloads(), [expectedEvent(FIRST, "id-1")]);
            assert.deepEqual(report.response, {
                instanceId: FIRST,
                autoScalingGroupName: GROUP,
                action: "detached",
                capacityOnInterruption: "keep",
            });
        });
    });

    describe("given a function deployed with dryRun", () => {
        it("reports what the handler would have done, and waits for no drain", async () => {
            const account = new FakeAccount({ handlerDryRun: true });

            const report = await consoleTest(account, { terminate: true });

            assert.equal(report.outcome, "passed", report.failure?.message);
            assert.equal(report.decision?.action, "would-detach");
            assert.deepEqual(messages(report, "note"), [
                `The function runs with DRY_RUN=true: it would have detached ${FIRST} (capacity keep) and detached nothing, so there is no drain or replacement to wait for.`,
                `Not terminating ${FIRST}: it is still in group ${GROUP}.`,
            ]);
            assert.equal(account.mocks.elbv2.commandCalls(DescribeTargetHealthCommand).length, 0);
            assert.equal(account.mocks.ec2.commandCalls(TerminateInstancesCommand).length, 0);
        });
    });

    describe("given --dry-run", () => {
        it("makes no mutating call, plans the invoke, and reports each permission as the simulator judges it", async () => {
            const account = new FakeAccount({
                simulatorDenies: ["lambda:InvokeFunction", "ec2:TerminateInstances"],
            });

            const report = await consoleTest(account, { dryRun: true, terminate: true });

            assert.deepEqual(
                account.commandNames().filter((name) => !READ_ONLY_COMMANDS.includes(name)),
                [],
            );
            assert.equal(report.outcome, "failed");
            assert.deepEqual(report.failure, {
                kind: "permission-denied",
                message: `Missing permission: lambda:InvokeFunction, ec2:TerminateInstances denied to arn:aws:sts::${ACCOUNT}:assumed-role/Admin/alice; grant them before running without --dry-run.`,
            });
            assert.deepEqual(
                report.permissions?.map((p) => [p.action, p.resource, p.decision]),
                [
                    [
                        "lambda:GetFunctionConfiguration",
                        `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:${FUNCTION}`,
                        "allowed",
                    ],
                    ["autoscaling:DescribeAutoScalingGroups", "*", "allowed"],
                    ["autoscaling:DescribeScalingActivities", "*", "allowed"],
                    [
                        "logs:FilterLogEvents",
                        `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:spot-logs-5d6e7f8:*`,
                        "allowed",
                    ],
                    ["elasticloadbalancing:DescribeTargetHealth", "*", "allowed"],
                    ["elasticloadbalancing:DescribeTargetGroupAttributes", "*", "allowed"],
                    ["sqs:GetQueueAttributes", QUEUE_ARN, "allowed"],
                    [
                        "lambda:InvokeFunction",
                        `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:${FUNCTION}`,
                        "denied",
                    ],
                    [
                        "ec2:TerminateInstances",
                        `arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/${FIRST}`,
                        "denied",
                    ],
                ],
            );
            const principals = account.mocks.iam
                .commandCalls(SimulatePrincipalPolicyCommand)
                .map((call) => call.args[0].input.PolicySourceArn);
            assert.deepEqual([...new Set(principals)], [`arn:aws:iam::${ACCOUNT}:role/Admin`]);
            assert.match(
                messages(report, "plan")[0],
                /^Would invoke spot-function-1a2b3c4 synchronously/,
            );
        });

        it("still checks every permission when the function cannot be read", async () => {
            const account = new FakeAccount({ denied: ["lambda:GetFunctionConfiguration"] });

            const report = await consoleTest(account, { dryRun: true });

            assert.equal(report.outcome, "failed");
            assert.equal(report.failure?.kind, "permission-denied");
            assert.match(
                report.failure?.message ?? "",
                /^Missing permission: lambda:GetFunctionConfiguration was denied/,
            );
            assert.equal(report.permissions?.length, 8);
            assert.equal(account.mocks.lambda.commandCalls(InvokeCommand).length, 0);
        });

        it("passes as planned when every permission is allowed", async () => {
            const account = new FakeAccount();

            const report = await consoleTest(account, { dryRun: true });

            assert.equal(report.outcome, "planned");
            assert.ok(report.permissions?.every((p) => p.decision === "allowed"));
        });
    });

    describe("given something wrong, it fails with a specific message and invokes nothing it should not", () => {
        const failures: [
            string,
            FakeAccountOptions,
            Partial<Parameters<typeof consoleTest>[1]>,
            string,
            string,
        ][] = [
            [
                "no credentials",
                {
                    stsFailure: {
                        name: "CredentialsProviderError",
                        message: "Could not load credentials from any providers",
                    },
                },
                {},
                "no-credentials",
                "No AWS credentials found. The simulation uses the standard AWS chain: set AWS_PROFILE (after aws sso login or aws configure), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then run it again.",
            ],
            [
                "a function that does not exist",
                { missing: "function" },
                {},
                "function-not-found",
                `Function ${FUNCTION} not found in eu-west-1: check --function (or the stack's functionName output) and AWS_REGION.`,
            ],
            [
                "a queue that does not exist",
                { missing: "queue" },
                {},
                "queue-not-found",
                `Events queue ${QUEUE_URL} not found: check --queue (or the stack's eventsQueueUrl output) and AWS_REGION.`,
            ],
            [
                "a group that does not exist",
                { missing: "group" },
                {},
                "group-not-found",
                `Auto Scaling group ${GROUP} not found in eu-west-1: check --group (or the stack's autoScalingGroupName output) and AWS_REGION.`,
            ],
            [
                "an empty group",
                { emptyGroup: true },
                {},
                "group-empty",
                `Group ${GROUP} has no InService instance to interrupt (0 instances, desired capacity 0): scale it up, e.g. aws autoscaling set-desired-capacity --auto-scaling-group-name ${GROUP} --desired-capacity 1, and wait for an instance to be InService.`,
            ],
            [
                "an --instance outside the group",
                {},
                { instanceId: "i-0ccccccccccccccc1" },
                "instance-not-in-group",
                `Instance i-0ccccccccccccccc1 is not in group ${GROUP} (its members: ${INSTANCES.join(", ")}): pass one of its InService instances, or leave out --instance.`,
            ],
            [
                "an --instance that is not InService",
                { lifecycles: { [SECOND]: "Pending" } },
                { instanceId: SECOND },
                "instance-not-in-group",
                `Instance ${SECOND} is Pending in group ${GROUP}, not InService: the handler would ignore its warning. Pass an InService instance, or leave out --instance.`,
            ],
            [
                "no permission to invoke",
                { denied: ["lambda:InvokeFunction"] },
                {},
                "permission-denied",
                "Missing permission: lambda:InvokeFunction was denied (AccessDeniedException: User is not authorized to perform: lambda:InvokeFunction). Grant lambda:InvokeFunction to your identity, or run with --dry-run to check every permission the simulation needs.",
            ],
            [
                "a queue-delivery function without --queue",
                {},
                { deployment: DIRECT },
                "deployment-mismatch",
                `Function ${FUNCTION} uses queue delivery (it has DEAD_LETTER_QUEUE_URL), but no events queue is known: pass --queue with the stack's eventsQueueUrl.`,
            ],
            [
                "a --group the function does not protect",
                {},
                { deployment: { ...DEPLOYMENT, groupName: "batch" } },
                "deployment-mismatch",
                `Function ${FUNCTION} protects ${GROUP} (its AUTO_SCALING_GROUP_NAMES), not batch: pass --group ${GROUP}, or the function that protects batch.`,
            ],
            [
                "a handler that throws",
                {
                    invocation: {
                        functionError: "Unhandled",
                        payload: {
                            errorType: "Error",
                            errorMessage: "AUTO_SCALING_GROUP_NAME is not set",
                        },
                    },
                },
                {},
                "handler-failed",
                `${FUNCTION} failed (Unhandled): Error: AUTO_SCALING_GROUP_NAME is not set. Its log group spot-logs-5d6e7f8 has the details.`,
            ],
            [
                "a record left for a retry",
                { invocation: { payload: { batchItemFailures: [{ itemIdentifier: "id-2" }] } } },
                {},
                "handler-failed",
                `${FUNCTION} left the record for a retry (batchItemFailures [{"itemIdentifier":"id-2"}]): its detach failed. Its log group spot-logs-5d6e7f8 has the details.`,
            ],
            [
                "a function that never logs its decision",
                { silentLog: true },
                {},
                "timeout",
                `No decision about ${FIRST} in the handler's log group spot-logs-5d6e7f8 within 60 s of the invoke: check that the function logs there (its LoggingConfig).`,
            ],
            [
                "a target group that never drains",
                { neverDrains: true },
                {},
                "timeout",
                `Gave up waiting for ${FIRST} to drain from web-tg after 180 s.`,
            ],
        ];
        for (const [what, given, options, kind, message] of failures) {
            it(`given ${what}`, async () => {
                const account = new FakeAccount(given);

                const report = await consoleTest(account, options);

                assert.equal(report.outcome, "failed");
                assert.deepEqual(report.failure, { kind, message });
                assert.deepEqual(report.steps.at(-1), {
                    ...report.steps.at(-1),
                    kind: "error",
                    message,
                });
                assert.equal(account.mocks.ec2.commandCalls(TerminateInstancesCommand).length, 0);
            });
        }

        it("keeps the function's answer in the report when no decision follows it", async () => {
            const account = new FakeAccount({ silentLog: true });

            const report = await consoleTest(account);

            assert.equal(report.failure?.kind, "timeout");
            const [invoke] = account.mocks.lambda.commandCalls(InvokeCommand);
            const { Payload } = await invoke.returnValue;
            assert.notEqual(report.response, undefined);
            assert.deepEqual(report.response, JSON.parse(new TextDecoder().decode(Payload)));
        });

        it("invokes nothing when the group is empty", async () => {
            const account = new FakeAccount({ emptyGroup: true });

            await consoleTest(account);

            assert.equal(account.mocks.lambda.commandCalls(InvokeCommand).length, 0);
        });
    });
});

/** The seed's sample event as the simulation sends it for `instanceId` at T0. */
function expectedEvent(instanceId: string, eventId = "id-1"): Record<string, unknown> {
    return {
        ...loadEvent("seed-sample-event", instanceId),
        id: eventId,
        account: ACCOUNT,
        region: "eu-west-1",
        time: new Date(T0).toISOString().replace(/\.\d{3}Z$/, "Z"),
        resources: [`arn:aws:ec2:eu-west-1b:instance/${instanceId}`],
    };
}
