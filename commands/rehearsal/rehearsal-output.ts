/**
 * `npm start`'s steps as a person reads them: the plan, the emulated workshop environment, the
 * warning's way to the handler hop by hop, the handler's log, the group before and after, and the
 * checks, in tables and colour.
 */
import { planChanges, type Plan } from "./rehearsal-plan";
import { loadSampleEvent } from "../../offline/sample-event";
import { checksFor } from "./rehearsal-checks";
import type { RehearsalRun } from "./rehearsal-steps";
import { duration, fields, humanValue, indent, type Style, table } from "../terminal";
import {
    DEREGISTRATION_DELAY_SECONDS,
    WEB_INSTANCE_TYPES,
    WEB_TIER_DEFAULTS,
    type WorkshopEnvironment,
} from "../../emulator/workshop";
import { type LogEntry } from "./rehearsal-log";
import { BACKDATE_MS, type KindRun } from "./group-kinds";
import { SAFETY_NET_GRACE_MS } from "../../contract";

export const SEED_WARNING =
    "In a real test, a detached instance is not terminated for you: it keeps running (and billing) " +
    "until you terminate it, or until EC2 reclaims it at the end of the two-minute notice.";

export function printHuman(
    environment: WorkshopEnvironment,
    runs: RehearsalRun[],
    kinds: readonly KindRun[],
    style: Style,
    elapsedMs: number,
): void {
    let stepNumber = 0;
    const step = (title: string) =>
        console.log(`\n${style.cyan(`${++stepNumber}.`)} ${style.bold(title)}`);
    const note = (text: string) => console.log(style.dim(`  ${text}`));
    const [first] = runs;

    const path =
        first.delivery === "queue"
            ? "EventBridge rule → events queue → event source mapping → handler, the component's default path"
            : "the handler invoked directly with the bare event, as the Lambda console's test does";
    console.log(style.bold(`Spot interruption handler: the workshop's test, rehearsed offline`));
    note(`Delivery: ${path}.`);
    note("Pulumi mocks plan the handler; moto plays AWS on 127.0.0.1; no AWS account is used.");

    step(`Plan: ${first.plan.heading}`);
    note(first.plan.provenance);
    printPlan(first.plan, style);

    step("Local AWS (moto) holding the workshop environment");
    console.log(
        table(
            ["RESOURCE", "DETAIL"],
            [
                [
                    "VPC",
                    `${environment.vpcId}, one public subnet in each of ${environment.subnetIds.length} AZs`,
                ],
                [
                    "target group",
                    `HTTP:80, health check /, deregistration delay ${DEREGISTRATION_DELAY_SECONDS} s`,
                ],
                [
                    `group ${environment.webGroupName}`,
                    `the web tier's shape: Spot, ${WEB_TIER_DEFAULTS.spotAllocationStrategy} over ${WEB_INSTANCE_TYPES.length} instance types, min ${first.group.minSize} / desired ${first.desiredCapacityBefore} / max ${first.group.maxSize}`,
                ],
                [`group ${environment.otherGroupName}`, "a neighbour the handler must not touch"],
                ["instance", `${environment.standaloneInstanceId}, in no group`],
            ],
            2,
        ),
    );
    if (first.queued !== undefined) {
        const q = first.queued;
        note(
            `The rehearsal adds the queued path: rule ${q.ruleName} (the component's exact pattern) → ${q.queueName} (visibility ${q.visibilityTimeoutSeconds} s, after ${q.maxReceiveCount} receives → ${q.deadLetterQueueName}), drained by a local event source mapping into one container of the serialized handler.`,
        );
    }

    runs.forEach((run, index) => {
        if (index > 0) {
            step(`Again with capacityOnInterruption: ${run.capacityOnInterruption}`);
            console.log("  The plan changes only in:");
            for (const change of planChanges(runs[index - 1].plan, run.plan)) {
                console.log(`    ${change}`);
            }
            note("(the emulator was reset to the same workshop environment)");
        }
        step(
            `Group ${run.group.name} before the warning: min ${run.group.minSize} / desired ${run.desiredCapacityBefore} / max ${run.group.maxSize}`,
        );
        console.log(instanceTable(run.instancesBefore, style));
        printDelivery(run, step, note, style);
        step("The handler's decision, from its log");
        printLog(run.logRecords, style);
        step("The scaling activity, as DetachInstances answered");
        console.log(
            table(
                ["ACTIVITY", "STATUS", "DESCRIPTION"],
                run.activities.map((a) => [
                    a.activityId ?? "",
                    a.statusCode ?? "",
                    a.description ?? "",
                ]),
                2,
            ),
        );
        note(
            `On AWS it stays WaitingForELBConnectionDraining for the target group's ${DEREGISTRATION_DELAY_SECONDS} s deregistration delay; moto does not deregister.`,
        );
        const desired =
            run.desiredCapacityAfter === run.desiredCapacityBefore
                ? `${run.desiredCapacityAfter} (kept)`
                : `${run.desiredCapacityBefore} → ${run.desiredCapacityAfter}`;
        step(`Group ${run.group.name} after: desired capacity ${desired}`);
        console.log(instanceTable(run.instancesAfter, style));
        const gone = run.interruptedInstanceInGroup
            ? style.red(`${run.interruptedInstanceId} is still in the group`)
            : style.green(`${run.interruptedInstanceId} is gone from the group`);
        console.log(`  ${gone}; its EC2 state: ${run.interruptedInstanceEc2State ?? "unknown"}`);
        step("What the workshop has you check");
        for (const check of checksFor(run)) {
            console.log(`  ${check.passed ? style.green("✓") : style.red("✗")} ${check.label}`);
        }
    });

    if (kinds.length > 0) {
        step("The handler's decision per kind of group (interruptionAction auto, keep)");
        printGroupKinds(kinds, style);
    }

    step("Before you try this on AWS");
    console.log(`  ${style.yellow("Warning:")} ${SEED_WARNING}`);
    const all = [
        ...runs.flatMap(checksFor),
        ...kinds.map((k) => ({ label: k.kind, passed: k.passed })),
    ];
    const failed = all.filter((c) => !c.passed).length;
    console.log(
        `\n${failed === 0 ? style.green(`All ${all.length} checks passed`) : style.red(`${failed} of ${all.length} checks failed`)} in ${duration(elapsedMs)}.`,
    );
}

