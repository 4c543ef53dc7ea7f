/**
 * The loop both simulations follow a deployment with: it stops when a poll is done, at its
 * deadline, and after its most polls, on a fake clock so that it runs in milliseconds.
 */
import * as assert from "node:assert/strict";
import { followUntil, pollsWithin } from "../../commands/simulate/run";
import type { Clock } from "../../commands/simulate/run";

/** A clock whose sleeps advance it at once; `standStill` makes them advance nothing. */
function fakeClock(standStill = false): Clock & { sleeps: number[] } {
    let nowMs = 1_000_000;
    const sleeps: number[] = [];
    return {
        sleeps,
        now: () => nowMs,
        sleep: async (ms) => {
            sleeps.push(ms);
            nowMs += standStill ? 0 : ms;
        },
    };
}

type Loop = Parameters<typeof followUntil<string>>[0];

/** A loop of a look every 2 s, a deadline a minute on and 10 looks at most, but for `loop`. */
function following(clock: Clock, poll: Loop["poll"], loop: Partial<Loop> = {}) {
    const deadlineMs = () => clock.now() + 60_000;
    const giveUp = () => new Error("gave up");
    return followUntil({
        clock,
        intervalMs: 2_000,
        deadlineMs,
        maxPolls: 10,
        poll,
        giveUp,
        ...loop,
    });
}

describe("the simulations' follow loop", () => {
    describe("given a poll that is done on its third look", () => {
        it("resolves to what the poll found, having slept the interval between looks", async () => {
            const clock = fakeClock();
            let looks = 0;

            const found = await following(clock, async () =>
                ++looks === 3 ? "drained" : undefined,
            );

            assert.deepEqual([found, looks, clock.sleeps], ["drained", 3, [2_000, 2_000]]);
        });
    });

    describe("given a poll that is never done", () => {
        it("gives up with its own error once the deadline has passed, after the poll at the deadline", async () => {
            const clock = fakeClock();
            const deadlineMs = clock.now() + 10_000;
            const seenAt: number[] = [];

            const followed = following(
                clock,
                async () => {
                    seenAt.push(clock.now() - (deadlineMs - 10_000));
                    return undefined;
                },
                {
                    intervalMs: 4_000,
                    deadlineMs: () => deadlineMs,
                    maxPolls: 100,
                    giveUp: () => new Error(`gave up after ${seenAt.length} looks`),
                },
            );

            await assert.rejects(followed, { message: "gave up after 4 looks" });
            assert.deepEqual(seenAt, [0, 4_000, 8_000, 12_000]);
        });

        it("reads a deadline that a poll moves", async () => {
            const clock = fakeClock();
            let deadlineMs = clock.now() + 1_000;
            let looks = 0;

            const followed = following(
                clock,
                async () => {
                    looks++;
                    if (looks === 1) {
                        deadlineMs = clock.now() + 5_000;
                    }
                    return undefined;
                },
                { intervalMs: 1_000, deadlineMs: () => deadlineMs, maxPolls: 100 },
            );

            await assert.rejects(followed, { message: "gave up" });
            assert.equal(looks, 6);
        });

        it("stops after its most polls when the clock stands still", async () => {
            const clock = fakeClock(true);
            let looks = 0;

            const followed = following(
                clock,
                async () => {
                    looks++;
                    return undefined;
                },
                { maxPolls: 5 },
            );

            await assert.rejects(followed, { message: "gave up" });
            assert.deepEqual([looks, clock.sleeps.length], [5, 4]);
        });
    });

    describe("given a poll that throws", () => {
        it("rejects with the poll's error and polls no more", async () => {
            const clock = fakeClock();
            let looks = 0;

            const followed = following(clock, async () => {
                looks++;
                throw new Error("the handler failed");
            });

            await assert.rejects(followed, { message: "the handler failed" });
            assert.deepEqual([looks, clock.sleeps], [1, []]);
        });
    });

    describe("pollsWithin", () => {
        it("counts the first poll and every interval of the wait, and bounds an interval of 0", () => {
            assert.deepEqual(
                [pollsWithin(60_000, 2_000), pollsWithin(59_000, 2_000), pollsWithin(10, 0)],
                [31, 31, 11],
            );
        });
    });
});
