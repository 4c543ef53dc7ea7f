import * as assert from "node:assert/strict";
import { departureGoals } from "../../commands/bench/departures";
import { stormOrder } from "../../commands/bench/report";
import { GOALS, type PathResult, stormsText } from "../../commands/bench/single";
import { createStyle } from "../../commands/terminal";
import { departures } from "../support/bench-figures";

const plain = createStyle(false);

/** One path's figures, as a run of 1000 warned instances would report them. */
function figures(overrides: Partial<PathResult> = {}): Omit<PathResult, "goals"> {
    return {
        path: "queue",
        warnings: 1101,
        // A second inside the 20 s goal; the throttled calls are not counted per instance here.
        ...departures({ lastOutMs: 19_000, throttled: { DetachInstances: 5 } }),
        deadLettered: 0,
        stillQueued: 0,
        minSize: 500,
        desiredBefore: 1000,
        desiredAfter: 500,
        ...overrides,
    };
}

/** The goals a result is judged by, as a run judges them: direct's failures stand for dead letters. */
function judge(r: Omit<PathResult, "goals">, desired?: boolean, budget = 10): PathResult {
    const deadLettered = r.deadLettered ?? r.failed;
    return { ...r, goals: departureGoals(r, GOALS, budget, { deadLettered, desired }) };
}

describe("the benchmark's single-group storm", () => {
    it("keeps its order exactly as before", () => {
        const ids = Array.from({ length: 12 }, (_, i) => `i-${i}`);
        assert.deepEqual(
            stormOrder(ids, ["x", "y"]),
            // As stormOrder sent it before the shuffle was shared with the many-groups storm.
            [
                "i-4",
                "x",
                "i-0",
                "i-10",
                "y",
                "i-8",
                "i-7",
                "i-0",
                "i-11",
                "i-6",
                "i-1",
                "i-10",
            ].concat(["i-5", "i-3", "i-9", "i-2"]),
        );
    });

    it("is judged by its last departure, calls, dead letters, neighbour and, decrementing, desired capacity", () => {
        const missed = (r: PathResult) => r.goals.filter((g) => !g.met).map((g) => g.key);
        assert.deepEqual(missed(judge(figures(), true)), []);
        assert.deepEqual(
            missed(
                judge(
                    figures({
                        lastOutMs: 20_000,
                        callsPerInstance: 0.1501,
                        deadLettered: 1,
                        neighbourUntouched: false,
                        desiredAfter: 501,
                    }),
                    false,
                ),
            ),
            ["lastOut", "calls", "deadLettered", "neighbour", "desired"],
        );
        assert.deepEqual(
            judge(figures()).goals.map((g) => g.key),
            ["lastOut", "calls", "deadLettered", "neighbour"],
        );
        // Direct has no queue: a failed invocation counts as a dead letter.
        const direct = judge(figures({ path: "direct", deadLettered: null, failed: 2 }));
        assert.deepEqual(missed(direct), ["deadLettered"]);
        assert.match(judge(figures(), undefined, 20).goals[0].name, /\(set at 10 req\/s\)$/);
    });

    it("lays the paths side by side under the storm's heading, marking each judged figure", () => {
        const queue = judge(figures(), true);
        const direct = judge(
            figures({ path: "direct", deadLettered: null, stillQueued: null, lastOutMs: null }),
            true,
        );
        const [text] = stormsText(
            [{ mode: "decrement", size: 1000, budget: 10, results: [queue, direct] }],
            plain,
        );
        const row = (label: string) => text.split("\n").find((l) => l.includes(label)) ?? "";
        assert.match(
            text,
            /^Storm: 1000 instances of web warned, decrement mode, \+101 duplicate and neighbour warnings; budget 10 Auto Scaling requests\/s\n/,
        );
        assert.match(text, /GOAL +QUEUE +DIRECT/);
        assert.match(row("last warned instance out"), /< 20 s +19\.00 s ✓ +never \(0 left\) ✗$/);
        assert.match(row("calls per instance"), /≤ 0\.15 +0\.070 \(70 served\) ✓/);
        assert.match(row("dead-lettered"), /0 +0 ✓ +no queue \(0 failed\) ✓$/);
        assert.match(row("desired capacity"), /= MinSize +1000 → 500 \(MinSize 500\) ✓/);
        assert.match(row("failed"), /0 records +0 invocations threw$/);
        assert.match(row("verdict"), /goals met +1 of 5 goals missed$/);
    });

    it("leaves the desired-capacity goal blank in keep mode", () => {
        const [text] = stormsText(
            [{ mode: "keep", size: 1000, budget: 10, results: [judge(figures())] }],
            plain,
        );
        const row = text.split("\n").find((l) => l.includes("desired capacity")) ?? "";
        assert.match(row, /before → after +1000 → 500 \(MinSize 500\)$/);
    });
});
