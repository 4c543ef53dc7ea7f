/**
 * One rehearsal of the seed's sample warning against moto, hop by hop, recorded as data: the
 * group before, the warning's way to the handler (PutEvents → rule → events queue → mapping, or
 * the Lambda console's direct invoke), the handler's log, the scaling activity and the group
 * after. `checksFor` (rehearsal-checks.ts) judges it from the emulator's state, as the workshop
 * has you in the console.
 */
import { performance } from "node:perf_hooks";
import { isDeepStrictEqual } from "node:util";
import type { InterruptionSummary } from "../../handler/entry";
import type { Delivery, QueueSettings } from "../../components/spot-interruption-handler/args";
import { interruptionWarningEventPattern } from "../../components/spot-interruption-handler/policies";
import type { Emulator } from "../../emulator/server";
import type { HandlerArchive } from "../../offline/handler-archive";
import { withLocalPipeline } from "../../offline/pipeline";
import { type Plan, planHandler } from "./rehearsal-plan";
import { freshSampleEvent, loadSampleEvent } from "../../offline/sample-event";
import { seedWorkshopEnvironment, type WorkshopEnvironment } from "../../emulator/workshop";
import { type LogEntry, parseLogLine } from "./rehearsal-log";
import { type CapacityOnInterruption } from "../../contract";
import { type BatchInfo } from "../../offline/event-source-mapping-options";
import {
    describeGroupState,
    describeInstanceState,
    type GroupState,
} from "../../emulator/group-state";

/** The pipeline's resources are named like the component's: spot-rule, spot-queue, spot-dlq. */
const PIPELINE_NAME = "spot";
/** Far above the mapping's one-second batching window; only a broken pipeline waits this long. */
const DRAIN_TIMEOUT_MS = 30_000;

export interface InstanceRow {
    readonly instanceId: string;
    readonly instanceType?: string;
    readonly availabilityZone?: string;
    readonly lifecycleState: string;
    /** Before: the instance the warning names. After: what became of it, or a new instance. */
    readonly mark?: "interrupted" | "detached" | "replacement";
}

export interface ScalingActivity {
    readonly activityId?: string;
    readonly description?: string;
    readonly statusCode?: string;
}

/** The queued path's hops, as they happened. */
export interface QueuedDelivery {
    readonly ruleName: string;
    readonly eventPattern: object;
    readonly queueName: string;
    readonly deadLetterQueueName: string;
    readonly batchSize: number;
    readonly maximumBatchingWindowInSeconds: number;
    readonly maximumConcurrency: number;
    readonly visibilityTimeoutSeconds: number;
    readonly maxReceiveCount: number;
    readonly putEventsMs: number;
    /** Messages in the events queue right after PutEvents, visible or held by the mapping. */
    readonly queuedAfterPut: number;
    /** Records the mapping received from the events queue. */
    readonly recordsDelivered: number;
    readonly batches: BatchInfo[];
    /** From PutEvents to the queue drained. */
    readonly deliveredInMs: number;
    readonly queueAfter: { readonly queued: number; readonly deadLettered: number };
}

/** The Lambda console's test: one synchronous invoke with the bare event. */
export interface DirectInvocation {
    readonly summary?: InterruptionSummary;
    readonly error?: string;
    readonly durationMs: number;
}

export interface RehearsalRun {
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly delivery: Delivery;
    readonly plan: Plan;
    readonly interruptedInstanceId: string;
    /** The warning as sent: PutEvents' entry (queue) or the invoke's payload (direct). */
    readonly event: Record<string, unknown>;
    readonly group: { name: string; minSize: number; maxSize: number };
    readonly desiredCapacityBefore: number;
    readonly desiredCapacityAfter: number;
    readonly instancesBefore: InstanceRow[];
    readonly instancesAfter: InstanceRow[];
    readonly interruptedInstanceInGroup: boolean;
    readonly interruptedInstanceEc2State?: string;
    readonly neighbourGroupUnchanged: boolean;
    readonly queued?: QueuedDelivery;
    readonly direct?: DirectInvocation;
    readonly logRecords: LogEntry[];
    /** What DetachInstances answered, as the handler logged it. */
    readonly activities: ScalingActivity[];
    readonly elapsedMs: number;
}

