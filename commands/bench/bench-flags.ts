/**
 * `npm run bench`'s flags: the storms and paths to run and the queue's settings, each checked
 * before any work, and the help that lists them.
 */
import { parseArgs } from "node:util";
import { QUEUE_DEFAULTS } from "../../components/spot-interruption-handler/args";
import { table } from "../terminal";

export type Path = "queue" | "direct";
export type Mode = "keep" | "decrement";
/** "single": the web group's storms; "many-groups": 10 groups of 100, one storm. */
export type Storm = "single" | "many-groups";
/** How the many-groups storm is handled: one handler by tag, one by list, one per group. */
export type FleetConfig = "tag" | "list" | "per-group";

export const PATHS: readonly Path[] = ["queue", "direct"];
export const MODES: readonly Mode[] = ["keep", "decrement"];
export const STORMS: readonly Storm[] = ["single", "many-groups"];
export const FLEET_CONFIGS: readonly FleetConfig[] = ["tag", "list", "per-group"];
/**
 * What `npm run bench` runs without --storm. The many-groups storm adds about three minutes
 * (its 10 per-group handlers alone about two) to the two minutes of the single-group storms,
 * past the four a default run may take on the 2-core machine, so it runs when asked.
 */
export const DEFAULT_STORMS: readonly Storm[] = ["single"];
export const COMMAND = "npm run bench";

const DEFAULT_SIZES: Record<Mode, number> = { keep: 1000, decrement: 500 };
/** Keep-mode replacements all land in the first /20 subnet (4091 addresses), with a third of the group. */
const MAX_SIZE = 3000;

export interface StormSpec {
    readonly mode: Mode;
    /** Instances of our group, every one warned. */
    readonly size: number;
}

export interface BenchOptions {
    /** The single-group storms; empty when --storm leaves "single" out. */
    readonly storms: StormSpec[];
    /** The many-groups storm's configurations; empty when --storm leaves it out. */
    readonly fleetConfigs: FleetConfig[];
    readonly paths: Path[];
    readonly budget: number;
    readonly batchSize: number;
    readonly window: number;
    readonly concurrency: number;
    readonly json: boolean;
    /** Seconds from the storm's start during which every Auto Scaling request is throttled. */
    readonly outageSeconds: number;
}

const FLAGS: Record<string, readonly [syntax: string, help: string]> = {
    storm: [
        "single|many-groups|single,many-groups",
        `Which storms: single (the web group, --sizes and --mode) or many-groups (10 groups of 100 instances tagged spot-interruption-handler=web, 1000 warnings at once, run by --configs). Default: ${DEFAULT_STORMS.join(",")}.`,
    ],
    configs: [
        "tag,list,per-group",
        "Many-groups storm: its handlers, each from a fresh seed and budget: one handler choosing the groups by tag, one listing them, or one handler per group fed every warning. Default: all three.",
    ],
    sizes: [
        "N[,N...]",
        `Warned instances of the web group per storm, whole numbers 1 to ${MAX_SIZE}; every instance of the group is warned. Default: 1000 in keep mode, 500 in decrement mode.`,
    ],
    mode: [
        "keep|decrement|keep,decrement",
        "Capacity on interruption: keep (the group launches replacements) or decrement (a group whose MinSize is half its size). Default: keep,decrement.",
    ],
    budget: [
        "N",
        "Auto Scaling requests/s the shared token bucket refills (its burst is as many), 1 to 1000; beyond it, Throttling as AWS answers. Default: 10.",
    ],
    "batch-size": [
        "N",
        `Queue: most records per invocation, 1 to 10000. Default: the component's, ${QUEUE_DEFAULTS.batchSize}.`,
    ],
    window: [
        "S",
        `Queue: batching window in seconds, 0 to 300; at least 1 when --batch-size is over 10. Default: the component's, ${QUEUE_DEFAULTS.maximumBatchingWindowInSeconds}.`,
    ],
    concurrency: [
        "N",
        `Queue: maximum concurrent invocations, 2 to 1000. Default: the component's, ${QUEUE_DEFAULTS.maximumConcurrency}.`,
    ],
    paths: ["queue|direct|queue,direct", "Delivery paths to run side by side. Default: both."],
    outage: [
        "S",
        "Single-group storm: an Auto Scaling outage, every request answered Throttling for the first S seconds of each path, 0 to 300; then the budget applies again. Default: 0.",
    ],
    json: ["", "Print JSON on stdout instead of tables; progress stays on stderr."],
    help: ["", "Show this help and exit."],
};
const syntax = (name: string): string => `--${name} ${FLAGS[name]?.[0] ?? ""}`.trim();

