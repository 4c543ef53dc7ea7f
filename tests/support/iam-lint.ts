/**
 * parliament, an IAM linter, over IAM documents: one process of .venv's python runs iam_lint.py on
 * every document at once, and the findings come back per document. The venv is the emulator's
 * (ensureVirtualEnvironment), whose pins include parliament.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { PYTHON_ENVIRONMENT_VARIABLE } from "../../emulator/server";
import { ensureVirtualEnvironment, OUTPUT_TAIL_CHARS } from "../../emulator/install";

/** Runs parliament's analyze_policy_string on each document; see it for the modes per kind. */
export const IAM_LINT_SCRIPT = path.join(__dirname, "iam_lint.py");
/** Importing parliament and its privilege data takes about a second; this bounds a hung run. */
export const DEFAULT_LINT_TIMEOUT_MS = 30_000;

/**
 * identity: a role's own policy, linted as it is (a Principal in it is a finding);
 * resource: a queue, topic or key policy, linted as it is (each statement needs a Principal);
 * trust: a role's assume-role policy, linted with the role as each statement's Resource, since
 * parliament refuses statements without one (a Resource of its own is a finding).
 */
export type IamDocumentKind = "identity" | "resource" | "trust";

export interface IamDocument {
    readonly name: string;
    readonly document: object;
    readonly kind: IamDocumentKind;
}

export interface Finding {
    /** parliament's issue code, e.g. RESOURCE_STAR, or one of iam_lint.py's kind checks. */
    readonly issue: string;
    readonly severity: string;
    readonly title: string;
    readonly detail: unknown;
    readonly location: Record<string, unknown>;
    /** The `name` of the document it is about. */
    readonly document: string;
}

export interface IamLintOptions {
    /** The interpreter that creates .venv. Default: $SPOT_EMULATOR_PYTHON, else "python3". */
    readonly python?: string;
    /** Told about slow steps, such as the first-run install of .venv. */
    readonly onProgress?: (message: string) => void;
    readonly timeoutMs?: number;
}

/** Every finding of parliament, and of iam_lint.py's checks per kind, each naming its document. */
export async function lintIamPolicies(
    documents: readonly IamDocument[],
    options: IamLintOptions = {},
): Promise<Finding[]> {
    const names = new Set(documents.map((entry) => entry.name));
    if (names.size !== documents.length) {
        throw new Error("lintIamPolicies: every document needs a name of its own");
    }
    const python = await ensureVirtualEnvironment(
        options.python ?? process.env[PYTHON_ENVIRONMENT_VARIABLE] ?? "python3",
        options.onProgress ?? (() => undefined),
    );
    const stdout = await runScript(
        python,
        JSON.stringify(documents),
        options.timeoutMs ?? DEFAULT_LINT_TIMEOUT_MS,
    );
    const results = JSON.parse(stdout) as {
        name: string;
        findings: Omit<Finding, "document">[];
    }[];
    return results.flatMap(({ name, findings }) =>
        findings.map((finding) => ({ ...finding, document: name })),
    );
}

function runScript(python: string, input: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn(python, [IAM_LINT_SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
        const stdout: Buffer[] = [];
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
        child.stderr.on("data", (chunk: Buffer) => {
            stderr = (stderr + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
        });
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, timeoutMs);
        child.once("error", (error) => {
            clearTimeout(timer);
            reject(error);
        });
        child.once("close", (exitCode, signal) => {
            clearTimeout(timer);
            if (exitCode === 0) {
                resolve(Buffer.concat(stdout).toString("utf8"));
                return;
            }
            const outcome = timedOut
                ? `timed out after ${timeoutMs / 1000} s`
                : signal !== null
                  ? `signal ${signal}`
                  : `exit code ${exitCode}`;
            reject(new Error(`${python} ${IAM_LINT_SCRIPT} failed (${outcome}):\n${stderr}`));
        });
        // A script that dies before reading its input is reported by "close", not as EPIPE.
        child.stdin.on("error", () => undefined);
        child.stdin.end(input);
    });
}
