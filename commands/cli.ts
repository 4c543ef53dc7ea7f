/** What every command here shares, so that all read flags, help and failures alike. */
import { parseArgs } from "node:util";
import { wrap } from "./terminal";

/** A flag that takes no value, e.g. `--json`. */
interface SwitchFlag {
    readonly choices?: undefined;
    readonly value?: undefined;
    readonly description: string;
}

/** A flag that takes one of a fixed set of values, e.g. `--delivery queue|direct`. */
interface ChoiceFlag<Choice extends string = string> extends Omit<SwitchFlag, "choices"> {
    readonly choices: readonly Choice[];
    /** What happens without the flag, for --help. */
    readonly defaultText: string;
}

/** A flag that takes one free value, e.g. `--instance ID`. */
interface ValueFlag extends Omit<ChoiceFlag, "choices" | "value"> {
    readonly choices?: undefined;
    /** The value's name in --help, e.g. "ID". */
    readonly value: string;
    /** What is wrong with a value, or undefined when it is fine. */
    readonly check?: (value: string) => string | undefined;
}

export type FlagSpec = ChoiceFlag | ValueFlag | SwitchFlag;

export type FlagValues<Flags extends Record<string, FlagSpec>> = {
    -readonly [Name in keyof Flags]: Flags[Name] extends ChoiceFlag<infer Choice>
        ? Choice | undefined
        : Flags[Name] extends ValueFlag
          ? string | undefined
          : boolean;
};

export interface CommandLine<Flags extends Record<string, FlagSpec>> {
    /** How a person runs it, e.g. "npm start --". */
    readonly command: string;
    /** What it does, a paragraph for --help. */
    readonly summary: string;
    readonly flags: Flags;
    /** Lines after the flags in --help, e.g. exit statuses. */
    readonly epilogue?: readonly string[];
}

/** A bad flag or value: the message names the flag and what is allowed. */
export class UsageError extends Error {
    override readonly name = "UsageError";
}

const takesValue = (flag: FlagSpec): flag is ChoiceFlag | ValueFlag =>
    flag.choices !== undefined || flag.value !== undefined;

/** `argv` read against `cli.flags` and -h/--help, or "help"; anything else is a UsageError. */
export function parseFlags<Flags extends Record<string, FlagSpec>>(
    cli: CommandLine<Flags>,
    argv: readonly string[],
): FlagValues<Flags> | "help" {
    const flags = new Map(Object.entries<FlagSpec>(cli.flags));
    const valued = [...flags].filter(([, flag]) => takesValue(flag));
    const { tokens } = parseArgs({
        args: [...argv],
        // Switches need no declaring: an undeclared option parses as one.
        options: {
            ...Object.fromEntries(valued.map(([name]) => [name, { type: "string" as const }])),
            help: { type: "boolean", short: "h" },
        },
        // Strict parsing's own messages name neither the allowed flags nor their values.
        strict: false,
        allowPositionals: true,
        tokens: true,
    });
    const list = [...[...flags].map(([name, flag]) => flagSyntax(name, flag)), "--help"].join(", ");
    const values: Record<string, string | boolean | undefined> = Object.fromEntries(
        [...flags].map(([name, flag]) => [name, takesValue(flag) ? undefined : false]),
    );
    for (const token of tokens) {
        if (token.kind === "positional") {
            const npm = cli.command.endsWith(" --");
            throw new UsageError(
                `unexpected argument "${token.value}"; the flags are ${list}` +
                    (npm ? `, and they go after npm's "--", e.g. ${cli.command} --help` : ""),
            );
        }
        if (token.kind === "option" && token.name !== "help") {
            const flag = flags.get(token.name);
            if (flag === undefined) {
                throw new UsageError(`unknown flag ${token.rawName}; the flags are ${list}`);
            }
            if (values[token.name] !== (takesValue(flag) ? undefined : false)) {
                throw new UsageError(`--${token.name} is given twice; give it once`);
            }
            values[token.name] = flagValue(token.name, token.value, flag);
        }
    }
    const help = tokens.some((t) => t.kind === "option" && t.name === "help");
    return help ? "help" : (values as FlagValues<Flags>);
}

/** The flag's value, refused when missing, unexpected, not a choice or failing its check. */
function flagValue(name: string, value: string | undefined, flag: FlagSpec): string | true {
    if (!takesValue(flag)) {
        if (value !== undefined) {
            throw new UsageError(`--${name} takes no value; write just --${name}`);
        }
        return true;
    }
    const allowed =
        flag.choices === undefined
            ? `: --${name} ${flag.value}`
            : `; use ${flag.choices.map((choice) => `--${name} ${choice}`).join(" or ")}`;
    if (value === undefined || value === "" || value.startsWith("-")) {
        throw new UsageError(`--${name} needs a value${allowed}`);
    }
    const problem =
        flag.choices === undefined
            ? flag.check?.(value)
            : flag.choices.includes(value)
              ? undefined
              : `is not allowed${allowed}`;
    if (problem !== undefined) {
        throw new UsageError(`--${name} "${value}" ${problem}`);
    }
    return value;
}

