/** `npm run simulate`: proves the deployed handler on your AWS account; this entry reads the flags, finds the stack, prints. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { autoScalingGroupNameProblem } from "../../components/shared/argument-checks";
import {
    type CommandLine,
    type FlagSpec,
    type FlagValues,
    parseFlags,
    runCli,
    UsageError,
} from "../cli";
import { isRecord } from "../../handler/event";
import { colourWanted, createStyle } from "../terminal";
import { clientRegion, createClients, SimulationError } from "./aws";
import { simulateConsoleTest } from "./console-test";
import { simulateExperiment } from "./fis";
import {
    type Deployment,
    formatStep,
    formatSummary,
    type SimulationReport,
    type TimelineStep,
} from "./run";

const matching = (pattern: RegExp, problem: string) => (value: string) =>
    pattern.test(value) ? undefined : problem;

const COMMAND_LINE = {
    command: "npm run simulate --",
    summary:
        "Rehearses the Spot interruption handler on the AWS deployment (in the stack's Region, with credentials from the standard AWS chain). Default: the seed workshop's Lambda console test, automated: it invokes the function synchronously with the seed's sample interruption warning for an InService instance of the group (as one SQS record with queue delivery, bare with direct), then prints a timeline: the handler's decision from its log group, the group's scaling activity, the instance draining from its target groups, and the replacement's launch. The warning is not one EC2 sent, so a group's Capacity Rebalancing never reacts to it: where the handler leaves a Spot warning to the group, the run expects its safety net at the grace's end (with queue delivery it brings the waiting record back then, as the queue would). A group with a termination hook is followed until the hook runs. --fis starts the component's FIS experiment instead: a real Spot interruption through rule, queue and function.",
    flags: {
        function: {
            value: "NAME",
            description: "The handler function.",
            defaultText: "the stack's functionName output (pulumi stack output)",
        },
        group: {
            value: "NAME",
            description: "The protected Auto Scaling group.",
            defaultText:
                "the stack's autoScalingGroupName output, else the function's one group in AUTO_SCALING_GROUP_NAMES",
            check: groupNameProblem,
        },
        queue: {
            value: "URL",
            description:
                "The events queue's URL, for a function with queue delivery: the warning is then wrapped as one SQS record from it.",
            defaultText: "the stack's eventsQueueUrl output (none with direct delivery)",
            check: matching(
                /^https?:\/\/\S+\/\d{12}\/\S+$/,
                "is not an SQS queue URL, e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/spot-queue-1a2b3c4",
            ),
        },
        instance: {
            value: "ID",
            description:
                "The instance to send the warning for; it must be InService in the group. Not with --fis.",
            defaultText: "the group's first InService instance",
            check: matching(
                /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
                "is not an EC2 instance id (i- and 8 or 17 hex digits)",
            ),
        },
        template: {
            value: "ID",
            description: "With --fis: the FIS experiment template to start.",
            defaultText: "the stack's faultInjectionTemplateId output",
            check: matching(
                /^EXT[0-9A-Za-z]+$/,
                "is not an experiment template id (EXT and letters or digits)",
            ),
        },
        region: {
            value: "REGION",
            description: "The AWS Region the stack is deployed in.",
            defaultText: "the stack's aws:region (pulumi config get), else the standard AWS chain",
            check: matching(
                /^[a-z]{2}(-[a-z]+)+-\d+$/,
                "is not an AWS Region name, e.g. eu-west-1",
            ),
        },
        stack: {
            value: "NAME",
            description: "The Pulumi stack whose outputs name the deployment.",
            defaultText: "the selected stack",
        },
        fis: {
            description:
                "Start the FIS experiment template and follow it: FIS's action states, the handler's log and the group's activities, each with a timestamp. The interruption is real: EC2 reclaims the instance. Needs faultInjection.enabled on the component.",
        },
        terminate: {
            description:
                "Terminate the detached instance once its drain has finished (the seed leaves it running, and billing).",
        },
        "dry-run": {
            description:
                "Print what it would do and check, with IAM's policy simulator, every permission it would need; invoke, start and terminate nothing.",
        },
        json: {
            description:
                "Print the timeline as one JSON report on stdout; the steps go to stderr meanwhile. Use npm run -s simulate -- --json to keep npm's banner out.",
        },
    },
    epilogue: [
        "Cost: the default mode invokes the function once and, unless the function runs with DRY_RUN=true, takes one instance out for real (detached, or terminated through a group with a termination hook): the group launches a replacement, and a detached instance runs (and bills) until it is terminated (--terminate). --fis interrupts COUNT(n) instances for real.",
        "Credentials: the standard AWS chain. With Pulumi ESC, run it as pulumi env run <org>/<project>/<env> -- npm run simulate, which hands the environment's AWS credentials (and AWS_REGION) to this command.",
        "Exit status: 0 when the handler did its part (or, with --dry-run, when every permission is allowed), 1 when it did not or the simulation could not run, 2 for a bad flag.",
    ],
} satisfies CommandLine<Record<string, FlagSpec>>;

type Flags = FlagValues<typeof COMMAND_LINE.flags>;

const CONFLICTS: [(flags: Flags) => boolean, string][] = [
    [
        (f) => f.fis && f.instance !== undefined,
        "--instance applies only without --fis: the experiment template selects its instances (COUNT(n) of the group's running Spot instances)",
    ],
    [
        (f) => f.fis && f.terminate,
        "--terminate applies only without --fis: with --fis, EC2 reclaims the instance itself",
    ],
    [
        (f) => f.fis && f.queue !== undefined,
        "--queue applies only without --fis: FIS's warning travels the real rule and queue",
    ],
    [(f) => !f.fis && f.template !== undefined, "--template applies only with --fis"],
];

async function main(flags: Flags): Promise<boolean> {
    const conflict = CONFLICTS.find(([applies]) => applies(flags));
    if (conflict !== undefined) {
        throw new UsageError(conflict[1]);
    }
    const style = createStyle(!flags.json && colourWanted(process.stdout));
    const progress = flags.json ? process.stderr : process.stdout;
    const region = await chooseRegion(flags);
    const clients = createClients(region.region === undefined ? {} : { region: region.region });
    const context = {
        clients,
        onStep: (step: TimelineStep) => progress.write(`${formatStep(step, style)}\n`),
    };
    const dryRun = flags["dry-run"];
    const what = flags.fis ? "the component's FIS experiment" : "the seed's Lambda console test";
    progress.write(
        `${style.bold(`Spot interruption on AWS: ${what}`)}${dryRun ? style.dim(" (dry run)") : ""}\n`,
    );
    // The chain's Region, resolved now: the header shows where the run goes, not "the chain".
    const resolved = region.region ?? (await clientRegion(clients).catch(() => undefined));
    progress.write(style.dim(`${regionHeader(region, resolved)}\n`));
    let report: SimulationReport;
    try {
        const deployment = await findDeployment(flags).catch((error: unknown) => error as Error);
        const { instance: instanceId, terminate } = flags;
        const options = { deployment, dryRun, instanceId, terminate };
        report = await (flags.fis ? simulateExperiment : simulateConsoleTest)(options, context);
    } finally {
        Object.values(clients).forEach((client) => client.destroy());
    }
    process.stdout.write(
        flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatSummary(report, style)}\n`,
    );
    return report.outcome !== "failed";
}

/** What is wrong with a --group value, by the component's own rule (the flag's message quotes it), and for an ARN its name. */
export function groupNameProblem(value: string): string | undefined {
    const problem = autoScalingGroupNameProblem(value);
    if (problem === undefined) {
        return undefined;
    }
    const quoted = `${JSON.stringify(value)} `;
    const unquoted = problem.startsWith(quoted) ? problem.slice(quoted.length) : problem;
    const nameInArn = /^arn:[^:]+:autoscaling:.*:autoScalingGroupName\/(.+)$/.exec(value)?.[1];
    return nameInArn === undefined ? unquoted : `${unquoted}: --group ${nameInArn}`;
}

