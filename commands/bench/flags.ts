/** `npm run bench`'s flags, each checked before any work, and the help that lists them. */
import * as path from "node:path";
import { QUEUE_DEFAULTS } from "../../components/spot-interruption-handler/args";
import * as cli from "../cli";

export const PATHS = ["queue", "direct"] as const;
export const MODES = ["keep", "decrement"] as const;
/** The web group's storms; 10 groups of 100; the same groups with Capacity Rebalancing, a hook or neither. */
export const STORMS = ["single", "many-groups", "mixed"] as const;
/** The many-groups storm's handlers: one by tag, one by list, one per group. */
export const FLEET_CONFIGS = ["tag", "list", "per-group"] as const;
/** The mixed storm's runs: Capacity Rebalancing acts on the warning, or never (the safety net). */
export const MIXED_CONFIGS = ["reacts", "silent"] as const;
export type Path = (typeof PATHS)[number];
export type Mode = (typeof MODES)[number];
export type Storm = (typeof STORMS)[number];
export type FleetConfig = (typeof FLEET_CONFIGS)[number];
export type MixedConfig = (typeof MIXED_CONFIGS)[number];
/** 10 groups of 100, as the many-groups storm: the same seed, so the figures compare. */
export const MIXED_DEFAULTS = { groups: 10, size: 100 } as const;
/** The many-groups storm's three minutes would take a default run past four on 2 cores: asked for only. */
export const DEFAULT_STORMS: readonly Storm[] = ["single"];
/** Git-ignored (.tmp/), so that a run never rewrites the charts the README embeds. */
export const DEFAULT_CHART_DIRECTORY = path.resolve(__dirname, "..", "..", ".tmp", "bench");

const DEFAULT_SIZES: Record<Mode, number> = { keep: 1000, decrement: 500 };
/** Keep-mode replacements all land in the first /20 subnet (4091 addresses), with a third of the group. */
const MAX_SIZE = 3000;

/** One single-group storm: every one of `size` instances of the web group warned. */
export type StormSpec = { readonly mode: Mode; readonly size: number };
export type BenchOptions = Exclude<ReturnType<typeof parseBenchFlags>, "help">;

