/**
 * moto's server as a child process on a free local port, with the SDK environment that points at
 * it, reset and a bounded stop. Its .venv is bootstrapped by emulator-install.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ensureVirtualEnvironment, OUTPUT_TAIL_CHARS } from "./install";

// Tests run moto's server with the same interpreter, so it stays importable from here.

export interface Emulator {
    readonly endpoint: string;
    readonly region: string;
    /** The SDK's standard environment for a client or Lambda handler pointed at this emulator: AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (dummy "testing"), and nothing else. */
    environment(): Record<string, string>;
    /** Forget all state (moto's POST /moto-api/reset). */
    reset(): Promise<void>;
    /** Stop the server and wait for the process to exit (SIGTERM, then SIGKILL after a bounded wait). Idempotent. */
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

const DUMMY_CREDENTIAL = "testing";
const LOCALHOST = "127.0.0.1";

/** moto's server behind a lock; run it with VENV_PYTHON. */
export const SERVER_SCRIPT = path.join(__dirname, "server.py");

const SERVER_START_ATTEMPTS = 3;
const READINESS_TIMEOUT_MS = 30_000;
const READINESS_POLL_INTERVAL_MS = 100;
const MAX_READINESS_POLLS = READINESS_TIMEOUT_MS / READINESS_POLL_INTERVAL_MS;
const HTTP_REQUEST_TIMEOUT_MS = 5_000;
const SIGTERM_GRACE_MS = 5_000;
const SIGKILL_WAIT_MS = 5_000;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
    const region = options.region ?? DEFAULT_REGION;
    const report = options.onProgress ?? (() => undefined);
    const python = options.python ?? process.env[PYTHON_ENVIRONMENT_VARIABLE] ?? "python3";

    const serverPython = await ensureVirtualEnvironment(python, report);
    const server = await launchServerOnFreePort(serverPython);
    return emulatorFor(server, region);
}

interface RunningServer {
    readonly endpoint: string;
    readonly child: ChildProcess;
    readonly exited: Promise<void>;
    hasExited(): boolean;
    outputTail(): string;
}

const runningServers = new Set<ChildProcess>();
let exitHandlerInstalled = false;

function killRunningServersSynchronously(): void {
    for (const child of runningServers) {
        child.kill("SIGKILL");
    }
}

async function launchServerOnFreePort(serverPython: string): Promise<RunningServer> {
    let lastFailure: Error | undefined;
    // The port is free when probed but another process can take it before moto binds it.
    for (let attempt = 1; attempt <= SERVER_START_ATTEMPTS; attempt++) {
        const port = await findFreePort();
        const server = spawnServer(serverPython, port);
        try {
            await waitUntilReady(server);
            return server;
        } catch (error) {
            await terminate(server);
            lastFailure = error instanceof Error ? error : new Error(String(error));
            if (!server.outputTail().includes("Address already in use")) {
                throw lastFailure;
            }
        }
    }
    throw lastFailure ?? new Error("moto server did not start");
}

function findFreePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const probe = net.createServer();
        probe.unref();
        probe.once("error", reject);
        probe.listen(0, LOCALHOST, () => {
            const address = probe.address();
            probe.close(() => {
                if (address === null || typeof address === "string") {
                    reject(new Error(`Unexpected address for a TCP listener: ${String(address)}`));
                } else {
                    resolve(address.port);
                }
            });
        });
    });
}