/** Resets the emulator to the workshop environment, plans the handler and sends one warning. */
export async function rehearse(
    options: { capacityOnInterruption: CapacityOnInterruption; delivery: Delivery },
    emulator: Emulator,
    report: (message: string) => void,
): Promise<{ run: RehearsalRun; environment: WorkshopEnvironment }> {
    const startedAt = performance.now();
    const { capacityOnInterruption, delivery } = options;
    report(`Seeding the workshop environment in moto...`);
    await emulator.reset();
    const environment = await seedWorkshopEnvironment(emulator);
    report(
        `Planning the handler (capacityOnInterruption ${capacityOnInterruption}, ${delivery} delivery) under Pulumi mocks...`,
    );
    const { plan, archive, queueSettings } = await planHandler({
        capacityOnInterruption,
        delivery,
        groupName: environment.webGroupName,
        region: emulator.region,
    });
    try {
        const before = await describeGroupState(emulator, environment.webGroupName);
        const neighbourBefore = await describeGroupState(emulator, environment.otherGroupName);
        const victim = before.instances.find((i) => i.lifecycleState === "InService");
        if (victim === undefined) {
            throw new Error(
                `Group ${environment.webGroupName} has no InService instance to interrupt`,
            );
        }
        const sent =
            delivery === "queue"
                ? await sendThroughQueue(
                      emulator,
                      archive,
                      queueSettings,
                      victim.instanceId,
                      report,
                  )
                : await invokeDirectly(emulator, archive, victim.instanceId, report);

        const after = await describeGroupState(emulator, environment.webGroupName);
        const logRecords = sent.logLines.map(parseLogLine);
        const run: RehearsalRun = {
            capacityOnInterruption,
            delivery,
            plan,
            interruptedInstanceId: victim.instanceId,
            event: sent.event,
            group: { name: before.name, minSize: before.minSize, maxSize: before.maxSize },
            desiredCapacityBefore: before.desiredCapacity,
            desiredCapacityAfter: after.desiredCapacity,
            instancesBefore: before.instances.map((i) => ({
                ...i,
                mark: i.instanceId === victim.instanceId ? "interrupted" : undefined,
            })),
            instancesAfter: instanceRows(before, after, victim.instanceId),
            interruptedInstanceInGroup: after.instances.some(
                (i) => i.instanceId === victim.instanceId,
            ),
            interruptedInstanceEc2State: await describeInstanceState(emulator, victim.instanceId),
            neighbourGroupUnchanged: isDeepStrictEqual(
                await describeGroupState(emulator, environment.otherGroupName),
                neighbourBefore,
            ),
            ...(sent.queued === undefined ? {} : { queued: sent.queued }),
            ...(sent.direct === undefined ? {} : { direct: sent.direct }),
            logRecords,
            activities: logRecords.flatMap((r) =>
                Array.isArray(r.activities) ? (r.activities as ScalingActivity[]) : [],
            ),
            elapsedMs: performance.now() - startedAt,
        };
        return { run, environment };
    } finally {
        archive.remove();
    }
}

interface Sent {
    readonly event: Record<string, unknown>;
    readonly logLines: string[];
    readonly queued?: QueuedDelivery;
    readonly direct?: DirectInvocation;
}

/** PutEvents, standing in for EC2, then the rule, the events queue and the mapping do the rest. */
async function sendThroughQueue(
    emulator: Emulator,
    archive: HandlerArchive,
    settings: QueueSettings | undefined,
    instanceId: string,
    report: (message: string) => void,
): Promise<Sent> {
    if (settings === undefined) {
        throw new Error("The queue-delivery plan has no queue settings");
    }
    // A fresh time: the queued handler ignores warnings older than the two-minute notice.
    const event = freshSampleEvent(instanceId);
    report(
        `PutEvents: the warning for ${instanceId}; the mapping gathers its batch for up to ${settings.maximumBatchingWindowInSeconds} s...`,
    );
    const batches: BatchInfo[] = [];
    const { value, logLines } = await withLocalPipeline(
        emulator,
        archive,
        { settings, name: PIPELINE_NAME, onBatch: (info) => batches.push(info) },
        async (pipeline) => {
            const putAt = performance.now();
            await pipeline.putEvents([event]);
            const putEventsMs = performance.now() - putAt;
            const queuedAfterPut = (await pipeline.counts()).queued;
            await pipeline.mapping.drained(DRAIN_TIMEOUT_MS);
            return {
                putEventsMs,
                queuedAfterPut,
                deliveredInMs: performance.now() - putAt,
                recordsDelivered: pipeline.mapping.stats.records,
                queueAfter: await pipeline.counts(),
                queueName: queueNameOf(pipeline.queueUrl),
                deadLetterQueueName: queueNameOf(pipeline.deadLetterQueueUrl),
            };
        },
    );
    const queued: QueuedDelivery = {
        ruleName: `${PIPELINE_NAME}-rule`,
        eventPattern: interruptionWarningEventPattern(),
        ...settings,
        ...value,
        batches,
    };
    return { event, logLines, queued };
}

/** The Lambda console's test: one invoke with the bare event. */
async function invokeDirectly(
    emulator: Emulator,
    archive: HandlerArchive,
    instanceId: string,
    report: (message: string) => void,
): Promise<Sent> {
    // The console test pastes the seed's event as it is, 2020 timestamp and all.
    const event = loadSampleEvent(instanceId);
    report(`Invoking the handler with the seed's sample event for ${instanceId}...`);
    const { results, logLines, durationsMs } = await archive.invoke(
        [event],
        emulator.environment(),
    );
    const [result] = results;
    const direct: DirectInvocation =
        result.status === "fulfilled"
            ? { summary: result.value, durationMs: durationsMs[0] }
            : { error: String(result.reason), durationMs: durationsMs[0] };
    return { event, logLines, direct };
}

function queueNameOf(queueUrl: string): string {
    return queueUrl.split("/").pop() ?? queueUrl;
}

function instanceRows(before: GroupState, after: GroupState, victimId: string): InstanceRow[] {
    const victim = before.instances.find((i) => i.instanceId === victimId);
    const previous = new Set(before.instances.map((i) => i.instanceId));
    const rows: InstanceRow[] = after.instances.map((i) => ({
        ...i,
        mark: previous.has(i.instanceId) ? undefined : "replacement",
    }));
    if (victim !== undefined && !after.instances.some((i) => i.instanceId === victimId)) {
        rows.unshift({ ...victim, lifecycleState: "(left the group)", mark: "detached" });
    }
    return rows;
}