export type CommandResult = { exitCode: number; stdout: string; stderr: string };

/** Runs a command; rejects with the spawn error (code "ENOENT" when it is not installed). */
export type CommandRunner = (
    command: string,
    args: readonly string[],
    timeoutMs: number,
) => Promise<CommandResult>;

const runCommand: CommandRunner = async (command, args, timeoutMs) => {
    const options = { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, windowsHide: true };
    try {
        return { exitCode: 0, ...(await promisify(execFile)(command, [...args], options)) };
    } catch (error) {
        const failed = error as CommandResult & { code?: unknown; killed?: boolean };
        if (typeof failed.code === "number") {
            return { exitCode: failed.code, stdout: failed.stdout, stderr: failed.stderr };
        }
        throw failed.killed ? new Error(`timed out after ${timeoutMs} ms`) : error;
    }
};

/** Reading outputs may go through the Pulumi Cloud backend. */
const PULUMI_TIMEOUT_MS = 60_000;

async function stackOutputs(run: CommandRunner, stack: string[]): Promise<Record<string, unknown>> {
    const result = await run("pulumi", ["stack", "output", "--json", ...stack], PULUMI_TIMEOUT_MS);
    if (result.exitCode !== 0) {
        throw new SimulationError(
            "not-deployed",
            `pulumi stack output failed (${firstLine(result.stderr) || `exit ${result.exitCode}`}). Select the stack (pulumi stack select, or --stack), or pass --function and --group.`,
        );
    }
    try {
        const outputs: unknown = JSON.parse(result.stdout || "{}");
        return isRecord(outputs) ? outputs : {};
    } catch {
        throw new SimulationError(
            "not-deployed",
            `pulumi stack output --json printed no JSON: ${firstLine(result.stdout)}`,
        );
    }
}

