/**
 * Which deployment to simulate on: the stack's outputs when the Pulumi CLI is installed
 * (`pulumi stack output --json`), the flags otherwise; a flag always wins over an output.
 */
import { execFile } from "node:child_process";
import { validateAutoScalingGroupName } from "../../components/spot-interruption-handler/argument-checks";
import { SimulationError } from "./simulate-errors";

/** The deployment's names, as the stack outputs or the flags give them. */
export interface Deployment {
    readonly functionName: string;
    /** Else the only group in the function's AUTO_SCALING_GROUP_NAMES. */
    readonly groupName?: string;
    /** Set with queue delivery: the console test then wraps the event as an SQS record. */
    readonly queueUrl?: string;
    /** Else the group's own target groups. */
    readonly targetGroupArn?: string;
    /** The FIS experiment template, for --fis. */
    readonly templateId?: string;
    /** Where the names came from, for the timeline. */
    readonly source: string;
}

export interface DeploymentFlags {
    readonly function?: string;
    readonly group?: string;
    readonly queue?: string;
    readonly template?: string;
    readonly stack?: string;
}

/**
 * What is wrong with a --group value, as a ValueFlag check: the component's own rule for group
 * names (1 to 255 characters of ASCII 33 to 126, no colon), and for an ARN the name to pass.
 *
 * @example
 * groupNameProblem("web-asg"); // undefined
 * groupNameProblem("a:b"); // "contains a colon, which Auto Scaling group names cannot: …"
 */
export function groupNameProblem(value: string): string | undefined {
    try {
        validateAutoScalingGroupName(value, "--group");
        return undefined;
    } catch (error) {
        // The flag's own message already names --group and quotes the value.
        const problem = (error as Error).message.replace(
            /^SpotInterruptionHandler: \[--group\] /,
            "",
        );
        const quoted = `${JSON.stringify(value)} `;
        const unquoted = problem.startsWith(quoted) ? problem.slice(quoted.length) : problem;
        const nameInArn = /^arn:[^:]+:autoscaling:.*:autoScalingGroupName\/(.+)$/.exec(value)?.[1];
        return nameInArn === undefined ? unquoted : `${unquoted}: --group ${nameInArn}`;
    }
}