export function helpText(): string {
    return [
        `Usage: ${COMMAND} -- [flags]`,
        "",
        "Interruption storms against the emulator behind an Auto Scaling budget. A single-group",
        "storm goes through the queued and the direct path, side by side; it warns every instance",
        "of the web group, every tenth of them twice, and every instance of the neighbouring batch",
        "group. The many-groups storm warns 10 groups of 100 the same way, plus a neighbour group",
        "tagged spot-interruption-handler=other and junk events, through the queued path only:",
        "one handler by tag, one by list, and 10 per-group handlers, side by side. It adds about",
        "three minutes, so it runs only when asked: --storm many-groups, or --storm single,many-groups.",
        "",
        table(
            ["FLAG", "WHAT IT DOES"],
            Object.entries(FLAGS).flatMap(([name, [, help]]) =>
                wrap(help, 64).map((line, i) => [i === 0 ? syntax(name) : "", line]),
            ),
            2,
        ),
        "",
        "Goals (queued path, at 10 requests/s): last warned instance out of the group in under 20 s,",
        "at most 0.15 Auto Scaling calls per instance, nothing dead-lettered, the neighbour group",
        "untouched, and in decrement mode desired capacity exactly MinSize. Many-groups storm, for",
        "the tag and the list handler: last instance out in under 15 s, at most 0.08 calls (served",
        "and throttled) per instance, none left, nothing dead-lettered, the neighbour untouched.",
        "The 1000-instance keep storm's calls per instance are also shown against a target of 0.07.",
        "Exit status: 0 when every judged goal is met, 1 when one is missed, 2 for a bad flag.",
        "",
    ].join("\n");
}

/** Splits `text` into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string[] {
    const lines = [""];
    for (const word of text.split(" ")) {
        const last = lines[lines.length - 1];
        if (last !== "" && last.length + 1 + word.length > width) {
            lines.push(word);
        } else {
            lines[lines.length - 1] = last === "" ? word : `${last} ${word}`;
        }
    }
    return lines;
}

/** A bad flag or value; the message names the flag and what it allows. */
export class UsageError extends Error {}

