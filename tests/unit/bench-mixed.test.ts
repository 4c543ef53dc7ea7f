import * as assert from "node:assert/strict";
import {
    batchShares,
    groupKinds,
    groupServed,
    handlerTotals,
    judgeKindGoals,
    type KindResult,
    kindResults,
    MIXED_GOALS,
    type MixedObservation,
    REACTION_DELAY_MS,
    reactionDelays,
    judgeMixedStorm,
    mixedExtra,
    mixedGoalsMet,
    type MixedReport,
    type MixedResult,
    mixedTable,
    outOfServiceBy,
} from "../../commands/bench/mixed";
import { fleetStorm, stormMix } from "../../commands/bench/fleet";
import { createStyle } from "../../commands/terminal";
import { SAFETY_NET_GRACE_MS } from "../../contract";

const plain = createStyle(false);
const WARNED_AT = 1_800_000_000_000;

/** Three groups, one of each kind, two instances each. */
const kindOf = new Map([
    ["web-01", "capacity-rebalancing" as const],
    ["web-02", "termination-hook" as const],
    ["web-03", "plain" as const],
]);
const groupOf = new Map([
    ["i-c1", "web-01"],
    ["i-c2", "web-01"],
    ["i-h1", "web-02"],
    ["i-h2", "web-02"],
    ["i-p1", "web-03"],
    ["i-p2", "web-03"],
]);
const batchLine = (groups: Record<string, Record<string, number>>, extra = {}) =>
    JSON.stringify({ message: "Batch of 6 records: …", groups, ...extra });

function observation(overrides: Partial<MixedObservation> = {}): MixedObservation {
    const served = (action: string, parameters: Record<string, string>) => ({
        action,
        parameters,
        outcome: "served" as const,
    });
    return {
        kindOf,
        groupOf,
        warnedAtMs: new Map([...groupOf.keys()].map((id) => [id, WARNED_AT])),
        actions: [
            { instanceId: "i-p1", by: "DetachInstances" },
            { instanceId: "i-p2", by: "DetachInstances" },
            { instanceId: "i-h1", by: "TerminateInstanceInAutoScalingGroup" },
            { instanceId: "i-h2", by: "DetachInstances" },
            { instanceId: "i-c1", by: "CapacityRebalancing" },
            { instanceId: "i-c2", by: "CapacityRebalancing" },
        ],
        outOfServiceAtMs: {
            "i-p1": WARNED_AT + 5_000,
            "i-p2": WARNED_AT + 5_000,
            "i-h1": WARNED_AT + 6_000,
            "i-h2": WARNED_AT + 7_000,
            "i-c1": WARNED_AT + 3_000,
            "i-c2": WARNED_AT + 9_000,
        },
        requests: [
            // One batch's lookup of every group, shared; then each group's own calls.
            served("DescribeAutoScalingGroups", { "Filters.member.1.Name": "tag:x" }),
            served("DescribeLifecycleHooks", { AutoScalingGroupName: "web-02" }),
            served("DescribeLifecycleHooks", { AutoScalingGroupName: "web-03" }),
            served("TerminateInstanceInAutoScalingGroup", { InstanceId: "i-h1" }),
            {
                ...served("TerminateInstanceInAutoScalingGroup", { InstanceId: "i-h1" }),
                outcome: "throttled",
            },
            served("DetachInstances", { AutoScalingGroupName: "web-02" }),
            served("DetachInstances", { AutoScalingGroupName: "web-03" }),
        ],
        logLines: [
            "not json",
            batchLine({
                "web-01": { waiting: 2 },
                "web-02": { terminated: 1, detached: 1 },
                "web-03": { detached: 2 },
            }),
        ],
        ...overrides,
    };
}

