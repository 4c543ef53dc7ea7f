/**
 * The README, read as a new user reads it: its config table must render as a table and agree with
 * Pulumi.yaml and the code, and its deploy recipes must work exactly as written.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { marked, type Token, type Tokens } from "marked";
import { recorded, runStackProgram } from "../local";
import { readDeclarations, readStackFile } from "./support/stack-files";

const ROOT = path.resolve(__dirname, "..");
const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
/** Prose is wrapped, and tables stay narrow enough to read in a terminal. */
const MAX_LINE = 110;

/** The tokens of the README section under `heading`, up to the next heading of its level. */
function section(heading: string): Token[] {
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
function configTable(): Map<string, { type: string; default: string }> {
    const tables = section("Stack configuration").filter((t) => t.type === "table");
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

/** The `pulumi config set` commands of a ```sh block, as key → value. */
function configCommands(block: string): Record<string, string> {
    const config: Record<string, string> = {};
    for (const line of block.split("\n")) {
        const command = /^pulumi config set (\S+) (\S+)/.exec(line);
        if (command !== null) {
            config[command[1]] = command[2];
        }
    }
    return config;
}

describe("the README", () => {
    describe("its stack configuration table", () => {
        it("declares exactly the keys Pulumi.yaml declares, with their types", () => {
            const table = configTable();
            const declarations = readDeclarations();

            assert.deepEqual([...table.keys()].sort(), Object.keys(declarations).sort());
            for (const [key, { type }] of table) {
                assert.equal(type, declarations[key].type?.replace(/<\w+>$/, ""), `${key}'s type`);
            }
        });

        it("gives the defaults the code applies", async () => {
            const { resolveWebTierSettings, DEFAULT_INSTANCE_TYPES } =
                await import("../components");
            const web = resolveWebTierSettings({});
            const expected: Record<string, string> = {
                capacityOnInterruption: "keep",
                delivery: "queue",
                dryRun: "false",
                faultInjection: "false",
                availabilityZoneCount: String(
                    web.network.kind === "new-vpc" ? web.network.availabilityZoneCount : "",
                ),
                deregistrationDelaySeconds: String(web.deregistrationDelaySeconds),
                instanceTypes: `the ${DEFAULT_INSTANCE_TYPES.length} types above`,
                spotAllocationStrategy: web.spotAllocationStrategy,
                onDemandBaseCapacity: String(web.onDemandBaseCapacity),
                onDemandPercentageAboveBaseCapacity: String(
                    web.onDemandPercentageAboveBaseCapacity,
                ),
                capacityRebalance: String(web.capacityRebalance),
                minSize: String(web.minSize),
                maxSize: String(web.maxSize),
                desiredCapacity: String(web.desiredCapacity),
            };
            for (const [key, { default: value }] of configTable()) {
                if (expected[key] === undefined) {
                    assert.match(value, /^unset/, `${key} has no default in code`);
                } else {
                    assert.equal(value, expected[key], `${key}'s default`);
                }
            }
        });
    });

    describe("its deploy recipes, replayed with the committed dev stack file", () => {
        const blocks = () =>
            section("Deploy")
                .filter((t): t is Tokens.Code => t.type === "code" && t.lang === "sh")
                .map((t) => t.text);

        it("builds the whole architecture with no config set", async () => {
            const [webTier] = blocks();
            const config = { ...readStackFile("Pulumi.dev.yaml"), ...configCommands(webTier) };

            await runStackProgram(config);

            assert.ok(
                recorded.some((r) => r.type === "spot-interruption-handler:index:SpotWebTier"),
            );
            assert.ok(
                recorded.some((r) => r.type === "aws:lambda/eventSourceMapping:EventSourceMapping"),
            );
        });

        it("protects an existing group with the commands given", async () => {
            const [, existingGroup] = blocks();
            const commands = configCommands(existingGroup);
            assert.deepEqual(commands, {
                autoScalingGroupName: "my-spot-group",
                capacityOnInterruption: "keep",
            });

            await runStackProgram({ ...readStackFile("Pulumi.dev.yaml"), ...commands });

            assert.ok(
                !recorded.some((r) => r.type === "spot-interruption-handler:index:SpotWebTier"),
            );
            const fn = recorded.find((r) => r.type === "aws:lambda/function:Function");
            const env = fn?.inputs.environment as { variables: Record<string, string> };
            assert.equal(env.variables.AUTO_SCALING_GROUP_NAME, "my-spot-group");
        });
    });

    it("puts the two commands to try it on its first screen", () => {
        const firstScreen = README.split("\n").slice(0, 12).join("\n");
        assert.match(firstScreen, /npm ci && npm start/);
        assert.match(firstScreen, /npm test/);
    });

    it(`keeps every line outside code blocks to ${MAX_LINE} characters`, () => {
        let inCode = false;
        const long: string[] = [];
        for (const [index, line] of README.split("\n").entries()) {
            inCode = line.startsWith("```") ? !inCode : inCode;
            if (!inCode && line.length > MAX_LINE) {
                long.push(`line ${index + 1} (${line.length})`);
            }
        }
        assert.deepEqual(long, []);
    });
});
