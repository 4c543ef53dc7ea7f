/**
 * `npm start`: the workshop's console test, rehearsed offline. The stack program is planned under
 * Pulumi mocks, the serialized handler meets moto on 127.0.0.1, and the output shows what the
 * workshop asks you to check in the console. No AWS account and no Pulumi CLI are involved.
 *
 * Usage: npm start -- [--capacity keep|decrement] [--json]
 */
import { parseArgs } from "node:util";
import type { CapacityOnInterruption, InterruptionSummary } from "../components";
import type { DecisionRecord } from "../handler/handle";
import { startEmulator } from "./emulator";
import { type FunctionCode, materializeHandlerArchive } from "./handler-archive";
import { loadSampleEvent } from "./sample-event";
import { type RecordedResource, runStackProgram } from "./offline-engine";
import { runCli } from "./cli";
import { colourWanted, createStyle, type Style, table } from "./terminal";
import {
    describeGroupState,
    describeInstanceState,
    type GroupState,
    seedWorkshopEnvironment,
    WEB_INSTANCE_TYPES,
    WEB_TIER_DEFAULTS,
    type WorkshopEnvironment,
} from "./workshop-environment";

interface PlannedResource {
    readonly type: string;
    readonly name: string;
    readonly properties: string;
}

interface PolicyStatementRow {
    readonly sid: string;
    readonly actions: string[];
    readonly resource: string;
}

interface Plan {
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly resources: PlannedResource[];
    readonly policy: PolicyStatementRow[];
    readonly archiveZippedBytes: number;
}

interface InstanceRow {
    readonly instanceId: string;
    readonly instanceType?: string;
    readonly availabilityZone?: string;
    readonly lifecycleState: string;
    readonly change?: "detached" | "replacement";
}

interface RehearsalRun {
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly plan: Plan;
    readonly interruptedInstanceId: string;
    readonly summary: InterruptionSummary;
    readonly logRecords: (DecisionRecord & { level: string })[];
    readonly desiredCapacityBefore: number;
    readonly desiredCapacityAfter: number;
    readonly instancesAfter: InstanceRow[];
    readonly interruptedInstanceInGroup: boolean;
    readonly interruptedInstanceEc2State?: string;
}

const SEED_WARNING =
    "In a real test, a detached instance is not terminated for you: it keeps running (and billing) " +
    "until you terminate it, or until EC2 reclaims it at the end of the two-minute notice.";

function parseCommandLine(argv: string[]): { modes: CapacityOnInterruption[]; json: boolean } {
    const { values } = parseArgs({
        args: argv,
        options: {
            capacity: { type: "string" },
            json: { type: "boolean", default: false },
            help: { type: "boolean", short: "h", default: false },
        },
        strict: true,
    });
    if (values.help) {
        process.stdout.write("Usage: npm start -- [--capacity keep|decrement] [--json]\n");
        process.exit(0);
    }
    const capacity = values.capacity;
    if (capacity !== undefined && capacity !== "keep" && capacity !== "decrement") {
        throw new Error(`--capacity is "${capacity}"; use --capacity keep or --capacity decrement`);
    }
    return { modes: capacity ? [capacity] : ["keep", "decrement"], json: values.json ?? false };
}

async function planStack(
    capacityOnInterruption: CapacityOnInterruption,
    groupName: string,
    region: string,
) {
    const { resources } = await runStackProgram({
        "aws:region": region,
        autoScalingGroupName: groupName,
        capacityOnInterruption,
    });
    const fn = onlyOne(resources, "aws:lambda/function:Function");
    // The recorded inputs are exactly what the Function was given: its code and environment.
    const archive = await materializeHandlerArchive(
        fn.inputs as unknown as FunctionCode,
        `rehearsal-${capacityOnInterruption}`,
    );
    const plan: Plan = {
        capacityOnInterruption,
        resources: resources.map((r) => ({
            type: r.type,
            name: r.name,
            properties: keyProperties(r, archive.zippedBytes),
        })),
        policy: policyRows(onlyOne(resources, "aws:iam/rolePolicy:RolePolicy").inputs.policy),
        archiveZippedBytes: archive.zippedBytes,
    };
    return { plan, archive };
}

