import * as assert from "node:assert/strict";
import {
    type FleetReport,
    type FleetResult,
    fleetExtra,
    fleetStorm,
    fleetTable,
    judgeFleetGoals,
    ruleMatches,
    singleGroupTarget,
    stormEvent,
    stormMix,
} from "../../commands/bench/fleet";
import { GOAL_BUDGET } from "../../commands/bench/report";
import type { PathResult, StormReport } from "../../commands/bench/single";
import { createStyle } from "../../commands/terminal";
import { parseInterruptionWarning } from "../../handler/event";
import { fleetGroupNames } from "../../emulator/fleet";
import { departures } from "../support/bench-figures";

const hex = (n: number) => n.toString(16).padStart(17, "0");
/** 10 groups of 100 made-up instance ids, and 21 outsiders. */
const groups = Array.from({ length: 10 }, (_, g) =>
    Array.from({ length: 100 }, (_, i) => `i-${hex(g * 1000 + i)}`),
);
const outsiders = Array.from({ length: 21 }, (_, i) => `i-${hex(900_000 + i)}`);
const ours = groups.flat();
const plain = createStyle(false);

/** One configuration's figures: the storm's 1151 events, its 1141 matches queued, all out in 12 s. */
const figures = (overrides: Partial<FleetResult> = {}): Omit<FleetResult, "goals"> => ({
    config: "tag",
    handlers: 1,
    events: 1151,
    ...departures(),
    records: { received: 1141, expected: 1141 },
    deadLettered: 0,
    stillQueued: 0,
    seedMs: 5000,
    ...overrides,
});

