/**
 * The README, read as a new user reads it: its config table must render as a table and agree with
 * Pulumi.yaml and the code, and its deploy recipes must work exactly as written.
 */
import * as assert from "node:assert/strict";
import type { Tokens } from "marked";
import { README, readmeConfigTable, readmeSection } from "../support/readme";

/** Prose is wrapped, and tables stay narrow enough to read in a terminal. */
const MAX_LINE = 110;

describe("the README", () => {
    describe("its stack configuration table", () => {
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
        const { runStackProgram } = await import("../../local");
        const { program } = await runStackProgram({});
        const tables = readmeSection("Deploy").filter((t): t is Tokens.Table => t.type === "table");
        assert.equal(tables.length, 1, "one outputs table");
        const listed = tables[0].rows.flatMap((row) =>
            row[0].text.split(",").map((cell) => cell.trim().replace(/`/g, "")),
        );

        assert.deepEqual(listed.sort(), Object.keys(program).sort());
    });

    it("states the queue's timing rules with the figures the code applies", async () => {
        const { resolveHandlerSettings } = await import("../../components");
        const { minRetentionSeconds, waitingWarningAgeSeconds } =
            await import("../../components/spot-interruption-handler/queue-settings");
        const settings = resolveHandlerSettings({ autoScalingGroupName: "web" });
        const queue = settings.queue;
        assert.ok(queue !== undefined);
        const window = queue.maximumBatchingWindowInSeconds;
        const visibility = queue.visibilityTimeoutSeconds;
        const tables = readmeSection("Choosing the queue's settings").filter(
            (t): t is Tokens.Table => t.type === "table",
        );
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
