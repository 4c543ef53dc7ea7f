/** `npm start`'s steps as a person reads them, in tables and colour. */
import { planChanges } from "./plan";
import { loadSampleEvent } from "../../offline/sample-event";
import { checksFor, type InstanceRow, type RehearsalRun } from "./warning";
import { duration, fields, humanValue, type Style, table } from "../terminal";
import {
    DEREGISTRATION_DELAY_SECONDS,
    WEB_INSTANCE_TYPES,
    WEB_TIER_DEFAULTS,
    type WorkshopEnvironment,
} from "../../emulator/workshop";
import { type LogEntry, metricRows } from "./handler-log";
import { BACKDATE_MS, type KindRun } from "./group-kinds";
import { SAFETY_NET_GRACE_MS } from "../../contract";
import type { EmfDocument } from "../../handler/metrics";

export const SEED_WARNING =
    "In a real test, a detached instance is not terminated for you: it keeps running (and billing) " +
    "until you terminate it, or until EC2 reclaims it at the end of the two-minute notice.";

/** Numbered steps under a bold title, with dim notes. */
interface Printer {
    readonly style: Style;
    step(title: string): void;
    note(text: string): void;
}

export function printHuman(
    environment: WorkshopEnvironment,
    runs: RehearsalRun[],
    kinds: readonly KindRun[],
    style: Style,
    elapsedMs: number,
): void {
    let stepNumber = 0;
    const out: Printer = {
        style,
        step: (title) => console.log(`\n${style.cyan(`${++stepNumber}.`)} ${style.bold(title)}`),
        note: (text) => console.log(style.dim(`  ${text}`)),
    };
    const [first] = runs;
    console.log(style.bold(`Spot interruption handler: the workshop's test, rehearsed offline`));
    out.note(
        first.delivery === "queue"
            ? "Delivery: EventBridge rule → events queue → event source mapping → handler, the component's default path."
            : "Delivery: the handler invoked directly with the bare event, as the Lambda console's test does.",
    );
    out.note("Pulumi mocks plan the handler; moto plays AWS on 127.0.0.1; no AWS account is used.");

    out.step(`Plan: ${first.plan.heading}`);
    out.note(first.plan.provenance);
    const rows = first.plan.resources.map((r) => [r.type, r.name, r.properties]);
    console.log(table(["TYPE", "NAME", "KEY PROPERTIES"], rows, 2));
    console.log(`\n  ${style.bold("IAM policy of the function's role")} (nothing else is granted)`);
    const policy = first.plan.policy.map((s) => [s.sid, s.actions.join(", "), s.resource]);
    console.log(table(["SID", "ACTIONS", "RESOURCE"], policy, 4));

    out.step("Local AWS (moto) holding the workshop environment");
    const { subnetIds, webGroupName, otherGroupName, standaloneInstanceId } = environment;
    const resources = {
        VPC: `${environment.vpcId}, one public subnet in each of ${subnetIds.length} AZs`,
        "target group": `HTTP:80, health check /, deregistration delay ${DEREGISTRATION_DELAY_SECONDS} s`,
        [`group ${webGroupName}`]: `the web tier's shape: Spot, ${WEB_TIER_DEFAULTS.spotAllocationStrategy} over ${WEB_INSTANCE_TYPES.length} instance types, ${shapeOf(first)}`,
        [`group ${otherGroupName}`]: "a neighbour the handler must not touch",
        instance: `${standaloneInstanceId}, in no group`,
    };
    console.log(table(["RESOURCE", "DETAIL"], Object.entries(resources), 2));
    const q = first.queued;
    if (q !== undefined) {
        out.note(
            `The rehearsal adds the queued path: rule ${q.ruleName} (the component's exact pattern) → ${q.queueName} (visibility ${q.visibilityTimeoutSeconds} s, after ${q.maxReceiveCount} receives → ${q.deadLetterQueueName}), drained by a local event source mapping into one container of the serialized handler.`,
        );
    }

    runs.forEach((run, index) => {
        if (index > 0) {
            out.step(`Again with capacityOnInterruption: ${run.capacityOnInterruption}`);
            console.log("  The plan changes only in:");
            for (const change of planChanges(runs[index - 1].plan, run.plan)) {
                console.log(`    ${change}`);
            }
            out.note("(the emulator was reset to the same workshop environment)");
        }
        printRun(run, out);
    });

    if (kinds.length > 0) {
        out.step("The handler's decision per kind of group (interruptionAction auto, keep)");
        printGroupKinds(kinds, style);
    }

    out.step("Before you try this on AWS");
    console.log(`  ${style.yellow("Warning:")} ${SEED_WARNING}`);
    const all = [...runs.flatMap(checksFor), ...kinds];
    const failed = all.filter((c) => !c.passed).length;
    const verdict =
        failed === 0
            ? `All ${all.length} checks passed`
            : `${failed} of ${all.length} checks failed`;
    console.log(`\n${style[failed === 0 ? "green" : "red"](verdict)} in ${duration(elapsedMs)}.`);
}

