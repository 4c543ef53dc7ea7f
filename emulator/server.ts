/** moto's server as a child process on a free port, with the SDK environment for it, reset and stop. */
import { spawn, type ChildProcess } from "node:child_process";
import * as http from "node:http";
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
    /** Default "eu-west-1". */
    region?: string;
    /** Told about slow steps, such as the first-run install of moto. */
    onProgress?: (message: string) => void;
    /** The interpreter that creates .venv. Default: $SPOT_EMULATOR_PYTHON, else "python3". */
    python?: string;
}

export const DEFAULT_REGION = "eu-west-1";
export const PYTHON_ENVIRONMENT_VARIABLE = "SPOT_EMULATOR_PYTHON";
/** moto's server behind a lock; run it with VENV_PYTHON. */
export const SERVER_SCRIPT = path.join(__dirname, "server.py");

const DUMMY_CREDENTIAL = "testing";
const LOCALHOST = "127.0.0.1";
const SERVER_START_ATTEMPTS = 3;
const READINESS_TIMEOUT_MS = 30_000;
const HTTP_REQUEST_TIMEOUT_MS = 5_000;
const EXIT_WAIT_MS = 5_000; // after SIGTERM, and again after SIGKILL

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
    const region = options.region ?? DEFAULT_REGION;
    const python = options.python ?? process.env[PYTHON_ENVIRONMENT_VARIABLE] ?? "python3";
    const serverPython = await ensureVirtualEnvironment(python, options.onProgress ?? (() => {}));
    const server = await launchServerOnFreePort(serverPython);
    let stopping: Promise<void> | undefined;
    return {
        endpoint: server.endpoint,
        region,
        environment: () => ({
            AWS_ENDPOINT_URL: server.endpoint,
            AWS_REGION: region,
            AWS_ACCESS_KEY_ID: DUMMY_CREDENTIAL,
            AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIAL,
        }),
        reset: async () => {
            const response = await motoApi(server.endpoint, "reset", "POST");
            if (!response.ok) {
                throw new Error(`moto reset failed with HTTP ${response.status}: ${response.body}`);
            }
        },
        stop: () => (stopping ??= terminate(server)),
    };
}

interface RunningServer {
    readonly endpoint: string;
    readonly child: ChildProcess;
    /** Resolves when the process exits or cannot start; `hasExited` is set then. */
    readonly exited: Promise<void>;
    hasExited: boolean;
    outputTail: string;
}

const runningServers = new Set<ChildProcess>();
// 'exit' handlers must be synchronous; kill() is, and SIGKILL cannot be ignored.
process.on("exit", () => runningServers.forEach((child) => child.kill("SIGKILL")));

async function launchServerOnFreePort(serverPython: string): Promise<RunningServer> {
    // The port is free when probed but another process can take it before moto binds it.
    for (let attempt = 1; ; attempt++) {
        const server = spawnServer(serverPython, await findFreePort());
        try {
            await waitUntilReady(server);
            return server;
        } catch (error) {
            await terminate(server);
            const portTaken = server.outputTail.includes("Address already in use");
            if (!portTaken || attempt === SERVER_START_ATTEMPTS) throw error;
        }
    }
}

function findFreePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const probe = net.createServer().unref();
        probe.once("error", reject);
        probe.listen(0, LOCALHOST, () => {
            const { port } = probe.address() as net.AddressInfo;
            probe.close(() => resolve(port));
        });
    });
}

function spawnServer(serverPython: string, port: number): RunningServer {
    // Not `python -m moto.server`: its backends race under concurrent requests (see the script).
    // stdin is a pipe only to close: a test worker killed by SIGTERM runs no 'exit' handler.
    const child = spawn(
        serverPython,
        [SERVER_SCRIPT, "--host", LOCALHOST, "--port", String(port), "--exit-with-parent"],
        { stdio: ["pipe", "pipe", "pipe"] },
    );
    runningServers.add(child);
    const keepTail = (text: string): void => {
        server.outputTail = (server.outputTail + text).slice(-OUTPUT_TAIL_CHARS);
    };
    const server: RunningServer = {
        endpoint: `http://${LOCALHOST}:${port}`,
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

async function waitUntilReady(server: RunningServer): Promise<void> {
    for (const deadline = Date.now() + READINESS_TIMEOUT_MS; Date.now() < deadline;) {
        if (server.hasExited) {
            const { signalCode, exitCode } = server.child;
            const how = signalCode !== null ? `signal ${signalCode}` : `exit code ${exitCode}`;
            throw new Error(
                `moto server exited before becoming ready (${how}). Its output:\n${server.outputTail}`,
            );
        }
        if ((await motoApi(server.endpoint, "", "GET").catch(() => undefined))?.ok) return;
        await delay(100);
    }
    throw new Error(
        `moto server at ${server.endpoint} was not ready within ${READINESS_TIMEOUT_MS / 1000} s. ` +
            `Its output:\n${server.outputTail}`,
    );
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

/** moto's own API under /moto-api/, on a connection of its own so that no keep-alive socket outlives it. */
function motoApi(endpoint: string, route: string, method: "GET" | "POST") {
    return new Promise<{ ok: boolean; status: number; body: string }>((resolve, reject) => {
        const url = `${endpoint}/moto-api/${route}`;
        const options = { method, agent: false, timeout: HTTP_REQUEST_TIMEOUT_MS };
        const request = http.request(url, options, (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("error", reject);
            response.on("end", () => {
                const status = response.statusCode ?? 0;
                resolve({ ok: status === 200, status, body });
            });
        });
        request.on("timeout", () => request.destroy(new Error(`${method} ${url} timed out`)));
        request.on("error", reject);
        request.end();
    });
}