/** Inclusive bounds for a number a flag takes. */
export interface NumberRange {
    readonly min: number;
    readonly max: number;
}

/** Flag `name`'s text as a whole number within `range`, else a UsageError naming the flag. */
export function wholeNumber(name: string, text: string, range: NumberRange): number {
    return wholeNumbers(name, text, range, false)[0];
}

/** Flag `name`'s comma-separated whole numbers (one unless `list`); an error quotes the whole text. */
export function wholeNumbers(name: string, text: string, { min, max }: NumberRange, list = true) {
    const items = list ? text.split(",") : [text];
    if (!items.every((item) => /^\d+$/.test(item) && Number(item) >= min && Number(item) <= max)) {
        const what = list ? "comma-separated whole numbers" : "a whole number";
        throw new UsageError(`--${name} takes ${what} from ${min} to ${max}; not "${text}"`);
    }
    return items.map(Number);
}

/** Flag `name`'s comma-separated choices in `allowed`'s order, each once; `defaults` without it. */
export function choiceList<Choice extends string>(
    name: string,
    text: string | undefined,
    allowed: readonly Choice[],
    defaults: readonly Choice[] = allowed,
): Choice[] {
    const picked: readonly string[] = text?.split(",") ?? defaults;
    if (!picked.every((choice) => allowed.some((a) => a === choice))) {
        const several = allowed.length === 2 ? "both" : "several";
        throw new UsageError(
            `--${name} takes ${allowed.join(", ")} or ${several} as ${allowed.join(",")}; not "${text}"`,
        );
    }
    return allowed.filter((choice) => picked.includes(choice));
}

/** Help lines wrap here, so that --help reads well in an 80-column terminal. */
const HELP_WIDTH = 78;

/** The --help text: usage, summary, every flag with its values and default, and the epilogue. */
export function helpText<Flags extends Record<string, FlagSpec>>(cli: CommandLine<Flags>): string {
    const paragraph = (text: string, indentBy = 0) =>
        wrap(text, HELP_WIDTH - indentBy).map((line) => " ".repeat(indentBy) + line);
    const entries = Object.entries<FlagSpec>(cli.flags).map(([name, flag]) => [
        flagSyntax(name, flag),
        takesValue(flag) ? `${flag.description} Default: ${flag.defaultText}.` : flag.description,
    ]);
    return [
        `Usage: ${cli.command} ${entries.map(([syntax]) => `[${syntax}]`).join(" ")}`,
        "",
        ...paragraph(cli.summary),
        "",
        "Flags:",
        ...[...entries, ["-h, --help", "Show this help and exit."]].flatMap(([syntax, text]) => [
            `  ${syntax}`,
            ...paragraph(text, 6),
        ]),
        ...(cli.epilogue === undefined ? [] : ["", ...cli.epilogue.flatMap((l) => paragraph(l))]),
        "",
    ].join("\n");
}

function flagSyntax(name: string, flag: FlagSpec): string {
    const value = flag.choices?.join("|") ?? flag.value;
    return value === undefined ? `--${name}` : `--${name} ${value}`;
}

/** Parses the flags (or prints --help), runs `main`: exit 0 passed, 1 failed or threw, 2 bad flag. */
export function runCli<Options>(
    cli: CommandLine<Record<string, FlagSpec>>,
    parse: (argv: readonly string[]) => Options | "help",
    main: (options: Options) => Promise<boolean>,
): void {
    const command = cli.command.replace(/ --$/, "");
    // A reader that stops early (`| head`) closes the pipe; the run still ends and cleans up.
    process.stdout.on("error", (error: NodeJS.ErrnoException) => {
        if (error.code !== "EPIPE") throw error;
    });
    const run = async () => {
        const options = parse(process.argv.slice(2));
        if (options === "help") {
            process.stdout.write(helpText(cli));
            return true;
        }
        return main(options);
    };
    run().then(
        (succeeded) => void (process.exitCode = succeeded ? 0 : 1),
        (error: unknown) => {
            const message = error instanceof Error ? error.message : String(error);
            const usage = error instanceof UsageError;
            process.stderr.write(`${command}${usage ? ":" : " failed:"} ${message}\n`);
            // 2 for a bad flag or value, as getopt-style tools exit.
            process.exitCode = usage ? 2 : 1;
        },
    );
}
