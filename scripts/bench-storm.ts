/**
 * `npm run bench`: interruption storms through the serialized handler against moto, with and
 * without Auto Scaling throttling injected on the wire. Prints, per storm, how long it took and
 * whether every instance was detached exactly once, judged from the emulator's state.
 *
 * Usage: npm run bench -- [--sizes 20,50,100] [--throttle 0,0.3] [--json]
 */
import { parseArgs } from "node:util";
import { installPulumiMocks } from "./offline-engine";
import { startEmulator, type Emulator } from "./emulator";
import { FAULTS, startFaultProxy } from "./fault-proxy";
import { materializeHandlerArchive, type HandlerArchive } from "./handler-archive";
import { loadSampleEvent } from "./sample-event";
import { runCli } from "./cli";
import { colourWanted, createStyle, table } from "./terminal";
import {
    describeGroupState,
    seedWorkshopEnvironment,
    WEB_GROUP_NAME,
} from "./workshop-environment";

const MAX_STORM = 200;
const SPARE_INSTANCES = 4;
/** Fixed, so that the same flags inject the same faults run after run. */
const FAULT_SEED = 20_201_105;

interface StormResult {
    readonly interruptions: number;
    readonly throttleRate: number;
    readonly wallMs: number;
    readonly p50Ms: number;
    readonly p95Ms: number;
    readonly maxMs: number;
    readonly detached: number;
    readonly failed: number;
    readonly requests: Record<string, number>;
    readonly injectedFaults: number;
    readonly desiredBefore: number;
    readonly desiredAfter: number;
    readonly exactlyOnce: boolean;
}

/** mulberry32: a tiny deterministic PRNG, enough to spread injected faults reproducibly. */
function seededRandom(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
}

function percentile(sorted: number[], p: number): number {
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function parseList(flag: string, value: string, min: number, max: number): number[] {
    const numbers = value.split(",").map(Number);
    if (numbers.some((n) => !Number.isFinite(n) || n < min || n > max)) {
        throw new Error(
            `--${flag} takes comma-separated numbers from ${min} to ${max}, not "${value}"`,
        );
    }
    return numbers;
}

async function storm(
    emulator: Emulator,
    archive: HandlerArchive,
    interruptions: number,
    throttleRate: number,
): Promise<StormResult> {
    await emulator.reset();
    const environment = await seedWorkshopEnvironment(emulator, {
        webGroup: {
            minSize: 2,
            desiredCapacity: interruptions + SPARE_INSTANCES,
            maxSize: interruptions + SPARE_INSTANCES,
        },
    });
    const before = await describeGroupState(emulator, environment.webGroupName);
    const victims = before.instances.slice(0, interruptions).map((i) => i.instanceId);

    const random = seededRandom(FAULT_SEED);
    let injectedFaults = 0;
    const proxy = await startFaultProxy(emulator.endpoint, () => {
        if (random() >= throttleRate) {
            return undefined;
        }
        injectedFaults++;
        return FAULTS.throttling;
    });
    try {
        const startedAt = performance.now();
        const { results, durationsMs } = await archive.invoke(
            victims.map((id) => loadSampleEvent(id)),
            { ...emulator.environment(), AWS_ENDPOINT_URL: proxy.endpoint },
        );
        const wallMs = performance.now() - startedAt;
        const after = await describeGroupState(emulator, environment.webGroupName);
        const detached = results.filter(
            (r) => r.status === "fulfilled" && r.value.action === "detached",
        ).length;
        const remaining = new Set(after.instances.map((i) => i.instanceId));
        const sorted = [...durationsMs].sort((a, b) => a - b);
        return {
            interruptions,
            throttleRate,
            wallMs,
            p50Ms: percentile(sorted, 50),
            p95Ms: percentile(sorted, 95),
            maxMs: sorted[sorted.length - 1] ?? 0,
            detached,
            failed: results.filter((r) => r.status === "rejected").length,
            requests: Object.fromEntries(proxy.requests),
            injectedFaults,
            desiredBefore: before.desiredCapacity,
            desiredAfter: after.desiredCapacity,
            // Decrement mode: each detach lowers desired by one, so a double detach would show.
            exactlyOnce:
                detached === interruptions &&
                after.desiredCapacity === before.desiredCapacity - interruptions &&
                victims.every((id) => !remaining.has(id)),
        };
    } finally {
        await proxy.close();
    }
}

async function main(): Promise<boolean> {
    const { values } = parseArgs({
        options: {
            sizes: { type: "string", default: "20,50,100" },
            throttle: { type: "string", default: "0,0.3" },
            json: { type: "boolean", default: false },
        },
        strict: true,
    });
    const sizes = parseList("sizes", values.sizes ?? "", 1, MAX_STORM);
    const rates = parseList("throttle", values.throttle ?? "", 0, 0.9);
    const style = createStyle(!values.json && colourWanted(process.stdout));
    const report = (message: string) => process.stderr.write(`${style.dim(message)}\n`);

    installPulumiMocks();
    const { SpotInterruptionHandler } = await import("../components");
    const archive = await materializeHandlerArchive(
        new SpotInterruptionHandler("bench", {
            autoScalingGroupName: WEB_GROUP_NAME,
            capacityOnInterruption: "decrement",
        }).handlerFunction,
        "bench",
    );
    const emulator = await startEmulator({ onProgress: report });
    const results: StormResult[] = [];
    try {
        for (const size of sizes) {
            for (const rate of rates) {
                report(
                    `Storm of ${size} interruptions, ${Math.round(rate * 100)}% of calls throttled...`,
                );
                results.push(await storm(emulator, archive, size, rate));
            }
        }
    } finally {
        await emulator.stop();
        archive.remove();
    }

    if (values.json) {
        process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    } else {
        const ms = (n: number) => `${Math.round(n)} ms`;
        console.log(
            style.bold(
                "Interruption storms: serialized handler → fault proxy → moto (decrement mode)",
            ),
        );
        console.log(
            table(
                [
                    "STORM",
                    "THROTTLED",
                    "WALL",
                    "P50",
                    "P95",
                    "MAX",
                    "DETACHED",
                    "API CALLS",
                    "FAULTS",
                    "DESIRED",
                    "EXACTLY ONCE",
                ],
                results.map((r) => [
                    String(r.interruptions),
                    `${Math.round(r.throttleRate * 100)}%`,
                    ms(r.wallMs),
                    ms(r.p50Ms),
                    ms(r.p95Ms),
                    ms(r.maxMs),
                    `${r.detached}/${r.interruptions}`,
                    String(Object.values(r.requests).reduce((a, b) => a + b, 0)),
                    String(r.injectedFaults),
                    `${r.desiredBefore} → ${r.desiredAfter}`,
                    r.exactlyOnce ? style.green("yes") : style.red("NO"),
                ]),
            ),
        );
        console.log(
            style.dim(
                "Latency is per invocation, in one Node process against a local emulator: it measures the handler's calls and retries, not Lambda or AWS.",
            ),
        );
    }
    return results.every((r) => r.exactlyOnce);
}

runCli("npm run bench", main);
