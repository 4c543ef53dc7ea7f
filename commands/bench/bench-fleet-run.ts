/**
 * The many-groups storm against the emulator: per configuration a fresh fleet (10 groups of 100,
 * a neighbour group, a standalone instance) and a fresh Auto Scaling budget, the storm put on the
 * bus once, and every handler's rule, queue and mapping draining it. Judged from state.
 */
import { performance } from "node:perf_hooks";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
import type { Emulator } from "../../emulator/server";
import { startFaultProxy } from "../../emulator/fault-proxy";
import {
    FLEET_DEFAULTS,
    FLEET_TAG,
    fleetGroupNames,
    type GroupFleet,
    groupNamesMatching,
    seedGroupFleet,
} from "../../emulator/fleet";
import { materializeHandlerArchive } from "../../offline/handler-archive";
import { describeGroupState } from "../../emulator/group-state";
import type { FleetConfig } from "./bench-flags";
import {
    type FleetReport,
    type FleetResult,
    fleetStorm,
    judgeFleetGoals,
    stormEvent,
    stormMix,
} from "./bench-fleet";
import {
    detachedInLog,
    progressLine,
    putConcurrently,
    timeDeparturesByLog,
    trackDepartures,
} from "./bench-paths";
import { type PipelineMember, withPipelines } from "./bench-pipelines";
import { type BatchInfo } from "../../offline/event-source-mapping-options";
import * as report from "./bench-report";

/** One configuration: its handlers (one, or one per group) and the mapping settings they share. */
export interface FleetTarget {
    readonly config: FleetConfig;
    readonly members: readonly PipelineMember[];
    readonly settings: QueueSettings;
}

type Components = typeof import("../../components");
type QueueArgs = Pick<
    import("../../components").SpotInterruptionHandlerArgs,
    "batchSize" | "maximumBatchingWindowInSeconds" | "maximumConcurrency"
>;

/**
 * Each configuration's handlers, built by the component under Pulumi mocks and materialized as
 * deployed: one by tag, one by list of every group, or one per group. Remove their archives after.
 */
export async function buildFleetTargets(
    components: Pick<Components, "SpotInterruptionHandler" | "resolveHandlerSettings">,
    configs: readonly FleetConfig[],
    queueArgs: QueueArgs,
): Promise<FleetTarget[]> {
    const names = fleetGroupNames(FLEET_DEFAULTS.groups);
    const selections: Record<
        FleetConfig,
        Partial<import("../../components").SpotInterruptionHandlerArgs>[]
    > = {
        tag: [{ autoScalingGroupTag: { ...FLEET_TAG } }],
        list: [{ autoScalingGroupNames: names }],
        "per-group": names.map((name) => ({ autoScalingGroupName: name })),
    };
    const targets: FleetTarget[] = [];
    for (const config of configs) {
        const members: PipelineMember[] = [];
        let settings: QueueSettings | undefined;
        for (const [index, selection] of selections[config].entries()) {
            const args = {
                ...selection,
                capacityOnInterruption: "keep" as const,
                delivery: "queue" as const,
                ...queueArgs,
            };
            const name = `bench-fleet-${config}${selections[config].length > 1 ? `-${index + 1}` : ""}`;
            const { handlerFunction } = new components.SpotInterruptionHandler(name, args);
            members.push({ name, archive: await materializeHandlerArchive(handlerFunction, name) });
            settings ??= components.resolveHandlerSettings(args).queue;
        }
        if (settings === undefined) {
            throw new Error(`the ${config} handlers have no queue settings`);
        }
        targets.push({ config, members, settings });
    }
    return targets;
}

/** What the emulator said to the tag lookups, read once from a fresh fleet. */
async function tagLookup(emulator: Emulator, fleet: GroupFleet): Promise<FleetReport["tagLookup"]> {
    const tagValue = await groupNamesMatching(emulator, [
        { Name: `tag:${fleet.tag.key}`, Values: [fleet.tag.value] },
    ]);
    const tagKey = await groupNamesMatching(emulator, [
        { Name: "tag-key", Values: [fleet.tag.key] },
    ]);
    const expected = fleet.groupNames;
    const same = (a: readonly string[], b: readonly string[]) =>
        JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
    return {
        expected,
        tagValue,
        tagKey,
        correct: same(tagValue, expected) && same(tagKey, [...expected, fleet.neighbourGroupName]),
    };
}

/** Runs the storm once per target, each from a fresh seed and budget. */
export async function runFleetStorm(
    emulator: Emulator,
    targets: readonly FleetTarget[],
    budget: number,
    progress: (message: string) => void,
): Promise<FleetReport> {
    const results: FleetResult[] = [];
    let lookup: FleetReport["tagLookup"] | undefined;
    let mix: FleetReport["mix"] | undefined;
    for (const target of targets) {
        const run = await runFleetTarget(emulator, target, budget, progress, lookup === undefined);
        lookup ??= run.lookup;
        mix = run.mix;
        results.push(run.result);
    }
    if (lookup === undefined || mix === undefined) {
        throw new RangeError("runFleetStorm needs at least one target");
    }
    return { ...FLEET_DEFAULTS, budget, mix, tagLookup: lookup, results };
}

