/**
 * The simulation's record: a timeline of timestamped steps, the report it ends in, and their
 * rendering for people (live, one line per step) and for machines (`--json`). The rendering is
 * pure; only the Timeline's clock reads the time.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { FailureKind } from "./simulate-errors";
import type { DecisionSummary } from "./simulate-log";
import { duration, type Style, table } from "../terminal";

export type StepKind =
    | "found"
    | "plan"
    | "invoke"
    | "handler"
    | "activity"
    | "group"
    | "target"
    | "instance"
    | "experiment"
    | "action"
    | "terminate"
    | "note"
    | "error";

export interface TimelineStep {
    /** ISO-8601, to the millisecond. */
    readonly at: string;
    /** Since the simulation started. */
    readonly elapsedMs: number;
    readonly kind: StepKind;
    readonly message: string;
    readonly data?: Readonly<Record<string, unknown>>;
}

/** The time, and waiting: tests pass a clock whose sleep advances it at once. */
export interface Clock {
    now(): number;
    sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = { now: () => Date.now(), sleep: (ms) => delay(ms) };

/** Records steps as they happen and tells `onStep` at once, so a person sees them live. */
export class Timeline {
    readonly steps: TimelineStep[] = [];
    readonly startedAtMs: number;

    constructor(
        readonly clock: Clock,
        private readonly onStep: (step: TimelineStep) => void = () => undefined,
    ) {
        this.startedAtMs = clock.now();
    }

    add(kind: StepKind, message: string, data?: Record<string, unknown>): TimelineStep {
        const now = this.clock.now();
        const step: TimelineStep = {
            at: new Date(now).toISOString(),
            elapsedMs: now - this.startedAtMs,
            kind,
            message,
            ...(data === undefined ? {} : { data }),
        };
        this.steps.push(step);
        this.onStep(step);
        return step;
    }
}

/** One permission the simulation needs, as IAM's policy simulator judged it for the caller. */
export interface PermissionCheck {
    readonly action: string;
    readonly resource: string;
    /** What the simulation uses it for. */
    readonly why: string;
    readonly decision: "allowed" | "denied" | "unchecked";
    /** The simulator's verdict (implicitDeny, explicitDeny), or why nothing was checked. */
    readonly detail?: string;
}

/** What the simulation found the deployment to be. */
export interface DeploymentFacts {
    readonly functionName: string;
    readonly functionArn?: string;
    readonly delivery: "queue" | "direct";
    readonly queueUrl?: string;
    readonly queueArn?: string;
    readonly groupName?: string;
    readonly targetGroupArns: readonly string[];
    readonly logGroupName?: string;
    /** The function runs with DRY_RUN=true. */
    readonly handlerDryRun: boolean;
    readonly templateId?: string;
}

export interface SimulationReport {
    readonly mode: "console-test" | "fis";
    /** --dry-run: nothing mutating was called. */
    readonly dryRun: boolean;
    readonly startedAt: string;
    readonly region?: string;
    readonly caller?: string;
    readonly deployment?: DeploymentFacts;
    readonly instanceIds: readonly string[];
    /** Default mode: the warning event, and what the function was invoked with. */
    readonly event?: unknown;
    readonly payload?: unknown;
    readonly response?: unknown;
    readonly experimentId?: string;
    readonly decision?: DecisionSummary;
    /** What the handler did, in words: "left it to the group, then the safety net detached it". */
    readonly verdict?: string;
    readonly permissions?: readonly PermissionCheck[];
    readonly steps: readonly TimelineStep[];
    /** "planned": a dry run whose every check passed. */
    readonly outcome: "passed" | "failed" | "planned";
    readonly failure?: { readonly kind: FailureKind; readonly message: string };
    /** The closing warning: what is left running, and what it costs. */
    readonly warning?: string;
}

const KIND_STYLES: Partial<Record<StepKind, keyof Style>> = {
    error: "red",
    note: "yellow",
    handler: "cyan",
    terminate: "yellow",
    experiment: "bold",
    plan: "dim",
    found: "dim",
};
const KIND_WIDTH = 10;

/**
 * One step, for people: wall-clock time (UTC), time since the start, kind and message.
 *
 * @example
 * formatStep({ at: "2026-05-01T12:00:03.000Z", elapsedMs: 2100, kind: "handler", message: "Detaching" }, plain);
 * // "12:00:03  +2.10 s   handler     Detaching"
 */
export function formatStep(step: TimelineStep, style: Style): string {
    const clock = step.at.slice(11, 19);
    const elapsed = `+${duration(step.elapsedMs)}`.padEnd(9);
    const kind = step.kind.padEnd(KIND_WIDTH);
    const paint = style[KIND_STYLES[step.kind] ?? "dim"];
    const message =
        step.kind === "error" || step.kind === "note" ? paint(step.message) : step.message;
    return `${style.dim(clock)}  ${style.dim(elapsed)}  ${paint(kind)}  ${message}`;
}

export function formatPermissions(checks: readonly PermissionCheck[], style: Style): string {
    return table(
        ["ACTION", "RESOURCE", "VERDICT", "FOR"],
        checks.map((c) => [
            c.action,
            c.resource,
            c.decision === "allowed"
                ? style.green("allowed")
                : c.decision === "denied"
                  ? style.red(`denied${c.detail ? ` (${c.detail})` : ""}`)
                  : style.yellow(`unchecked${c.detail ? ` (${c.detail})` : ""}`),
            c.why,
        ]),
        2,
    );
}

/** The lines after the timeline: permissions (dry run), the outcome, the closing warning. */
export function formatSummary(report: SimulationReport, style: Style): string {
    const lines: string[] = [];
    if (report.permissions !== undefined) {
        lines.push("", style.bold("Permissions (IAM policy simulator, your identity policies)"));
        lines.push(formatPermissions(report.permissions, style));
    }
    lines.push("");
    if (report.outcome === "failed") {
        // The failure is the timeline's last step already, unless a dry run's check failed.
        const shown = report.steps.at(-1)?.message === report.failure?.message;
        lines.push(
            style.red(
                shown
                    ? `Failed (${report.failure?.kind}).`
                    : `Failed (${report.failure?.kind}): ${report.failure?.message}`,
            ),
        );
    } else if (report.outcome === "planned") {
        lines.push(style.green("Dry run: nothing was invoked, started or terminated."));
    } else {
        lines.push(style.green(passedLine(report)));
    }
    if (report.warning !== undefined) {
        lines.push("", `${style.yellow("Warning:")} ${report.warning}`);
    }
    return lines.join("\n");
}

function passedLine(report: SimulationReport): string {
    const last = report.steps.at(-1);
    const took = last === undefined ? "" : ` in ${duration(last.elapsedMs)}`;
    return report.mode === "fis"
        ? `Passed${took}: the experiment's interruption went rule → ${report.deployment?.delivery === "queue" ? "queue → " : ""}function → group.`
        : `Passed${took}: the handler ${report.verdict ?? report.decision?.action ?? "answered"}, as the console test expects.`;
}

/** The report as one JSON document (`--json`). */
export function reportJson(report: SimulationReport): string {
    return `${JSON.stringify(report, null, 2)}\n`;
}
