/**
 * Warned instances leaving their groups: timed by the handler's own detach entries, confirmed by
 * polling the emulator straight (not through the budget), and the figures a departure storm makes.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import type { FaultProxy } from "../../emulator/fault-proxy";
import { clientConfigFor, describeGroupState, type GroupState } from "../../emulator/group-state";
import type { Emulator } from "../../emulator/server";
import { duration } from "../terminal";
import {
    type DepartureFigures,
    invocationFigures,
    type InvocationTime,
    logEntries,
    count,
    percentiles,
    sameState,
    sum,
} from "./report";

// The poll only confirms departures and shows progress: slow enough not to load the emulator.
export const POLL_INTERVAL_MS = 1000;

/** Looks each POLL_INTERVAL_MS until `look` finds every instance out, the deadline, or `signal`. */
export async function pollUntil(
    deadline: number,
    look: () => Promise<boolean>,
    signal?: AbortSignal,
): Promise<void> {
    const looks = Math.ceil((deadline - performance.now()) / POLL_INTERVAL_MS) + 1;
    for (let n = 0; n < looks && signal?.aborted !== true; n++) {
        // A failed look is only a missed sample.
        if ((await look().catch(() => false)) || performance.now() >= deadline) {
            return;
        }
        await sleep(POLL_INTERVAL_MS, undefined, { signal }).catch(() => {});
    }
}

/** A progress line at most every `intervalMs`, from the storm's start. */
export function every(
    intervalMs: number,
    line: (elapsed: string) => string,
    say: (s: string) => void,
) {
    let last = performance.now();
    const startedAt = last;
    return (): void => {
        const now = performance.now();
        if (now - last >= intervalMs) {
            last = now;
            say(line(duration(now - startedAt)));
        }
    };
}

export interface Departures {
    /** When each instance was first seen out of its group (performance.now()). */
    readonly outAt: Map<string, number>;
    /** Resolves when every instance is out, at the deadline, or once stopped. */
    done(): Promise<void>;
    polls(): { count: number; meanMs: number };
    /** Stops polling, after one last look if some are still in. */
    stop(): Promise<void>;
}

/** Polls `groupNames` (one DescribeAutoScalingGroups, at most 100 names) until `ids` are out. */
export function trackDepartures(
    emulator: Emulator,
    ids: readonly string[],
    groupNames: readonly string[],
    deadline: number,
    onPoll: (out: number) => void,
): Departures {
    const client = new AutoScalingClient(clientConfigFor(emulator));
    const remaining = new Set(ids);
    const outAt = new Map<string, number>();
    const abort = new AbortController();
    let [polls, totalMs] = [0, 0];
    const poll = async (): Promise<boolean> => {
        const startedAt = performance.now();
        const { AutoScalingGroups = [] } = await client.send(
            new DescribeAutoScalingGroupsCommand({
                AutoScalingGroupNames: [...groupNames],
                MaxRecords: 100,
            }),
        );
        const at = performance.now();
        [polls, totalMs] = [polls + 1, totalMs + at - startedAt];
        const members = new Set(
            AutoScalingGroups.flatMap((g) => g.Instances ?? []).map((i) => i.InstanceId),
        );
        for (const id of [...remaining].filter((id) => !members.has(id))) {
            remaining.delete(id);
            outAt.set(id, at);
        }
        onPoll(outAt.size);
        return remaining.size === 0;
    };
    const done = pollUntil(deadline, poll, abort.signal);
    return {
        outAt,
        done: () => done,
        polls: () => ({ count: polls, meanMs: polls === 0 ? 0 : totalMs / polls }),
        async stop() {
            abort.abort();
            await done;
            if (remaining.size > 0) {
                await poll().catch(() => false);
            }
            client.destroy();
        },
    };
}

