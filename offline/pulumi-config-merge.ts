/** The Pulumi CLI's config checks that mocks skip (`pulumi config set`, Pulumi.yaml's validation, its merge), after pulumi/pulumi. */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

/** A config value as the CLI stores it: plain text, or a structured ("object") value. */
export type StackConfigValue =
    | { readonly kind: "text"; readonly text: string }
    | { readonly kind: "object"; readonly value: unknown };

/** A stack's config, by full key (`project:key`, `aws:region`). */
export type StackConfig = Map<string, StackConfigValue>;

export type ProjectConfigItems = { readonly type: string; readonly items?: ProjectConfigItems };

/** One entry of Pulumi.yaml's `config` block. */
export interface ProjectConfigType extends Partial<ProjectConfigItems> {
    readonly description?: string;
    readonly default?: unknown;
    readonly value?: unknown;
    readonly secret?: boolean;
}

export interface Project {
    readonly name: string;
    readonly config: Readonly<Record<string, ProjectConfigType>>;
}

/** Reads Pulumi.yaml's name and config block, and validates it as `Project.Validate` does. */
export function readProject(file: string): Project {
    const document = parseYaml(fs.readFileSync(file, "utf8")) as {
        name?: unknown;
        config?: Record<string, ProjectConfigType>;
    };
    if (typeof document.name !== "string" || document.name === "") {
        throw new Error("project is missing a 'name' attribute");
    }
    const project: Project = { name: document.name, config: document.config ?? {} };
    validateProject(project);
    return project;
}

/** `Project.Validate`: what the CLI refuses in Pulumi.yaml itself, before reading any stack. */
export function validateProject(project: Project): void {
    for (const [key, declared] of Object.entries(project.config)) {
        if (declared.default !== undefined && declared.value !== undefined) {
            throw new Error(
                `project config '${key}' cannot have both a 'default' and 'value' attribute`,
            );
        }
        if (isProjectKey(project.name, key)) {
            if (declared.type === "array" && declared.items === undefined) {
                throw new Error(
                    `The configuration key '${key}' declares an array but does not specify the underlying type via the 'items' attribute`,
                );
            }
            if (
                declared.type !== undefined &&
                declared.default !== undefined &&
                !matchesType(declared.type, declared.items, declared.default)
            ) {
                throw new Error(
                    `The default value specified for configuration key '${key}' is not of the expected type '${fullTypeName(declared.type, declared.items)}'`,
                );
            }
        } else if (declared.type !== undefined) {
            throw new Error(
                `Configuration key '${key}' is not namespaced by the project and should not define a type`,
            );
        }
    }
}

/** Reads a stack file (Pulumi.<stack>.yaml): YAML scalars as text, lists and maps as objects. */
export function readStackFile(file: string): StackConfig {
    const document = parseYaml(fs.readFileSync(file, "utf8")) as {
        config?: Record<string, unknown>;
    } | null;
    return new Map(
        Object.entries(document?.config ?? {}).map(([key, value]) => [
            key,
            typeof value === "object" && value !== null
                ? { kind: "object", value }
                : { kind: "text", text: String(value) },
        ]),
    );
}

