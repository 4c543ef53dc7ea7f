/**
 * The serialized handler against an Auto Scaling that does not answer in time: an endpoint that
 * never answers, which the request timeout ends, and throttling without end, which the function's
 * deadline ends whatever the retry budget. Its waits are real (a 5 s request timeout, a 10 s
 * function timeout), so it is a file of its own and overlaps the others under --parallel.
 */
import * as assert from "node:assert/strict";
import * as net from "node:net";
import { FAULTS, startFaultProxy } from "../../emulator/fault-proxy";
import { type Invocations } from "../../offline/handler-archive";
import { emulatedWorkshopSuite } from "../support/emulated-workshop";

describe("the uploaded handler against Auto Scaling timeouts on the emulator", function () {
    // The first run installs moto into .venv.
    this.timeout(600_000);

    const { emulator, archives, seed, inServiceWebInstances, interrupt, snapshot } =
        emulatedWorkshopSuite("emulated-timeouts", {
            // The shortest function timeout, 10 s, to prove the deadline.
            short: { capacityOnInterruption: "keep", timeoutSeconds: 10 },
        });

    /** Warns about `victim` through `server` with this attempt budget, then closes the server. */
    async function timedInterrupt(
        server: { endpoint: string; close(): Promise<void> },
        victim: string,
        attempts: number,
    ) {
        const startedAt = performance.now();
        let invocations: Invocations;
        try {
            invocations = await interrupt(archives.short, [victim], server.endpoint, attempts);
        } finally {
            await server.close();
        }
        const elapsedMs = performance.now() - startedAt;
        const lines = invocations.logLines.map((l) => JSON.parse(l));
        return { invocations, elapsedMs, errors: lines.filter((l) => l.level === "ERROR") };
    }

    describe("given Auto Scaling faults on the wire", () => {
        beforeEach(() => seed());

        it("gives up on a connection that never answers, with a structured ERROR, within the request timeout", async () => {
            const [victim] = await inServiceWebInstances(1);
            // One attempt: the request timeout alone must end it (5 s), not the deadline.
            const { invocations, elapsedMs, errors } = await timedInterrupt(
                await startSilentServer(),
                victim,
                1,
            );

            assert.ok(elapsedMs < 7_000, `took ${Math.round(elapsedMs)} ms`);
            assert.equal(invocations.results[0].status, "rejected");
            assert.equal(errors.length, 1);
            assert.equal(errors[0].error.name, "TimeoutError");
        });

        it("ends a throttled invocation before the function's timeout, logging it, whatever the retry budget", async () => {
            const [victim] = await inServiceWebInstances(1);
            const before = await snapshot();
            const proxy = await startFaultProxy(emulator().endpoint, () => FAULTS.throttling);
            const { invocations, elapsedMs, errors } = await timedInterrupt(proxy, victim, 20);

            // The function's timeout is 10 s; 1.5 s are kept back to log and answer.
            assert.ok(
                elapsedMs < archives.short.timeoutMs - 1_000,
                `took ${Math.round(elapsedMs)} ms`,
            );
            assert.equal(invocations.results[0].status, "rejected");
            assert.equal(errors[0]?.error.name, "DeadlineExceeded");
            assert.deepEqual(await snapshot(), before);
            // The throttled attempts, counted inside the SDK's retry loop, reach the metrics.
            const [metrics] = invocations.logLines.map((l) => JSON.parse(l)).filter((l) => l._aws);
            // Every request reached the proxy and was throttled: the metrics count each of them.
            assert.equal(metrics.Throttles, proxy.requests.get("DescribeAutoScalingGroups"));
            assert.equal(metrics.AutoScalingCalls, metrics.Throttles);
            assert.ok(metrics.Throttles >= 2, `${metrics.Throttles} throttles`);
        });
    });
});

/** A loopback server that accepts connections and never answers: a hung AWS endpoint. */
async function startSilentServer(): Promise<{ endpoint: string; close(): Promise<void> }> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    return {
        endpoint: `http://127.0.0.1:${port}`,
        close: () =>
            new Promise((resolve) => {
                for (const socket of sockets) {
                    socket.destroy();
                }
                server.close(() => resolve());
            }),
    };
}