/** Every flag is checked here, before any work; "help" when --help was asked for. */
export function parseFlags(argv: readonly string[]): BenchOptions | "help" {
    let values: Record<string, string | boolean | undefined>;
    let tokens: { kind: string; name?: string }[];
    try {
        ({ values, tokens } = parseArgs({
            args: [...argv],
            options: Object.fromEntries(
                Object.entries(FLAGS).map(([name, [value]]) => [
                    name,
                    {
                        type: value === "" ? ("boolean" as const) : ("string" as const),
                        ...(name === "help" ? { short: "h" } : {}),
                    },
                ]),
            ),
            strict: true,
            allowPositionals: false,
            tokens: true,
        }));
    } catch (error) {
        throw new UsageError(readableParseError(error));
    }
    const given = tokens.flatMap((token) => (token.kind === "option" ? [token.name] : []));
    const twice = given.find((name, i) => given.indexOf(name) !== i);
    if (twice !== undefined) {
        throw new UsageError(`--${twice} is given twice; give it once`);
    }
    if (values.help === true) {
        return "help";
    }
    const text = (flag: string): string | undefined => values[flag] as string | undefined;
    const storms = choices("storm", text("storm"), STORMS, DEFAULT_STORMS);
    // A flag for a storm that does not run would be silently ignored: refuse it instead.
    for (const [flag, storm] of [
        ["sizes", "single"],
        ["mode", "single"],
        ["paths", "single"],
        ["configs", "many-groups"],
    ] as const) {
        if (text(flag) !== undefined && !storms.includes(storm)) {
            throw new UsageError(
                `--${flag} applies to the ${storm} storm, which ${text("storm") === undefined ? `the default --storm ${DEFAULT_STORMS.join(",")}` : `--storm ${text("storm")}`} leaves out; drop --${flag} or add ${storm} to --storm`,
            );
        }
    }
    const sizes = text("sizes")
        ?.split(",")
        .map((size) => whole("sizes", size, 1, MAX_SIZE, text("sizes")));
    const batchSize = whole(
        "batch-size",
        text("batch-size") ?? String(QUEUE_DEFAULTS.batchSize),
        1,
        10_000,
    );
    const window = whole(
        "window",
        text("window") ?? String(QUEUE_DEFAULTS.maximumBatchingWindowInSeconds),
        0,
        300,
    );
    if (batchSize > 10 && window < 1) {
        throw new UsageError(
            `--window must be at least 1 with a --batch-size over 10 (Lambda's rule), not ${window}; use --window 1 or --batch-size 10`,
        );
    }
    const budget = text("budget") ?? "10";
    if (!/^\d+(\.\d+)?$/.test(budget) || Number(budget) < 1 || Number(budget) > 1000) {
        throw new UsageError(
            `--budget takes requests per second, a number from 1 to 1000 (e.g. --budget 10); not "${budget}"`,
        );
    }
    return {
        storms: storms.includes("single")
            ? choices("mode", text("mode"), MODES).flatMap((mode) =>
                  (sizes ?? [DEFAULT_SIZES[mode]]).map((size) => ({ mode, size })),
              )
            : [],
        fleetConfigs: storms.includes("many-groups")
            ? choices("configs", text("configs"), FLEET_CONFIGS)
            : [],
        paths: choices("paths", text("paths"), PATHS),
        budget: Number(budget),
        batchSize,
        window,
        concurrency: whole(
            "concurrency",
            text("concurrency") ?? String(QUEUE_DEFAULTS.maximumConcurrency),
            2,
            1000,
        ),
        json: values.json === true,
        outageSeconds: whole("outage", text("outage") ?? "0", 0, 300),
    };
}

function whole(flag: string, value: string, min: number, max: number, all = value): number {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
        const what = flag === "sizes" ? "comma-separated whole numbers" : "a whole number";
        throw new UsageError(`--${flag} takes ${what} from ${min} to ${max}; not "${all}"`);
    }
    return Number(value);
}

function choices<T extends string>(
    flag: string,
    value: string | undefined,
    allowed: readonly T[],
    defaults: readonly T[] = allowed,
): T[] {
    const picked = value?.split(",") ?? defaults;
    if (picked.some((v) => !allowed.includes(v as T))) {
        const several = allowed.length === 2 ? "both" : "several";
        throw new UsageError(
            `--${flag} takes ${allowed.join(", ")} or ${several} as ${allowed.join(",")}; not "${value}"`,
        );
    }
    return allowed.filter((a) => picked.includes(a));
}

/** node:util parseArgs's messages, reworded to name the flag and its values. */
function readableParseError(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
    const flag = quoted.split(/[ =]/)[0];
    const all = `the flags are ${Object.keys(FLAGS)
        .map((name) => `--${name}`)
        .join(", ")}`;
    switch ((error as { code?: string }).code) {
        case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
            return `unknown flag ${flag}; ${all} (see ${COMMAND} -- --help)`;
        case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
            return `unexpected argument "${quoted}"; ${all}, each with its value`;
        case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
            return /does not take an argument/.test(message)
                ? `${flag} takes no value; write just ${flag}`
                : `${flag} needs a value: ${syntax(flag.replace(/^-+/, ""))}`;
        default:
            return message;
    }
}
