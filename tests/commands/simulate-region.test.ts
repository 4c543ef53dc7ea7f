/** npm run simulate's Region: the header names the one it resolved, and a missing one says how to give it. */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { regionHeader } from "../../commands/simulate/main";
import { ROOT, WITH_TYPESCRIPT } from "../support/processes";

const CHAIN = { source: "the standard AWS chain (AWS_REGION, the profile)" };

/** Runs the command with an AWS chain of only `env`: no profile, no instance metadata, no CLI. */
async function simulate(
    env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
    const inherited = Object.fromEntries(
        Object.entries(process.env).filter(([key]) => !key.startsWith("AWS_")),
    );
    const run = promisify(execFile)(
        process.execPath,
        [
            ...WITH_TYPESCRIPT,
            "commands/simulate/main.ts",
            "--function",
            "spot-function",
            "--group",
            "web",
        ],
        {
            cwd: ROOT,
            timeout: 60_000,
            env: {
                ...inherited,
                // No pulumi on the PATH: the stack's aws:region cannot answer either.
                PATH: path.dirname(process.execPath),
                AWS_CONFIG_FILE: path.join(ROOT, ".tmp", "no-aws-config"),
                AWS_SHARED_CREDENTIALS_FILE: path.join(ROOT, ".tmp", "no-aws-credentials"),
                AWS_EC2_METADATA_DISABLED: "true",
                ...env,
            },
        },
    );
    try {
        const { stdout, stderr } = await run;
        return { code: 0, stdout, stderr };
    } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string };
        return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
}

describe("npm run simulate: the Region", function () {
    this.timeout(120_000);

    describe("the header line", () => {
        it("names the Region the chain resolved, not just the chain", () => {
            assert.equal(
                regionHeader(CHAIN, "ap-south-1"),
                "Region: ap-south-1, from the standard AWS chain (AWS_REGION, the profile)",
            );
        });

        it("names the flag to pass when nothing resolved one", () => {
            assert.equal(
                regionHeader(CHAIN, undefined),
                "Region: none, neither from --region nor from the standard AWS chain (AWS_REGION, the profile): pass --region <region>",
            );
        });
    });

    describe("given no Region anywhere", () => {
        it("fails with no-region, telling the user to pass --region", async () => {
            const { code, stdout } = await simulate({});

            assert.equal(code, 1);
            const lines = stdout.split("\n");
            assert.equal(
                lines[1],
                "Region: none, neither from --region nor from the standard AWS chain (AWS_REGION, the profile): pass --region <region>",
            );
            assert.match(stdout, /No AWS Region configured: pass --region /);
            assert.match(stdout, /Failed \(no-region\)/);
        });
    });

    describe("given AWS_REGION only", () => {
        it("shows that Region in the header", async () => {
            const { stdout } = await simulate({ AWS_REGION: "ap-south-1" });

            assert.equal(
                stdout.split("\n")[1],
                "Region: ap-south-1, from the standard AWS chain (AWS_REGION, the profile)",
            );
        });
    });
});