function spawnServer(serverPython: string, port: number): RunningServer {
    if (!exitHandlerInstalled) {
        // 'exit' handlers must be synchronous; kill() is, and SIGKILL cannot be ignored.
        process.on("exit", killRunningServersSynchronously);
        exitHandlerInstalled = true;
    }

    // Not `python -m moto.server`: its backends race under concurrent requests (see the script).
    // stdin is a pipe only to close: a test worker killed by SIGTERM runs no 'exit' handler.
    const child = spawn(
        serverPython,
        [SERVER_SCRIPT, "--host", LOCALHOST, "--port", String(port), "--exit-with-parent"],
        { stdio: ["pipe", "pipe", "pipe"] },
    );
    runningServers.add(child);

    let tail = "";
    const keepTail = (chunk: Buffer): void => {
        tail = (tail + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
    };
    // moto logs every request; the pipes must be drained or the server would block on a full pipe.
    for (const stream of [child.stdout, child.stderr]) {
        stream?.on("data", keepTail);
    }
    for (const stream of [child.stdin, child.stdout, child.stderr]) {
        // Unref'd so that a caller who forgets stop() still lets Node exit (and the exit handler kill moto).
        if (stream instanceof net.Socket) {
            stream.unref();
        }
    }
    child.unref();

    let exitedFlag = false;
    const exited = new Promise<void>((resolve) => {
        const markExited = (): void => {
            exitedFlag = true;
            runningServers.delete(child);
            resolve();
        };
        child.once("exit", markExited);
        child.once("error", (error) => {
            keepTail(Buffer.from(`\n${error.message}\n`));
            markExited();
        });
    });

    return {
        endpoint: `http://${LOCALHOST}:${port}`,
        child,
        exited,
        hasExited: () => exitedFlag,
        outputTail: () => tail,
    };
}

async function waitUntilReady(server: RunningServer): Promise<void> {
    const deadline = Date.now() + READINESS_TIMEOUT_MS;
    for (let poll = 0; poll < MAX_READINESS_POLLS && Date.now() < deadline; poll++) {
        if (server.hasExited()) {
            throw new Error(
                `moto server exited before becoming ready (${describeExit(server.child)}). ` +
                    `Its output:\n${server.outputTail()}`,
            );
        }
        const response = await httpRequest("GET", `${server.endpoint}/moto-api/`).catch(
            () => undefined,
        );
        if (response?.statusCode === 200) {
            return;
        }
        await delay(READINESS_POLL_INTERVAL_MS);
    }
    throw new Error(
        `moto server at ${server.endpoint} was not ready within ${READINESS_TIMEOUT_MS / 1000} s. ` +
            `Its output:\n${server.outputTail()}`,
    );
}

async function terminate(server: RunningServer): Promise<void> {
    if (server.hasExited()) {
        return;
    }
    server.child.kill("SIGTERM");
    if (await exitsWithin(server, SIGTERM_GRACE_MS)) {
        return;
    }
    server.child.kill("SIGKILL");
    if (await exitsWithin(server, SIGKILL_WAIT_MS)) {
        return;
    }
    throw new Error(`moto server (pid ${server.child.pid}) did not exit after SIGKILL`);
}

async function exitsWithin(server: RunningServer, timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
        return await Promise.race([server.exited.then(() => true), timedOut]);
    } finally {
        clearTimeout(timer);
    }
}

function emulatorFor(server: RunningServer, region: string): Emulator {
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
            const response = await httpRequest("POST", `${server.endpoint}/moto-api/reset`);
            if (response.statusCode !== 200) {
                throw new Error(
                    `moto reset failed with HTTP ${response.statusCode}: ${response.body}`,
                );
            }
        },
        stop: () => {
            stopping ??= terminate(server);
            return stopping;
        },
    };
}

function describeExit(child: ChildProcess): string {
    return child.signalCode !== null ? `signal ${child.signalCode}` : `exit code ${child.exitCode}`;
}

interface HttpResponse {
    readonly statusCode: number;
    readonly body: string;
}

function httpRequest(method: "GET" | "POST", url: string): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
        // agent: false, so no keep-alive socket outlives the request and holds the event loop.
        const request = http.request(
            url,
            { method, agent: false, timeout: HTTP_REQUEST_TIMEOUT_MS },
            (response) => {
                let body = "";
                response.setEncoding("utf8");
                response.on("data", (chunk: string) => {
                    body += chunk;
                });
                response.on("end", () => resolve({ statusCode: response.statusCode ?? 0, body }));
                response.on("error", reject);
            },
        );
        request.on("timeout", () => request.destroy(new Error(`${method} ${url} timed out`)));
        request.on("error", reject);
        request.end();
    });
}
