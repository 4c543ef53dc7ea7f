/**
 * `npm run simulate`: proves the deployed Spot interruption handler on your own AWS account.
 * By default it runs the seed workshop's Lambda console test for you (a synchronous invoke with
 * the seed's sample warning) and follows the detach, drain and replacement; `--fis` starts the
 * component's FIS experiment, a real Spot interruption. The steps live in simulate-*.ts; this
 * file reads the flags and prints.
 */
import { type CommandLine, type FlagSpec, helpText, parseFlags, runCli, UsageError } from "../cli";
import { simulateConsoleTest } from "./simulate-console-test";
import {
    chooseRegion,
    findDeployment,
    groupNameProblem,
    regionHeader,
} from "./simulate-deployment";
import { simulateExperiment } from "./simulate-fis";
import { runReported, type SimulationContext } from "./simulate-run";
import { formatStep, formatSummary, reportJson, type SimulationReport } from "./simulate-timeline";
import { colourWanted, createStyle } from "../terminal";
import { clientRegion, createClients, destroyClients } from "./simulate-clients";

const COMMAND = "npm run simulate";

const COMMAND_LINE = {
    command: `${COMMAND} --`,
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
            check: (value) =>
                /^https?:\/\/\S+\/\d{12}\/\S+$/.test(value)
                    ? undefined
                    : "is not an SQS queue URL, e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/spot-queue-1a2b3c4",
        },
        instance: {
            value: "ID",
            description:
                "The instance to send the warning for; it must be InService in the group. Not with --fis.",
            defaultText: "the group's first InService instance",
            check: (value) =>
                /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(value)
                    ? undefined
                    : "is not an EC2 instance id (i- and 8 or 17 hex digits)",
        },
        template: {
            value: "ID",
            description: "With --fis: the FIS experiment template to start.",
            defaultText: "the stack's faultInjectionTemplateId output",
            check: (value) =>
                /^EXT[0-9A-Za-z]+$/.test(value)
                    ? undefined
                    : "is not an experiment template id (EXT and letters or digits)",
        },
        region: {
            value: "REGION",
            description: "The AWS Region the stack is deployed in.",
            defaultText: "the stack's aws:region (pulumi config get), else the standard AWS chain",
            check: (value) =>
                /^[a-z]{2}(-[a-z]+)+-\d+$/.test(value)
                    ? undefined
                    : "is not an AWS Region name, e.g. eu-west-1",
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

async function main(): Promise<boolean> {
    const flags = parseFlags(COMMAND_LINE, process.argv.slice(2));
    if (flags === "help") {
        process.stdout.write(helpText(COMMAND_LINE));
        return true;
    }
    refuseConflicts(flags);
    const style = createStyle(!flags.json && colourWanted(process.stdout));
    const progress = flags.json ? process.stderr : process.stdout;
    const region = await chooseRegion(flags);
    const clients = createClients(region.region === undefined ? {} : { region: region.region });
    const context: SimulationContext = {
        clients,
        onStep: (step) => progress.write(`${formatStep(step, style)}\n`),
    };
    const dryRun = flags["dry-run"];
    const mode = flags.fis ? "fis" : "console-test";
    progress.write(
        `${style.bold(flags.fis ? "Spot interruption on AWS: the component's FIS experiment" : "Spot interruption on AWS: the seed's Lambda console test")}${dryRun ? style.dim(" (dry run)") : ""}\n`,
    );
    // The chain's Region, resolved now: the header shows where the run goes, not "the chain".
    const resolved = region.region ?? (await clientRegion(clients).catch(() => undefined));
    progress.write(style.dim(`${regionHeader(region, resolved)}\n`));
    let report: SimulationReport;
    try {
        const deployment = await findDeployment(flags).catch((error: unknown) => error as Error);
        if (deployment instanceof Error) {
            report = await runReported(mode, dryRun, context, () => Promise.reject(deployment));
        } else if (flags.fis) {
            report = await simulateExperiment({ deployment, dryRun }, context);
        } else {
            report = await simulateConsoleTest(
                { deployment, dryRun, instanceId: flags.instance, terminate: flags.terminate },
                context,
            );
        }
    } finally {
        destroyClients(clients);
    }
    if (flags.json) {
        process.stdout.write(reportJson(report));
    } else {
        process.stdout.write(`${formatSummary(report, style)}\n`);
    }
    return report.outcome !== "failed";
}

function refuseConflicts(flags: {
    fis: boolean;
    instance?: string;
    terminate: boolean;
    queue?: string;
    template?: string;
}): void {
    if (flags.fis && flags.instance !== undefined) {
        throw new UsageError(
            "--instance applies only without --fis: the experiment template selects its instances (COUNT(n) of the group's running Spot instances)",
        );
    }
    if (flags.fis && flags.terminate) {
        throw new UsageError(
            "--terminate applies only without --fis: with --fis, EC2 reclaims the instance itself",
        );
    }
    if (flags.fis && flags.queue !== undefined) {
        throw new UsageError(
            "--queue applies only without --fis: FIS's warning travels the real rule and queue",
        );
    }
    if (!flags.fis && flags.template !== undefined) {
        throw new UsageError("--template applies only with --fis");
    }
}

runCli(COMMAND, main);