describe("the benchmark's mixed storm", () => {
    describe("its composition", () => {
        it("makes 10 groups 4 with Capacity Rebalancing, 3 with a hook and 3 plain, interleaved", () => {
            const kinds = groupKinds(10);
            assert.deepEqual(kinds.slice(0, 4), [
                "capacity-rebalancing",
                "termination-hook",
                "plain",
                "capacity-rebalancing",
            ]);
            assert.deepEqual(
                ["capacity-rebalancing", "termination-hook", "plain"].map(
                    (k) => kinds.filter((x) => x === k).length,
                ),
                [4, 3, 3],
            );
        });

        it("sends the many-groups storm's warnings: every instance, every tenth twice", () => {
            const groups = [["i-1", "i-2"], ["i-3"]];
            assert.deepEqual(stormMix(fleetStorm(groups, []), groups.flat()).warned, 3);
        });

        it("gives each reacting group 2 to 10 s, the same every run, inside the safety net's grace", () => {
            const ids = Array.from({ length: 400 }, (_, i) => `i-${i}`);
            const delays = [...reactionDelays(ids).values()];
            assert.deepEqual(reactionDelays(ids), reactionDelays(ids));
            assert.ok(delays.every((d) => Number.isInteger(d)));
            assert.ok(Math.min(...delays) >= REACTION_DELAY_MS.min);
            assert.ok(Math.max(...delays) <= REACTION_DELAY_MS.max);
            assert.ok(REACTION_DELAY_MS.max < SAFETY_NET_GRACE_MS);
            // Spread, not bunched: both halves of the range are used.
            assert.ok(delays.some((d) => d < 6_000) && delays.some((d) => d > 6_000));
        });
    });

    describe("its attribution of Auto Scaling calls", () => {
        it("charges a request to the group it names, by group or by instance, and shares a lookup of every group", () => {
            const of = (parameters: Record<string, string>) => groupServed({ parameters }, groupOf);
            assert.equal(of({ AutoScalingGroupName: "web-02" }), "web-02");
            assert.equal(of({ InstanceId: "i-c1" }), "web-01");
            assert.equal(of({ "AutoScalingGroupNames.member.1": "web-03" }), "web-03");
            assert.equal(
                of({
                    "AutoScalingGroupNames.member.1": "web-01",
                    "AutoScalingGroupNames.member.2": "web-02",
                }),
                undefined,
            );
            assert.equal(of({ "Filters.member.1.Name": "tag:x" }), undefined);
        });

        it("splits each batch's lookup by the instances of each kind it settled, then averages", () => {
            const shares = batchShares(
                [
                    batchLine({ "web-01": { waiting: 2 }, "web-03": { detached: 2 } }),
                    // A re-check batch holds only the Capacity Rebalancing group's records.
                    batchLine({ "web-01": { leftToGroup: 2 } }),
                    batchLine({ other: { detached: 3 } }),
                ],
                kindOf,
            );
            assert.deepEqual(shares, {
                "capacity-rebalancing": 0.75,
                "termination-hook": 0,
                plain: 0.25,
            });
            assert.equal(batchShares(["{}"], kindOf), undefined);
        });

        it("adds up, per kind, its own calls and its share, throttled included", () => {
            const [cr, hook, plainKind, all] = kindResults(observation(), 10);
            assert.deepEqual(hook.served, {
                DescribeLifecycleHooks: 1,
                TerminateInstanceInAutoScalingGroup: 1,
                DetachInstances: 1,
            });
            assert.deepEqual(hook.throttled, { TerminateInstanceInAutoScalingGroup: 1 });
            assert.equal(cr.sharedCalls + hook.sharedCalls + plainKind.sharedCalls, 1);
            assert.equal(all.sharedCalls, 1);
            // 4 own calls and a third of the lookup, for 2 instances; one is a termination.
            const close = (actual: number, expected: number) =>
                assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} ≈ ${expected}`);
            close(hook.callsPerInstance, (4 + 1 / 3) / 2);
            close(hook.beyondTerminationsPerInstance, (3 + 1 / 3) / 2);
            close(all.callsPerInstance, 7 / 6);
        });
    });

    describe("its time to out of service", () => {
        it("runs from the warning's time to the first action, per kind, by whoever acted", () => {
            const [cr, hook, , all] = kindResults(observation(), 10);
            assert.deepEqual(cr.timeToOutMs, { p50: 3_000, p95: 9_000, max: 9_000 });
            assert.deepEqual(cr.outOfService, { byGroup: 2, terminated: 0, detached: 0 });
            assert.equal(outOfServiceBy(hook), "terminated 1, detached 1");
            assert.equal(outOfServiceBy(all), "the group 2, terminated 1, detached 3");
            assert.equal(all.left, 0);
        });

        it("counts an instance never out of service as left, and misses the goal", () => {
            const rest = Object.fromEntries(
                Object.entries(observation().outOfServiceAtMs).filter(([id]) => id !== "i-c2"),
            );
            const [cr] = kindResults(observation({ outOfServiceAtMs: rest }), 10);
            assert.equal(cr.left, 1);
            assert.equal(cr.goals.find((g) => g.key === "outOfService")?.met, false);
        });
    });

    describe("its goals", () => {
        const figures = (overrides: Partial<KindResult> = {}): Omit<KindResult, "goals"> => ({
            ...kindResults(observation(), 10)[0],
            beyondTerminationsPerInstance: 0.01,
            ...overrides,
        });
        const missed = (r: Omit<KindResult, "goals">, budget = 10) =>
            judgeKindGoals(r, budget)
                .filter((g) => !g.met)
                .map((g) => g.key);

        it("are met at 60 s and 0.08 calls beyond one per termination", () => {
            assert.deepEqual(
                missed(
                    figures({
                        timeToOutMs: { p50: 1, p95: 2, max: MIXED_GOALS.outOfServiceMs },
                        beyondTerminationsPerInstance: 0.08,
                        callsPerInstance: 0.9,
                    }),
                ),
                [],
            );
        });

        it("are missed past 60 s, over 0.08, or with an instance left", () => {
            assert.deepEqual(
                missed(
                    figures({
                        timeToOutMs: { p50: 1, p95: 2, max: 60_001 },
                        beyondTerminationsPerInstance: 0.0801,
                    }),
                ),
                ["outOfService", "calls"],
            );
            assert.deepEqual(missed(figures({ left: 1 })), ["outOfService"]);
        });

        it("say at another budget that they were set at 10 requests/s", () => {
            assert.match(judgeKindGoals(figures(), 20)[1].name, /\(set at 10 req\/s\)$/);
        });

        it("judge the storm by its dead letters and the neighbour", () => {
            assert.deepEqual(
                judgeMixedStorm({ deadLettered: 1, neighbourUntouched: false }).map((g) => g.met),
                [false, false],
            );
        });
    });

    describe("its report", () => {
        const result = (config: MixedResult["config"]): MixedResult => ({
            config,
            kinds: kindResults(observation(), 10),
            events: 151,
            sentMs: 3000,
            invocations: 2,
            records: 178,
            returned: 27,
            ...handlerTotals([batchLine({}, { safetyNet: 2, hooksSkipped: 1 })]),
            deadLettered: 0,
            stillQueued: 0,
            neighbourUntouched: true,
            seedMs: 5000,
            wallMs: 30_000,
            goals: judgeMixedStorm({ deadLettered: 0, neighbourUntouched: true }),
        });
        const report: MixedReport = {
            groups: 3,
            size: 2,
            kinds: { "capacity-rebalancing": 1, "termination-hook": 1, plain: 1 },
            budget: 10,
            mix: stormMix(fleetStorm([["i-c1"]], []), ["i-c1"]),
            reactionDelayMs: REACTION_DELAY_MS,
            results: [result("reacts"), result("silent")],
        };

        it("adds up the handler's safety net and skipped hooks from its batch entries", () => {
            assert.deepEqual(
                handlerTotals([
                    batchLine({}, { safetyNet: 2, hooksSkipped: 1 }),
                    batchLine({}, { safetyNet: 1, hooksUnknown: 4 }),
                    JSON.stringify({ message: "Instance …", safetyNet: 9 }),
                ]),
                { safetyNet: 3, hooksSkipped: 1, hooksUnknown: 4 },
            );
        });

        it("lays the kinds side by side, marking each judged figure", () => {
            const text = mixedTable(result("reacts"), plain);
            const row = (label: string) => text.split("\n").find((l) => l.includes(label)) ?? "";
            assert.match(text, /CAPACITY REBALANCING +TERMINATION HOOK +PLAIN +ALL/);
            assert.match(row("to out of service"), /≤ 60 s +3\.00 s \/ 9\.00 s \/ 9\.00 s ✓/);
            assert.match(row("beyond one per termination"), /≤ 0\.08 +0\.167 ✗ +1\.667 ✗/);
            assert.match(row("out of service by"), /the group 2 +terminated 1, detached 1/);
            assert.equal(mixedGoalsMet(result("reacts")), false);
        });

        it("prints one table per run under its heading, and the report as JSON", () => {
            const { json, text } = mixedExtra(report, plain);
            assert.deepEqual(Object.keys(json), ["mixed"]);
            assert.match(
                text,
                /^Mixed storm, Capacity Rebalancing acts 2-10 s after each warning: 3 groups × 2 \(1 Capacity Rebalancing, 1 termination hook, 1 plain\)/,
            );
            assert.match(
                text,
                /Mixed storm, Capacity Rebalancing never acts \(the safety net's run\)/,
            );
            assert.match(text, /safety net 2, hooks skipped 1, hooks unknown 0; 2 invocations/);
            assert.deepEqual(mixedExtra(undefined, plain), { json: {}, text: "" });
        });
    });
});