async function runFleetTarget(
    emulator: Emulator,
    target: FleetTarget,
    budget: number,
    progress: (message: string) => void,
    checkLookup: boolean,
): Promise<{ result: FleetResult; mix: FleetReport["mix"]; lookup?: FleetReport["tagLookup"] }> {
    const wallStart = performance.now();
    const label = `${target.config} (${target.members.length} handler${target.members.length === 1 ? "" : "s"})`;
    await emulator.reset();
    progress(`  ${label}: seeding ${FLEET_DEFAULTS.groups} groups of ${FLEET_DEFAULTS.size}...`);
    const fleet = await seedGroupFleet(emulator);
    const seedMs = performance.now() - wallStart;
    const lookup = checkLookup ? await tagLookup(emulator, fleet) : undefined;
    const neighbourBefore = await describeGroupState(emulator, fleet.neighbourGroupName);
    const ours = fleet.instanceIds.flat();
    const entries = fleetStorm(fleet.instanceIds, [
        ...fleet.neighbourInstanceIds,
        fleet.standaloneInstanceId,
    ]);
    const mix = stormMix(entries, ours);
    const proxy = await startFaultProxy(emulator.endpoint, {
        budget: { requestsPerSecond: budget },
    });
    const batchSizes: number[] = [];
    const invocationMs: { gather: number; run: number }[] = [];
    const onBatch = (_member: number, info: BatchInfo) => {
        batchSizes.push(info.messageIds.length);
        invocationMs.push({ gather: info.gatherMs, run: info.durationMs });
    };
    const { settings } = target;
    let pipelineRun;
    try {
        progress(`  ${label}: ${entries.length} events...`);
        pipelineRun = await withPipelines(
            emulator,
            target.members,
            { settings, handlerEnvironment: { AWS_ENDPOINT_URL: proxy.endpoint }, onBatch },
            async (p) => {
                const startedAt = performance.now();
                const { visibilityTimeoutSeconds, maxReceiveCount } = settings;
                const deadline =
                    startedAt + visibilityTimeoutSeconds * maxReceiveCount * 1000 + 30_000;
                const onPoll = progressLine({ ours, proxy, progress }, target.config, startedAt);
                const departures = trackDepartures(
                    emulator,
                    ours,
                    deadline,
                    onPoll,
                    fleet.groupNames,
                );
                const sentAt = new Map<string, number>();
                try {
                    await putConcurrently(
                        entries,
                        (e) => (e.kind === "warning" ? e.instanceId : undefined),
                        sentAt,
                        (chunk) => p.putEvents(chunk.map((e) => stormEvent(e))),
                    );
                    const sentMs = performance.now() - startedAt;
                    await departures.done;
                    // Then let every queue settle, so that what is dead-lettered is all there is.
                    const left = Math.max(1000, deadline - performance.now());
                    await Promise.all(p.mappings.map((m) => m.drained(left).catch(() => {})));
                    const received = p.mappings.reduce((n, m) => n + m.stats.records, 0);
                    const failed = p.mappings.reduce((n, m) => n + m.stats.failedRecords, 0);
                    const counts = await p.counts();
                    return { startedAt, sentMs, sentAt, departures, counts, received, failed };
                } finally {
                    await departures.stop();
                }
            },
        );
    } finally {
        await proxy.close();
    }
    const { value: run, logLines, logTimesMs } = pipelineRun;
    const { outAt } = run.departures;
    timeDeparturesByLog(outAt, logLines, logTimesMs);
    const stillIn = new Set<string>();
    for (const name of fleet.groupNames) {
        for (const { instanceId } of (await describeGroupState(emulator, name)).instances) {
            stillIn.add(instanceId);
        }
    }
    const left = ours.filter((id) => stillIn.has(id)).length;
    const latencies = ours.flatMap((id) => {
        const [out, sent] = [outAt.get(id), run.sentAt.get(id)];
        return out === undefined || sent === undefined ? [] : [out - sent];
    });
    const served = Object.fromEntries(proxy.served);
    const throttled = Object.fromEntries(proxy.throttled);
    const allOut = left === 0 && ours.every((id) => outAt.has(id));
    const neighbourAfter = await describeGroupState(emulator, fleet.neighbourGroupName);
    const result: Omit<FleetResult, "goals"> = {
        config: target.config,
        handlers: target.members.length,
        warned: ours.length,
        events: entries.length,
        sentMs: run.sentMs,
        lastOutMs: allOut
            ? Math.max(...ours.map((id) => outAt.get(id) ?? 0)) - run.startedAt
            : null,
        latencyMs: report.percentiles(latencies),
        served,
        throttled,
        refused: Object.fromEntries(proxy.refused),
        callsPerInstance: (report.sum(served) + report.sum(throttled)) / ours.length,
        detachedByHandler: detachedInLog(logLines),
        ...report.invocationFigures(batchSizes, invocationMs),
        records: { received: run.received, expected: mix.matched * target.members.length },
        failed: run.failed,
        left,
        deadLettered: run.counts.deadLettered,
        stillQueued: run.counts.queued,
        neighbourUntouched: report.sameState(neighbourBefore, neighbourAfter),
        polls: run.departures.polls(),
        seedMs,
        wallMs: performance.now() - wallStart,
    };
    return {
        result: { ...result, goals: judgeFleetGoals(target.config, result, budget) },
        mix,
        lookup,
    };
}
