/**
 * The whole queued path on the emulator: PutEvents of real warning events (standing in for EC2),
 * the component's rule pattern matching them into an events queue with the component's settings,
 * the local event source mapping feeding the serialized handler. Every verdict is read back from
 * the emulator: the groups, the queue and the dead-letter queue. What it reports (metrics, dry
 * runs, notifications) is in queued-pipeline-reports.test.ts: each test waits out the batching
 * window, so the two files overlap under --parallel.
 */
import * as assert from "node:assert/strict";
import { describeGroupState } from "../../emulator/group-state";
import { freshSampleEvent } from "../../offline/sample-event";
import { loadEvent } from "../support/events";
import { idsOf, ONE_SECOND_WINDOW, queuedPipeline } from "../support/emulated-workshop";

describe("the queued pipeline, rule → events queue → mapping → handler, on the emulator", function () {
    this.timeout(600_000);

    const { emulator, seed, deliver } = queuedPipeline({
        keep: { capacityOnInterruption: "keep", ...ONE_SECOND_WINDOW },
        decrement: { capacityOnInterruption: "decrement", ...ONE_SECOND_WINDOW },
    });

    describe("given 20 warnings for the web group, with duplicates and a neighbour's warnings", () => {
        it("detaches each instance once, keeps capacity, and leaves nothing queued or dead-lettered", async () => {
            const environment = await seed({ minSize: 2, desiredCapacity: 24, maxSize: 30 });
            const web = await describeGroupState(emulator(), environment.webGroupName);
            const neighbours = await describeGroupState(emulator(), environment.otherGroupName);
            const victims = idsOf(web).slice(0, 20);
            const warnings = [...victims, ...victims.slice(0, 5), ...idsOf(neighbours)].map((id) =>
                freshSampleEvent(id),
            );

            const { value: delivered, logLines } = await deliver("keep", warnings);

            const after = await describeGroupState(emulator(), environment.webGroupName);
            assert.deepEqual(
                idsOf(after).filter((id) => victims.includes(id)),
                [],
            );
            assert.equal(after.desiredCapacity, 24);
            assert.deepEqual(
                await describeGroupState(emulator(), environment.otherGroupName),
                neighbours,
            );
            assert.deepEqual(delivered, {
                records: warnings.length,
                left: { queued: 0, deadLettered: 0 },
            });
            const batches = logLines
                .map((l) => JSON.parse(l))
                .filter((l) => /^Batch of/.test(l.message));
            assert.equal(
                batches.reduce((sum, b) => sum + b.detached, 0),
                20,
                "each instance detached exactly once",
            );
        });
    });

    describe("given decrement mode and a storm over every instance of a group whose MinSize is half", () => {
        it("leaves desired capacity exactly at MinSize and every interrupted instance out of the group", async () => {
            const environment = await seed({ minSize: 10, desiredCapacity: 20, maxSize: 24 });
            const web = await describeGroupState(emulator(), environment.webGroupName);

            const { value: delivered } = await deliver(
                "decrement",
                idsOf(web).map((id) => freshSampleEvent(id)),
            );
            assert.deepEqual(delivered.left, { queued: 0, deadLettered: 0 });

            const after = await describeGroupState(emulator(), environment.webGroupName);
            assert.equal(after.desiredCapacity, 10);
            assert.deepEqual(
                idsOf(after).filter((id) => idsOf(web).includes(id)),
                [],
            );
        });
    });

    describe("given events the rule must not match", () => {
        it("never queues a rebalance recommendation or another source's event", async () => {
            const environment = await seed();
            const [instance] = idsOf(
                await describeGroupState(emulator(), environment.webGroupName),
            );

            const { value: delivered } = await deliver("keep", [
                loadEvent("rebalance-recommendation", instance),
                loadEvent("other-source", instance),
            ]);

            assert.deepEqual(delivered, { records: 0, left: { queued: 0, deadLettered: 0 } });
        });
    });
});