function printPlan(plan: Plan, style: Style): void {
    const rows = plan.resources.map((r) => [r.type, r.name, r.properties]);
    console.log(table(["TYPE", "NAME", "KEY PROPERTIES"], rows, 2));
    console.log();
    console.log(`  ${style.bold("IAM policy of the function's role")} (nothing else is granted)`);
    console.log(
        table(
            ["SID", "ACTIONS", "RESOURCE"],
            plan.policy.map((s) => [s.sid, s.actions.join(", "), s.resource]),
            4,
        ),
    );
}

/** The warning's way from EC2 to the handler: three hops queued, one direct. */
function printDelivery(
    run: RehearsalRun,
    step: (title: string) => void,
    note: (text: string) => void,
    style: Style,
): void {
    const event = run.event as {
        source: string;
        "detail-type": string;
        time: string;
        detail: Record<string, string>;
    };
    const eventFields: [string, string][] = [
        ["source", event.source],
        ["detail-type", event["detail-type"]],
        ["instance", `${event.detail["instance-id"]} (${event.detail["instance-action"]})`],
    ];
    const { queued, direct } = run;
    if (queued !== undefined) {
        step(`EC2's warning on the default bus: PutEvents, in ${duration(queued.putEventsMs)}`);
        console.log(fields([...eventFields, ["time", `${event.time}, now`]], 2));
        note(
            `The seed's own time, ${String(loadSampleEvent(run.interruptedInstanceId).time)}, would be a stale warning: the queued handler acknowledges and ignores those.`,
        );
        note("On AWS only EC2 may put an aws.ec2 event; moto lets the rehearsal stand in for it.");

        step(`The rule's pattern matches it into the events queue`);
        console.log(
            fields(
                [
                    ["rule", `${queued.ruleName}, pattern ${JSON.stringify(queued.eventPattern)}`],
                    [
                        "queue",
                        `${queued.queueName}: ${queued.queuedAfterPut} message(s) right after PutEvents`,
                    ],
                ],
                2,
            ),
        );

        step(
            `The event source mapping delivers it to the handler, ${duration(queued.deliveredInMs)} after PutEvents`,
        );
        console.log(
            fields(
                [
                    [
                        "mapping",
                        `batches of ≤${queued.batchSize} records gathered for ≤${queued.maximumBatchingWindowInSeconds} s, ≤${queued.maximumConcurrency} concurrent, ReportBatchItemFailures`,
                    ],
                ],
                2,
            ),
        );
        console.log(
            table(
                ["BATCH", "RECORDS", "GATHERED", "HANDLER", "OUTCOME"],
                queued.batches.map((b, index) => [
                    String(index + 1),
                    String(b.messageIds.length),
                    duration(b.gatherMs),
                    duration(b.durationMs),
                    b.outcome === "succeeded"
                        ? style.green(
                              "succeeded: batchItemFailures empty, so the mapping deleted the record",
                          )
                        : style.red(
                              `${b.outcome}: ${b.failedMessageIds.length} record(s) back after the visibility timeout${b.error ? ` (${b.error})` : ""}`,
                          ),
                ]),
                2,
            ),
        );
        console.log(
            `  Afterwards: ${queued.queueAfter.queued} message(s) in ${queued.queueName}, ${queued.queueAfter.deadLettered} in ${queued.deadLetterQueueName}`,
        );
        return;
    }
    if (direct !== undefined) {
        step(
            `The Lambda console's test: the handler invoked with the seed's sample event, in ${duration(direct.durationMs)}`,
        );
        console.log(fields([...eventFields, ["time", `${event.time}, the seed's own`]], 2));
        note(
            "Direct delivery leaves a warning's age to EventBridge's and Lambda's maximum event age, so the handler does not judge it.",
        );
        note("On AWS the rule invokes the function with this same bare event, asynchronously.");
        if (direct.summary !== undefined) {
            console.log("  Handler summary (what the Lambda console's test shows):");
            console.log(indent(JSON.stringify(direct.summary, null, 2), 4));
        } else {
            console.log(`  ${style.red(`The handler threw: ${direct.error}`)}`);
        }
    }
}