/** A progress line every 2 s: how many are out, and the budget's counts so far. */
export function departureProgress(
    label: string,
    warned: number,
    proxy: FaultProxy,
    say: (message: string) => void,
): (out: number) => void {
    let out = 0;
    const tick = every(
        2000,
        (elapsed) =>
            `  ${label}: ${elapsed}, ${out}/${warned} out, ${sum(Object.fromEntries(proxy.served))} Auto Scaling calls served, ${sum(Object.fromEntries(proxy.throttled))} throttled`,
        say,
    );
    return (now) => {
        out = now;
        tick();
    };
}

/** Instances the handlers' "Batch of" entries report as detached, added up. */
export function detachedInLog(logLines: readonly string[]): number {
    return logEntries(logLines, true).reduce((n, entry) => n + count(entry, "detached"), 0);
}

/**
 * Times each departure by the handler's own detach entry (written as DetachInstances returned,
 * when the instance is out of the group): exact, and costs the emulator nothing.
 */
export function timeDeparturesByLog(
    outAt: Map<string, number>,
    logLines: readonly string[],
    logTimesMs: readonly number[],
): void {
    for (const entry of logEntries(logLines)) {
        const { message, instanceIds } = entry;
        if (
            /belongs? to AutoScaling Group .*Detaching/.test(String(message)) &&
            Array.isArray(instanceIds)
        ) {
            for (const id of instanceIds.map(String)) {
                outAt.set(id, Math.min(outAt.get(id) ?? Infinity, logTimesMs[entry.index]));
            }
        }
    }
}

/** What a storm did, before it is judged against the emulator's state. */
export interface DepartureRun {
    readonly startedAt: number;
    readonly sentMs: number;
    /** When each instance's first warning was sent (PutEvents or invoke start). */
    readonly sentAt: ReadonlyMap<string, number>;
    readonly departures: Departures;
    readonly detachedByHandler: number;
    readonly batchSizes: readonly number[];
    readonly invocationMs: readonly InvocationTime[];
    readonly failed: number;
}

/** The groups whose warned instances should leave, and the neighbour that should stay as it was. */
export interface Watched {
    readonly ours: readonly string[];
    readonly groupNames: readonly string[];
    readonly neighbourName: string;
    readonly neighbourBefore: GroupState;
}

/**
 * A run's figures from the groups' end state and the budget's counts. Calls per instance count
 * the throttled requests too when `withThrottled`.
 */
export async function departureFigures(
    emulator: Emulator,
    watched: Watched,
    run: DepartureRun,
    proxy: FaultProxy,
    withThrottled: boolean,
): Promise<Omit<DepartureFigures, "goals" | "wallMs">> {
    const { ours } = watched;
    const stillIn = new Set<string>();
    for (const name of watched.groupNames) {
        (await describeGroupState(emulator, name)).instances.forEach((i) =>
            stillIn.add(i.instanceId),
        );
    }
    const left = ours.filter((id) => stillIn.has(id)).length;
    const { outAt } = run.departures;
    const latencies = ours.flatMap((id) => {
        const [out, sent] = [outAt.get(id), run.sentAt.get(id)];
        return out === undefined || sent === undefined ? [] : [out - sent];
    });
    const served = Object.fromEntries(proxy.served);
    const throttled = Object.fromEntries(proxy.throttled);
    const allOut = left === 0 && ours.every((id) => outAt.has(id));
    return {
        warned: ours.length,
        sentMs: run.sentMs,
        lastOutMs: allOut
            ? Math.max(...ours.map((id) => outAt.get(id) ?? 0)) - run.startedAt
            : null,
        latencyMs: percentiles(latencies),
        served,
        throttled,
        refused: Object.fromEntries(proxy.refused),
        callsPerInstance: (sum(served) + (withThrottled ? sum(throttled) : 0)) / ours.length,
        detachedByHandler: run.detachedByHandler,
        ...invocationFigures(run.batchSizes, run.invocationMs),
        failed: run.failed,
        left,
        neighbourUntouched: sameState(
            watched.neighbourBefore,
            await describeGroupState(emulator, watched.neighbourName),
        ),
        polls: run.departures.polls(),
    };
}
