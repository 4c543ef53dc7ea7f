import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const PROJECT = "spot-interruption-handler";
const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/**
 * The project's keys in a stack file such as Pulumi.dev.yaml, as the CLI hands them to the
 * program: scalars as text, lists as JSON. Reads only the shapes our stack files use.
 */
export function readStackFile(file: string): Record<string, string> {
    const lines = fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8").split("\n");
    assert.equal(lines[0], "config:");
    const values: Record<string, string> = {};
    const lists: Record<string, string[]> = {};
    let listKey: string | undefined;
    for (const line of lines.slice(1).filter((l) => l.trim() !== "")) {
        const item = /^ {4}- (\S+)$/.exec(line);
        if (item !== null && listKey !== undefined) {
            lists[listKey].push(item[1]);
            continue;
        }
        const entry = /^ {2}([\w-]+):(\w+):(?: (\S+))?$/.exec(line);
        assert.ok(entry, `a line our reader does not understand: ${JSON.stringify(line)}`);
        const [, namespace, key, value] = entry;
        listKey = undefined;
        if (namespace !== PROJECT) {
            continue;
        }
        if (value === undefined) {
            listKey = key;
            lists[key] = [];
        } else {
            values[key] = value;
        }
    }
    for (const [key, items] of Object.entries(lists)) {
        values[key] = JSON.stringify(items);
    }
    return values;
}

/** Pulumi.yaml's config declarations: key → { type, description }, with arrays as array<item>. */
export function readDeclarations(): Record<string, { type?: string; description?: string }> {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8");
    const block = text.slice(text.indexOf("\nconfig:\n") + "\nconfig:\n".length);
    const declarations: Record<string, { type?: string; description?: string }> = {};
    let current: { type?: string; description?: string } | undefined;
    for (const line of block.split("\n")) {
        const key = /^ {2}(\w+):$/.exec(line);
        if (key !== null) {
            current = {};
            declarations[key[1]] = current;
            continue;
        }
        if (current === undefined) {
            continue;
        }
        const type = /^ {4}type: (\w+)$/.exec(line);
        const itemType = /^ {6}type: (\w+)$/.exec(line);
        const description = /^ {4}description: (.+)$/.exec(line);
        if (type !== null) {
            current.type = type[1];
        } else if (itemType !== null) {
            current.type = `${current.type}<${itemType[1]}>`;
        } else if (description !== null) {
            current.description = description[1];
        }
    }
    return declarations;
}
