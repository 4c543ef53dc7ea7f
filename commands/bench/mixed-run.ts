/**
 * The mixed storm against the emulator: per configuration a fresh fleet whose groups are given
 * Capacity Rebalancing, a termination hook or neither, a fresh Auto Scaling budget, the storm put
 * on the bus while each Capacity Rebalancing group hears of its warnings too, and one handler by
 * tag draining its queue. Judged from the emulator's record of who took what out of service.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import {
    AutoScalingClient,
    PutLifecycleHookCommand,
    UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
import type { Emulator } from "../../emulator/server";
import { type ObservedRequest, startFaultProxy } from "../../emulator/fault-proxy";
import { FLEET_TAG, type GroupFleet, seedGroupFleet } from "../../emulator/fleet";
import { describeGroupActions, sendSpotWarning } from "../../emulator/group-side";
import { clientConfigFor, describeGroupState } from "../../emulator/group-state";
import { materializeHandlerArchive } from "../../offline/handler-archive";
import { fleetStorm, stormEvent, stormMix } from "./bench-fleet";
import { putConcurrently } from "./bench-paths";
import { type PipelineMember, withPipelines } from "./bench-pipelines";
import { sameState, seconds } from "./bench-report";
import {
    type GroupKind,
    groupKinds,
    handlerTotals,
    kindResults,
    type MixedConfig,
    reactionDelays,
    REACTION_DELAY_MS,
} from "./mixed";
import { judgeMixedStorm, type MixedReport, type MixedResult } from "./mixed-table";

type Components = typeof import("../../components");
type QueueArgs = Pick<
    import("../../components").SpotInterruptionHandlerArgs,
    "batchSize" | "maximumBatchingWindowInSeconds" | "maximumConcurrency"
>;

export interface MixedTarget {
    readonly member: PipelineMember;
    readonly settings: QueueSettings;
}

const HOOK_NAME = "drain";
// Out-of-service progress is read from the emulator's record, once a second.
const WATCH_INTERVAL_MS = 1000;
const PROGRESS_INTERVAL_MS = 5000;

/** The one handler, by tag, with the default interruptionAction (auto); remove its archive after. */
export async function buildMixedTarget(
    components: Pick<Components, "SpotInterruptionHandler" | "resolveHandlerSettings">,
    queueArgs: QueueArgs,
): Promise<MixedTarget> {
    const args = {
        autoScalingGroupTag: { ...FLEET_TAG },
        capacityOnInterruption: "keep" as const,
        delivery: "queue" as const,
        ...queueArgs,
    };
    const name = "bench-mixed";
    const { handlerFunction } = new components.SpotInterruptionHandler(name, args);
    const settings = components.resolveHandlerSettings(args).queue;
    if (settings === undefined) {
        throw new Error("the mixed storm's handler has no queue settings");
    }
    const archive = await materializeHandlerArchive(handlerFunction, name);
    return { member: { name, archive }, settings };
}

/** Runs the storm once per configuration, each from a fresh seed and budget. */
export async function runMixedStorm(
    emulator: Emulator,
    target: MixedTarget,
    configs: readonly MixedConfig[],
    options: { budget: number; groups: number; size: number },
    progress: (message: string) => void,
): Promise<MixedReport> {
    const results: MixedResult[] = [];
    let mix: MixedReport["mix"] | undefined;
    for (const config of configs) {
        const run = await runMixedConfig(emulator, target, config, options, progress);
        mix = run.mix;
        results.push(run.result);
    }
    if (mix === undefined) {
        throw new RangeError("runMixedStorm needs at least one configuration");
    }
    const kinds = groupKinds(options.groups);
    return {
        groups: options.groups,
        size: options.size,
        kinds: {
            "capacity-rebalancing": kinds.filter((k) => k === "capacity-rebalancing").length,
            "termination-hook": kinds.filter((k) => k === "termination-hook").length,
            plain: kinds.filter((k) => k === "plain").length,
        },
        budget: options.budget,
        mix,
        reactionDelayMs: REACTION_DELAY_MS,
        results,
    };
}

/** Gives each group its kind: Capacity Rebalancing on, or a termination hook, or neither. */
async function applyKinds(emulator: Emulator, fleet: GroupFleet): Promise<Map<string, GroupKind>> {
    const kinds = groupKinds(fleet.groupNames.length);
    const autoScaling = new AutoScalingClient(clientConfigFor(emulator));
    try {
        for (const [index, name] of fleet.groupNames.entries()) {
            if (kinds[index] === "capacity-rebalancing") {
                await autoScaling.send(
                    new UpdateAutoScalingGroupCommand({
                        AutoScalingGroupName: name,
                        CapacityRebalance: true,
                    }),
                );
            } else if (kinds[index] === "termination-hook") {
                await autoScaling.send(
                    new PutLifecycleHookCommand({
                        AutoScalingGroupName: name,
                        LifecycleHookName: HOOK_NAME,
                        LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
                        HeartbeatTimeout: 300,
                    }),
                );
            }
        }
    } finally {
        autoScaling.destroy();
    }
    return new Map(fleet.groupNames.map((name, index) => [name, kinds[index]]));
}

