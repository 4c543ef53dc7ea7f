/** moto in a .venv at the repository's root, installed on first use and again only when its pins or python change. */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { isErrno, withProcessLock } from "./process-lock";

// Paths hang off this file, not the working directory, so `npm start` and mocha share one .venv.
const requirementsFile = path.join(__dirname, "requirements.txt");
const venvDirectory = path.resolve(__dirname, "..", ".venv");
/** The interpreter that startEmulator installs moto into. */
export const VENV_PYTHON = path.join(venvDirectory, "bin", "python");
const installFingerprintFile = path.join(venvDirectory, ".emulator-install.sha256");
const installLogFile = path.join(venvDirectory, "emulator-install.log");
// Beside .venv, not in it: the install deletes .venv.
const installLockFile = `${venvDirectory}.install.lock`;

/** How much of a command's or the server's output an error message quotes. */
export const OUTPUT_TAIL_CHARS = 4_000;
const MINIMUM_PYTHON = { major: 3, minor: 11 }; // jsonpath-ng 1.16.0 requires 3.11 (moto 5.2.5: 3.10)
const TIMEOUTS_MS = { probe: 15_000, venv: 120_000, pip: 900_000, compile: 300_000 };
/** How .venv is built; part of the fingerprint, so that a change to it rebuilds older ones. */
const INSTALL_RECIPE = "venv, pip install --no-compile -r, compileall -j 0";

const INSTALL_HINT =
    "python3 (3.11 or newer) with the venv module is required to run the local AWS emulator (moto). " +
    "On Debian/Ubuntu: apt-get install python3 python3-venv";

const bootstrapsInProgress = new Map<string, Promise<string>>();

/** Resolves to the venv's interpreter, installing moto first when the pins or interpreter changed. */
export function ensureVirtualEnvironment(
    report: (message: string) => void = () => {},
    python = process.env.SPOT_EMULATOR_PYTHON ?? "python3",
): Promise<string> {
    if (isInstalled(python)) return Promise.resolve(VENV_PYTHON);
    // Two emulators started at once, in one process or in several, must not both rebuild .venv.
    const bootstrap =
        bootstrapsInProgress.get(python) ??
        withProcessLock(installLockFile, () => bootstrapVirtualEnvironment(python, report), {
            waitMs: Object.values(TIMEOUTS_MS).reduce((sum, ms) => sum + ms),
            onWait: (holder) =>
                report(`Waiting for process ${holder}, which is installing .venv...`),
        }).finally(() => bootstrapsInProgress.delete(python));
    bootstrapsInProgress.set(python, bootstrap);
    return bootstrap;
}

async function bootstrapVirtualEnvironment(
    python: string,
    report: (message: string) => void,
): Promise<string> {
    // Another process may have installed it while this one waited for the lock.
    if (isInstalled(python)) return VENV_PYTHON;

    // Probe before touching .venv, so a wrong interpreter leaves a working .venv intact.
    await assertPythonIsUsable(python);

    report("Installing moto into .venv (first run only)...");
    const startedAt = Date.now();
    fs.rmSync(venvDirectory, { recursive: true, force: true });
    fs.mkdirSync(venvDirectory, { recursive: true });
    const lib = path.join(venvDirectory, "lib");

    const pip = "-m pip install --disable-pip-version-check --no-input --no-compile -r".split(" ");
    const steps = {
        venv: [`\`${python} -m venv\``, python, "-m", "venv", venvDirectory],
        // --no-compile: compileall below uses every core, where pip compiles one package at a time.
        pip: [`pip install -r ${requirementsFile}`, VENV_PYTHON, ...pip, requirementsFile],
        // Compiled now, or never: with PYTHONDONTWRITEBYTECODE set (as on this project's machines)
        // every moto start would compile moto again, about a second of CPU each.
        compile: ["compileall of .venv", VENV_PYTHON, "-m", "compileall", "-q", "-j", "0", lib],
    };
    for (const [step, [what, command, ...args]] of Object.entries(steps)) {
        const timeoutMs = TIMEOUTS_MS[step as keyof typeof steps];
        const result = await run(command, args, timeoutMs, installLogFile);
        if (result.exitCode !== 0) {
            const log = readOr(installLogFile, "(no output)").slice(-OUTPUT_TAIL_CHARS);
            throw new Error(
                `${what} failed (${result.outcome}).${step === "venv" ? ` ${INSTALL_HINT}` : ""}\n` +
                    `Last lines of ${installLogFile}:\n${log}`,
            );
        }
    }

    fs.writeFileSync(installFingerprintFile, installFingerprint(python));
    report(`Installed moto into .venv in ${Math.round((Date.now() - startedAt) / 1000)} s.`);
    return VENV_PYTHON;
}

/** The fingerprint is written last, so a .venv that matches it is complete. */
function isInstalled(python: string): boolean {
    return (
        fs.existsSync(VENV_PYTHON) &&
        readOr(installFingerprintFile, "").trim() === installFingerprint(python)
    );
}

function installFingerprint(python: string): string {
    const parts = [fs.readFileSync(requirementsFile, "utf8"), python, INSTALL_RECIPE];
    return createHash("sha256").update(parts.join("\0")).digest("hex");
}

async function assertPythonIsUsable(python: string): Promise<void> {
    const { major, minor } = MINIMUM_PYTHON;
    const probe = `import sys, venv; sys.exit(0 if sys.version_info >= (${major}, ${minor}) else 3)`;
    const result = await run(python, ["-c", probe], TIMEOUTS_MS.probe).catch((error: unknown) => {
        if (!isErrno(error, "ENOENT") && !isErrno(error, "EACCES")) throw error;
        throw new Error(`${INSTALL_HINT}. \`${python}\` was not found.`, { cause: error });
    });
    if (result.exitCode === 3) {
        throw new Error(`${INSTALL_HINT}. \`${python}\` is older than ${major}.${minor}.`);
    }
    if (result.exitCode !== 0) {
        throw new Error(
            `${INSTALL_HINT}. \`${python} -c "import venv"\` failed (${result.outcome}):\n${result.output}`,
        );
    }
}

/** `outcome`: "exit code N", "signal S" or "timed out after N s"; `output`: the tail, without a log file. */
type Ran = { exitCode: number | null; outcome: string; output: string };

/** Runs a command to its end, its output appended to `logFile` or its tail kept; rejects only if it cannot start. */
function run(command: string, args: string[], timeoutMs: number, logFile?: string) {
    const log = logFile === undefined ? "pipe" : fs.openSync(logFile, "a");
    try {
        if (log !== "pipe") fs.writeSync(log, `\n$ ${command} ${args.join(" ")}\n`);
        const child = spawn(command, args, {
            stdio: ["ignore", log, log],
            timeout: timeoutMs,
            killSignal: "SIGKILL",
        });
        return new Promise<Ran>((resolve, reject) => {
            let output = "";
            const collect = (chunk: Buffer): void => {
                output = (output + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
            };
            child.stdout?.on("data", collect);
            child.stderr?.on("data", collect);
            child.once("error", reject);
            child.once("close", (exitCode, signal) => {
                // Only spawn's own timeout kills the child.
                const outcome = child.killed
                    ? `timed out after ${timeoutMs / 1000} s`
                    : signal !== null
                      ? `signal ${signal}`
                      : `exit code ${exitCode}`;
                resolve({ exitCode, outcome, output });
            });
        });
    } finally {
        // The child holds its own copy of the descriptor.
        if (log !== "pipe") fs.closeSync(log);
    }
}

function readOr(file: string, fallback: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        return fallback;
    }
}