/** Log fields shown elsewhere (activities, metrics), or the same in every entry (the group). */
const HIDDEN_LOG_FIELDS = new Set([
    "level",
    "message",
    "activities",
    "autoScalingGroupName",
    "emf",
]);
const LEVEL_COLOURS: Partial<Record<string, keyof Style>> = {
    ERROR: "red",
    WARN: "yellow",
    METRICS: "cyan",
};

function printLog(entries: LogEntry[], style: Style): void {
    for (const entry of entries) {
        const level = style[LEVEL_COLOURS[entry.level] ?? "dim"](entry.level);
        console.log(`  ${level} ${entry.message}`);
        if (entry.emf !== undefined) {
            console.log(metricsTable(entry.emf as Record<string, unknown>));
            continue;
        }
        const details = Object.entries(entry)
            .filter(([key]) => !HIDDEN_LOG_FIELDS.has(key))
            .map(([key, value]): [string, string] => [key, humanValue(value)]);
        if (details.length > 0) {
            console.log(style.dim(fields(details, 7)));
        }
    }
}

/** The metrics CloudWatch would extract from one EMF line, as a real run would emit them. */
function metricsTable(document: Record<string, unknown>): string {
    const [directive] = (
        document._aws as { CloudWatchMetrics: { Metrics: { Name: string; Unit?: string }[] }[] }
    ).CloudWatchMetrics;
    return table(
        ["METRIC", "VALUE", "UNIT"],
        directive.Metrics.map(({ Name, Unit }) => [
            Name,
            [document[Name]].flat().map(String).join(", "),
            Unit ?? "",
        ]),
        4,
    );
}

function instanceTable(rows: RehearsalRun["instancesAfter"], style: Style): string {
    return table(
        ["INSTANCE", "TYPE", "AZ", "LIFECYCLE", ""],
        rows.map((i) => [
            i.instanceId,
            i.instanceType ?? "",
            i.availabilityZone ?? "",
            i.lifecycleState,
            i.mark === "interrupted"
                ? style.yellow("← the warning names this one")
                : i.mark === "detached"
                  ? style.yellow(
                        `detached (on AWS it also drains from the target group for ${DEREGISTRATION_DELAY_SECONDS} s)`,
                    )
                  : i.mark === "replacement"
                    ? style.green("replacement launched")
                    : "",
        ]),
        2,
    );
}

/** One row per kind of group: the handler's answer, then what the group did; the reasons below. */
function printGroupKinds(kinds: readonly KindRun[], style: Style): void {
    console.log(
        table(
            ["", "THE GROUP HAS", "BEFORE", "DECISION", "THEN, BY", "AFTER", ""],
            kinds.map((k, index) => [
                `${index + 1}.`,
                k.group,
                k.stateBefore,
                k.summary === undefined
                    ? style.red("threw")
                    : `${k.summary.action}${k.summary.safetyNet ? " (safety net)" : ""}`,
                k.groupAction?.by ?? "nobody",
                groupSide(k),
                k.passed ? style.green("✓") : style.red(`✗ expected ${k.expected.action}`),
            ]),
            2,
        ),
    );
    console.log("\n  Why:");
    kinds.forEach((k, index) => {
        const why = k.summary === undefined ? `the handler threw: ${k.error ?? "?"}` : k.reason;
        console.log(`  ${index + 1}. ${k.instanceId}: ${why}`);
    });
    console.log(
        style.dim(
            `\n  Each warning's time is backdated ${BACKDATE_MS / 1000} s, so a rebalancing group's ${SAFETY_NET_GRACE_MS / 1000} s grace ends about 2 s after the invoke: the handler decides as it would at the grace's end, in less wall time. Each warning goes straight to the handler, whose answer carries its reason; the group's side (its reaction, hooks, replacements) is the emulator's.`,
        ),
    );
}

/** The instance's state afterwards, the hooks that ran and its replacement. */
function groupSide(k: KindRun): string {
    const action = k.groupAction;
    const hooks = action !== undefined && action.hooksRun.length > 0 ? ", hook ran" : "";
    const replaced = action !== undefined && action.replacements.length > 0 ? ", replaced" : "";
    return `${k.stateAfter}${hooks}${replaced}`;
}
