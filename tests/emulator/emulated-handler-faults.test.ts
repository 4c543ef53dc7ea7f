/**
 * The serialized handler against Auto Scaling faults on the wire: throttling and contention the
 * SDK rides out, and attempts that run out. Its waits are real (the SDK's backoff), so it is a
 * file of its own and overlaps the others under --parallel; the timeouts are in
 * emulated-handler-timeouts.test.ts. Every verdict is read back from the emulator's state; see
 * emulated-handler.test.ts for moto's gaps.
 */
import * as assert from "node:assert/strict";
import { FAULTS, startFaultProxy } from "../../emulator/fault-proxy";
import { type Invocations } from "../../offline/handler-archive";
import { assertAllFulfilled, emulatedWorkshopSuite, idsOf } from "../support/emulated-workshop";

describe("the uploaded handler against Auto Scaling faults on the emulator", function () {
    // The first run installs moto into .venv.
    this.timeout(600_000);

    const { emulator, archives, seed, webGroup, inServiceWebInstances, interrupt, snapshot } =
        emulatedWorkshopSuite("emulated-faults", { keep: { capacityOnInterruption: "keep" } });

    describe("given Auto Scaling faults on the wire", () => {
        beforeEach(() => seed());

        it("rides out throttling and contention with the SDK's retries, and detaches once", async () => {
            const [victim] = await inServiceWebInstances(1);
            const faults = [FAULTS.throttling, FAULTS.resourceContention, FAULTS.throttling];
            const proxy = await startFaultProxy(emulator().endpoint, (action, n) =>
                action === "DetachInstances" ? faults[n - 1] : undefined,
            );
            try {
                assertAllFulfilled(
                    await interrupt(archives.keep, [victim], proxy.endpoint),
                    "detached",
                );
                assert.equal(proxy.requests.get("DetachInstances"), 4);
            } finally {
                await proxy.close();
            }
            const after = await webGroup();
            assert.ok(!idsOf(after).includes(victim));
            assert.equal(after.desiredCapacity, 4);
        });

        it("throws after the bounded attempts, leaving the instance in the group for Lambda's retry", async () => {
            const [victim] = await inServiceWebInstances(1);
            const before = await snapshot();
            const proxy = await startFaultProxy(emulator().endpoint, (action) =>
                action === "DetachInstances" ? FAULTS.throttling : undefined,
            );
            let invocations: Invocations;
            try {
                invocations = await interrupt(archives.keep, [victim], proxy.endpoint, 3);
                assert.equal(proxy.requests.get("DetachInstances"), 3);
            } finally {
                await proxy.close();
            }
            const [result] = invocations.results;
            assert.equal(result.status, "rejected");
            assert.match(String((result as PromiseRejectedResult).reason), /Rate exceeded/);
            assert.ok(invocations.logLines.some((line) => JSON.parse(line).level === "ERROR"));
            assert.deepEqual(await snapshot(), before);
        });
    });
});