const shapeOf = ({ group, desiredCapacityBefore }: RehearsalRun) =>
    `min ${group.minSize} / desired ${desiredCapacityBefore} / max ${group.maxSize}`;

/** One mode's steps: the group before, the warning's way, the log, the group after, the checks. */
function printRun(run: RehearsalRun, out: Printer): void {
    const { style } = out;
    const { desiredCapacityBefore: before, desiredCapacityAfter: after, group } = run;
    out.step(`Group ${group.name} before the warning: ${shapeOf(run)}`);
    console.log(instanceTable(run.instancesBefore, style));
    printDelivery(run, out);
    out.step("The handler's decision, from its log");
    printLog(run.logRecords, style);
    out.step("The scaling activity, as DetachInstances answered");
    const columns = ["activityId", "statusCode", "description"] as const;
    const activities = run.activities.map((a) => columns.map((key) => a[key] ?? ""));
    console.log(table(["ACTIVITY", "STATUS", "DESCRIPTION"], activities, 2));
    out.note(
        `On AWS it stays WaitingForELBConnectionDraining for the target group's ${DEREGISTRATION_DELAY_SECONDS} s deregistration delay; moto does not deregister.`,
    );
    out.step(
        `Group ${group.name} after: desired capacity ${after === before ? `${after} (kept)` : `${before} → ${after}`}`,
    );
    console.log(instanceTable(run.instancesAfter, style));
    const victim = run.interruptedInstanceId;
    const gone = run.interruptedInstanceInGroup
        ? style.red(`${victim} is still in the group`)
        : style.green(`${victim} is gone from the group`);
    console.log(`  ${gone}; its EC2 state: ${run.interruptedInstanceEc2State ?? "unknown"}`);
    out.step("What the workshop has you check");
    for (const check of checksFor(run)) {
        console.log(`  ${check.passed ? style.green("✓") : style.red("✗")} ${check.label}`);
    }
}

/** The warning's way from EC2 to the handler: three hops queued, one direct. */
function printDelivery(run: RehearsalRun, { step, note, style }: Printer): void {
    const event = run.event as { source: string; "detail-type": string; time: string };
    const detail = run.event.detail as Record<string, string>;
    const eventFields = (time: string) =>
        Object.entries({
            source: event.source,
            "detail-type": event["detail-type"],
            instance: `${detail["instance-id"]} (${detail["instance-action"]})`,
            time: `${event.time}, ${time}`,
        });
    const { queued, direct } = run;
    if (queued !== undefined) {
        step(`EC2's warning on the default bus: PutEvents, in ${duration(queued.putEventsMs)}`);
        console.log(fields(eventFields("now"), 2));
        note(
            `The seed's own time, ${String(loadSampleEvent(run.interruptedInstanceId).time)}, would be a stale warning: the queued handler acknowledges and ignores those.`,
        );
        note("On AWS only EC2 may put an aws.ec2 event; moto lets the rehearsal stand in for it.");

        step(`The rule's pattern matches it into the events queue`);
        const rule = `${queued.ruleName}, pattern ${JSON.stringify(queued.eventPattern)}`;
        const queue = `${queued.queueName}: ${queued.queuedAfterPut} message(s) right after PutEvents`;
        console.log(fields(Object.entries({ rule, queue }), 2));

        step(
            `The event source mapping delivers it to the handler, ${duration(queued.deliveredInMs)} after PutEvents`,
        );
        const mapping = `batches of ≤${queued.batchSize} records gathered for ≤${queued.maximumBatchingWindowInSeconds} s, ≤${queued.maximumConcurrency} concurrent, ReportBatchItemFailures`;
        console.log(fields([["mapping", mapping]], 2));
        const batches = queued.batches.map((b, index) => {
            const ok = b.outcome === "succeeded";
            const why = ok
                ? "batchItemFailures empty, so the mapping deleted the record"
                : `${b.failedMessageIds.length} record(s) back after the visibility timeout${b.error ? ` (${b.error})` : ""}`;
            const counts = [index + 1, b.messageIds.length].map(String);
            const times = [b.gatherMs, b.durationMs].map(duration);
            return [...counts, ...times, style[ok ? "green" : "red"](`${b.outcome}: ${why}`)];
        });
        console.log(table(["BATCH", "RECORDS", "GATHERED", "HANDLER", "OUTCOME"], batches, 2));
        console.log(
            `  Afterwards: ${queued.queueAfter.queued} message(s) in ${queued.queueName}, ${queued.queueAfter.deadLettered} in ${queued.deadLetterQueueName}`,
        );
    } else if (direct !== undefined) {
        step(
            `The Lambda console's test: the handler invoked with the seed's sample event, in ${duration(direct.durationMs)}`,
        );
        console.log(fields(eventFields("the seed's own"), 2));
        note(
            "Direct delivery leaves a warning's age to EventBridge's and Lambda's maximum event age, so the handler does not judge it.",
        );
        note("On AWS the rule invokes the function with this same bare event, asynchronously.");
        console.log(
            direct.summary !== undefined
                ? `  Handler summary (what the Lambda console's test shows):\n${JSON.stringify(direct.summary, null, 2).replace(/^/gm, "    ")}`
                : `  ${style.red(`The handler threw: ${direct.error}`)}`,
        );
    }
}