function onlyOne(resources: RecordedResource[], type: string): RecordedResource {
    const matches = resources.filter((r) => r.type === type);
    if (matches.length !== 1) {
        throw new Error(
            `The stack program planned ${matches.length} resources of type ${type}, not 1`,
        );
    }
    return matches[0];
}

function keyProperties(resource: RecordedResource, archiveBytes: number): string {
    const inputs = resource.inputs as Record<string, never>;
    switch (resource.type) {
        case "aws:cloudwatch/eventRule:EventRule":
            return `pattern ${inputs.eventPattern}`;
        case "aws:cloudwatch/eventTarget:EventTarget": {
            const retry = inputs.retryPolicy as {
                maximumEventAgeInSeconds: number;
                maximumRetryAttempts: number;
            };
            return `retry for ≤${retry.maximumEventAgeInSeconds} s (≤${retry.maximumRetryAttempts} attempts), then DLQ`;
        }
        case "aws:lambda/function:Function": {
            const variables = (inputs.environment as { variables: Record<string, string> })
                .variables;
            const env = Object.entries(variables)
                .map(([k, v]) => `${k}=${v}`)
                .join(" ");
            return `${inputs.runtime}, ${inputs.timeout} s, ${inputs.memorySize} MB, archive ${formatBytes(archiveBytes)} zipped, ${env}`;
        }
        case "aws:lambda/permission:Permission":
            return `${inputs.action} for ${inputs.principal}, only from the rule`;
        case "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig":
            return `${inputs.maximumRetryAttempts} retries within ${inputs.maximumEventAgeInSeconds} s, then DLQ`;
        case "aws:sqs/queue:Queue":
            return `encrypted (SSE-SQS), retention ${Number(inputs.messageRetentionSeconds) / 86_400} days`;
        case "aws:sqs/queuePolicy:QueuePolicy":
            return "events.amazonaws.com may send, only for this rule";
        case "aws:cloudwatch/logGroup:LogGroup":
            return `retention ${inputs.retentionInDays} days`;
        case "aws:iam/role:Role":
            return "assumed by lambda.amazonaws.com; one inline policy, below";
        case "aws:iam/rolePolicy:RolePolicy":
            return "least privilege, below";
        default:
            return "";
    }
}

function policyRows(policy: unknown): PolicyStatementRow[] {
    const document = JSON.parse(String(policy)) as {
        Statement: { Sid?: string; Action: string | string[]; Resource: string | string[] }[];
    };
    return document.Statement.map((s) => ({
        sid: s.Sid ?? "",
        actions: [s.Action].flat(),
        resource: [s.Resource].flat().join(", "),
    }));
}

