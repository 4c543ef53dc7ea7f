/**
 * `npm run simulate`'s parts: the region, finding the deployment (with a fake Pulumi CLI), the
 * --group value (down to the command's exit code), the permission plan, the errors' words and the
 * timeline's rendering.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { explainAwsError, SimulationError } from "../../commands/simulate/aws";
import { pickInstance } from "../../commands/simulate/console-test";
import {
    type CommandRunner,
    chooseRegion,
    findDeployment,
    type CommandResult,
    groupNameProblem,
} from "../../commands/simulate/main";
import { summarizeTemplate } from "../../commands/simulate/fis";
import {
    permissionsNeeded,
    queueArnFromUrl,
    simulatablePrincipal,
} from "../../commands/simulate/aws";
import { formatStep, formatSummary, type SimulationReport } from "../../commands/simulate/run";
import { createStyle } from "../../commands/terminal";
import { ROOT, WITH_TYPESCRIPT } from "../support/processes";

const plain = createStyle(false);
const INSTANCE = "i-0aaaaaaaaaaaaaaa1";

/** A Pulumi CLI that answers `pulumi version` and `pulumi stack output --json` as told. */
function fakePulumi(answers: {
    version?: CommandResult | NodeJS.ErrnoException;
    outputs?: CommandResult;
}): { run: CommandRunner; calls: string[][] } {
    const calls: string[][] = [];
    const run: CommandRunner = async (command, args) => {
        calls.push([command, ...args]);
        const answer = args[0] === "version" ? answers.version : answers.outputs;
        if (answer === undefined) {
            throw new Error(`unexpected ${args.join(" ")}`);
        }
        if (answer instanceof Error) {
            throw answer;
        }
        return answer;
    };
    return { run, calls };
}

const NOT_INSTALLED = Object.assign(new Error("spawn pulumi ENOENT"), { code: "ENOENT" });
const INSTALLED: CommandResult = { exitCode: 0, stdout: "v3.200.0\n", stderr: "" };
const OUTPUTS = {
    functionName: "spot-function-1a2b3c4",
    autoScalingGroupName: "web-asg-9a8b7c6",
    eventsQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/spot-queue-0f1e2d3",
    targetGroupArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-tg/0123",
    faultInjectionTemplateId: "EXTa1b2c3d4e5",
    deadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/spot-dlq-9f8e7d6",
};

describe("npm run simulate: choosing the region", () => {
    const answering = (config: CommandResult) => {
        const calls: string[][] = [];
        const run: CommandRunner = async (command, args) => {
            calls.push([command, ...args]);
            return args[0] === "version" ? INSTALLED : config;
        };
        return { run, calls };
    };

    it("takes the stack's aws:region when --region is absent", async () => {
        const pulumi = answering({ exitCode: 0, stdout: "ap-southeast-2\n", stderr: "" });

        const choice = await chooseRegion({ stack: "prod" }, pulumi.run);

        assert.deepEqual(choice, { region: "ap-southeast-2", source: "the stack's aws:region" });
        assert.deepEqual(pulumi.calls.at(-1), [
            "pulumi",
            "config",
            "get",
            "aws:region",
            "--stack",
            "prod",
        ]);
    });

    it("lets --region win without asking the CLI", async () => {
        const pulumi = answering({ exitCode: 0, stdout: "ap-southeast-2\n", stderr: "" });
        assert.deepEqual(await chooseRegion({ region: "us-east-1" }, pulumi.run), {
            region: "us-east-1",
            source: "--region",
        });
        assert.deepEqual(pulumi.calls, []);
    });

    it("falls back to the standard chain for a stack without aws:region, or without the CLI", async () => {
        const unset = answering({
            exitCode: 255,
            stdout: "",
            stderr: "configuration key 'aws:region' not found",
        });
        assert.equal((await chooseRegion({}, unset.run)).region, undefined);
        const absent = fakePulumi({ version: NOT_INSTALLED });
        assert.equal((await chooseRegion({}, absent.run)).region, undefined);
    });
});