/** The deployment from the flags and, with the Pulumi CLI installed, the stack's outputs; a flag wins. */
export async function findDeployment(
    flags: Partial<Record<"function" | "group" | "queue" | "template" | "stack", string>>,
    run: CommandRunner = runCommand,
): Promise<Deployment> {
    const cli = await run("pulumi", ["version"], 10_000).then(
        (r) =>
            r.exitCode === 0
                ? { version: r.stdout.trim() }
                : { absent: `pulumi version exited with ${r.exitCode}: ${firstLine(r.stderr)}` },
        (error: NodeJS.ErrnoException) => ({
            absent:
                error.code === "ENOENT"
                    ? "no Pulumi CLI on the PATH"
                    : `pulumi version failed: ${error.message}`,
        }),
    );
    if ("absent" in cli && flags.stack !== undefined) {
        throw new SimulationError(
            "not-deployed",
            `--stack needs the Pulumi CLI (${cli.absent}): install it, or pass --function and --group instead.`,
        );
    }
    // Flags alone are enough; without them the stack's error is the reason nothing is known.
    const outputs =
        "version" in cli
            ? await stackOutputs(run, stackFlag(flags)).catch((error: Error) =>
                  error instanceof SimulationError
                      ? error
                      : new SimulationError(
                            "not-deployed",
                            `pulumi stack output failed: ${error.message}. Pass --function and --group instead.`,
                        ),
              )
            : {};
    const output = (name: string) => {
        const value = outputs instanceof Error ? undefined : outputs[name];
        return typeof value === "string" && value !== "" ? value : undefined;
    };
    const functionName = flags.function ?? output("functionName");
    if (functionName === undefined) {
        throw outputs instanceof Error
            ? outputs
            : new SimulationError(
                  "not-deployed",
                  "absent" in cli
                      ? `No deployment to simulate on: ${cli.absent}, and no --function. Pass --function and --group (and --queue with queue delivery), or install the Pulumi CLI in the project.`
                      : `The stack${flags.stack === undefined ? "" : ` ${flags.stack}`} has no functionName output: it is not deployed. Run pulumi up first, or pass --function and --group.`,
              );
    }
    const fromFlags = [flags.function, flags.group, flags.queue, flags.template].some(
        (v) => v !== undefined,
    );
    const fromStack =
        "version" in cli && !(outputs instanceof Error) && Object.keys(outputs).length > 0;
    const named = {
        groupName: flags.group ?? output("autoScalingGroupName"),
        queueUrl: flags.queue ?? output("eventsQueueUrl"),
        targetGroupArn: output("targetGroupArn"),
        templateId: flags.template ?? output("faultInjectionTemplateId"),
    };
    return {
        functionName,
        ...Object.fromEntries(Object.entries(named).filter(([, value]) => value !== undefined)),
        source:
            fromStack && fromFlags
                ? "the stack's outputs and the flags"
                : fromStack
                  ? `the stack's outputs (Pulumi ${cli.version})`
                  : "the flags",
    };
}

function firstLine(text: string): string {
    return text.trim().split("\n")[0] ?? "";
}

const stackFlag = (flags: { stack?: string }) =>
    flags.stack === undefined ? [] : ["--stack", flags.stack];

/** --region, else the stack's `aws:region` (where `pulumi up` deployed), else the standard AWS chain. */
export async function chooseRegion(
    flags: { readonly region?: string; readonly stack?: string },
    run: CommandRunner = runCommand,
): Promise<{ region?: string; source: string }> {
    if (flags.region !== undefined) {
        return { region: flags.region, source: "--region" };
    }
    // Without the CLI (or with no aws:region set) the command fails: the chain decides.
    const result = await run(
        "pulumi",
        ["config", "get", "aws:region", ...stackFlag(flags)],
        PULUMI_TIMEOUT_MS,
    ).catch(() => undefined);
    const region = result?.exitCode === 0 ? result.stdout.trim() : "";
    return region === ""
        ? { source: "the standard AWS chain (AWS_REGION, the profile)" }
        : { region, source: "the stack's aws:region" };
}

export function regionHeader(choice: { source: string }, resolved: string | undefined): string {
    return resolved === undefined
        ? `Region: none, neither from --region nor from ${choice.source}: pass --region <region>`
        : `Region: ${resolved}, from ${choice.source}`;
}

// Tests import this file for its parts; only `npm run simulate` runs it.
if (require.main === module) {
    runCli(COMMAND_LINE, (argv) => parseFlags(COMMAND_LINE, argv), main);
}