export interface CommandResult {
    readonly exitCode: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs a command; rejects with the spawn error (code "ENOENT" when it is not installed). */
export type CommandRunner = (
    command: string,
    args: readonly string[],
    timeoutMs: number,
) => Promise<CommandResult>;

export const runCommand: CommandRunner = (command, args, timeoutMs) =>
    new Promise((resolve, reject) => {
        execFile(
            command,
            [...args],
            { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, windowsHide: true },
            (error, stdout, stderr) => {
                if (error === null) {
                    resolve({ exitCode: 0, stdout, stderr });
                } else if (typeof error.code === "number") {
                    resolve({ exitCode: error.code, stdout, stderr });
                } else if (error.killed) {
                    reject(
                        Object.assign(new Error(`timed out after ${timeoutMs} ms`), {
                            code: "ETIMEDOUT",
                        }),
                    );
                } else {
                    reject(error);
                }
            },
        );
    });

const VERSION_TIMEOUT_MS = 10_000;
/** Reading outputs may go through the Pulumi Cloud backend. */
const STACK_OUTPUT_TIMEOUT_MS = 60_000;

/** The Pulumi CLI's version, or why it is not usable. */
export async function pulumiVersion(
    run: CommandRunner,
): Promise<{ readonly version: string } | { readonly absent: string }> {
    try {
        const result = await run("pulumi", ["version"], VERSION_TIMEOUT_MS);
        return result.exitCode === 0
            ? { version: result.stdout.trim() }
            : {
                  absent: `pulumi version exited with ${result.exitCode}: ${firstLine(result.stderr)}`,
              };
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return {
            absent:
                code === "ENOENT"
                    ? "no Pulumi CLI on the PATH"
                    : `pulumi version failed: ${(error as Error).message}`,
        };
    }
}

/** The stack's outputs as `pulumi stack output --json` prints them. */
export async function stackOutputs(
    run: CommandRunner,
    stack: string | undefined,
): Promise<Record<string, unknown>> {
    const args = ["stack", "output", "--json", ...(stack === undefined ? [] : ["--stack", stack])];
    let result: CommandResult;
    try {
        result = await run("pulumi", args, STACK_OUTPUT_TIMEOUT_MS);
    } catch (error) {
        throw new SimulationError(
            "not-deployed",
            `pulumi stack output failed: ${(error as Error).message}. Pass --function and --group instead.`,
        );
    }
    if (result.exitCode !== 0) {
        throw new SimulationError(
            "not-deployed",
            `pulumi stack output failed (${firstLine(result.stderr) || `exit ${result.exitCode}`}). Select the stack (pulumi stack select, or --stack), or pass --function and --group.`,
        );
    }
    try {
        const outputs: unknown = JSON.parse(result.stdout || "{}");
        return outputs !== null && typeof outputs === "object"
            ? (outputs as Record<string, unknown>)
            : {};
    } catch {
        throw new SimulationError(
            "not-deployed",
            `pulumi stack output --json printed no JSON: ${firstLine(result.stdout)}`,
        );
    }
}

/**
 * The deployment from the flags and, with the Pulumi CLI installed, the stack's outputs. Without
 * a function name from either, the stack is not deployed (or not found): the error says which.
 */
export async function findDeployment(
    flags: DeploymentFlags,
    run: CommandRunner = runCommand,
): Promise<Deployment> {
    const cli = await pulumiVersion(run);
    if ("absent" in cli && flags.stack !== undefined) {
        throw new SimulationError(
            "not-deployed",
            `--stack needs the Pulumi CLI (${cli.absent}): install it, or pass --function and --group instead.`,
        );
    }
    let outputs: Record<string, unknown> = {};
    let stackError: SimulationError | undefined;
    if ("version" in cli) {
        try {
            outputs = await stackOutputs(run, flags.stack);
        } catch (error) {
            // Flags alone are enough; without them this is the reason nothing is known.
            stackError = error as SimulationError;
        }
    }
    const output = (name: string) =>
        typeof outputs[name] === "string" && outputs[name] !== ""
            ? (outputs[name] as string)
            : undefined;
    const functionName = flags.function ?? output("functionName");
    if (functionName === undefined) {
        if (stackError !== undefined) {
            throw stackError;
        }
        throw new SimulationError(
            "not-deployed",
            "absent" in cli
                ? `No deployment to simulate on: ${cli.absent}, and no --function. Pass --function and --group (and --queue with queue delivery), or install the Pulumi CLI in the project.`
                : `The stack${flags.stack === undefined ? "" : ` ${flags.stack}`} has no functionName output: it is not deployed. Run pulumi up first, or pass --function and --group.`,
        );
    }
    const fromFlags = [flags.function, flags.group, flags.queue, flags.template].some(
        (value) => value !== undefined,
    );
    const fromStack = Object.keys(outputs).length > 0;
    return {
        functionName,
        ...optional("groupName", flags.group ?? output("autoScalingGroupName")),
        ...optional("queueUrl", flags.queue ?? output("eventsQueueUrl")),
        ...optional("targetGroupArn", output("targetGroupArn")),
        ...optional("templateId", flags.template ?? output("faultInjectionTemplateId")),
        source:
            fromStack && fromFlags
                ? "the stack's outputs and the flags"
                : fromStack
                  ? `the stack's outputs (${"version" in cli ? `Pulumi ${cli.version}` : "Pulumi"})`
                  : "the flags",
    };
}

function optional<Key extends string>(
    key: Key,
    value: string | undefined,
): Partial<Record<Key, string>> {
    return (value === undefined ? {} : { [key]: value }) as Partial<Record<Key, string>>;
}

function firstLine(text: string): string {
    return text.trim().split("\n")[0] ?? "";
}

/** The region the clients use, and where it came from, for the timeline. */
export interface RegionChoice {
    /** Unset: the standard AWS chain decides (AWS_REGION, the profile). */
    readonly region?: string;
    readonly source: string;
}

/**
 * The region to simulate in: --region, else the stack's `aws:region` (what `pulumi up` deployed
 * to), else the standard AWS chain. A stack without the key falls through to the chain.
 */
export async function chooseRegion(
    flags: { readonly region?: string; readonly stack?: string },
    run: CommandRunner = runCommand,
): Promise<RegionChoice> {
    if (flags.region !== undefined) {
        return { region: flags.region, source: "--region" };
    }
    const fromChain: RegionChoice = { source: "the standard AWS chain (AWS_REGION, the profile)" };
    if ("absent" in (await pulumiVersion(run))) {
        return fromChain;
    }
    const args = [
        "config",
        "get",
        "aws:region",
        ...(flags.stack === undefined ? [] : ["--stack", flags.stack]),
    ];
    try {
        const result = await run("pulumi", args, STACK_OUTPUT_TIMEOUT_MS);
        const region = result.stdout.trim();
        return result.exitCode === 0 && region !== ""
            ? { region, source: "the stack's aws:region" }
            : fromChain;
    } catch {
        return fromChain;
    }
}

/**
 * The header's Region line: the Region the clients resolved (the chain's, when neither --region
 * nor the stack chose one), or, with none, where to give it.
 */
export function regionHeader(choice: RegionChoice, resolved: string | undefined): string {
    return resolved === undefined
        ? `Region: none, neither from --region nor from ${choice.source}: pass --region <region>`
        : `Region: ${resolved}, from ${choice.source}`;
}
