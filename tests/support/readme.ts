/** The README and the pages under docs/, parsed as GitHub renders them, for the tests that hold them to the code. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { marked, type Token, type Tokens } from "marked";
import { ROOT } from "./processes";

/** A Markdown file of the repository, by its path from the root. */
export function readPage(page: string): string {
    return fs.readFileSync(path.join(ROOT, page), "utf8");
}

export const README = readPage("README.md");

/** The tokens of `page`'s section under `heading`, up to the next heading of its level. */
export function pageSection(page: string, heading: string): Token[] {
    const tokens = marked.lexer(readPage(page));
    const start = tokens.findIndex((t) => t.type === "heading" && t.text === heading);
    assert.ok(start >= 0, `${page} has a "${heading}" section`);
    const depth = (tokens[start] as Tokens.Heading).depth;
    const end = tokens.findIndex(
        (t, i) => i > start && t.type === "heading" && (t as Tokens.Heading).depth <= depth,
    );
    return tokens.slice(start + 1, end < 0 ? undefined : end);
}

/** The tables of a page's section. */
export function sectionTables(page: string, heading: string): Tokens.Table[] {
    return pageSection(page, heading).filter((t): t is Tokens.Table => t.type === "table");
}

/** The stack config table of docs/arguments.md: key → { type, default }. */
export function readmeConfigTable(): Map<string, { type: string; default: string }> {
    const tables = sectionTables(ARGUMENTS_PAGE, "Stack configuration");
    assert.equal(tables.length, 1, "one table, unbroken");
    const [table] = tables;
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

/** The page that lists every argument and stack config key. */
export const ARGUMENTS_PAGE = "docs/arguments.md";

/** The ```sh blocks of a page's section, as text; the README's by default. */
export function shellBlocks(heading: string, page = "README.md"): string[] {
    return pageSection(page, heading)
        .filter((t): t is Tokens.Code => t.type === "code" && t.lang === "sh")
        .map((t) => t.text);
}

/** The `pulumi config set` lines of a shell block, exactly as written. */
export function configSetLines(block: string): string[] {
    return block.split("\n").filter((line) => line.startsWith("pulumi config set "));
}

/** The lines of `text` outside code blocks that are longer than `max`, as "line N (length)". */
export function longLines(text: string, max: number): string[] {
    let inCode = false;
    return text.split("\n").flatMap((line, index) => {
        inCode = line.startsWith("```") ? !inCode : inCode;
        return !inCode && line.length > max ? [`line ${index + 1} (${line.length})`] : [];
    });
}

/** The relative links of a Markdown text, without their #fragment. */
export function relativeLinks(text: string): string[] {
    return [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)\s]*)?\)/g)]
        .map((m) => m[1])
        .filter((target) => !/^[a-z]+:/.test(target));
}