async function runMixedConfig(
    emulator: Emulator,
    target: MixedTarget,
    config: MixedConfig,
    options: { budget: number; groups: number; size: number },
    progress: (message: string) => void,
): Promise<{ result: MixedResult; mix: MixedReport["mix"] }> {
    const wallStart = performance.now();
    await emulator.reset();
    progress(`  ${config}: seeding ${options.groups} groups of ${options.size}...`);
    const fleet = await seedGroupFleet(emulator, { groups: options.groups, size: options.size });
    const kindOf = await applyKinds(emulator, fleet);
    const seedMs = performance.now() - wallStart;
    const neighbourBefore = await describeGroupState(emulator, fleet.neighbourGroupName);
    const groupOf = new Map(
        fleet.instanceIds.flatMap((ids, g) => ids.map((id) => [id, fleet.groupNames[g]] as const)),
    );
    const ours = [...groupOf.keys()];
    const rebalancing = new Set(
        ours.filter((id) => kindOf.get(groupOf.get(id) ?? "") === "capacity-rebalancing"),
    );
    const delays = reactionDelays([...rebalancing]);
    const entries = fleetStorm(fleet.instanceIds, [
        ...fleet.neighbourInstanceIds,
        fleet.standaloneInstanceId,
    ]);
    const mix = stormMix(entries, ours);
    const requests: ObservedRequest[] = [];
    const proxy = await startFaultProxy(emulator.endpoint, {
        budget: { requestsPerSecond: options.budget },
        onRequest: (request) => requests.push(request),
    });
    const batches: number[] = [];
    const { settings } = target;
    let pipelineRun;
    try {
        progress(`  ${config}: ${entries.length} events...`);
        pipelineRun = await withPipelines(
            emulator,
            [target.member],
            {
                settings,
                handlerEnvironment: { AWS_ENDPOINT_URL: proxy.endpoint },
                onBatch: (_member, info) => batches.push(info.messageIds.length),
            },
            async (p) => {
                const startedAt = performance.now();
                const { visibilityTimeoutSeconds, maxReceiveCount } = settings;
                const deadline =
                    startedAt + visibilityTimeoutSeconds * maxReceiveCount * 1000 + 30_000;
                const warnedAtMs = new Map<string, number>();
                await putConcurrently(
                    entries,
                    (e) => (e.kind === "warning" ? e.instanceId : undefined),
                    new Map(),
                    async (chunk) => {
                        const now = new Date();
                        // The group hears of EC2's warning as the handler's rule does: at once.
                        const told = chunk.flatMap((e) => {
                            if (e.kind !== "warning" || warnedAtMs.has(e.instanceId)) {
                                return [];
                            }
                            warnedAtMs.set(e.instanceId, Math.floor(now.getTime() / 1000) * 1000);
                            return rebalancing.has(e.instanceId)
                                ? [
                                      sendSpotWarning(emulator, e.instanceId, {
                                          reactAfterMs: delays.get(e.instanceId) ?? 0,
                                          groupReacts: config === "reacts",
                                      }),
                                  ]
                                : [];
                        });
                        await Promise.all([
                            p.putEvents(chunk.map((e) => stormEvent(e, now))),
                            ...told,
                        ]);
                    },
                );
                const sentMs = performance.now() - startedAt;
                await watchOutOfService(emulator, ours, deadline, (out) =>
                    progress(
                        `  ${config}: ${seconds(performance.now() - startedAt)}, ${out}/${ours.length} out of service, ${requests.length} Auto Scaling calls`,
                    ),
                );
                // Then let the queue settle: waiting records come back for their re-check.
                await p.mappings[0]
                    .drained(Math.max(1000, deadline - performance.now()))
                    .catch(() => {});
                const { records, failedRecords } = p.mappings[0].stats;
                return { sentMs, warnedAtMs, counts: await p.counts(), records, failedRecords };
            },
        );
    } finally {
        await proxy.close();
    }
    const { value: run, logLines } = pipelineRun;
    const { actions, outOfServiceAtMs } = await describeGroupActions(emulator);
    const neighbourAfter = await describeGroupState(emulator, fleet.neighbourGroupName);
    const totals = handlerTotals(logLines);
    const partial = {
        deadLettered: run.counts.deadLettered,
        neighbourUntouched: sameState(neighbourBefore, neighbourAfter),
    };
    const result: MixedResult = {
        config,
        kinds: kindResults(
            {
                kindOf,
                groupOf,
                warnedAtMs: run.warnedAtMs,
                actions,
                outOfServiceAtMs,
                requests,
                logLines,
            },
            options.budget,
        ),
        events: entries.length,
        sentMs: run.sentMs,
        invocations: batches.length,
        records: run.records,
        returned: run.failedRecords,
        ...totals,
        ...partial,
        stillQueued: run.counts.queued,
        seedMs,
        wallMs: performance.now() - wallStart,
        goals: judgeMixedStorm(partial),
    };
    return { result, mix };
}

/** Reads the emulator's record each second until every instance is out of service, or the deadline. */
async function watchOutOfService(
    emulator: Emulator,
    ids: readonly string[],
    deadline: number,
    onProgress: (out: number) => void,
): Promise<void> {
    const maxReads = Math.ceil((deadline - performance.now()) / WATCH_INTERVAL_MS) + 1;
    let lastProgress = performance.now();
    for (let read = 0; read < maxReads && performance.now() < deadline; read++) {
        const { outOfServiceAtMs } = await describeGroupActions(emulator).catch(() => ({
            outOfServiceAtMs: {} as Record<string, number>,
        }));
        const out = ids.filter((id) => outOfServiceAtMs[id] !== undefined).length;
        if (out === ids.length) {
            return;
        }
        if (performance.now() - lastProgress >= PROGRESS_INTERVAL_MS) {
            lastProgress = performance.now();
            onProgress(out);
        }
        await sleep(WATCH_INTERVAL_MS);
    }
}
