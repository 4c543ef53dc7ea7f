/**
 * Flags that take a free value (`--function NAME`), on top of cli.ts: cli.ts knows switches and
 * fixed choices only. Parsing refuses what cli.ts refuses, with its messages, and --help is
 * cli.ts's own, the value's name standing where a choice list would.
 */
import { parseArgs } from "node:util";
import { type ChoiceFlag, type CommandLine, helpText, type SwitchFlag, UsageError } from "../cli";

/** A flag that takes one free value, e.g. `--instance ID`. */
export interface ValueFlag {
    /** The value's name in --help, e.g. "ID". */
    readonly value: string;
    readonly description: string;
    /** What happens without the flag, for --help. */
    readonly defaultText: string;
    /** What is wrong with a value, or undefined when it is fine. */
    readonly check?: (value: string) => string | undefined;
}

export type ValueOrSwitchFlag = ValueFlag | SwitchFlag;

export interface ValueCommandLine<Flags extends Record<string, ValueOrSwitchFlag>> {
    readonly command: string;
    readonly summary: string;
    readonly flags: Flags;
    readonly epilogue?: readonly string[];
}

export type ValueFlagValues<Flags extends Record<string, ValueOrSwitchFlag>> = {
    -readonly [Name in keyof Flags]: Flags[Name] extends ValueFlag ? string | undefined : boolean;
};

function isValueFlag(flag: ValueOrSwitchFlag): flag is ValueFlag {
    return "value" in flag;
}

/** Parses `argv` against the flags (plus -h/--help); "help" when help was asked for. */
export function parseValueFlags<Flags extends Record<string, ValueOrSwitchFlag>>(
    cli: ValueCommandLine<Flags>,
    argv: readonly string[],
): ValueFlagValues<Flags> | "help" {
    const flags: Record<string, ValueOrSwitchFlag> = cli.flags;
    const { tokens } = parseArgs({
        args: [...argv],
        options: {
            ...Object.fromEntries(
                Object.entries(flags).map(([name, flag]) => [
                    name,
                    { type: isValueFlag(flag) ? ("string" as const) : ("boolean" as const) },
                ]),
            ),
            help: { type: "boolean", short: "h" },
        },
        // Strict parsing's own messages name neither the flags nor their values.
        strict: false,
        allowPositionals: true,
        tokens: true,
    });
    const values: Record<string, string | boolean | undefined> = Object.fromEntries(
        Object.entries(flags).map(([name, flag]) => [name, isValueFlag(flag) ? undefined : false]),
    );
    const seen = new Set<string>();
    let help = false;
    for (const token of tokens) {
        if (token.kind === "positional") {
            throw new UsageError(
                `unexpected argument "${token.value}"; the flags are ${flagList(flags)}` +
                    (cli.command.endsWith(" --")
                        ? `, and they go after npm's "--", e.g. ${cli.command} --help`
                        : ""),
            );
        }
        if (token.kind === "option-terminator") {
            continue;
        }
        if (token.name === "help") {
            help = true;
            continue;
        }
        const flag = flags[token.name];
        if (flag === undefined) {
            throw new UsageError(`unknown flag ${token.rawName}; the flags are ${flagList(flags)}`);
        }
        if (seen.has(token.name)) {
            throw new UsageError(`--${token.name} is given twice; give it once`);
        }
        seen.add(token.name);
        if (!isValueFlag(flag)) {
            if (token.value !== undefined) {
                throw new UsageError(`--${token.name} takes no value; write just --${token.name}`);
            }
            values[token.name] = true;
            continue;
        }
        if (token.value === undefined || token.value === "" || token.value.startsWith("-")) {
            throw new UsageError(`--${token.name} needs a value: --${token.name} ${flag.value}`);
        }
        const problem = flag.check?.(token.value);
        if (problem !== undefined) {
            throw new UsageError(`--${token.name} "${token.value}" ${problem}`);
        }
        values[token.name] = token.value;
    }
    return help ? "help" : (values as ValueFlagValues<Flags>);
}

/** cli.ts's --help, with each value flag shown as `--name VALUE`. */
export function valueFlagsHelpText<Flags extends Record<string, ValueOrSwitchFlag>>(
    cli: ValueCommandLine<Flags>,
): string {
    const flags: Record<string, ChoiceFlag | SwitchFlag> = Object.fromEntries(
        Object.entries(cli.flags).map(([name, flag]) => [
            name,
            isValueFlag(flag)
                ? {
                      choices: [flag.value],
                      description: flag.description,
                      defaultText: flag.defaultText,
                  }
                : flag,
        ]),
    );
    const adapted: CommandLine<Record<string, ChoiceFlag | SwitchFlag>> = { ...cli, flags };
    return helpText(adapted);
}

function flagList(flags: Record<string, ValueOrSwitchFlag>): string {
    return [
        ...Object.entries(flags).map(([name, flag]) =>
            isValueFlag(flag) ? `--${name} ${flag.value}` : `--${name}`,
        ),
        "--help",
    ].join(", ");
}