/** One `pulumi config set [--path]` line, stored as the CLI does (`Value.coerceObject` inside a path). */
export function applyConfigSet(stack: StackConfig, projectName: string, line: string): void {
    const words = (line.replace(/#.*$/, "").match(/'[^']*'|"[^"]*"|\S+/g) ?? []).map((word) =>
        /^(['"]).*\1$/.test(word) ? word.slice(1, -1) : word,
    );
    if (words[0] !== "pulumi" || words[1] !== "config" || words[2] !== "set") {
        throw new Error(`not a \`pulumi config set\` line: ${line}`);
    }
    const rest = words.slice(3);
    const usePath = rest[0] === "--path";
    const [keyPath, value, ...extra] = usePath ? rest.slice(1) : rest;
    if (keyPath === undefined || value === undefined || extra.length > 0) {
        throw new Error(`expected a key and a value: ${line}`);
    }
    const segments = usePath ? parsePath(keyPath) : [keyPath];
    const [root, ...inner] = segments;
    if (typeof root !== "string") {
        throw new Error(`a config path starts with a key, not an index: ${keyPath}`);
    }
    const key = fullKey(projectName, root);
    if (inner.length === 0) {
        stack.set(key, { kind: "text", text: value });
        return;
    }
    // The stored object is the path's first level; missing, it is made as any level below it.
    const existing = stack.get(key);
    const top = {
        [root]: existing?.kind === "object" ? structuredClone(existing.value) : undefined,
    };
    setAtPath(top, segments, coerce(value));
    stack.set(key, { kind: "object", value: top[root] });
}

function parsePath(keyPath: string): (string | number)[] {
    return [...keyPath.matchAll(/([^.[\]]+)|\[(\d+)\]|\["([^"]+)"\]/g)].map((match) =>
        match[2] !== undefined ? Number(match[2]) : (match[3] ?? match[1]),
    );
}

function setAtPath(container: unknown, path: (string | number)[], value: unknown): void {
    let node = container as Record<string | number, unknown>;
    for (const [index, segment] of path.entries()) {
        if (index === path.length - 1) {
            node[segment] = value;
            return;
        }
        node[segment] ??= typeof path[index + 1] === "number" ? [] : {};
        node = node[segment] as Record<string | number, unknown>;
    }
}

function coerce(text: string): unknown {
    if (text === "true" || text === "false") {
        return text === "true";
    }
    return /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : text;
}

/** The CLI's error when stack config fails the project's rules. */
export class StackConfigMergeError extends Error {
    override name = "StackConfigMergeError";
}

/** `mergeConfig` as `pulumi up` runs it: all missing keys in one message, then each type; defaults written in. */
export function mergeConfig(stackName: string, project: Project, stack: StackConfig): StackConfig {
    const merged: StackConfig = new Map(stack);
    const missing: string[] = [];
    for (const key of Object.keys(project.config).sort()) {
        const { default: byDefault, value } = project.config[key];
        const given = byDefault !== undefined ? byDefault : value;
        // `createConfigValue`: strings, integers and booleans are written as text, the rest as objects.
        const text = ["string", "number", "boolean"].includes(typeof given);
        if (merged.has(fullKey(project.name, key))) {
            continue;
        } else if (given !== undefined) {
            const stored: StackConfigValue = text
                ? { kind: "text", text: String(given) }
                : { kind: "object", value: given };
            merged.set(fullKey(project.name, key), stored);
        } else if (isProjectKey(project.name, key)) {
            // Required whatever its type: only project keys, since a provider has defaults of its own.
            missing.push(key);
        }
    }
    if (missing.length > 0) {
        // `formatMissingKeys`: 'a', 'b' and 'c', sorted (British English has no serial comma).
        const keys = new Intl.ListFormat("en-GB").format(missing.sort().map((key) => `'${key}'`));
        throw new StackConfigMergeError(
            `Stack '${stackName}' is missing configuration ${missing.length > 1 ? "values" : "value"} ${keys}`,
        );
    }
    for (const key of Object.keys(project.config).sort()) {
        const declared = project.config[key];
        const stored = merged.get(fullKey(project.name, key));
        if (declared.type === undefined || stored === undefined) {
            continue;
        }
        const content = stored.kind === "text" ? stored.text : stored.value;
        if (!matchesType(declared.type, declared.items, content)) {
            throw new StackConfigMergeError(
                `Stack '${stackName}' with configuration key '${key}' must be of type '${fullTypeName(declared.type, declared.items)}'`,
            );
        }
    }
    return merged;
}

/** What the program receives: text as is, objects as JSON (the `PULUMI_CONFIG` the CLI passes). */
export function programConfig(config: StackConfig): Record<string, string> {
    return Object.fromEntries(
        [...config].map(([key, stored]) => [
            key,
            stored.kind === "text" ? stored.text : JSON.stringify(stored.value),
        ]),
    );
}

/** A key as the CLI stores it: without a namespace it belongs to the project. */
export function fullKey(projectName: string, key: string): string {
    return key.includes(":") ? key : `${projectName}:${key}`;
}

function isProjectKey(projectName: string, key: string): boolean {
    return !key.includes(":") || key.startsWith(`${projectName}:`);
}

/** `ValidateConfigValue`: text passes as an integer or boolean when it reads as one. */
function matchesType(type: string, items: ProjectConfigItems | undefined, value: unknown): boolean {
    switch (type) {
        case "string":
            return typeof value === "string";
        case "integer":
            return typeof value === "string"
                ? /^[+-]?\d+$/.test(value)
                : typeof value === "number" && Number.isInteger(value);
        case "boolean":
            return value === "true" || value === "false" || typeof value === "boolean";
        case "object":
            return typeof value === "object" && value !== null && !Array.isArray(value);
        default:
            return (
                Array.isArray(value) &&
                items !== undefined &&
                value.every((item) => matchesType(items.type, items.items, item))
            );
    }
}

function fullTypeName(type: string, items: ProjectConfigItems | undefined): string {
    return items === undefined ? type : `array<${fullTypeName(items.type, items.items)}>`;
}

const PROJECT_FILE = path.resolve(__dirname, "..", "Pulumi.yaml");

/** What the CLI would hand the program for a stack setting these values as text, with this Pulumi.yaml. */
export function mergedProgramConfig(
    values: Readonly<Record<string, string>>,
    stackName = "dev",
): Record<string, string> {
    const project = readProject(PROJECT_FILE);
    const stack: StackConfig = new Map(
        Object.entries(values).map(([key, text]) => [
            fullKey(project.name, key),
            { kind: "text", text },
        ]),
    );
    return programConfig(mergeConfig(stackName, project, stack));
}
