/**
 * Properties of the batch engine over any mix of warnings: duplicates, instances of no chosen
 * group, members already leaving, a concurrent actor that takes instances or decrements between
 * the lookup and the detach, and DetachInstances calls that Auto Scaling throttles. Judged on the
 * fake's state, which refuses what AWS refuses.
 */
import * as assert from "node:assert/strict";
import { autoScaling, stubAutoScalingPerSuite, stubbedGateway } from "../support/auto-scaling-stub";
import {
    DetachInstancesCommand,
    type DetachInstancesCommandInput,
} from "@aws-sdk/client-auto-scaling";
import fc from "fast-check";
import { type WarningInput } from "../../handler/batch-steps";
import { handleWarnings } from "../../handler/handle";
import { FakeAutoScaling } from "../support/fake-auto-scaling";
import { type CapacityOnInterruption, type GroupSelection } from "../../contract";

const NOW = Date.parse("2026-11-28T01:00:00Z");
const STATES = ["InService", "InService", "InService", "Standby", "Terminating", "Pending"];
const id = (n: number) => `i-${n.toString(16).padStart(17, "0")}`;

interface Scenario {
    /** Per group: MinSize, desired above it, and its members' states. Group 0 is never chosen. */
    readonly groups: { minSize: number; extra: number; states: string[] }[];
    readonly mode: CapacityOnInterruption;
    readonly byTag: boolean;
    /** Indexes into all instances (and past them: instances in no group), each warned. */
    readonly warned: number[];
    /** Instances a concurrent actor starts terminating right after the lookup. */
    readonly takenMeanwhile: number[];
    readonly dryRun: boolean;
    /** DetachInstances calls (0 is the first) that Auto Scaling throttles. */
    readonly throttledCalls: number[];
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
    groups: fc.array(
        fc.record({
            minSize: fc.nat(5),
            extra: fc.nat(30),
            states: fc.array(fc.constantFrom(...STATES), { maxLength: 60, size: "max" }),
        }),
        { minLength: 2, maxLength: 4 },
    ),
    mode: fc.constantFrom<CapacityOnInterruption>("keep", "decrement"),
    byTag: fc.boolean(),
    warned: fc.array(fc.nat(200), { maxLength: 400, size: "max" }),
    takenMeanwhile: fc.array(fc.nat(200), { maxLength: 5 }),
    dryRun: fc.boolean(),
    throttledCalls: fc.uniqueArray(fc.nat(6), { maxLength: 3 }),
});

