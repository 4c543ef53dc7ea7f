/** The local AWS emulator's server and lifecycle: one request at a time, environment(), reset(), stop(), and a missing python3. */
import { strict as assert } from "node:assert";
import { execFile, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { describeGroupState, describeInstanceState } from "../../emulator/group-state";
import { seedWorkshopEnvironment } from "../../emulator/workshop";
import { SERVER_SCRIPT, startEmulator } from "../../emulator/server";
import { VENV_PYTHON } from "../../emulator/install";
import { tierEmulatorForSuite } from "../support/tier-emulator";
import { ROOT, WITH_TYPESCRIPT } from "../support/processes";

const PYTHON_HINT =
    /python3 .*with the venv module is required.*apt-get install python3 python3-venv/s;

describe("The local AWS emulator's server", function () {
    const tier = tierEmulatorForSuite();

    describe("its server", function () {
        it("runs moto's application one request at a time, so its backends never race", function () {
            // Given an application that records how many calls overlap, behind the server's wrapper
            const probe = `
import importlib.util, sys, threading, time
spec = importlib.util.spec_from_file_location("emulator_server", sys.argv[1])
server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(server)
guard, active, peak, closed = threading.Lock(), 0, 0, 0
class Body(list):
    def close(self):
        global closed
        with guard:
            closed += 1
def application(environ, start_response):
    global active, peak
    with guard:
        active += 1
        peak = max(peak, active)
    time.sleep(0.02)
    with guard:
        active -= 1
    start_response("200 OK", [])
    return Body([b"ok"])
wrapped = server.one_request_at_a_time(application)
bodies = []
threads = [threading.Thread(target=lambda: bodies.append(wrapped({}, lambda *a: None))) for _ in range(8)]
for thread in threads: thread.start()
for thread in threads: thread.join(10)
print(peak, len(bodies), closed, bodies[0])
`;

            // When 8 threads call it at once
            const output = execFileSync(VENV_PYTHON, ["-B", "-c", probe, SERVER_SCRIPT], {
                encoding: "utf8",
                timeout: 30_000,
            });

            // Then no two calls overlapped, and every call got its whole body, closed as WSGI requires
            assert.equal(output.trim(), "1 8 8 [b'ok']");
        });
    });

    describe("environment()", function () {
        it("gives exactly the SDK's standard variables, with dummy credentials", function () {
            // Given the running emulator
            // When its environment is asked for
            const environment = tier.emulator.environment();

            // Then
            assert.deepEqual(environment, {
                AWS_ENDPOINT_URL: tier.emulator.endpoint,
                AWS_REGION: "eu-west-1",
                AWS_ACCESS_KEY_ID: "testing",
                AWS_SECRET_ACCESS_KEY: "testing",
            });
            assert.match(tier.emulator.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
        });
    });

    describe("reset()", function () {
        it("forgets every group and instance", async function () {
            // Given a seeded environment
            await tier.emulator.reset();
            const workshop = await seedWorkshopEnvironment(tier.emulator);

            // When the emulator is reset
            await tier.emulator.reset();

            // Then
            await assert.rejects(
                describeGroupState(tier.emulator, workshop.webGroupName),
                /does not exist/,
            );
            assert.equal(
                await describeInstanceState(tier.emulator, workshop.standaloneInstanceId),
                undefined,
            );
        });
    });

    describe("stop()", function () {
        it("ends the server, so its port refuses connections, and may be called again", async function () {
            // Given a second emulator of its own
            const stoppable = await startEmulator();
            const port = Number(new URL(stoppable.endpoint).port);

            // When it is stopped twice
            await stoppable.stop();
            await stoppable.stop();

            // Then
            await assert.rejects(connect(port), { code: "ECONNREFUSED" });
        });

        it("keeps a process with nothing else to do alive until moto has exited", async function () {
            this.timeout(60_000);
            // Given a process whose only work is to start an emulator, stop it, then print
            const script = `require("./emulator/server").startEmulator().then((e) => e.stop()).then(() => console.log("stopped"));`;
            const { stdout } = await promisify(execFile)(
                process.execPath,
                [...WITH_TYPESCRIPT, "-e", script],
                { cwd: ROOT, timeout: 50_000 },
            );

            // Then it gets past stop(): Node did not quit while moto was still exiting
            assert.equal(stdout, "stopped\n");
        });

        it("ends with the process that started it, even one killed by SIGKILL", async function () {
            this.timeout(60_000);
            // Given a process that starts an emulator, prints its endpoint and stays alive
            const script = `require("./emulator/server").startEmulator().then((e) => console.log(e.endpoint)); setInterval(() => {}, 1000);`;
            const parent = spawn(process.execPath, [...WITH_TYPESCRIPT, "-e", script], {
                cwd: ROOT,
                stdio: ["ignore", "pipe", "inherit"],
            });
            let endpoint: string;
            try {
                const lines = readline.createInterface({ input: parent.stdout });
                endpoint = (await lines[Symbol.asyncIterator]().next()).value as string;
                await connect(Number(new URL(endpoint).port));
            } finally {
                // When that process is killed, so that no exit handler of its own runs
                parent.kill("SIGKILL");
            }
            const port = Number(new URL(endpoint).port);

            // Then its server ends too, within seconds
            const deadline = Date.now() + 10_000;
            let refused = false;
            while (!refused && Date.now() < deadline) {
                refused = await connect(port).then(
                    () => false,
                    () => true,
                );
                if (!refused) await delay(100);
            }
            assert.ok(refused, `the server at ${endpoint} outlived its parent`);
        });
    });

    describe("without a usable python3", function () {
        it("says to install python3 and its venv module when the interpreter is missing", async function () {
            // Given an interpreter that does not exist
            const python = path.join(os.tmpdir(), "no-such-directory", "python3");

            // When the emulator is started with it
            // Then
            await assert.rejects(startEmulator({ python }), PYTHON_HINT);
        });

        it("says the same, with the interpreter's complaint, when the venv module is missing", async function () {
            // Given an interpreter that cannot import venv
            const directory = fs.mkdtempSync(path.join(os.tmpdir(), "spot-emulator-test-"));
            const python = path.join(directory, "python3");
            fs.writeFileSync(
                python,
                "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'venv'\" >&2\nexit 1\n",
                { mode: 0o755 },
            );

            try {
                // When the emulator is started with it
                // Then
                await assert.rejects(startEmulator({ python }), (error: Error) => {
                    assert.match(error.message, PYTHON_HINT);
                    assert.match(error.message, /No module named 'venv'/);
                    return true;
                });
            } finally {
                fs.rmSync(directory, { recursive: true, force: true });
            }
        });
    });
});

function connect(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1");
        socket.once("connect", () => {
            socket.destroy();
            resolve();
        });
        socket.once("error", reject);
    });
}
