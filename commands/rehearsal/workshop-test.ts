/** `npm start`: the workshop's test of the handler, rehearsed offline with no AWS account. */
import { performance } from "node:perf_hooks";
import { DELIVERY_CHOICES } from "../../components/spot-interruption-handler/args";
import { type CommandLine, type FlagSpec, type FlagValues, parseFlags, runCli } from "../cli";
import { startEmulator } from "../../emulator/server";
import { type KindRun, rehearseGroupKinds } from "./group-kinds";
import { checksFor, rehearse } from "./warning";
import { printHuman, SEED_WARNING } from "./printout";
import { colourWanted, createStyle } from "../terminal";
import { WEB_GROUP_NAME } from "../../emulator/workshop";
import { CAPACITY_ON_INTERRUPTION_CHOICES } from "../../contract";

const COMMAND_LINE = {
    command: "npm start --",
    summary:
        "Rehearses the seed workshop's test of the Spot interruption handler on this machine: moto plays AWS on 127.0.0.1, Pulumi mocks plan the handler, and the seed's sample interruption warning travels through it hop by hop. Checks are judged from the emulator's state.",
    flags: {
        capacity: {
            choices: CAPACITY_ON_INTERRUPTION_CHOICES,
            description:
                "What the group does when the instance is detached: keep its desired capacity (a replacement launches) or decrement it.",
            defaultText: "both, keep then decrement, each on a freshly seeded emulator",
        },
        delivery: {
            choices: DELIVERY_CHOICES,
            description:
                "queue: PutEvents → rule → events queue → event source mapping → handler, in batches (the component's default). direct: invoke the handler with the bare event, as the Lambda console's test does.",
            defaultText: "queue",
        },
        json: {
            description:
                "Print one JSON report on stdout instead of the steps; progress stays on stderr. npm prints its own banner on stdout unless silent: npm start -s -- --json.",
        },
    },
    epilogue: [
        "Exit status: 0 when every check passes, 1 when a check fails or the rehearsal cannot run, 2 for a bad flag.",
    ],
} satisfies CommandLine<Record<string, FlagSpec>>;

async function main(flags: FlagValues<typeof COMMAND_LINE.flags>): Promise<boolean> {
    const startedAt = performance.now();
    const delivery = flags.delivery ?? "queue";
    const modes = flags.capacity ? [flags.capacity] : (["keep", "decrement"] as const);
    const style = createStyle(!flags.json && colourWanted(process.stdout));
    const report = (message: string) => process.stderr.write(`${style.dim(message)}\n`);

    report("Starting moto on 127.0.0.1...");
    const emulator = await startEmulator({ onProgress: report });
    const rehearsals: Awaited<ReturnType<typeof rehearse>>[] = [];
    let groupKinds: KindRun[] = [];
    try {
        for (const capacityOnInterruption of modes) {
            rehearsals.push(await rehearse({ capacityOnInterruption, delivery }, emulator, report));
        }
        // The kinds of group are told apart with keep, the mode Capacity Rebalancing needs.
        if (modes.includes("keep")) {
            groupKinds = await rehearseGroupKinds(emulator, WEB_GROUP_NAME, report);
        }
    } finally {
        await emulator.stop();
    }
    const runs = rehearsals.map((rehearsal) => rehearsal.run);
    const { environment } = rehearsals[rehearsals.length - 1];
    const checks = runs.map((run) => ({
        capacityOnInterruption: run.capacityOnInterruption,
        checks: checksFor(run),
    }));
    const passed = [...checks.flatMap((c) => c.checks), ...groupKinds].every((c) => c.passed);
    const elapsedMs = performance.now() - startedAt;
    if (flags.json) {
        const output = { delivery, passed, elapsedMs, environment, runs, checks, groupKinds };
        process.stdout.write(`${JSON.stringify({ ...output, warning: SEED_WARNING }, null, 2)}\n`);
    } else {
        printHuman(environment, runs, groupKinds, style, elapsedMs);
    }
    return passed;
}

runCli(COMMAND_LINE, (argv) => parseFlags(COMMAND_LINE, argv), main);
