/** One warning through the handler against moto, recorded hop by hop, and the console's checks. */
import { performance } from "node:perf_hooks";
import { isDeepStrictEqual } from "node:util";
import type { DetachActivity } from "../../handler/auto-scaling";
import type { InterruptionSummary } from "../../handler/entry";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
import { interruptionWarningEventPattern } from "../../components/spot-interruption-handler/policies";
import type { Emulator } from "../../emulator/server";
import type { HandlerArchive } from "../../offline/handler-archive";
import { withLocalPipeline } from "../../offline/pipeline";
import { type HandlerMode, planHandler } from "./plan";
import { freshSampleEvent, loadSampleEvent } from "../../offline/sample-event";
import { seedWorkshopEnvironment } from "../../emulator/workshop";
import { parseLogLine } from "./handler-log";
import type { BatchInfo } from "../../offline/event-source-mapping";
import {
    describeGroupState,
    describeInstanceState,
    type GroupState,
} from "../../emulator/group-state";

/** Progress for people, on stderr. */
export type Report = (message: string) => void;

/** The pipeline's resources are named like the component's: spot-rule, spot-queue, spot-dlq. */
const PIPELINE_NAME = "spot";
/** Far above the mapping's batching window; only a broken pipeline waits this long. */
const DRAIN_TIMEOUT_MS = 30_000;
/** An instance's lifecycle state once it is out of its group. */
export const LEFT_THE_GROUP = "(left the group)";

export type InstanceRow = GroupState["instances"][number] & {
    /** Before: the instance the warning names. After: what became of it, or a new instance. */
    readonly mark?: "interrupted" | "detached" | "replacement";
};

/** What one invoke answered: the handler's summary, or why it threw. */
export type Answer =
    | { readonly summary: InterruptionSummary }
    | { readonly error: string; readonly summary?: undefined };

/** One warning's rehearsal: the plan, the group before and after, the warning's way, the log. */
export type RehearsalRun = Awaited<ReturnType<typeof rehearse>>["run"];

export const answerOf = (result: PromiseSettledResult<InterruptionSummary>): Answer =>
    result.status === "fulfilled" ? { summary: result.value } : { error: String(result.reason) };

/** Resets the emulator to the workshop environment, plans the handler and sends one warning. */
export async function rehearse(mode: HandlerMode, emulator: Emulator, report: Report) {
    const startedAt = performance.now();
    report(`Seeding the workshop environment in moto...`);
    await emulator.reset();
    const environment = await seedWorkshopEnvironment(emulator);
    const { webGroupName, otherGroupName } = environment;
    report(
        `Planning the handler (capacityOnInterruption ${mode.capacityOnInterruption}, ${mode.delivery} delivery) under Pulumi mocks...`,
    );
    const { plan, archive, queue } = await planHandler(mode, webGroupName, emulator.region);
    try {
        const before = await describeGroupState(emulator, webGroupName);
        const neighbourBefore = await describeGroupState(emulator, otherGroupName);
        // The seeded web group's instances all start InService.
        const [victim] = before.instances;
        const victimId = victim.instanceId;
        const { logLines, ...sent } = await send(emulator, archive, queue, victimId, report);
        const after = await describeGroupState(emulator, webGroupName);
        const previous = new Set(before.instances.map((i) => i.instanceId));
        const stayed = after.instances.some((i) => i.instanceId === victimId);
        const logRecords = logLines.map(parseLogLine);
        const run = {
            ...mode,
            plan,
            interruptedInstanceId: victimId,
            ...sent,
            group: { name: before.name, minSize: before.minSize, maxSize: before.maxSize },
            desiredCapacityBefore: before.desiredCapacity,
            desiredCapacityAfter: after.desiredCapacity,
            instancesBefore: before.instances.map((i) => ({
                ...i,
                mark: i.instanceId === victimId ? ("interrupted" as const) : undefined,
            })),
            instancesAfter: [
                ...(stayed
                    ? []
                    : [{ ...victim, lifecycleState: LEFT_THE_GROUP, mark: "detached" as const }]),
                ...after.instances.map((i) => ({
                    ...i,
                    mark: previous.has(i.instanceId) ? undefined : ("replacement" as const),
                })),
            ],
            interruptedInstanceInGroup: stayed,
            interruptedInstanceEc2State: await describeInstanceState(emulator, victimId),
            neighbourGroupUnchanged: isDeepStrictEqual(
                await describeGroupState(emulator, otherGroupName),
                neighbourBefore,
            ),
            logRecords,
            // What DetachInstances answered, as the handler logged it.
            activities: logRecords.flatMap((r) =>
                Array.isArray(r.activities) ? (r.activities as DetachActivity[]) : [],
            ),
            elapsedMs: performance.now() - startedAt,
        };
        return { run, environment };
    } finally {
        archive.remove();
    }
}

