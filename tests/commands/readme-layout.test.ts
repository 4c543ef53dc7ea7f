/**
 * The Layout section of docs/architecture.md against the tree: every folder and file it names exists where it
 * says, and every tracked top-level folder, component folder and test tier is named there.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Tokens } from "marked";
import { pageSection } from "../support/readme";
import { ROOT } from "../support/processes";

/** A line of the layout block: a path at the margin or indented under the folder above it. */
interface LayoutEntry {
    readonly path: string;
    /** The `*.ts` files its description names, which must be in it. */
    readonly files: string[];
    readonly description: string;
}

function layoutEntries(): LayoutEntry[] {
    const blocks = pageSection("docs/architecture.md", "Layout").filter(
        (t): t is Tokens.Code => t.type === "code",
    );
    assert.equal(blocks.length, 1, "one layout block");
    const entries: { path: string; description: string }[] = [];
    let parent = "";
    for (const line of blocks[0].text.split("\n")) {
        const named = /^( {0,2})(\S.*?)(?: {2,}(.*))?$/.exec(line);
        if (line.startsWith("    ") || named === null) {
            entries[entries.length - 1].description += ` ${line.trim()}`;
            continue;
        }
        const [, indent, name, description = ""] = named;
        for (const part of name.split(", ")) {
            const full = indent === "" ? part : `${parent}${part}`;
            entries.push({ path: full, description });
        }
        if (indent === "") {
            parent = name;
        }
    }
    return entries.map(({ path: p, description }) => ({
        path: p,
        files: p.endsWith("/") ? (description.match(/[a-z-]+\.ts\b/g) ?? []) : [],
        description,
    }));
}

function trackedFiles(): string[] {
    return execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" })
        .split("\n")
        .filter((f) => f !== "" && fs.existsSync(path.join(ROOT, f)));
}

function subfolders(folder: string): string[] {
    return fs
        .readdirSync(path.join(ROOT, folder), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => `${folder}${d.name}/`)
        .sort();
}

describe("the Layout section of docs/architecture.md", () => {
    const entries = layoutEntries();
    const named = new Set(entries.map((e) => e.path));

    it("names paths that exist, with the files it names inside them", () => {
        for (const entry of entries) {
            assert.ok(fs.existsSync(path.join(ROOT, entry.path)), `${entry.path} exists`);
            for (const file of entry.files) {
                assert.ok(fs.existsSync(path.join(ROOT, entry.path, file)), `${entry.path}${file}`);
            }
        }
    });

    it("names every tracked top-level folder and source file", () => {
        const topLevel = new Set(
            trackedFiles()
                .filter((f) => !f.startsWith("."))
                .map((f) => (f.includes("/") ? `${f.split("/")[0]}/` : f))
                .filter((f) => f.endsWith("/") || f.endsWith(".ts")),
        );
        for (const entry of topLevel) {
            assert.ok(
                [...named].some((p) => p === entry || p.startsWith(entry)),
                `the layout names ${entry}`,
            );
        }
    });

    it("gives each component a folder, with only the library's entry beside them", () => {
        const files = fs
            .readdirSync(path.join(ROOT, "components"), { withFileTypes: true })
            .filter((d) => d.isFile())
            .map((d) => d.name);
        assert.deepEqual(files, ["index.ts"]);
        for (const folder of subfolders("components/")) {
            assert.ok(named.has(folder), `the layout names ${folder}`);
        }
    });

    it("keeps every test in a tier the layout names", () => {
        const tiers = ["tests/unit/", "tests/emulator/", "tests/commands/"];
        const tests = entries.find((e) => e.path === "tests/");
        assert.ok(tests, "the layout names tests/");
        for (const tier of tiers) {
            assert.ok(tests.description.includes(tier.slice("tests/".length)), `it names ${tier}`);
            assert.ok(fs.existsSync(path.join(ROOT, tier)), `${tier} exists`);
        }
        const stray = trackedFiles().filter(
            (f) => f.endsWith(".test.ts") && !tiers.some((tier) => f.startsWith(tier)),
        );
        assert.deepEqual(stray, [], "tests outside tests/unit, tests/emulator, tests/commands");
    });
});
