/** moto's server as a child process on a free port, with the SDK environment for it, reset and stop. */
import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ensureVirtualEnvironment, OUTPUT_TAIL_CHARS } from "./install";

export interface Emulator {
    readonly endpoint: string;
    readonly region: string;
    /** AWS_ENDPOINT_URL, AWS_REGION and dummy AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; nothing else. */
    environment(): Record<string, string>;
    /** Forget all state (moto's POST /moto-api/reset). */
    reset(): Promise<void>;
    /** SIGTERM, then SIGKILL after a bounded wait, until the process exits. Idempotent. */
    stop(): Promise<void>;
}

export interface EmulatorOptions {
    /** Told about slow steps, such as the first-run install of moto. */
    onProgress?: (message: string) => void;
    /** The interpreter that creates .venv. Default: $SPOT_EMULATOR_PYTHON, else "python3". */
    python?: string;
}

/** moto's server behind a lock; run it with VENV_PYTHON. */
export const SERVER_SCRIPT = path.join(__dirname, "server.py");

const REGION = "eu-west-1";
const DUMMY_CREDENTIAL = "testing";
const LOCALHOST = "127.0.0.1";
const READINESS_TIMEOUT_MS = 30_000;
const HTTP_REQUEST_TIMEOUT_MS = 5_000;
const EXIT_WAIT_MS = 5_000; // after SIGTERM, and again after SIGKILL

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
    const serverPython = await ensureVirtualEnvironment(options.onProgress, options.python);
    const server = spawnServer(serverPython);
    await waitUntilReady(server).catch(async (error: unknown) => {
        await terminate(server);
        throw error;
    });
    let stopping: Promise<void> | undefined;
    return {
        endpoint: server.endpoint,
        region: REGION,
        environment: () => ({
            AWS_ENDPOINT_URL: server.endpoint,
            AWS_REGION: REGION,
            AWS_ACCESS_KEY_ID: DUMMY_CREDENTIAL,
            AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIAL,
        }),
        reset: () => resetMoto(server.endpoint),
        stop: () => (stopping ??= terminate(server)),
    };
}

interface RunningServer {
    /** Empty until the server says which port it listens on. */
    endpoint: string;
    readonly child: ChildProcess;
    /** Resolves when the process exits or cannot start; `hasExited` is set then. */
    readonly exited: Promise<void>;
    hasExited: boolean;
    outputTail: string;
}

const runningServers = new Set<ChildProcess>();
// 'exit' handlers must be synchronous; kill() is, and SIGKILL cannot be ignored.
process.on("exit", () => runningServers.forEach((child) => child.kill("SIGKILL")));

function spawnServer(serverPython: string): RunningServer {
    // Not `python -m moto.server`: its backends race under concurrent requests (see the script).
    // Port 0: the server binds a free port itself and prints it, so no other process can take it.
    // stdin is a pipe only to close: a test worker killed by SIGTERM runs no 'exit' handler.
    const child = spawn(
        serverPython,
        [SERVER_SCRIPT, "--host", LOCALHOST, "--port", "0", "--exit-with-parent"],
        { stdio: ["pipe", "pipe", "pipe"] },
    );
    runningServers.add(child);
    const keepTail = (text: string): void => {
        server.outputTail = (server.outputTail + text).slice(-OUTPUT_TAIL_CHARS);
        const port = /^Listening on port (\d+)$/m.exec(server.outputTail)?.[1];
        server.endpoint ||= port === undefined ? "" : `http://${LOCALHOST}:${port}`;
    };
    const server: RunningServer = {
        endpoint: "",
        child,
        exited: new Promise<void>((resolve) => {
            const markExited = (): void => {
                server.hasExited = true;
                runningServers.delete(child);
                resolve();
            };
            child.once("exit", markExited);
            child.once("error", (error) => {
                keepTail(`\n${error.message}\n`);
                markExited();
            });
        }),
        hasExited: false,
        outputTail: "",
    };
    // moto logs every request; the pipes must be drained or the server would block on a full pipe.
    // All unref'd, so a caller who forgets stop() still lets Node exit (and the exit handler kill moto).
    child.stdout.on("data", (chunk: Buffer) => keepTail(chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => keepTail(chunk.toString("utf8")));
    [child.stdin, child.stdout, child.stderr].forEach((stream) => (stream as net.Socket).unref());
    child.unref();
    return server;
}

/** Ready once it names its port: it has bound it then, and serves what queues there. */
async function waitUntilReady(server: RunningServer): Promise<void> {
    const deadline = Date.now() + READINESS_TIMEOUT_MS;
    for (; server.endpoint === ""; await delay(50)) {
        if (server.hasExited) {
            const { signalCode, exitCode } = server.child;
            const how = signalCode !== null ? `signal ${signalCode}` : `exit code ${exitCode}`;
            throw new Error(
                `moto server exited before becoming ready (${how}). Its output:\n${server.outputTail}`,
            );
        }
        if (Date.now() > deadline) {
            throw new Error(
                `moto server was not ready within ${READINESS_TIMEOUT_MS / 1000} s. Its output:\n${server.outputTail}`,
            );
        }
    }
}

async function terminate(server: RunningServer): Promise<void> {
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        if (server.hasExited) return;
        // The child ref'd keeps Node alive until it exits; the timer, unref'd, does not keep it longer.
        server.child.ref();
        server.child.kill(signal);
        await Promise.race([server.exited, delay(EXIT_WAIT_MS, undefined, { ref: false })]);
    }
    if (!server.hasExited) {
        throw new Error(`moto server (pid ${server.child.pid}) did not exit after SIGKILL`);
    }
}

/** POST /moto-api/reset on a connection of its own, so that no keep-alive socket outlives it. */
async function resetMoto(endpoint: string): Promise<void> {
    const response = await fetch(`${endpoint}/moto-api/reset`, {
        method: "POST",
        headers: { connection: "close" },
        signal: AbortSignal.timeout(HTTP_REQUEST_TIMEOUT_MS),
    });
    const body = await response.text();
    if (response.status !== 200) {
        throw new Error(`moto reset failed with HTTP ${response.status}: ${body}`);
    }
}