export const BENCH_COMMAND_LINE = {
    command: "npm run bench --",
    summary:
        "Interruption storms against the emulator behind an Auto Scaling budget. A single-group storm goes through the queued and the direct path, side by side; it warns every instance of the web group, every tenth of them twice, and every instance of the neighbouring batch group, and draws one chart (SVG) per storm. The many-groups storm warns 10 groups of 100 the same way, plus a neighbour group tagged spot-interruption-handler=other and junk events, through the queued path only: one handler by tag, one by list, and 10 per-group handlers, side by side. It adds about three minutes, so it runs only when asked: --storm many-groups, or --storm single,many-groups. The mixed storm (--storm mixed, about three minutes) warns 10 groups of 100 the same way, 4 with Capacity Rebalancing, 3 with a termination hook and 3 plain, through one handler by tag with interruptionAction auto, and reports per kind of group its calls per instance and time to out of service; a Capacity Rebalancing group hears of each warning too, and acts 2-10 s later, or (--reactions silent) never, so that the handler's safety net acts.",
    flags: {
        storm: {
            value: "single|many-groups|mixed|single,many-groups,mixed",
            description:
                "Which storms: single (the web group, --sizes and --mode), many-groups (10 groups of 100 instances tagged spot-interruption-handler=web, 1000 warnings at once, run by --configs) or mixed (the same groups with Capacity Rebalancing, a termination hook or neither, run by --reactions).",
            defaultText: DEFAULT_STORMS.join(","),
        },
        configs: {
            value: "tag,list,per-group",
            description:
                "Many-groups storm: its handlers, each from a fresh seed and budget: one handler choosing the groups by tag, one listing them, or one handler per group fed every warning.",
            defaultText: "all three",
        },
        reactions: {
            value: "reacts,silent",
            description:
                "Mixed storm: its runs, each from a fresh seed and budget: the Capacity Rebalancing groups act on each warning 2-10 s after it (reacts), or never, so the handler's safety net acts (silent).",
            defaultText: "both",
        },
        "group-size": {
            value: "N",
            description: "Mixed storm: instances in each of its 10 groups, 1 to 200.",
            defaultText: String(MIXED_DEFAULTS.size),
        },
        sizes: {
            value: "N[,N...]",
            description: `Warned instances of the web group per storm, whole numbers 1 to ${MAX_SIZE}; every instance of the group is warned.`,
            defaultText: `${DEFAULT_SIZES.keep} in keep mode, ${DEFAULT_SIZES.decrement} in decrement mode`,
        },
        mode: {
            value: "keep|decrement|keep,decrement",
            description:
                "Capacity on interruption: keep (the group launches replacements) or decrement (a group whose MinSize is half its size).",
            defaultText: "keep,decrement",
        },
        budget: {
            value: "N",
            description:
                "Auto Scaling requests/s the shared token bucket refills (its burst is as many), 1 to 1000; beyond it, Throttling as AWS answers.",
            defaultText: "10",
        },
        "batch-size": {
            value: "N",
            description: "Queue: most records per invocation, 1 to 10000.",
            defaultText: `the component's, ${QUEUE_DEFAULTS.batchSize}`,
        },
        window: {
            value: "S",
            description:
                "Queue: batching window in seconds, 0 to 300; at least 1 when --batch-size is over 10.",
            defaultText: `the component's, ${QUEUE_DEFAULTS.maximumBatchingWindowInSeconds}`,
        },
        concurrency: {
            value: "N",
            description: "Queue: maximum concurrent invocations, 2 to 1000.",
            defaultText: `the component's, ${QUEUE_DEFAULTS.maximumConcurrency}`,
        },
        paths: {
            value: "queue|direct|queue,direct",
            description: "Delivery paths to run side by side.",
            defaultText: "both",
        },
        outage: {
            value: "S",
            description:
                "Single-group storm: an Auto Scaling outage, every request answered Throttling for the first S seconds of each path, 0 to 300; then the budget applies again.",
            defaultText: "0",
        },
        out: {
            value: "DIR",
            description:
                "Single-group storm: the folder its charts (storm-SIZE-MODE.svg) are written to, created if missing; --out docs/bench refreshes the charts the README embeds.",
            defaultText: ".tmp/bench, which git ignores",
        },
        "no-chart": {
            description: "Single-group storm: draw no chart and write no file.",
        },
        json: {
            description: "Print JSON on stdout instead of tables; progress stays on stderr.",
        },
    },
    epilogue: [
        "Goals (queued path, at 10 requests/s): last warned instance out of the group in under 20 s, at most 0.15 Auto Scaling calls per instance, nothing dead-lettered, the neighbour group untouched, and in decrement mode desired capacity exactly MinSize. Many-groups storm, for the tag and the list handler: last instance out in under 15 s, at most 0.08 calls (served and throttled) per instance, none left, nothing dead-lettered, the neighbour untouched. The 1000-instance keep storm's calls per instance are also shown against a target of 0.07. Mixed storm, per kind of group and as a whole: every warned instance out of service within 60 s of its warning, at most 0.08 calls per instance beyond the one TerminateInstanceInAutoScalingGroup each terminated instance needs, nothing dead-lettered, the neighbour untouched.",
        "Exit status: 0 when every judged goal is met, 1 when one is missed, 2 for a bad flag.",
    ],
} satisfies cli.CommandLine<Record<string, cli.FlagSpec>>;

type BenchFlags = cli.FlagValues<typeof BENCH_COMMAND_LINE.flags>;

/** Flags that only one storm reads: given while that storm does not run, they would be ignored. */
const STORM_FLAGS = {
    single: ["sizes", "mode", "paths", "outage", "out", "no-chart"],
    "many-groups": ["configs"],
    mixed: ["reactions", "group-size"],
} as const satisfies Record<Storm, readonly (keyof BenchFlags)[]>;

