/** parliament, an IAM linter, over IAM documents: one run of iam_lint.py with .venv's python for them all. */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { ensureVirtualEnvironment, OUTPUT_TAIL_CHARS } from "../../emulator/install";

const IAM_LINT_SCRIPT = path.join(__dirname, "iam_lint.py");
/** Importing parliament and its privilege data takes about a second; this bounds a hung run. */
const LINT_TIMEOUT_MS = 30_000;

export interface IamDocument {
    readonly name: string;
    readonly document: object;
    /**
     * identity: a role's own policy (a Principal in it is a finding); resource: a queue, topic or
     * key policy (each statement needs a Principal); trust: a role's assume-role policy, linted with
     * the role as each statement's Resource, since parliament refuses statements without one.
     */
    readonly kind: "identity" | "resource" | "trust";
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

/** Every finding of parliament, and of iam_lint.py's checks per kind, each naming its document. */
export async function lintIamPolicies(documents: readonly IamDocument[]): Promise<Finding[]> {
    if (new Set(documents.map((entry) => entry.name)).size !== documents.length) {
        throw new Error("lintIamPolicies: every document needs a name of its own");
    }
    const python = await ensureVirtualEnvironment();
    const run = spawnSync(python, [IAM_LINT_SCRIPT], {
        input: JSON.stringify(documents),
        encoding: "utf8",
        timeout: LINT_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
    });
    if (run.status !== 0) {
        const outcome = run.error?.message ?? run.signal ?? `exit code ${run.status}`;
        const stderr = (run.stderr ?? "").slice(-OUTPUT_TAIL_CHARS);
        throw new Error(`${python} ${IAM_LINT_SCRIPT} failed (${outcome}):\n${stderr}`);
    }
    const results = JSON.parse(run.stdout) as {
        name: string;
        findings: Omit<Finding, "document">[];
    }[];
    return results.flatMap(({ name, findings }) =>
        findings.map((finding) => ({ ...finding, document: name })),
    );
}
