/**
 * The one loop that follows a deployment until it has done its part: poll, stop when the poll
 * says done, give up at the deadline or after the most polls the wait can hold. The console test
 * and the FIS experiment both follow with it.
 */
import type { Clock } from "./simulate-timeline";

export interface FollowLoop<Done> {
    readonly clock: Clock;
    /** The pause between the end of one poll and the start of the next. */
    readonly intervalMs: number;
    /** When to give up (epoch ms); read after every poll, since a poll may move it. */
    readonly deadlineMs: () => number;
    /** The most polls, so that a clock that stands still cannot keep the loop alive. */
    readonly maxPolls: number;
    /** One look at the deployment: what it found once it is done, undefined to keep polling. */
    readonly poll: () => Promise<Done | undefined>;
    /** The error to give up with, built when the deadline or the last poll has passed. */
    readonly giveUp: () => Error;
}

/**
 * Polls until `poll` returns a value, and resolves to it; rejects with `giveUp()` once the
 * deadline has passed or `maxPolls` polls found nothing, and with whatever a poll throws.
 *
 * @example
 * await followUntil({ clock: systemClock, intervalMs: 2_000, deadlineMs: () => Date.now() + 60_000,
 *     maxPolls: pollsWithin(60_000, 2_000), poll: async () => ((await ready()) ? true : undefined),
 *     giveUp: () => new Error("not ready within 60 s") });
 */
export async function followUntil<Done>(loop: FollowLoop<Done>): Promise<Done> {
    for (let polls = 1; ; polls++) {
        const done = await loop.poll();
        if (done !== undefined) {
            return done;
        }
        if (loop.clock.now() >= loop.deadlineMs() || polls >= loop.maxPolls) {
            throw loop.giveUp();
        }
        await loop.clock.sleep(loop.intervalMs);
    }
}

/**
 * How many polls `intervalMs` apart fit in a wait of `windowMs`, counting the first at once:
 * the count bound that never cuts a wait short when the clock runs.
 *
 * @example
 * pollsWithin(60_000, 2_000); // 31
 */
export function pollsWithin(windowMs: number, intervalMs: number): number {
    // An interval of 0 (a test's) would otherwise leave no bound at all.
    return Math.ceil(windowMs / Math.max(1, intervalMs)) + 1;
}
