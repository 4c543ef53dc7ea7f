/** Warned instances leaving their groups, timed by the handler's log and confirmed by polling. */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import type { FaultProxy } from "../../emulator/fault-proxy";
import { clientConfigFor, describeGroupState, type GroupState } from "../../emulator/group-state";
import type { Emulator } from "../../emulator/server";
import { duration } from "../terminal";
import type { QueuedRun } from "./pipelines";
import * as report from "./report";

// The poll only confirms departures and shows progress: slow enough not to load the emulator.
export const POLL_INTERVAL_MS = 1000;

/** Looks each POLL_INTERVAL_MS until `look` finds every instance out, the deadline, or `signal`. */
export async function pollUntil(
    deadline: number,
    look: () => Promise<boolean>,
    signal?: AbortSignal,
) {
    while (signal?.aborted !== true) {
        // A failed look is only a missed sample.
        if ((await look().catch(() => false)) || performance.now() >= deadline) {
            return;
        }
        await sleep(POLL_INTERVAL_MS, undefined, { signal }).catch(() => {});
    }
}

/** Says `line(elapsed, out)` at most every `intervalMs` since it was made. */
export function every(
    intervalMs: number,
    say: (message: string) => void,
    line: (elapsed: string, out: number) => string,
) {
    const startedAt = performance.now();
    let last = startedAt;
    return (out: number) => {
        if (performance.now() - last >= intervalMs) {
            last = performance.now();
            say(line(duration(last - startedAt), out));
        }
    };
}

export type Departures = ReturnType<ReturnType<typeof watchDepartures>>;