describe("the batch engine's properties, over any mix of warnings", () => {
    stubAutoScalingPerSuite();

    it("detaches only chosen members, each at most once, never below MinSize, and loses none: the throttled come back failed", async () => {
        await fc.assert(
            fc.asyncProperty(scenario, async (s) => {
                autoScaling.reset();
                const fake = new FakeAutoScaling();
                const members: { instanceId: string; group: string; state: string }[] = [];
                s.groups.forEach((g, index) => {
                    const name = `g${index}`;
                    const ids = g.states.map((_, i) => id(members.length + i));
                    fake.group(
                        name,
                        {
                            minSize: g.minSize,
                            maxSize: 100,
                            desiredCapacity: g.minSize + g.extra,
                        },
                        { team: index === 0 ? "other" : "web" },
                    );
                    g.states.forEach((state, i) => {
                        fake.members(name, [ids[i]], state);
                        members.push({ instanceId: ids[i], group: name, state });
                    });
                });
                fake.throttleCalls("DetachInstances", s.throttledCalls).install(autoScaling);
                const sizesBefore = new Map([...fake.groups].map(([name, g]) => [name, { ...g }]));
                const taken = new Set(s.takenMeanwhile.map((n) => members[n]?.instanceId));
                fake.afterNextCall("DescribeAutoScalingGroups", () => {
                    for (const instanceId of taken) {
                        const instance = instanceId && fake.instances.get(instanceId);
                        if (instance) {
                            instance.lifecycleState = "Terminating";
                        }
                    }
                });
                const chosen = s.groups.slice(1).map((_, i) => `g${i + 1}`);
                const groups: GroupSelection = s.byTag
                    ? { kind: "tag", key: "team", value: "web" }
                    : { kind: "names", names: chosen };
                const inputs: WarningInput[] = s.warned.map((n, i) => ({
                    key: `m${i}`,
                    parsed: {
                        kind: "interruption-warning",
                        instanceId: members[n]?.instanceId ?? id(10_000 + n),
                        warning: "spot",
                        sentAtMs: NOW - 5_000,
                    },
                }));

                const result = await handleWarnings(
                    inputs,
                    {
                        config: {
                            groups,
                            handlerName: "properties",
                            capacityOnInterruption: s.mode,
                            interruptionAction: "detach",
                        },
                        autoScaling: stubbedGateway(),
                        log: () => undefined,
                        remainingTimeMs: () => 20_000,
                        now: () => NOW,
                    },
                    { ignoreStale: true, dryRun: s.dryRun },
                );

                const calls = autoScaling
                    .commandCalls(DetachInstancesCommand)
                    .map((c) => c.args[0].input as DetachInstancesCommandInput);
                // Every call: a chosen group, at most 20 ids.
                for (const call of calls) {
                    assert.ok(chosen.includes(call.AutoScalingGroupName ?? ""), "a chosen group");
                    assert.ok((call.InstanceIds ?? []).length <= 20, "at most 20 ids");
                }
                const gone = members.filter((m) => !fake.instances.has(m.instanceId));
                if (s.dryRun) {
                    assert.deepEqual(calls, []);
                }
                // The group never chosen is untouched, and no group went below its MinSize.
                assert.ok(
                    gone.every((m) => m.group !== "g0"),
                    "g0 untouched",
                );
                for (const [name, g] of fake.groups) {
                    assert.ok(g.desiredCapacity >= g.minSize, `${name} at or above MinSize`);
                }
                // One outcome per record; every warned, detachable member of a chosen group left,
                // and nothing else did; each is reported detached exactly once.
                assert.equal(result.outcomes.size, inputs.length);
                const warnedIds = new Set(
                    inputs.map((w) =>
                        w.parsed.kind === "interruption-warning" ? w.parsed.instanceId : "",
                    ),
                );
                // A throttled call changed nothing: its instances stay, and wait for the retry.
                const throttled = new Set(
                    fake.throttledDetaches.flatMap((c) => c.InstanceIds ?? []),
                );
                const shouldLeave = members.filter(
                    (m) =>
                        warnedIds.has(m.instanceId) &&
                        chosen.includes(m.group) &&
                        m.state === "InService" &&
                        !taken.has(m.instanceId) &&
                        !throttled.has(m.instanceId),
                );
                const reported = [...result.outcomes.values()].filter(
                    (o) => o.action === "detached",
                );
                // Lost is never: each throttled instance has a record failed, for the retry (its
                // duplicates are settled as such), and no other record fails.
                const outcomes = [...result.outcomes.values()];
                for (const outcome of outcomes.filter((o) => o.action === "failed")) {
                    assert.ok(
                        throttled.has(outcome.instanceId ?? ""),
                        `${outcome.instanceId} failed`,
                    );
                }
                for (const instanceId of throttled) {
                    const mine = outcomes.filter((o) => o.instanceId === instanceId);
                    assert.deepEqual(
                        mine.map((o) => (o.action === "ignored" ? o.reason : o.action)).sort(),
                        [...Array<string>(mine.length - 1).fill("duplicate"), "failed"],
                        `${instanceId}: one record failed, the rest duplicates`,
                    );
                }
                for (const instanceId of throttled) {
                    assert.ok(fake.instances.has(instanceId), `${instanceId} still in its group`);
                }
                if (!s.dryRun) {
                    assert.deepEqual(
                        gone.map((m) => m.instanceId).sort(),
                        shouldLeave.map((m) => m.instanceId).sort(),
                    );
                    assert.deepEqual(
                        reported.map((o) => o.instanceId).sort(),
                        shouldLeave.map((m) => m.instanceId).sort(),
                    );
                    // In decrement mode no decrement is wasted: each group shrank by what it could.
                    for (const name of chosen) {
                        const before = sizesBefore.get(name);
                        const leaving = shouldLeave.filter((m) => m.group === name).length;
                        const expected =
                            s.mode === "decrement" && before !== undefined
                                ? before.desiredCapacity -
                                  Math.min(leaving, before.desiredCapacity - before.minSize)
                                : before?.desiredCapacity;
                        assert.equal(fake.groups.get(name)?.desiredCapacity, expected, name);
                    }
                }
            }),
            { numRuns: 150 },
        );
    });
});