/** Whole-number flags: their default, and the range they take. */
const WHOLE_NUMBERS = {
    "batch-size": [QUEUE_DEFAULTS.batchSize, 1, 10_000],
    window: [QUEUE_DEFAULTS.maximumBatchingWindowInSeconds, 0, 300],
    concurrency: [QUEUE_DEFAULTS.maximumConcurrency, 2, 1000],
    outage: [0, 0, 300],
    "group-size": [MIXED_DEFAULTS.size, 1, 200],
} as const satisfies Partial<Record<keyof BenchFlags, readonly [number, number, number]>>;

/** Every flag is checked here, before any work; "help" when --help was asked for. */
export function parseBenchFlags(argv: readonly string[]) {
    const flags = cli.parseFlags(BENCH_COMMAND_LINE, argv);
    if (flags === "help") {
        return "help";
    }
    const storms = cli.choiceList("storm", flags.storm, STORMS, DEFAULT_STORMS);
    const chosen =
        flags.storm === undefined
            ? `the default --storm ${DEFAULT_STORMS}`
            : `--storm ${flags.storm}`;
    for (const storm of STORMS.filter((s) => !storms.includes(s))) {
        const flag = STORM_FLAGS[storm].find((f) => flags[f] !== undefined && flags[f] !== false);
        if (flag !== undefined) {
            throw new cli.UsageError(
                `--${flag} applies to the ${storm} storm, which ${chosen} leaves out; drop --${flag} or add ${storm} to --storm`,
            );
        }
    }
    if (flags.out !== undefined && flags["no-chart"]) {
        throw new cli.UsageError(
            "--out names the charts' folder, and --no-chart draws none; drop one",
        );
    }
    const sizes =
        flags.sizes === undefined
            ? undefined
            : cli.wholeNumbers("sizes", flags.sizes, { min: 1, max: MAX_SIZE });
    const whole = (name: keyof typeof WHOLE_NUMBERS) => {
        const [byDefault, min, max] = WHOLE_NUMBERS[name];
        return cli.wholeNumber(name, flags[name] ?? String(byDefault), { min, max });
    };
    const [batchSize, window] = [whole("batch-size"), whole("window")];
    if (batchSize > 10 && window < 1) {
        throw new cli.UsageError(
            `--window must be at least 1 with a --batch-size over 10 (Lambda's rule), not ${window}; use --window 1 or --batch-size 10`,
        );
    }
    const budget = flags.budget ?? "10";
    if (!/^\d+(\.\d+)?$/.test(budget) || Number(budget) < 1 || Number(budget) > 1000) {
        throw new cli.UsageError(
            `--budget takes requests per second, a number from 1 to 1000 (e.g. --budget 10); not "${budget}"`,
        );
    }
    const single = storms.includes("single");
    const modes = single ? cli.choiceList("mode", flags.mode, MODES) : [];
    const out = flags.out === undefined ? DEFAULT_CHART_DIRECTORY : path.resolve(flags.out);
    return {
        /** The single-group storms; empty when --storm leaves "single" out. */
        storms: modes.flatMap((mode) =>
            (sizes ?? [DEFAULT_SIZES[mode]]).map((size): StormSpec => ({ mode, size })),
        ),
        fleetConfigs: storms.includes("many-groups")
            ? cli.choiceList("configs", flags.configs, FLEET_CONFIGS)
            : [],
        mixedConfigs: storms.includes("mixed")
            ? cli.choiceList("reactions", flags.reactions, MIXED_CONFIGS)
            : [],
        /** The mixed storm: instances in each of its groups. */
        groupSize: whole("group-size"),
        paths: cli.choiceList("paths", flags.paths, PATHS),
        budget: Number(budget),
        /** The queued handlers' mapping settings, as the component takes them. */
        queueArgs: {
            batchSize,
            maximumBatchingWindowInSeconds: window,
            maximumConcurrency: whole("concurrency"),
        },
        json: flags.json,
        /** Seconds from the storm's start during which every Auto Scaling request is throttled. */
        outageSeconds: whole("outage"),
        /** Absolute folder for the single-group storms' charts; undefined with --no-chart. */
        chartDirectory: !single || flags["no-chart"] ? undefined : out,
    };
}