function formatBytes(bytes: number): string {
    return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function rehearse(
    capacityOnInterruption: CapacityOnInterruption,
    emulator: Awaited<ReturnType<typeof startEmulator>>,
    report: (message: string) => void,
): Promise<{ run: RehearsalRun; environment: WorkshopEnvironment }> {
    report(`Planning the stack with capacityOnInterruption=${capacityOnInterruption}...`);
    await emulator.reset();
    const environment = await seedWorkshopEnvironment(emulator);
    const { plan, archive } = await planStack(
        capacityOnInterruption,
        environment.webGroupName,
        emulator.region,
    );
    try {
        const before = await describeGroupState(emulator, environment.webGroupName);
        const victim = before.instances.find((i) => i.lifecycleState === "InService");
        if (victim === undefined) {
            throw new Error(
                `Group ${environment.webGroupName} has no InService instance to interrupt`,
            );
        }
        report(`Sending the seed's sample event for ${victim.instanceId} through the handler...`);
        const { results, logLines } = await archive.invoke(
            [loadSampleEvent(victim.instanceId)],
            emulator.environment(),
        );
        const [result] = results;
        if (result.status === "rejected") {
            throw new Error(`The handler failed: ${String(result.reason)}`);
        }
        const after = await describeGroupState(emulator, environment.webGroupName);
        const run: RehearsalRun = {
            capacityOnInterruption,
            plan,
            interruptedInstanceId: victim.instanceId,
            summary: result.value,
            logRecords: logLines.map((line) => JSON.parse(line)),
            desiredCapacityBefore: before.desiredCapacity,
            desiredCapacityAfter: after.desiredCapacity,
            instancesAfter: instanceRows(before, after, victim.instanceId),
            interruptedInstanceInGroup: after.instances.some(
                (i) => i.instanceId === victim.instanceId,
            ),
            interruptedInstanceEc2State: await describeInstanceState(emulator, victim.instanceId),
        };
        return { run, environment };
    } finally {
        archive.remove();
    }
}

function instanceRows(before: GroupState, after: GroupState, victimId: string): InstanceRow[] {
    const victim = before.instances.find((i) => i.instanceId === victimId);
    const previous = new Set(before.instances.map((i) => i.instanceId));
    const rows: InstanceRow[] = after.instances.map((i) => ({
        ...i,
        change: previous.has(i.instanceId) ? undefined : "replacement",
    }));
    if (victim !== undefined && !after.instances.some((i) => i.instanceId === victimId)) {
        rows.unshift({ ...victim, lifecycleState: "(left the group)", change: "detached" });
    }
    return rows;
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

function printRun(run: RehearsalRun, style: Style): void {
    const { summary } = run;
    console.log(`  Handler summary (what the Lambda console's test shows):`);
    console.log(
        JSON.stringify(summary, null, 2)
            .split("\n")
            .map((line) => `    ${line}`)
            .join("\n"),
    );
    console.log();
    console.log(`  Handler log:`);
    for (const record of run.logRecords) {
        const level =
            record.level === "WARN" ? style.yellow(record.level) : style.dim(record.level);
        console.log(`    ${level} ${record.message}`);
        if (record.reason) {
            console.log(`         reason: ${record.reason}`);
        }
        if (record.activity) {
            console.log(
                `         scaling activity: ${record.activity.description} (${record.activity.statusCode})`,
            );
        }
    }
    console.log();
    const desired =
        run.desiredCapacityAfter === run.desiredCapacityBefore
            ? `${run.desiredCapacityAfter} (kept)`
            : `${run.desiredCapacityBefore} → ${run.desiredCapacityAfter}`;
    console.log(`  Group ${summary.autoScalingGroupName}: desired capacity ${desired}`);
    const rows = run.instancesAfter.map((i) => [
        i.instanceId,
        i.instanceType ?? "",
        i.availabilityZone ?? "",
        i.lifecycleState,
        i.change === "detached"
            ? style.yellow("detached (on AWS it also drains from the target group for 120 s)")
            : i.change === "replacement"
              ? style.green("replacement launched")
              : "",
    ]);
    console.log(table(["INSTANCE", "TYPE", "AZ", "LIFECYCLE", ""], rows, 4));
    console.log();
    const gone = run.interruptedInstanceInGroup
        ? style.red(`${run.interruptedInstanceId} is still in the group`)
        : style.green(`${run.interruptedInstanceId} is gone from the group`);
    console.log(`  ${gone}; its EC2 state: ${run.interruptedInstanceEc2State ?? "unknown"}`);
}

interface Check {
    readonly label: string;
    readonly passed: boolean;
}

/** What the workshop has you verify in the console, judged from the emulator's state. */
function checksFor(run: RehearsalRun): Check[] {
    const {
        interruptedInstanceId: victim,
        desiredCapacityBefore: before,
        desiredCapacityAfter: after,
    } = run;
    const inGroup = run.instancesAfter.filter((i) => i.change !== "detached");
    const replacements = run.instancesAfter.filter((i) => i.change === "replacement").length;
    const common: Check[] = [
        { label: `${victim} left the group`, passed: !run.interruptedInstanceInGroup },
        {
            label: `${victim} is still running: detaching does not terminate it`,
            passed: run.interruptedInstanceEc2State === "running",
        },
    ];
    if (run.summary.capacityOnInterruption === "keep") {
        return [
            ...common,
            { label: `desired capacity kept at ${before}`, passed: after === before },
            { label: "a replacement was launched", passed: replacements === 1 },
            {
                label: `the group is back at ${before} instances`,
                passed: inGroup.length === before,
            },
        ];
    }
    return [
        ...common,
        {
            label: `desired capacity decremented ${before} → ${before - 1}`,
            passed: after === before - 1,
        },
        { label: "no replacement was launched", passed: replacements === 0 },
    ];
}

/** Rows of `next` that differ from `previous`, to show what a second plan changes. */
function planChanges(previous: Plan, next: Plan): string[] {
    const before = new Set([
        ...previous.resources.map((r) => `${r.type} ${r.name}: ${r.properties}`),
        ...previous.policy.map((p) => `${p.sid}: ${p.actions.join(", ")} on ${p.resource}`),
    ]);
    return [
        ...next.resources.map((r) => `${r.type} ${r.name}: ${r.properties}`),
        ...next.policy.map((p) => `${p.sid}: ${p.actions.join(", ")} on ${p.resource}`),
    ].filter((row) => !before.has(row));
}

function printHuman(environment: WorkshopEnvironment, runs: RehearsalRun[], style: Style): boolean {
    let step = 0;
    const heading = (title: string) =>
        console.log(`\n${style.cyan(`${++step}.`)} ${style.bold(title)}`);
    let allPassed = true;

    console.log(
        style.bold("Spot interruption handler: the workshop's console test, rehearsed offline"),
    );
    console.log(
        style.dim(
            "Pulumi mocks plan the stack; moto plays AWS on 127.0.0.1; no AWS account is used.",
        ),
    );

    heading(
        `Plan, as pulumi preview would show it (capacityOnInterruption: ${runs[0].capacityOnInterruption})`,
    );
    printPlan(runs[0].plan, style);

    heading("Local AWS (moto) holding the workshop environment");
    console.log(
        table(
            ["RESOURCE", "DETAIL"],
            [
                [
                    "VPC",
                    `${environment.vpcId}, one public subnet in each of ${environment.subnetIds.length} AZs`,
                ],
                ["target group", "HTTP:80, health check /, deregistration delay 120 s"],
                [
                    `group ${environment.webGroupName}`,
                    `the web tier's shape: Spot, ${WEB_TIER_DEFAULTS.spotAllocationStrategy} over ${WEB_INSTANCE_TYPES.length} instance types, min ${WEB_TIER_DEFAULTS.minSize} / desired ${runs[0].desiredCapacityBefore} / max ${WEB_TIER_DEFAULTS.maxSize}`,
                ],
                [`group ${environment.otherGroupName}`, "a neighbour the handler must not touch"],
                ["instance", `${environment.standaloneInstanceId}, in no group`],
            ],
            2,
        ),
    );

    runs.forEach((run, index) => {
        if (index > 0) {
            heading(`Again with capacityOnInterruption: ${run.capacityOnInterruption}`);
            console.log("  The plan changes only in:");
            for (const change of planChanges(runs[index - 1].plan, run.plan)) {
                console.log(`    ${change}`);
            }
            console.log(style.dim("  (the emulator was reset to the same workshop environment)"));
        }
        heading(`The seed's sample interruption warning, for ${run.interruptedInstanceId}`);
        printRun(run, style);
        heading("What the workshop has you check in the console");
        for (const check of checksFor(run)) {
            allPassed &&= check.passed;
            console.log(`  ${check.passed ? style.green("✓") : style.red("✗")} ${check.label}`);
        }
    });

    heading("Before you try this on AWS");
    console.log(`  ${style.yellow("Warning:")} ${SEED_WARNING}`);
    return allPassed;
}

async function main(): Promise<boolean> {
    const { modes, json } = parseCommandLine(process.argv.slice(2));
    const style = createStyle(!json && colourWanted(process.stdout));
    const report = (message: string) => process.stderr.write(`${style.dim(message)}\n`);

    const emulator = await startEmulator({ onProgress: report });
    const runs: RehearsalRun[] = [];
    let environment: WorkshopEnvironment | undefined;
    try {
        for (const mode of modes) {
            const rehearsed = await rehearse(mode, emulator, report);
            runs.push(rehearsed.run);
            environment = rehearsed.environment;
        }
    } finally {
        await emulator.stop();
    }
    if (environment === undefined) {
        throw new Error("No rehearsal ran");
    }

    if (json) {
        const checks = runs.map((run) => ({
            capacityOnInterruption: run.capacityOnInterruption,
            checks: checksFor(run),
        }));
        process.stdout.write(
            `${JSON.stringify({ environment, runs, checks, warning: SEED_WARNING }, null, 2)}\n`,
        );
        return checks.every((c) => c.checks.every((check) => check.passed));
    }
    return printHuman(environment, runs, style);
}

runCli("npm start", main);
