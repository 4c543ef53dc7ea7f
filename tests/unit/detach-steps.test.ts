/**
 * The batch's detach steps, each alone: planning a chunk, a dry run, and the recovery from each
 * kind of DetachInstances refusal. The context is the batch's own (openBatch); only the Auto
 * Scaling gateway is a stub, and every verdict is the outcome the step settled.
 */
import * as assert from "node:assert/strict";
import { type AutoScalingGateway } from "../../handler/auto-scaling";
import {
    type BatchContext,
    type BatchResult,
    type GroupProgress,
    openBatch,
} from "../../handler/batch-context";
import { type GroupSnapshot } from "../../handler/decision";
import { planCall } from "../../handler/calls";
import { runCall } from "../../handler/group-actions";
import { recoverFromRefusal } from "../../handler/recovery";
import { type LogRecord } from "../../handler/log";
import { AFTER_UNCERTAIN_ATTEMPT } from "../../handler/auto-scaling";
import { autoScalingErrors } from "../support/auto-scaling-errors";
import type { CapacityOnInterruption } from "../../contract";

const GROUP = "web";
const [A, B, C] = ["i-0000000000000000a", "i-0000000000000000b", "i-0000000000000000c"];

function group(minSize: number, desiredCapacity: number, members: Record<string, string>) {
    return {
        name: GROUP,
        minSize,
        desiredCapacity,
        instances: new Map(Object.entries(members)),
        tags: new Map(),
    } satisfies GroupSnapshot;
}

/** A batch over A, B and C, whose gateway answers a re-read of the group with `fresh`. */
function batch(
    mode: CapacityOnInterruption,
    fresh: () => Promise<GroupSnapshot[]>,
    dryRun = false,
) {
    const logs: { level: string; record: LogRecord }[] = [];
    const describeCalls: string[] = [];
    const autoScaling: AutoScalingGateway = {
        describeGroups: async (selection) => {
            describeCalls.push(JSON.stringify(selection));
            return { groups: await fresh(), nextToken: undefined };
        },
        detachInstances: () => assert.fail("a recovery step never detaches"),
        terminateInstance: () => assert.fail("a recovery step never terminates"),
        hasTerminationHook: () => assert.fail("a recovery step never looks hooks up"),
    };
    const opened = openBatch(
        [A, B, C].map((instanceId) => ({
            key: instanceId,
            parsed: { kind: "interruption-warning" as const, instanceId, warning: "spot" as const },
        })),
        {
            config: {
                groups: { kind: "names", names: [GROUP] },
                capacityOnInterruption: mode,
                interruptionAction: "detach",
                handlerName: "test",
            },
            autoScaling,
            log: (level, record) => logs.push({ level, record }),
            remainingTimeMs: () => 60_000,
        },
        { ignoreStale: false, dryRun },
    );
    return { ...opened, logs, describeCalls };
}

const progressOf = (snapshot: GroupSnapshot, ids = [A, B, C]): GroupProgress => ({
    size: snapshot,
    slots: Math.max(0, snapshot.desiredCapacity - snapshot.minSize),
    toDetach: ids.map((instanceId) => ({ instanceId, weight: 1 })),
    refusedCalls: new Map(),
});
const NO_MARKS = { safetyNet: new Set<string>() };
const planChunk = (groupName: string, progress: GroupProgress, mode: CapacityOnInterruption) =>
    planCall(groupName, progress.toDetach, progress, mode);

const outcome = (result: BatchResult, id: string) => result.outcomes.get(id);

