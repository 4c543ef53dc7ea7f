/**
 * The test scripts as npm runs them: `npm test` installs the emulator while the static checks and
 * the tests run, and lists its longest files first by name, so that they start at once under
 * --parallel; its globs must still reach every test file exactly once. Expanded with mocha's own
 * file collection, as mocha expands them. And the TypeScript hook that the scripts and mocha load.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { createLambdaHandler } from "../../handler/entry";
import { parseBenchFlags } from "../../commands/bench/flags";
import { ROOT } from "../support/processes";

const scripts = (
    JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
        scripts: Record<string, string>;
    }
).scripts;

interface CollectedFiles {
    files: string[];
    unmatchedFiles: unknown[];
}
// mocha's own expansion of spec arguments (no `exports` map, so the module is reachable).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const collectFiles = require("mocha/lib/cli/collect-files.cjs") as (params: {
    spec: string[];
    extension: string[];
    ignore: string[];
    file: string[];
    recursive: boolean;
    sort: boolean;
    allowEmpty: boolean;
}) => CollectedFiles;

/** The spec arguments of the script's mocha command, unquoted as the shell would. */
function mochaSpecs(script: string): string[] {
    const command = script.split("&&").find((part) => part.trim().startsWith("mocha "));
    assert.ok(command, `a mocha command in: ${script}`);
    const words = [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
    return words.slice(1).filter((word) => !word.startsWith("-"));
}

function testFilesIn(folder: string): string[] {
    return fs
        .readdirSync(path.join(ROOT, folder), { recursive: true, encoding: "utf8" })
        .filter((file) => file.endsWith(".test.ts"))
        .map((file) => path.join(ROOT, folder, file))
        .sort();
}

function expand(script: string): string[] {
    return collectFiles({
        // Anchored at the root, as npm runs the scripts there.
        spec: mochaSpecs(script).map((spec) => path.join(ROOT, spec)),
        extension: ["ts"],
        ignore: [],
        file: [],
        recursive: false,
        sort: false,
        allowEmpty: false,
    }).files;
}

describe("the test scripts", () => {
    it("npm test installs the emulator beside the checks and the suite, which waits for the checks", () => {
        assert.equal(scripts.test, "node --version && run-p emulator:install test:suite");
        assert.match(scripts["test:suite"], /^npm run checks && mocha /);
        assert.equal(scripts.checks, "run-p --print-label typecheck lint");
    });

    it("npm test runs every test file exactly once", () => {
        const files = expand(scripts["test:suite"]);
        assert.deepEqual([...files].sort(), testFilesIn("tests"));
    });

    it("npm test starts the rehearsal and schema files first, its longest CPU-bound ones", () => {
        assert.deepEqual(
            expand(scripts["test:suite"])
                .slice(0, 2)
                .map((file) => path.relative(ROOT, file)),
            ["tests/commands/rehearsal.test.ts", "tests/commands/schema.test.ts"],
        );
    });

    it("runs the product through TypeScript, as pulumi up does, and the tools through swc", () => {
        // The handler's serialized code is its transpiled text: it must be the one pulumi up uploads.
        const { options } = ts.convertCompilerOptionsFromJson(
            JSON.parse(fs.readFileSync(path.join(ROOT, "tsconfig.json"), "utf8")).compilerOptions,
            ROOT,
        );
        const transpiled = (file: string) =>
            ts.transpileModule(fs.readFileSync(path.join(ROOT, file), "utf8"), {
                compilerOptions: options,
            }).outputText;

        assert.ok(transpiled("handler/entry.ts").includes(createLambdaHandler.toString()));
        assert.ok(!transpiled("commands/bench/flags.ts").includes(parseBenchFlags.toString()));
    });

    for (const tier of ["unit", "emulator", "commands"]) {
        it(`npm run test:${tier} runs exactly the ${tier} tier`, () => {
            assert.deepEqual(
                [...expand(scripts[`test:${tier}`])].sort(),
                testFilesIn(`tests/${tier}`),
            );
        });
    }
});