describe("npm run simulate: finding the deployment", () => {
    it("reads the stack's outputs when the Pulumi CLI is installed", async () => {
        const pulumi = fakePulumi({
            version: INSTALLED,
            outputs: { exitCode: 0, stdout: JSON.stringify(OUTPUTS), stderr: "" },
        });

        const deployment = await findDeployment({ stack: "dev" }, pulumi.run);

        assert.deepEqual(pulumi.calls, [
            ["pulumi", "version"],
            ["pulumi", "stack", "output", "--json", "--stack", "dev"],
        ]);
        assert.deepEqual(deployment, {
            functionName: OUTPUTS.functionName,
            groupName: OUTPUTS.autoScalingGroupName,
            queueUrl: OUTPUTS.eventsQueueUrl,
            targetGroupArn: OUTPUTS.targetGroupArn,
            templateId: OUTPUTS.faultInjectionTemplateId,
            source: "the stack's outputs (Pulumi v3.200.0)",
        });
    });

    it("lets a flag win over an output", async () => {
        const pulumi = fakePulumi({
            version: INSTALLED,
            outputs: { exitCode: 0, stdout: JSON.stringify(OUTPUTS), stderr: "" },
        });

        const deployment = await findDeployment({ group: "other" }, pulumi.run);

        assert.equal(deployment.groupName, "other");
        assert.equal(deployment.source, "the stack's outputs and the flags");
    });

    it("uses the flags alone without the Pulumi CLI", async () => {
        const pulumi = fakePulumi({ version: NOT_INSTALLED });

        const deployment = await findDeployment({ function: "fn", group: "web" }, pulumi.run);

        assert.deepEqual(deployment, { functionName: "fn", groupName: "web", source: "the flags" });
        assert.deepEqual(pulumi.calls, [["pulumi", "version"]]);
    });

    const refusals: [string, Parameters<typeof fakePulumi>[0], object, string][] = [
        [
            "no CLI and no --function",
            { version: NOT_INSTALLED },
            {},
            "No deployment to simulate on: no Pulumi CLI on the PATH, and no --function. Pass --function and --group (and --queue with queue delivery), or install the Pulumi CLI in the project.",
        ],
        [
            "a stack that is not deployed",
            { version: INSTALLED, outputs: { exitCode: 0, stdout: "{}", stderr: "" } },
            {},
            "The stack has no functionName output: it is not deployed. Run pulumi up first, or pass --function and --group.",
        ],
        [
            "no stack selected",
            {
                version: INSTALLED,
                outputs: {
                    exitCode: 255,
                    stdout: "",
                    stderr: "error: no stack selected; please use `pulumi stack select`\n",
                },
            },
            {},
            "pulumi stack output failed (error: no stack selected; please use `pulumi stack select`). Select the stack (pulumi stack select, or --stack), or pass --function and --group.",
        ],
        [
            "--stack without the CLI",
            { version: NOT_INSTALLED },
            { stack: "dev" },
            "--stack needs the Pulumi CLI (no Pulumi CLI on the PATH): install it, or pass --function and --group instead.",
        ],
    ];
    for (const [what, answers, flags, message] of refusals) {
        it(`refuses ${what} as not deployed`, async () => {
            await assert.rejects(findDeployment(flags, fakePulumi(answers).run), (error) => {
                assert.ok(error instanceof SimulationError);
                assert.equal(error.kind, "not-deployed");
                assert.equal(error.message, message);
                return true;
            });
        });
    }
});

const GROUP_ARN =
    "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:0f1e2d3c-aaaa-bbbb-cccc-0123456789ab:autoScalingGroupName/web-asg";

describe("npm run simulate: the --group value", () => {
    it("accepts a name of printable ASCII up to 255 characters", () => {
        for (const name of ["web-asg", "a", "A_b.c-1/2@#", "g".repeat(255)]) {
            assert.equal(groupNameProblem(name), undefined, name);
        }
    });

    const problems: [string, string, string][] = [
        [
            "a colon",
            "a:b",
            "contains a colon, which Auto Scaling group names cannot: pass the group's name, not its ARN",
        ],
        [
            "the group's ARN, naming the group inside it",
            GROUP_ARN,
            "contains a colon, which Auto Scaling group names cannot: pass the group's name, not its ARN: --group web-asg",
        ],
        [
            "256 characters",
            "g".repeat(256),
            "is 256 characters long; Auto Scaling group names have at most 255",
        ],
        [
            "a character outside ASCII 33 to 126",
            "web asg",
            'contains " ", but Auto Scaling group names are printable ASCII (characters 33 to 126) without spaces: pass the group\'s exact name',
        ],
        [
            "surrounding whitespace",
            "web-asg ",
            'has surrounding whitespace: pass the group\'s exact name, "web-asg"',
        ],
    ];
    for (const [what, name, problem] of problems) {
        it(`refuses ${what}, without repeating the value the flag's message quotes`, () => {
            assert.equal(groupNameProblem(name), problem);
        });
    }

    it("fails the command at once with exit 2, naming the flag and the fix", async () => {
        const run = promisify(execFile)(
            process.execPath,
            [...WITH_TYPESCRIPT, "commands/simulate/main.ts", "--group", "a:b"],
            { cwd: ROOT, timeout: 60_000 },
        );

        await assert.rejects(run, (error: { code?: number; stdout?: string; stderr?: string }) => {
            assert.deepEqual(
                [error.code, error.stdout, error.stderr],
                [
                    2,
                    "",
                    'npm run simulate: --group "a:b" contains a colon, which Auto Scaling group names cannot: pass the group\'s name, not its ARN\n',
                ],
            );
            return true;
        });
    });
});

