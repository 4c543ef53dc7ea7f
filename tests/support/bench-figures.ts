/** Made-up benchmark figures that the single-group and many-groups storms' tests both start from. */
import type { DepartureFigures } from "../../commands/bench/departures";

export type Departures = Omit<DepartureFigures, "goals">;

/**
 * A departure run of 1000 warned instances, all out after 12 s at 0.07 calls per instance (70
 * served, none throttled): within every goal, at either storm's budget, until `overrides` say not.
 */
export const departures = (overrides: Partial<Departures> = {}): Departures => ({
    warned: 1000,
    sentMs: 6000,
    lastOutMs: 12_000,
    latencyMs: { p50: 8000, p95: 11_000, p99: 12_000 },
    served: { DescribeAutoScalingGroups: 10, DetachInstances: 60 },
    throttled: {},
    refused: {},
    callsPerInstance: 0.07,
    detachedByHandler: 1000,
    invocations: 4,
    recordsPerInvocation: { mean: 275.3, max: 400 },
    invocationMs: { meanGather: 3000, meanRun: 2000, maxRun: 3000 },
    failed: 0,
    left: 0,
    neighbourUntouched: true,
    polls: { count: 20, meanMs: 50 },
    wallMs: 30_000,
    ...overrides,
});
