import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { table } from "../scripts/terminal";

const ROOT = path.resolve(__dirname, "..");

interface RehearsalJson {
    runs: {
        capacityOnInterruption: string;
        desiredCapacityBefore: number;
        desiredCapacityAfter: number;
        interruptedInstanceInGroup: boolean;
        plan: { resources: { type: string }[]; archiveZippedBytes: number };
    }[];
    checks: { capacityOnInterruption: string; checks: { label: string; passed: boolean }[] }[];
}

describe("npm start, the offline rehearsal", function () {
    // The first run may install moto into .venv.
    this.timeout(600_000);

    it("rehearses keep then decrement, and every console check passes on the emulator's state", async () => {
        const { stdout } = await promisify(execFile)(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "scripts/rehearsal.ts", "--json"],
            { cwd: ROOT, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
        );

        const report = JSON.parse(stdout) as RehearsalJson;
        assert.deepEqual(
            report.runs.map((r) => [
                r.capacityOnInterruption,
                r.desiredCapacityBefore,
                r.desiredCapacityAfter,
            ]),
            [
                ["keep", 4, 4],
                ["decrement", 4, 3],
            ],
        );
        assert.ok(report.runs.every((r) => !r.interruptedInstanceInGroup));
        assert.ok(
            report.runs[0].plan.resources.some((r) => r.type === "aws:lambda/function:Function"),
        );
        for (const { checks } of report.checks) {
            assert.ok(checks.length >= 4);
            assert.deepEqual(
                checks.filter((c) => !c.passed),
                [],
            );
        }
    });

    it("refuses an unknown --capacity with the flag's allowed values", async () => {
        await assert.rejects(
            promisify(execFile)(
                process.execPath,
                [
                    "-r",
                    "ts-node/register/transpile-only",
                    "scripts/rehearsal.ts",
                    "--capacity",
                    "shrink",
                ],
                { cwd: ROOT, timeout: 60_000 },
            ),
            (error: { code?: number; stderr?: string }) =>
                error.code === 1 &&
                /--capacity keep or --capacity decrement/.test(error.stderr ?? ""),
        );
    });
});

describe("table", () => {
    it("aligns columns by visible width, ignoring colour codes", () => {
        assert.equal(
            table(
                ["ID", "STATE"],
                [
                    ["\u001b[32mi-1\u001b[0m", "InService"],
                    ["i-22", "Pending"],
                ],
                2,
            ),
            ["  ID    STATE", "  \u001b[32mi-1\u001b[0m   InService", "  i-22  Pending"].join("\n"),
        );
    });
});
