import * as assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { withProcessLock } from "../../emulator/process-lock";
import { ROOT, WITH_TYPESCRIPT } from "../support/processes";

describe("withProcessLock, which keeps two .venv installs apart", () => {
    let directory: string;
    let lockPath: string;
    beforeEach(() => {
        directory = fs.mkdtempSync(path.join(os.tmpdir(), "process-lock-"));
        lockPath = path.join(directory, "install.lock");
    });
    afterEach(() => fs.rmSync(directory, { recursive: true, force: true }));

    /** A pid that no process has now: a child that has already exited. */
    function deadPid(): number {
        const child = spawnSync(process.execPath, ["-e", ""]);
        assert.ok(child.pid !== undefined && child.pid > 0);
        return child.pid;
    }

    it("lets one holder in at a time and removes the lock after the last", async () => {
        const events: string[] = [];
        await Promise.all(
            [1, 2, 3, 4].map((holder) =>
                withProcessLock(
                    lockPath,
                    async () => {
                        events.push(`in ${holder}`);
                        await sleep(30);
                        events.push(`out ${holder}`);
                    },
                    { waitMs: 5_000, pollMs: 5 },
                ),
            ),
        );

        assert.equal(events.length, 8);
        for (let i = 0; i < events.length; i += 2) {
            const holder = events[i].split(" ")[1];
            assert.deepEqual([events[i], events[i + 1]], [`in ${holder}`, `out ${holder}`]);
        }
        assert.equal(fs.existsSync(lockPath), false);
    });

    it("keeps two processes apart", async function () {
        this.timeout(30_000);
        const logPath = path.join(directory, "log");
        const script = `
            const fs = require("node:fs");
            const { withProcessLock } = require("./emulator/process-lock");
            const [lockPath, logPath] = process.argv.slice(1);
            withProcessLock(lockPath, async () => {
                fs.appendFileSync(logPath, "in " + process.pid + "\\n");
                await new Promise((resolve) => setTimeout(resolve, 400));
                fs.appendFileSync(logPath, "out " + process.pid + "\\n");
            }, { waitMs: 20000, pollMs: 20 });`;
        const run = () =>
            promisify(execFile)(
                process.execPath,
                [...WITH_TYPESCRIPT, "-e", script, lockPath, logPath],
                { cwd: ROOT, timeout: 25_000 },
            );

        await Promise.all([run(), run()]);

        const lines = fs.readFileSync(logPath, "utf8").trim().split("\n");
        assert.equal(lines.length, 4, lines.join("\n"));
        const [first, second] = [lines[0].split(" ")[1], lines[2].split(" ")[1]];
        assert.notEqual(first, second);
        assert.deepEqual(lines, [`in ${first}`, `out ${first}`, `in ${second}`, `out ${second}`]);
    });

    it("takes over a lock whose holder has died", async () => {
        fs.writeFileSync(lockPath, String(deadPid()));
        let ran = false;
        await withProcessLock(lockPath, async () => void (ran = true), { waitMs: 1_000 });
        assert.equal(ran, true);
        assert.equal(fs.existsSync(lockPath), false);
    });

    it("takes over a lock file that holds no pid", async () => {
        fs.writeFileSync(lockPath, "not a pid");
        const result = await withProcessLock(lockPath, async () => "ran", { waitMs: 1_000 });
        assert.equal(result, "ran");
    });

    it("gives up on a live holder after waitMs, naming the file, the holder and the fix", async () => {
        // This process is alive, so its pid in the file is a live holder that never lets go.
        fs.writeFileSync(lockPath, String(process.pid));
        const waits: number[] = [];
        const startedAt = Date.now();

        await assert.rejects(
            withProcessLock(lockPath, async () => assert.fail("ran without the lock"), {
                waitMs: 200,
                pollMs: 20,
                onWait: (holder) => waits.push(holder),
            }),
            (error: Error) => {
                assert.ok(
                    error.message.includes(`${lockPath} is still held by process ${process.pid}`),
                );
                assert.ok(error.message.includes(`delete ${lockPath}`));
                return true;
            },
        );
        assert.ok(Date.now() - startedAt >= 200);
        assert.deepEqual(waits, [process.pid], "told once that it waits");
        assert.equal(
            fs.readFileSync(lockPath, "utf8"),
            String(process.pid),
            "the holder's lock stays",
        );
    });

    it("lets go of the lock when the work throws", async () => {
        await assert.rejects(
            withProcessLock(lockPath, async () => Promise.reject(new Error("pip failed")), {
                waitMs: 1_000,
            }),
            /pip failed/,
        );
        assert.equal(fs.existsSync(lockPath), false);
    });
});
