/**
 * The safety net through the queue, on the emulator's clock: a warning for a group with Capacity
 * Rebalancing that does nothing waits in the events queue, comes back when the grace ends (the
 * handler shortens its visibility at the end of its invocation), and is then detached, well
 * within 60 s of the warning. The warning is backdated so that the grace ends seconds after it
 * is first received.
 */
import * as assert from "node:assert/strict";
import { OUT_OF_SERVICE_DEADLINE_MS, SAFETY_NET_GRACE_MS } from "../../contract";
import { describeGroupState } from "../../emulator/group-state";
import { freshSampleEvent } from "../../offline/sample-event";
import { describeGroupActions, sendSpotWarning } from "../../emulator/group-side";
import { DRAIN_TIMEOUT_MS, idsOf, queuedPipeline } from "../support/emulated-workshop";

// More than the 1 s batching window, so that the first receive comes within the grace.
const GRACE_LEFT_MS = 3_000;

describe("the safety net through the queue, on the emulator", function () {
    this.timeout(120_000);

    // A 1 s window, so that the grace can end seconds after the warning is first received.
    const { emulator, seed, run } = queuedPipeline({
        keep: { capacityOnInterruption: "keep", maximumBatchingWindowInSeconds: 1 },
    });

    it("re-checks a waiting warning when the grace ends, not a visibility timeout later, and detaches it", async () => {
        const environment = await seed({ capacityRebalance: true });
        const [instanceId] = idsOf(await describeGroupState(emulator(), environment.webGroupName));
        await sendSpotWarning(emulator(), instanceId, { groupReacts: false });
        const sentAtMs = Date.now() - (SAFETY_NET_GRACE_MS - GRACE_LEFT_MS);

        const {
            value: outOfServiceAtMs,
            logLines,
            logTimesMs,
        } = await run("keep", async (p) => {
            await p.putEvents([freshSampleEvent(instanceId, new Date(sentAtMs))]);
            await p.mapping.drained(DRAIN_TIMEOUT_MS);
            return Date.now();
        });

        const batches = logLines
            .map((line, index) => ({ entry: JSON.parse(line), atMs: logTimesMs[index] }))
            .filter(({ entry }) => /^Batch of/.test(entry.message));
        assert.deepEqual(
            batches.map(({ entry }) => [entry.waiting, entry.detached, entry.safetyNet]),
            [
                [1, 0, 0],
                [0, 1, 1],
            ],
        );
        // The queue's visibility timeout is 20 s: the re-check came at the grace's end instead.
        const recheckAfterMs = batches[1].atMs - batches[0].atMs;
        assert.ok(recheckAfterMs < 10_000, `re-checked ${recheckAfterMs} ms after waiting`);
        // Event time has whole seconds: allow the one it may round down.
        assert.ok(outOfServiceAtMs - sentAtMs <= OUT_OF_SERVICE_DEADLINE_MS - 1_000);
        const { actions } = await describeGroupActions(emulator());
        assert.deepEqual(
            actions.map((a) => [a.instanceId, a.by]),
            [[instanceId, "DetachInstances"]],
        );
    });
});