/** Polls the watched groups (one DescribeAutoScalingGroups, at most 100 names) until ours are out or the deadline, with a progress line every 2 s: how many are out, and the budget's counts so far. */
export function watchDepartures(
    emulator: Emulator,
    { ours, groupNames }: Watched,
    label: string,
    proxy: FaultProxy,
    say: (s: string) => void,
) {
    const calls = (counts: Map<string, number>) => report.sum(Object.fromEntries(counts));
    const onPoll = every(2000, say, (elapsed, out) => {
        const [served, throttled] = [calls(proxy.served), calls(proxy.throttled)];
        return `  ${label}: ${elapsed}, ${out}/${ours.length} out, ${served} Auto Scaling calls served, ${throttled} throttled`;
    });
    return (deadline: number) => {
        const client = new AutoScalingClient(clientConfigFor(emulator));
        const remaining = new Set(ours);
        /** When each instance was first seen out of its group (performance.now()). */
        const outAt = new Map<string, number>();
        const abort = new AbortController();
        let [polls, totalMs] = [0, 0];
        const input = { AutoScalingGroupNames: [...groupNames], MaxRecords: 100 };
        const poll = async (): Promise<boolean> => {
            const startedAt = performance.now();
            const { AutoScalingGroups = [] } = await client.send(
                new DescribeAutoScalingGroupsCommand(input),
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
            /** Stops polling, after one last look if some are still in. */
            async stop() {
                abort.abort();
                await done;
                await (remaining.size > 0 ? poll().catch(() => false) : undefined);
                client.destroy();
            },
        };
    };
}

/** Times each departure by the handler's detach entry, written as the instance left: exact, and free. */
export function timeDeparturesByLog(
    outAt: Map<string, number>,
    logLines: readonly string[],
    logTimesMs: readonly number[],
) {
    const detaching = /belongs? to AutoScaling Group .*Detaching/;
    for (const { message, instanceIds, index } of report.logEntries(logLines)) {
        if (detaching.test(String(message)) && Array.isArray(instanceIds)) {
            for (const id of instanceIds.map(String)) {
                outAt.set(id, Math.min(outAt.get(id) ?? Infinity, logTimesMs[index]));
            }
        }
    }
}

/** A queued run as a departure run: departures timed by the handlers' log, detaches added up from its "Batch of" entries. */
export function departed(run: QueuedRun<Departures>): DepartureRun {
    timeDeparturesByLog(run.watch.outAt, run.logLines, run.logTimesMs);
    const detachedByHandler = report.batchTotal(run.logLines, "detached");
    return { ...run, departures: run.watch, detachedByHandler };
}

/** What a storm did, as a queued run reports it (a direct run too), before it is judged against state. */
export type DepartureRun = Pick<
    QueuedRun<Departures>,
    "startedAt" | "sentMs" | "sentAt" | "batchSizes" | "invocationMs" | "failed"
> & { readonly departures: Departures; readonly detachedByHandler: number };

/** The groups whose warned instances should leave, and the neighbour that should stay as it was. */
export interface Watched {
    readonly ours: readonly string[];
    readonly groupNames: readonly string[];
    readonly neighbourName: string;
    readonly neighbourBefore: GroupState;
}

export type DepartureFigures = Awaited<ReturnType<typeof departureFigures>> & {
    /** The whole run, seeding included. */
    readonly wallMs: number;
    readonly goals: readonly report.Goal[];
};

/** A run's figures from the groups' end state and the budget's counts (throttled too if `withThrottled`). */
export async function departureFigures(
    emulator: Emulator,
    watched: Watched,
    run: DepartureRun,
    proxy: FaultProxy,
    withThrottled: boolean,
) {
    const { ours } = watched;
    const states = await Promise.all(
        watched.groupNames.map((name) => describeGroupState(emulator, name)),
    );
    const stillIn = new Set(states.flatMap((s) => s.instances.map((i) => i.instanceId)));
    const left = ours.filter((id) => stillIn.has(id)).length;
    const { outAt } = run.departures;
    const latencies = ours.flatMap((id) => {
        const [out, sent] = [outAt.get(id), run.sentAt.get(id)];
        return out === undefined || sent === undefined ? [] : [out - sent];
    });
    const [served, throttled] = [proxy.served, proxy.throttled].map((c) => Object.fromEntries(c));
    const allOut = left === 0 && ours.every((id) => outAt.has(id));
    return {
        /** Unique warned instances of the protected groups. */
        warned: ours.length,
        /** From the first PutEvents start to the last one's end (direct: all invoked at once, 0). */
        sentMs: run.sentMs,
        /** From the first warning sent to the last warned instance out; null if some stayed. */
        lastOutMs: allOut
            ? Math.max(...ours.map((id) => outAt.get(id) ?? 0)) - run.startedAt
            : null,
        /** Per warned instance, from its first warning's sending to its leaving. */
        latencyMs: report.percentiles(latencies),
        served,
        throttled,
        /** Forwarded requests the emulator answered with HTTP 400 or above, per action. */
        refused: Object.fromEntries(proxy.refused),
        callsPerInstance:
            (report.sum(served) + (withThrottled ? report.sum(throttled) : 0)) / ours.length,
        /** Exactly once means this equals `warned`. */
        detachedByHandler: run.detachedByHandler,
        ...report.invocationFigures(run.batchSizes, run.invocationMs),
        /** Queue: records left for a retry. Direct: invocations that threw. */
        failed: run.failed,
        /** Warned instances still in their group at the end. */
        left,
        neighbourUntouched: report.sameState(
            watched.neighbourBefore,
            await describeGroupState(emulator, watched.neighbourName),
        ),
        /** Membership polls of the emulator, and their mean duration (they hold its lock). */
        polls: run.departures.polls(),
    };
}

/** What a departure storm is judged by; `left` and `desired` only where given. */
export function departureGoals(
    r: Pick<DepartureFigures, "lastOutMs" | "callsPerInstance" | "left" | "neighbourUntouched">,
    { lastOutMs: last, callsPerInstance: calls }: { lastOutMs: number; callsPerInstance: number },
    budget: number,
    { deadLettered, left, desired }: { deadLettered: number; left?: true; desired?: boolean },
): report.Goal[] {
    const goals: (readonly [string, string, boolean])[] = [
        ["lastOut", `last instance out < ${last / 1000} s`, (r.lastOutMs ?? Infinity) < last],
        ["calls", `≤ ${calls} calls per instance`, r.callsPerInstance <= calls],
        ...(left ? [["left", "none left in their groups", r.left === 0] as const] : []),
        ["deadLettered", "0 dead-lettered", deadLettered === 0],
        ["neighbour", "neighbour untouched", r.neighbourUntouched],
        ...(desired === undefined
            ? []
            : [["desired", "desired capacity = MinSize", desired] as const]),
    ];
    return goals.map(([key, name, met]) => ({ key, name: name + report.atBudget(budget), met }));
}

/** The rows every departure table shares, from "last warned instance out" to "invocations". */
export function departureRows<R extends DepartureFigures>(
    goals: { readonly lastOutMs: number; readonly callsPerInstance: number },
    words: { sent: string; calls: (r: R) => string; throttled: string; detached: string },
): report.Row<R>[] {
    const { lastOutMs: last, callsPerInstance: calls } = goals;
    return [
        [
            "last warned instance out",
            `< ${last / 1000} s`,
            (r) => (r.lastOutMs === null ? `never (${r.left} left)` : duration(r.lastOutMs)),
            "lastOut",
        ],
        [`every ${words.sent} sent (PutEvents) after`, "", (r) => duration(r.sentMs)],
        [
            "per warning p50 / p95 / p99",
            "",
            ({ latencyMs: l }) =>
                l === null ? "—" : [l.p50, l.p95, l.p99].map(duration).join(" / "),
        ],
        [
            "Auto Scaling calls per instance",
            `≤ ${calls}`,
            (r) => `${r.callsPerInstance.toFixed(3)} (${words.calls(r)})`,
            "calls",
        ],
        ["  served per action", "", (r) => report.perAction(r.served)],
        [words.throttled, "", (r) => report.perAction(r.throttled)],
        ["refused by the emulator (HTTP ≥ 400)", "", (r) => report.perAction(r.refused)],
        [words.detached, "", (r) => `${r.detachedByHandler} of ${r.warned}`],
        [
            "invocations (records per invocation)",
            "",
            ({ invocations: n, recordsPerInvocation: r }) =>
                `${n} (mean ${r.mean.toFixed(1)}, max ${r.max})`,
        ],
        [
            "  gathering a batch / running it (mean, max)",
            "",
            ({ invocationMs: i }) =>
                [i.meanGather, i.meanRun].map(duration).join(" / ") + `, ${duration(i.maxRun)}`,
        ],
    ];
}
