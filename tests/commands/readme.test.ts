/**
 * The README, read as a new user reads it, and the reference pages it links: the config table
 * (docs/arguments.md) must render as a table and agree with Pulumi.yaml and the code, the outputs
 * and the queue's timing rules (docs/storms.md) must be what the code does.
 */
import * as assert from "node:assert/strict";
import { marked, type Tokens } from "marked";
import {
    longLines,
    README,
    readmeConfigTable,
    pageSection,
    sectionTables,
} from "../support/readme";

/** Prose is wrapped, and tables stay narrow enough to read in a terminal. */
const MAX_LINE = 110;
/** A front page, not a manual: reference material lives under docs/. */
const MAX_README_LINES = 300;

describe("the README", () => {
    describe("the stack configuration table in docs/arguments.md", () => {
        it("lists every key the program reads, declared in Pulumi.yaml or not, with its type", async () => {
            const { STACK_CONFIG_TYPES } = await import("../../config");
            const table = readmeConfigTable();

            assert.deepEqual([...table.keys()], Object.keys(STACK_CONFIG_TYPES));
            for (const [key, { type }] of table) {
                const declared: string = STACK_CONFIG_TYPES[key as keyof typeof STACK_CONFIG_TYPES];
                assert.equal(type, declared.replace(/<\w+>$/, ""), `${key}'s type`);
            }
        });

        it("gives the defaults the code applies", async () => {
            const { resolveWebTierSettings, DEFAULT_INSTANCE_TYPES } =
                await import("../../components");
            const web = resolveWebTierSettings({});
            const { HANDLER_CONFIG_DEFAULTS: handler } = await import("../../config");
            const expected: Record<string, string> = {
                capacityOnInterruption: handler.capacityOnInterruption,
                interruptionAction: handler.interruptionAction,
                delivery: handler.delivery,
                dryRun: String(handler.dryRun),
                faultInjection: String(handler.faultInjection),
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
            for (const [key, { default: value }] of readmeConfigTable()) {
                if (expected[key] === undefined) {
                    assert.match(value, /^unset/, `${key} has no default in code`);
                } else {
                    assert.equal(value, expected[key], `${key}'s default`);
                }
            }
        });
    });

    it("lists every output of the stack program in its Deploy section", async () => {
        const { runStackProgram } = await import("../../offline/pulumi-engine");
        const { program } = await runStackProgram({});
        const tables = pageSection("README.md", "Deploy").filter(
            (t): t is Tokens.Table => t.type === "table",
        );
        assert.equal(tables.length, 1, "one outputs table");
        const listed = tables[0].rows.flatMap((row) =>
            row[0].text.split(",").map((cell) => cell.trim().replace(/`/g, "")),
        );

        assert.deepEqual(listed.sort(), Object.keys(program).sort());
    });

    it("states the queue's timing rules in docs/storms.md with the figures the code applies", async () => {
        const { resolveHandlerSettings } = await import("../../components");
        const { minRetentionSeconds, waitingWarningAgeSeconds } =
            await import("../../components/spot-interruption-handler/queue-settings");
        const settings = resolveHandlerSettings({ autoScalingGroupName: "web" });
        const queue = settings.queue;
        assert.ok(queue !== undefined);
        const window = queue.maximumBatchingWindowInSeconds;
        const visibility = queue.visibilityTimeoutSeconds;
        const tables = sectionTables("docs/storms.md", "Choosing the queue's settings");
        const rules = tables.find((t) => t.header[0].text === "rule");
        assert.ok(rules !== undefined, "a table of rules");

        assert.deepEqual(
            rules.rows.map((row) => row[2].text),
            [
                `${visibility} ≥ ${settings.timeoutSeconds} + ${window}`,
                `${window} ≤ 10`,
                `${settings.timeoutSeconds + window} ≤ 60`,
                `${queue.maxReceiveCount - 2} × ${visibility} = ${(queue.maxReceiveCount - 2) * visibility}`,
                `${queue.messageRetentionSeconds} ≥ ${minRetentionSeconds(queue.maxReceiveCount, visibility)}`,
                `${settings.monitoring?.queueAgeAlarmSeconds} > ${waitingWarningAgeSeconds(queue)}`,
            ],
        );
    });

    it("states the prerequisites first, then the two commands to try it", () => {
        const headings = marked
            .lexer(README)
            .filter((t): t is Tokens.Heading => t.type === "heading" && t.depth === 2)
            .map((t) => t.text);
        assert.deepEqual(headings.slice(0, 2), ["Prerequisites", "Try it"]);
        const [commands] = pageSection("README.md", "Try it").filter(
            (t): t is Tokens.Code => t.type === "code",
        );
        assert.match(commands.text, /npm ci && npm start/);
        assert.match(commands.text, /npm test/);
    });

    it(`is at most ${MAX_README_LINES} lines long`, () => {
        const lines = README.trimEnd().split("\n").length;
        assert.ok(lines <= MAX_README_LINES, `the README has ${lines} lines`);
    });

    it(`keeps every line outside code blocks to ${MAX_LINE} characters`, () => {
        assert.deepEqual(longLines(README, MAX_LINE), []);
    });
});
