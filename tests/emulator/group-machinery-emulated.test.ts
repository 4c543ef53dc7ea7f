/**
 * The serialized handler with the group's own machinery on the emulator: Capacity Rebalancing
 * reacting to the warning (or not), and a termination hook run by TerminateInstanceInAutoScaling-
 * Group. Every verdict is the emulator's state: who moved each instance, which hook ran, what
 * desired capacity is. The warnings are backdated so that the 25 s grace ends within seconds.
 */
import * as assert from "node:assert/strict";
import { OUT_OF_SERVICE_DEADLINE_MS, SAFETY_NET_GRACE_MS } from "../../contract";
import type { InterruptionSummary } from "../../handler/entry";
import { freshSampleEvent } from "../../offline/sample-event";
import {
    describeGroupActions,
    groupActionsWhenSettled,
    sendSpotWarning,
} from "../../emulator/group-side";
import { emulatedWorkshopSuite } from "../support/emulated-workshop";
import { putLifecycleHook } from "../../emulator/workshop";

// The grace ends this long after the handler is first invoked.
const GRACE_LEFT_MS = 2_000;

describe("the uploaded handler with the group's own machinery, on the emulator", function () {
    this.timeout(120_000);

    const { emulator, archives, ...workshop } = emulatedWorkshopSuite("machinery", {
        keep: { capacityOnInterruption: "keep", delivery: "direct" },
        decrement: { capacityOnInterruption: "decrement", delivery: "direct" },
    });

    /** The variant's one direct invocation for a warning EC2 sent `sentAgoMs` ago. */
    async function warn(variant: keyof typeof archives, instanceId: string, sentAgoMs: number) {
        const sentAt = new Date(Date.now() - sentAgoMs);
        const { results, logLines } = await archives[variant].invoke(
            [freshSampleEvent(instanceId, sentAt)],
            emulator().environment(),
        );
        const [result] = results;
        assert.equal(result.status, "fulfilled", String((result as PromiseRejectedResult).reason));
        return {
            summary: (result as PromiseFulfilledResult<InterruptionSummary>).value,
            sentAtMs: sentAt.getTime(),
            logLines,
        };
    }

    describe("given a group with Capacity Rebalancing, keep", () => {
        it("leaves the warning to the group, whose own termination goes ahead with its hook", async () => {
            await workshop.seed({ capacityRebalance: true });
            await putLifecycleHook(emulator(), workshop.environment().webGroupName, "drain-worker");
            const [instanceId] = await workshop.inServiceWebInstances(1);
            const before = await workshop.webGroup();

            // The group reacts well inside the 2 s of grace left, even on a loaded machine.
            await sendSpotWarning(emulator(), instanceId, { reactAfterMs: 100 });
            const { summary } = await warn("keep", instanceId, SAFETY_NET_GRACE_MS - GRACE_LEFT_MS);

            assert.equal(summary.action, "left-to-group");
            const actions = await groupActionsWhenSettled(emulator());
            assert.deepEqual(
                actions.map((a) => [a.instanceId, a.by, a.lifecycleState, a.hooksRun]),
                [[instanceId, "CapacityRebalancing", "Terminating:Wait", ["drain-worker"]]],
            );
            assert.equal((await workshop.webGroup()).desiredCapacity, before.desiredCapacity);
            assert.equal(actions[0].replacements.length, 1, "the group launched a replacement");
        });

        it("acts as a safety net within 60 s of the warning when the group does nothing", async () => {
            await workshop.seed({ capacityRebalance: true });
            const [instanceId] = await workshop.inServiceWebInstances(1);

            await sendSpotWarning(emulator(), instanceId, { groupReacts: false });
            const { summary, sentAtMs } = await warn(
                "keep",
                instanceId,
                SAFETY_NET_GRACE_MS - GRACE_LEFT_MS,
            );
            const outOfServiceAtMs = Date.now();

            assert.equal(summary.action, "detached");
            assert.equal(summary.safetyNet, true);
            assert.ok(outOfServiceAtMs - sentAtMs <= OUT_OF_SERVICE_DEADLINE_MS);
            const { actions } = await describeGroupActions(emulator());
            assert.deepEqual(
                actions.map((a) => [a.instanceId, a.by]),
                [[instanceId, "DetachInstances"]],
            );
        });

        it("acts at once in decrement mode, shrinking the group instead of being replaced", async () => {
            await workshop.seed({ capacityRebalance: true });
            const [instanceId] = await workshop.inServiceWebInstances(1);
            const before = await workshop.webGroup();

            const { summary } = await warn("decrement", instanceId, 1_000);

            assert.equal(summary.action, "detached");
            assert.equal((await workshop.webGroup()).desiredCapacity, before.desiredCapacity - 1);
        });
    });

    describe("given a group with a termination hook and no Capacity Rebalancing", () => {
        /** Seeds that group, and picks one of its InService instances. */
        async function hookedGroup() {
            await workshop.seed({ capacityRebalance: false });
            await putLifecycleHook(emulator(), workshop.environment().webGroupName, "ship-logs");
            const [instanceId] = await workshop.inServiceWebInstances(1);
            return { instanceId, before: await workshop.webGroup() };
        }

        it("terminates through the group, so the hook runs, keeping capacity", async () => {
            const { instanceId, before } = await hookedGroup();

            const { summary } = await warn("keep", instanceId, 1_000);

            assert.equal(summary.action, "terminated");
            const { actions } = await describeGroupActions(emulator());
            assert.deepEqual(
                actions.map((a) => [a.instanceId, a.by, a.lifecycleState, a.hooksRun]),
                [
                    [
                        instanceId,
                        "TerminateInstanceInAutoScalingGroup",
                        "Terminating:Wait",
                        ["ship-logs"],
                    ],
                ],
            );
            assert.equal((await workshop.webGroup()).desiredCapacity, before.desiredCapacity);
        });

        it("decrements through the group, the hook running all the same", async () => {
            const { instanceId, before } = await hookedGroup();

            const { summary } = await warn("decrement", instanceId, 1_000);

            assert.equal(summary.action, "terminated");
            assert.equal(summary.capacityOnInterruption, "decrement");
            const { actions } = await describeGroupActions(emulator());
            assert.deepEqual(actions[0].hooksRun, ["ship-logs"]);
            assert.equal((await workshop.webGroup()).desiredCapacity, before.desiredCapacity - 1);
        });
    });
});