describe("the benchmark's many-groups storm", () => {
    describe("its composition", () => {
        it("warns every instance once, every tenth twice, each outsider once, with 10 junk events of each kind", () => {
            const storm = fleetStorm(groups, outsiders);

            assert.deepEqual(stormMix(storm, ours), {
                events: 1000 + 100 + 21 + 30,
                warned: 1000,
                duplicates: 100,
                outsiders: 21,
                junk: {
                    "rebalance-recommendation": 10,
                    "missing-instance-id": 10,
                    "not-an-instance-id": 10,
                },
                // The rule lets everything through but the rebalance recommendations.
                matched: 1000 + 100 + 21 + 20,
            });
        });

        it("spreads the duplicates over every group, 10 each", () => {
            const warnings = fleetStorm(groups, outsiders).filter((e) => e.kind === "warning");
            for (const group of groups) {
                const members = new Set(group);
                const ofGroup = warnings.filter((e) => members.has(e.instanceId));
                assert.equal(ofGroup.length, 110);
                assert.equal(new Set(ofGroup.map((e) => e.instanceId)).size, 100);
            }
        });

        it("sends the same shuffled storm every run, not in group order", () => {
            const first = fleetStorm(groups, outsiders);
            assert.deepEqual(fleetStorm(groups, outsiders), first);
            const firstHundred = new Set(first.slice(0, 100).map((e) => e.instanceId));
            assert.ok(groups.every((group) => group.some((id) => firstHundred.has(id))));
        });
    });

    describe("its events", () => {
        const id = ours[0];

        it("are warnings the handler reads, or junk it ignores, or that the rule drops", () => {
            const warning = stormEvent({ kind: "warning", instanceId: id });
            assert.equal(ruleMatches(warning), true);
            assert.deepEqual(parseInterruptionWarning(warning), {
                kind: "interruption-warning",
                eventId: warning.id,
                instanceId: id,
                warning: "spot",
                sentAtMs: Date.parse(String(warning.time)),
            });

            for (const kind of ["missing-instance-id", "not-an-instance-id"] as const) {
                const junk = stormEvent({ kind, instanceId: id });
                assert.equal(ruleMatches(junk), true, kind);
                assert.equal(parseInterruptionWarning(junk).kind, "unrecognised", kind);
            }

            const rebalance = stormEvent({ kind: "rebalance-recommendation", instanceId: id });
            assert.equal(rebalance["detail-type"], "EC2 Instance Rebalance Recommendation");
            assert.equal(ruleMatches(rebalance), false);
        });
    });

    describe("its goals", () => {
        const missed = (r: Omit<FleetResult, "goals">) =>
            judgeFleetGoals(r.config, r, GOAL_BUDGET)
                .filter((g) => !g.met)
                .map((g) => g.key);

        it("are met under 15 s and at 0.08 calls per instance", () => {
            const atTheEdges = { lastOutMs: 14_900, callsPerInstance: 0.08 };
            assert.deepEqual(missed(figures(atTheEdges)), []);
            assert.deepEqual(missed(figures({ ...atTheEdges, config: "list" })), []);
        });

        it("are missed at 15 s, over 0.08 calls, with one left, a dead letter or the neighbour touched", () => {
            assert.deepEqual(
                missed(
                    figures({
                        lastOutMs: 15_000,
                        callsPerInstance: 0.0801,
                        left: 1,
                        deadLettered: 1,
                        neighbourUntouched: false,
                    }),
                ),
                ["lastOut", "calls", "left", "deadLettered", "neighbour"],
            );
            assert.deepEqual(missed(figures({ lastOutMs: null, left: 3 })), ["lastOut", "left"]);
        });

        it("leave the per-group handlers unjudged: they are the comparison", () => {
            assert.deepEqual(judgeFleetGoals("per-group", figures({ lastOutMs: null }), 10), []);
        });

        it("say at another budget that they were set at 10 requests/s", () => {
            const [goal] = judgeFleetGoals("tag", figures(), 20);
            assert.match(goal.name, /\(set at 10 req\/s\)$/);
        });

        it("measure the single-group storm of 1000 against 0.07, counting throttled calls", () => {
            const queue = {
                path: "queue",
                warned: 1000,
                served: { DescribeAutoScalingGroups: 10, DetachInstances: 55 },
                throttled: { DetachInstances: 5 },
            } as unknown as PathResult;
            const storm: StormReport = { mode: "keep", size: 1000, budget: 10, results: [queue] };
            assert.deepEqual(singleGroupTarget([storm]), {
                callsPerInstance: 0.07,
                target: 0.07,
                met: true,
            });
            assert.equal(singleGroupTarget([{ ...storm, size: 500 }]), undefined);
        });
    });

    describe("its table", () => {
        it("sets the configurations side by side, marking each judged figure", () => {
            const result = (config: FleetResult["config"], handlers: number): FleetResult => {
                const r = figures({
                    config,
                    handlers,
                    lastOutMs: config === "per-group" ? null : 12_000,
                    left: config === "per-group" ? 2 : 0,
                    records: { received: 1141 * handlers, expected: 1141 * handlers },
                });
                return { ...r, goals: judgeFleetGoals(config, r, 10) };
            };
            const report: FleetReport = {
                groups: 10,
                size: 100,
                neighbourSize: 20,
                budget: 10,
                mix: stormMix(fleetStorm(groups, outsiders), ours),
                tagLookup: {
                    expected: ["web-01"],
                    tagValue: ["web-01"],
                    tagKey: [],
                    correct: true,
                },
                results: [result("tag", 1), result("list", 1), result("per-group", 10)],
            };

            const text = fleetTable(report, plain);
            const row = (label: string) => text.split("\n").find((l) => l.includes(label)) ?? "";
            assert.match(text, /TAG \(ONE HANDLER\) +LIST \(ONE HANDLER\) +PER GROUP/);
            assert.match(
                row("last warned instance out"),
                /< 15 s +12\.00 s ✓ +12\.00 s ✓ +never \(2 left\)$/,
            );
            assert.match(row("calls per instance"), /≤ 0\.08 +0\.070 \(70 \+ 0 throttled\) ✓/);
            assert.match(
                row("records to the handlers"),
                /1141 \(1141\) +1141 \(1141\) +11410 \(11410\)/,
            );
            assert.match(row("verdict"), /goals met +goals met +comparison, not judged/);

            const { json, text: extra } = fleetExtra(report, [], plain);
            assert.deepEqual(Object.keys(json), ["manyGroups"]);
            assert.match(
                extra,
                /^Many-groups storm: 10 groups × 100 instances warned, keep mode, \+100 duplicates, 21 neighbour warnings, 30 junk events \(1141 of 1151 events match the rule\)/,
            );
        });
    });

    it("names the protected groups so that they sort", () => {
        assert.deepEqual(fleetGroupNames(3), ["web-01", "web-02", "web-03"]);
        assert.equal(fleetGroupNames(100)[0], "web-001");
    });
});
