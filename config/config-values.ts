/**
 * The stack config's error, and readers that read a key as its Pulumi.yaml type or raise that
 * error with the `pulumi config` command that fixes the key.
 */
import type * as pulumi from "@pulumi/pulumi";
import { type ArgumentRemedy, ComponentArgsError } from "../components/shared/argument-checks";

/**
 * A stack config mistake: the component argument error for the stack program's keys, with the
 * `pulumi config` command that fixes it.
 */
export class StackConfigError extends ComponentArgsError {
    constructor(
        public readonly key: string,
        problem: string,
        public readonly fixCommand: string,
    ) {
        super("Stack config", key, problem);
        this.message = `Stack config "${key}" ${problem}. Fix it with: ${fixCommand}`;
        this.name = "StackConfigError";
    }
}

/** The `pulumi config` command that applies a remedy to a key. */
export function fixCommand(key: string, remedy: ArgumentRemedy): string {
    if (remedy.action === "unset") {
        return remedy.path === undefined
            ? `pulumi config rm ${key}`
            : `pulumi config rm --path '${key}${remedy.path}'`;
    }
    return remedy.path === undefined
        ? `pulumi config set ${key} ${remedy.value}`
        : `pulumi config set --path '${key}${remedy.path}' ${remedy.value}`;
}

/** The key's value when it is one of `choices`, `fallback` when it is unset. */
export function readChoice<T extends string>(
    config: pulumi.Config,
    key: string,
    fallback: T,
    choices: readonly T[],
): T {
    const value = config.get(key) ?? fallback;
    if (!choices.includes(value as T)) {
        throw new StackConfigError(
            key,
            `is "${value}", but must be one of ${choices.join(choices.length === 2 ? " or " : ", ")}`,
            `pulumi config set ${key} ${choices.join("|")}`,
        );
    }
    return value as T;
}

export function readString(
    config: pulumi.Config,
    key: string,
    example: string,
): string | undefined {
    const value = config.get(key);
    if (value === undefined) {
        return undefined;
    }
    if (value.trim() === "") {
        throw new StackConfigError(key, "is empty", `pulumi config set ${key} ${example}`);
    }
    return value.trim();
}

export function readInteger(
    config: pulumi.Config,
    key: string,
    example: string,
): number | undefined {
    const value = readString(config, key, example);
    if (value !== undefined && !/^-?\d+$/.test(value)) {
        throw new StackConfigError(
            key,
            `is "${value}", but must be a whole number`,
            `pulumi config set ${key} ${example}`,
        );
    }
    return value === undefined ? undefined : Number(value);
}

export function readBoolean(config: pulumi.Config, key: string): boolean | undefined {
    const value = config.get(key);
    if (value === undefined) {
        return undefined;
    }
    if (value !== "true" && value !== "false") {
        throw new StackConfigError(
            key,
            `is "${value}", but must be true or false`,
            `pulumi config set ${key} true|false`,
        );
    }
    return value === "true";
}

export function readJson(config: pulumi.Config, key: string): unknown {
    const value = config.get(key);
    if (value === undefined) {
        return undefined;
    }
    try {
        return JSON.parse(value);
    } catch {
        // A plain string: `pulumi config set key value` without --path stores text, not a list.
        return value;
    }
}

export function readStringArray(
    config: pulumi.Config,
    key: string,
    example: string,
): string[] | undefined {
    const value = readJson(config, key);
    if (value === undefined) {
        return undefined;
    }
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
        throw new StackConfigError(
            key,
            `is ${JSON.stringify(value)}, but must be a list of strings (set each item with --path)`,
            `pulumi config set --path '${key}[0]' ${example}`,
        );
    }
    return value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