/** Log fields shown elsewhere (activities, metrics), or the same in every entry (the group). */
const HIDDEN_FIELDS = new Set(["level", "message", "activities", "autoScalingGroupName", "emf"]);
const LEVEL_COLOURS = new Map<string, keyof Style>([
    ["ERROR", "red"],
    ["WARN", "yellow"],
    ["METRICS", "cyan"],
]);

function printLog(entries: LogEntry[], style: Style): void {
    for (const entry of entries) {
        const level = style[LEVEL_COLOURS.get(entry.level) ?? "dim"](entry.level);
        console.log(`  ${level} ${entry.message}`);
        if (entry.emf !== undefined) {
            // The metrics CloudWatch would extract from the EMF line, as on AWS.
            const metrics = metricRows(entry.emf as EmfDocument);
            console.log(table(["METRIC", "VALUE", "UNIT"], metrics, 4));
            continue;
        }
        const details = Object.entries(entry)
            .filter(([key]) => !HIDDEN_FIELDS.has(key))
            .map(([key, value]): [string, string] => [key, humanValue(value)]);
        if (details.length > 0) {
            console.log(style.dim(fields(details, 7)));
        }
    }
}

/** What the instance tables say beside an instance the warning touched. */
const MARKS = {
    interrupted: ["yellow", "← the warning names this one"],
    detached: [
        "yellow",
        `detached (on AWS it also drains from the target group for ${DEREGISTRATION_DELAY_SECONDS} s)`,
    ],
    replacement: ["green", "replacement launched"],
} as const;

function instanceTable(rows: InstanceRow[], style: Style): string {
    const cells = rows.map((i) => {
        const mark = i.mark === undefined ? "" : style[MARKS[i.mark][0]](MARKS[i.mark][1]);
        const { instanceType = "", availabilityZone = "" } = i;
        return [i.instanceId, instanceType, availabilityZone, i.lifecycleState, mark];
    });
    return table(["INSTANCE", "TYPE", "AZ", "LIFECYCLE", ""], cells, 2);
}

/** One row per kind of group: the handler's answer, then what the group did; the reasons below. */
function printGroupKinds(kinds: readonly KindRun[], style: Style): void {
    const rows = kinds.map((k, index) => {
        const action = k.groupAction;
        const hooks = (action?.hooksRun.length ?? 0) > 0 ? ", hook ran" : "";
        const replaced = (action?.replacements.length ?? 0) > 0 ? ", replaced" : "";
        return [
            `${index + 1}.`,
            k.group,
            k.stateBefore,
            k.summary === undefined
                ? style.red("threw")
                : `${k.summary.action}${k.summary.safetyNet ? " (safety net)" : ""}`,
            action?.by ?? "nobody",
            `${k.stateAfter}${hooks}${replaced}`,
            k.passed ? style.green("✓") : style.red(`✗ expected ${k.expected.action}`),
        ];
    });
    const headers = ["", "THE GROUP HAS", "BEFORE", "DECISION", "THEN, BY", "AFTER", ""];
    console.log(`${table(headers, rows, 2)}\n\n  Why:`);
    kinds.forEach((k, index) => {
        const why = k.summary === undefined ? `the handler threw: ${k.error}` : k.reason;
        console.log(`  ${index + 1}. ${k.instanceId}: ${why}`);
    });
    console.log(
        style.dim(
            `\n  Each warning's time is backdated ${BACKDATE_MS / 1000} s, so a rebalancing group's ${SAFETY_NET_GRACE_MS / 1000} s grace ends about 2 s after the invoke: the handler decides as it would at the grace's end, in less wall time. Each warning goes straight to the handler, whose answer carries its reason; the group's side (its reaction, hooks, replacements) is the emulator's.`,
        ),
    );
}