describe("the batch's detach steps, each alone", () => {
    describe("planChunk", () => {
        it("decrements only as far as MinSize, then keeps with the reason in words", () => {
            const progress = progressOf(group(2, 3, {}));
            const first = planChunk(GROUP, progress, "decrement");
            assert.deepEqual([first.instanceIds, first.decrement], [[A], true]);
            assert.equal(first.common.capacityOnInterruption, "decrement");

            progress.slots = 0;
            const second = planChunk(GROUP, progress, "decrement");
            assert.equal(second.decrement, false);
            assert.equal(second.common.capacityOnInterruption, "keep");
            assert.match(second.common.reason ?? "", /kept desired capacity instead/);
        });

        it("in keep mode never decrements, and gives no reason", () => {
            const chunk = planChunk(GROUP, progressOf(group(0, 10, {})), "keep");
            assert.deepEqual([chunk.instanceIds, chunk.decrement], [[A, B, C], false]);
            assert.equal(chunk.common.reason, undefined);
        });
    });

    describe("a dry run's call", () => {
        it("settles would-detach, spends the decrements it would use, and calls nothing", async () => {
            const { context, result, logs } = batch(
                "decrement",
                () => assert.fail("no call"),
                true,
            );
            const progress = progressOf(group(0, 5, {}));
            const chunk = planChunk(GROUP, progress, "decrement");

            await runCall("detach", chunk, progress, context, NO_MARKS);

            const done = result([]);
            for (const id of [A, B, C]) assert.equal(outcome(done, id)?.action, "would-detach");
            assert.equal(progress.slots, 2);
            assert.deepEqual(progress.toDetach, []);
            assert.equal(done.autoScalingCalls, 0);
            assert.match(logs[0].record.message, /^Dry run: would detach 3 instance\(s\)/);
        });

        it("gives the keep reason with the figures its would-be decrements leave, as a real run does", async () => {
            const { context } = batch("decrement", () => assert.fail("no call"), true);
            const progress = progressOf(group(2, 3, {}));

            await runCall(
                "detach",
                planChunk(GROUP, progress, "decrement"),
                progress,
                context,
                NO_MARKS,
            );
            const keep = planChunk(GROUP, progress, "decrement");

            assert.deepEqual([keep.instanceIds, keep.decrement], [[B, C], false]);
            assert.match(keep.common.reason ?? "", /^desired capacity 2 is at MinSize 2;/);
        });
    });

    describe("recoverFromRefusal", () => {
        function refusedChunk(context: BatchContext, progress: GroupProgress) {
            return planChunk(GROUP, progress, context.deps.config.capacityOnInterruption);
        }

        it("after a lost answer, counts what the fresh group shows gone as detached by us", async () => {
            // A and B left with the attempt whose answer was lost; C is still InService.
            const fresh = group(0, 4, { [C]: "InService" });
            const { context, result, describeCalls } = batch("keep", async () => [fresh]);
            const progress = progressOf(group(0, 4, {}));
            const refusal = Object.assign(autoScalingErrors.notPartOfGroup(A, GROUP), {
                [AFTER_UNCERTAIN_ATTEMPT]: true,
            });

            await recoverFromRefusal(
                "detach",
                refusedChunk(context, progress),
                refusal,
                progress,
                context,
                NO_MARKS,
            );

            const done = result([]);
            for (const id of [A, B]) {
                const settled = outcome(done, id);
                assert.equal(settled?.action, "detached");
                assert.match(JSON.stringify(settled), /its answer was lost/);
            }
            assert.equal(outcome(done, C), undefined, "C is left for the next round");
            assert.deepEqual(
                progress.toDetach.map((p) => p.instanceId),
                [C],
            );
            assert.equal(describeCalls.length, 1);
            assert.equal(done.refusals, 1);
        });

        it("without a lost answer, ignores the refused instance and re-judges the rest", async () => {
            // Someone else took A; B is Terminating now; C is still InService.
            const fresh = group(0, 4, { [B]: "Terminating", [C]: "InService" });
            const { context, result } = batch("keep", async () => [fresh]);
            const progress = progressOf(group(0, 4, {}));

            await recoverFromRefusal(
                "detach",
                refusedChunk(context, progress),
                autoScalingErrors.notPartOfGroup(A, GROUP),
                progress,
                context,
                NO_MARKS,
            );

            const done = result([]);
            assert.equal(outcome(done, A)?.action, "ignored");
            assert.equal(outcome(done, B)?.action, "ignored");
            assert.deepEqual(
                progress.toDetach.map((p) => p.instanceId),
                [C],
            );
        });

        it("when the re-read fails, ignores the refused one and leaves the rest for a retry", async () => {
            const { context, result, logs } = batch("keep", () =>
                Promise.reject(autoScalingErrors.throttling()),
            );
            const progress = progressOf(group(0, 4, {}));

            await recoverFromRefusal(
                "detach",
                refusedChunk(context, progress),
                autoScalingErrors.notInServiceOrStandby(A),
                progress,
                context,
                NO_MARKS,
            );

            const done = result([]);
            assert.equal(outcome(done, A)?.action, "ignored");
            for (const id of [B, C]) assert.equal(outcome(done, id)?.action, "failed");
            assert.deepEqual(progress.toDetach, []);
            assert.equal(logs.filter((l) => l.level === "ERROR").length, 1);
        });

        it("on a MinSize refusal, re-splits on AWS's own figures and settles nothing", async () => {
            const { context, result } = batch("decrement", () => assert.fail("no re-read"));
            const progress = progressOf(group(0, 10, {}));
            const chunk = refusedChunk(context, progress);
            assert.equal(chunk.decrement, true);

            await recoverFromRefusal(
                "detach",
                chunk,
                autoScalingErrors.belowMinSize(GROUP, 3, 12, 4, 3),
                progress,
                context,
                NO_MARKS,
            );

            assert.equal(progress.slots, 1, "desired 4 over MinSize 3 leaves one decrement");
            assert.deepEqual(progress.size, { minSize: 3, desiredCapacity: 4 });
            assert.equal(progress.toDetach.length, 3);
            assert.equal(result([]).outcomes.size, 0);
        });

        it("on throttling, leaves the chunk for a retry as failed, and counts no refusal", async () => {
            const { context, result } = batch("keep", () => assert.fail("no re-read"));
            const progress = progressOf(group(0, 4, {}));

            await recoverFromRefusal(
                "detach",
                refusedChunk(context, progress),
                autoScalingErrors.throttling(),
                progress,
                context,
                NO_MARKS,
            );

            const done = result([]);
            for (const id of [A, B, C]) assert.equal(outcome(done, id)?.action, "failed");
            assert.equal(done.refusals, 0);
            assert.deepEqual(progress.toDetach, []);
        });
    });
});