describe("npm run simulate: the instance it picks", () => {
    const group = {
        name: "web",
        minSize: 1,
        maxSize: 4,
        desiredCapacity: 2,
        capacityRebalance: false,
        targetGroupArns: [],
        instances: [
            { instanceId: "i-0aaaaaaaaaaaaaaa9", lifecycleState: "Pending" },
            { instanceId: INSTANCE, lifecycleState: "InService" },
        ],
    };

    it("skips instances that are not InService", () => {
        assert.equal(pickInstance(group).instanceId, INSTANCE);
    });
});

describe("npm run simulate: permissions", () => {
    it("simulates an assumed role as its role, and a user as itself", () => {
        assert.deepEqual(
            simulatablePrincipal("arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com"),
            { arn: "arn:aws:iam::123456789012:role/Admin" },
        );
        assert.deepEqual(simulatablePrincipal("arn:aws:iam::123456789012:user/ops/bob"), {
            arn: "arn:aws:iam::123456789012:user/ops/bob",
        });
        assert.deepEqual(simulatablePrincipal("arn:aws:iam::123456789012:root"), {
            unsupported: "the root user: IAM's simulator does not evaluate it",
        });
    });

    it("names the queue's ARN from its URL", () => {
        assert.equal(
            queueArnFromUrl(OUTPUTS.eventsQueueUrl),
            "arn:aws:sqs:eu-west-1:123456789012:spot-queue-0f1e2d3",
        );
    });

    it("needs no invoke and no queue for an experiment, and no target-group reads without one", () => {
        const needs = permissionsNeeded({
            mode: "fis",
            partition: "aws",
            region: "eu-west-1",
            account: "123456789012",
            functionArn: "arn:aws:lambda:eu-west-1:123456789012:function:fn",
            logGroupName: "/aws/lambda/fn",
            queueUrl: OUTPUTS.eventsQueueUrl,
            hasTargetGroups: false,
            templateId: "EXTa1",
            terminate: false,
        });

        assert.deepEqual(
            needs.map((n) => n.action),
            [
                "lambda:GetFunctionConfiguration",
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeScalingActivities",
                "logs:FilterLogEvents",
                "fis:GetExperimentTemplate",
                "fis:StartExperiment",
                "fis:StartExperiment",
                "fis:GetExperiment",
                "fis:ListExperimentResolvedTargets",
                "ec2:DescribeInstances",
            ],
        );
    });
});

describe("npm run simulate: AWS errors in words", () => {
    const cases: [Error, string, string][] = [
        [
            Object.assign(new Error("Region is missing"), { name: "Error" }),
            "no-region",
            "No AWS Region configured: pass --region with the stack's Region (e.g. --region eu-west-1), or set AWS_REGION or a region in your AWS profile.",
        ],
        [
            Object.assign(new Error("The security token included in the request is expired"), {
                name: "ExpiredTokenException",
            }),
            "no-credentials",
            "AWS refused the credentials (ExpiredTokenException: The security token included in the request is expired). Refresh them (e.g. aws sso login) and run it again.",
        ],
        [
            Object.assign(new Error("aborted"), { name: "TimeoutError" }),
            "aws-error",
            "logs:FilterLogEvents did not answer within 30 s; check your network and the region, then run it again.",
        ],
        [
            Object.assign(new Error("Rate exceeded"), { name: "Throttling" }),
            "aws-error",
            "logs:FilterLogEvents failed: Throttling: Rate exceeded",
        ],
    ];
    for (const [error, kind, message] of cases) {
        it(`says ${kind} for ${error.name}`, () => {
            const explained = explainAwsError(error, "logs:FilterLogEvents");
            assert.deepEqual([explained.kind, explained.message], [kind, message]);
        });
    }
});

describe("npm run simulate: the template it starts", () => {
    it("refuses a template without the Spot interruption action", () => {
        assert.throws(
            () =>
                summarizeTemplate(
                    { actions: { stop: { actionId: "aws:ec2:stop-instances" } } },
                    "EXT1",
                ),
            {
                message:
                    "Experiment template EXT1 has no aws:ec2:send-spot-instance-interruptions action: pass the template the component created (its faultInjectionTemplateId output).",
            },
        );
    });
});

describe("npm run simulate: the timeline for people", () => {
    const step = {
        at: "2026-05-01T12:00:03.000Z",
        elapsedMs: 2100,
        kind: "handler" as const,
        message: "Detaching",
    };

    it("shows the time, the time since the start, the kind and the message", () => {
        assert.equal(formatStep(step, plain), "12:00:03  +2.10 s    handler     Detaching");
    });

    it("ends a failure with its kind, and a run with its warning", () => {
        const report: SimulationReport = {
            mode: "console-test",
            dryRun: false,
            startedAt: step.at,
            instanceIds: [INSTANCE],
            steps: [step, { ...step, kind: "error", message: "boom" }],
            outcome: "failed",
            failure: { kind: "timeout", message: "boom" },
            warning: "It keeps running.",
        };

        assert.equal(
            formatSummary(report, plain),
            "\nFailed (timeout).\n\nWarning: It keeps running.",
        );
    });
});
