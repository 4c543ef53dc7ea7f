/** The README, parsed as GitHub renders it, for the tests that hold it to the code. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { marked, type Token, type Tokens } from "marked";

export const README = fs.readFileSync(path.resolve(__dirname, "..", "..", "README.md"), "utf8");

/** The tokens of the README section under `heading`, up to the next heading of its level. */
export function readmeSection(heading: string): Token[] {
    const tokens = marked.lexer(README);
    const start = tokens.findIndex((t) => t.type === "heading" && t.text === heading);
    assert.ok(start >= 0, `the README has a "${heading}" section`);
    const depth = (tokens[start] as Tokens.Heading).depth;
    const end = tokens.findIndex(
        (t, i) => i > start && t.type === "heading" && (t as Tokens.Heading).depth <= depth,
    );
    return tokens.slice(start + 1, end < 0 ? undefined : end);
}

/** The config table: key → { type, default }, parsed as GitHub-flavoured Markdown renders it. */
export function readmeConfigTable(): Map<string, { type: string; default: string }> {
    const tables = readmeSection("Stack configuration").filter((t) => t.type === "table");
    assert.equal(tables.length, 1, "one table, unbroken");
    const table = tables[0] as Tokens.Table;
    assert.deepEqual(
        table.header.map((h) => h.text),
        ["key", "type", "default"],
    );
    return new Map(
        table.rows.map((row) => [
            row[0].text.replace(/`/g, ""),
            { type: row[1].text, default: row[2].text.replace(/`/g, "") },
        ]),
    );
}

/** The ```sh blocks of a section, as text. */
export function shellBlocks(heading: string): string[] {
    return readmeSection(heading)
        .filter((t): t is Tokens.Code => t.type === "code" && t.lang === "sh")
        .map((t) => t.text);
}

/** The `pulumi config set` lines of a shell block, exactly as written. */
export function configSetLines(block: string): string[] {
    return block.split("\n").filter((line) => line.startsWith("pulumi config set "));
}