/** The warning sent its one way: through rule, queue and mapping with settings, else invoked. */
async function send(
    emulator: Emulator,
    archive: HandlerArchive,
    settings: QueueSettings | undefined,
    instanceId: string,
    report: Report,
) {
    if (settings === undefined) {
        // The Lambda console's test pastes the seed's event as it is, 2020 timestamp and all.
        const event = loadSampleEvent(instanceId);
        report(`Invoking the handler with the seed's sample event for ${instanceId}...`);
        const invoked = await archive.invoke([event], emulator.environment());
        const direct = { ...answerOf(invoked.results[0]), durationMs: invoked.durationsMs[0] };
        return { event, logLines: invoked.logLines, direct };
    }
    // A fresh time: the queued handler ignores warnings older than the two-minute notice.
    const event = freshSampleEvent(instanceId);
    report(
        `PutEvents: the warning for ${instanceId}; the mapping gathers its batch for up to ${settings.maximumBatchingWindowInSeconds} s...`,
    );
    const batches: BatchInfo[] = [];
    const queueName = (url: string) => url.split("/").pop() ?? url;
    const { value, logLines } = await withLocalPipeline(
        emulator,
        archive,
        { settings, name: PIPELINE_NAME, onBatch: (info) => batches.push(info) },
        async (pipeline) => {
            const putAt = performance.now();
            await pipeline.putEvents([event]);
            const putEventsMs = performance.now() - putAt;
            // In the events queue right after PutEvents, visible or held by the mapping.
            const queuedAfterPut = (await pipeline.counts()).queued;
            await pipeline.mapping.drained(DRAIN_TIMEOUT_MS);
            return {
                putEventsMs,
                queuedAfterPut,
                deliveredInMs: performance.now() - putAt,
                // Records the mapping received from the events queue.
                recordsDelivered: pipeline.mapping.stats.records,
                queueAfter: await pipeline.counts(),
                queueName: queueName(pipeline.queueUrl),
                deadLetterQueueName: queueName(pipeline.deadLetterQueueUrl),
            };
        },
    );
    const rule = {
        ruleName: `${PIPELINE_NAME}-rule`,
        eventPattern: interruptionWarningEventPattern(),
    };
    return { event, logLines, queued: { ...rule, ...settings, ...value, batches } };
}

export interface Check {
    readonly label: string;
    readonly passed: boolean;
}

/** What the workshop has you verify in the console, judged from the emulator's state. */
export function checksFor(run: RehearsalRun): Check[] {
    const { interruptedInstanceId: victim, capacityOnInterruption: mode, queued, direct } = run;
    const { desiredCapacityBefore: before, desiredCapacityAfter: after } = run;
    const checks: Check[] = [];
    const check = (label: string, passed: boolean) => checks.push({ label, passed });
    if (queued !== undefined) {
        const { queueName, deadLetterQueueName, batches, queueAfter } = queued;
        check(
            `the rule's pattern matched the warning into ${queueName}: the mapping received 1 record`,
            queued.recordsDelivered === 1,
        );
        check(
            "the mapping invoked the handler once, and it reported no batch item failures",
            batches.length === 1 && batches[0].outcome === "succeeded",
        );
        check(
            `nothing is left in ${queueName} or ${deadLetterQueueName}`,
            queueAfter.queued === 0 && queueAfter.deadLettered === 0,
        );
    }
    if (direct !== undefined) {
        check(
            `the handler answered "detached" for ${victim}`,
            direct.summary?.action === "detached" && direct.summary.instanceId === victim,
        );
    }
    check(
        `the handler logged the detach of ${victim} with capacityOnInterruption ${mode}`,
        run.logRecords.some(
            (r) =>
                Array.isArray(r.instanceIds) &&
                r.instanceIds.includes(victim) &&
                r.capacityOnInterruption === mode,
        ),
    );
    check(`${victim} left the group`, !run.interruptedInstanceInGroup);
    check(
        `${victim} is still running: detaching does not terminate it`,
        run.interruptedInstanceEc2State === "running",
    );
    check("the neighbour group is untouched", run.neighbourGroupUnchanged);
    const replacements = run.instancesAfter.filter((i) => i.mark === "replacement").length;
    if (mode === "keep") {
        check(`desired capacity kept at ${before}`, after === before);
        check("a replacement was launched", replacements === 1);
        const inGroup = run.instancesAfter.filter((i) => i.mark !== "detached").length;
        check(`the group is back at ${before} instances`, inGroup === before);
    } else {
        check(`desired capacity decremented ${before} → ${before - 1}`, after === before - 1);
        check("no replacement was launched", replacements === 0);
    }
    return checks;
}
