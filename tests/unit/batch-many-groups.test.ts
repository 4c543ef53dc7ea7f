/** One handler for many groups: one lookup per batch for every group, each group's own calls and sizes. */
import * as assert from "node:assert/strict";
import { type GroupSelection } from "../../contract";
import { asSqsRecord } from "../../offline/sample-event";
import { autoScaling, ids, stubAutoScalingPerSuite } from "../support/auto-scaling-stub";
import { loadEvent } from "../support/events";
import { FakeAutoScaling } from "../support/fake-auto-scaling";
import {
    batchLog,
    byName,
    detachCalls,
    GROUP,
    groupOf,
    lookups,
    NOW,
    warnings,
    whenBatchArrives,
} from "../support/queued-batch";

describe("the handler, given a batch for many groups", () => {
    stubAutoScalingPerSuite();
    describe("given one handler for many groups", () => {
        const sizes = { minSize: 0, maxSize: 100, desiredCapacity: 30 };

        it("by list: one lookup for every listed group, detaches per group, and never touches an unlisted one", async () => {
            const [a1, a2, b1, c1, loose] = ids(5);
            const fake = new FakeAutoScaling()
                .group("a", sizes)
                .group("b", sizes)
                .group("c", sizes)
                .members("a", [a1, a2])
                .members("b", [b1])
                .members("c", [c1])
                .install(autoScaling);

            const { response, logged } = await whenBatchArrives(warnings([a1, b1, c1, a2, loose]), {
                groups: { kind: "names", names: ["a", "b"] },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(lookups(), [byName("a", "b")]);
            assert.deepEqual(detachCalls(), [
                { group: "a", ids: [a1, a2], decrement: false },
                { group: "b", ids: [b1], decrement: false },
            ]);
            assert.deepEqual(
                ["a", "b", "c"].map((g) => fake.membersOf(g)),
                [[], [], [c1]],
            );
            assert.deepEqual(batchLog(logged)?.ignored, { "not-a-member": 2 });
            assert.equal(batchLog(logged)?.autoScalingCalls, 3);
        });

        const byTag: {
            it: string;
            groups: GroupSelection;
            tagged: Record<string, Record<string, string>>;
            filter: { Name: string; Values: string[] };
            untouched: string;
        }[] = [
            {
                it: "by tag and value: filters on tag:<key>, and leaves a group with another value alone",
                groups: { kind: "tag", key: "spot-handler", value: "web" },
                tagged: {
                    "web-1": { "spot-handler": "web" },
                    "web-2": { "spot-handler": "web" },
                    api: { "spot-handler": "api" },
                },
                filter: { Name: "tag:spot-handler", Values: ["web"] },
                untouched: "api",
            },
            {
                it: "by tag key alone: filters on tag-key, so any value counts",
                groups: { kind: "tag", key: "spot-handler" },
                tagged: { x: { "spot-handler": "web" }, y: { "spot-handler": "" }, plain: {} },
                filter: { Name: "tag-key", Values: ["spot-handler"] },
                untouched: "plain",
            },
        ];
        for (const c of byTag) {
            it(c.it, async () => {
                // Given one member in each group, tagged as the case says
                const names = Object.keys(c.tagged);
                const members = ids(names.length);
                const fake = new FakeAutoScaling();
                names.forEach((g, i) => fake.group(g, sizes, c.tagged[g]).members(g, [members[i]]));
                fake.install(autoScaling);

                const { response } = await whenBatchArrives(warnings(members), {
                    groups: c.groups,
                });

                assert.deepEqual(response, { batchItemFailures: [] });
                assert.deepEqual(lookups(), [{ Filters: [c.filter], MaxRecords: 100 }]);
                // Every tagged member left, but the untouched group's
                assert.deepEqual(
                    names.map((g) => fake.membersOf(g)),
                    names.map((g, i) => (g === c.untouched ? [members[i]] : [])),
                );
            });
        }

        it("pages a tag lookup past 100 groups with NextToken", async () => {
            const fake = new FakeAutoScaling();
            const instances = ids(150);
            instances.forEach((id, i) =>
                fake.group(`g${i}`, sizes, { team: "web" }).members(`g${i}`, [id]),
            );
            fake.install(autoScaling);

            const { response } = await whenBatchArrives(warnings([instances[149], instances[0]]), {
                groups: { kind: "tag", key: "team", value: "web" },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(
                lookups().map((l) => l.NextToken),
                [undefined, "100"],
            );
            assert.deepEqual([fake.membersOf("g0"), fake.membersOf("g149")], [[], []]);
        });

        it("respects each group's own MinSize in decrement mode", async () => {
            const tight = ids(4);
            const loose = ids(4, 100);
            const fake = new FakeAutoScaling()
                .group("tight", { minSize: 3, maxSize: 10, desiredCapacity: 4 })
                .group("loose", { minSize: 0, maxSize: 10, desiredCapacity: 4 })
                .members("tight", tight)
                .members("loose", loose)
                .install(autoScaling);

            const { response } = await whenBatchArrives(warnings([...tight, ...loose]), {
                groups: { kind: "names", names: ["tight", "loose"] },
                capacityOnInterruption: "decrement",
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(detachCalls(), [
                { group: "tight", ids: tight.slice(0, 1), decrement: true },
                { group: "loose", ids: loose, decrement: true },
                { group: "tight", ids: tight.slice(1), decrement: false },
            ]);
            assert.deepEqual(
                [
                    fake.groups.get("tight")?.desiredCapacity,
                    fake.groups.get("loose")?.desiredCapacity,
                ],
                [3, 0],
            );
        });

        it("acknowledges Retained and Standby instances without a call or a decrement", async () => {
            const [serving, retained, standby] = ids(3);
            const fake = new FakeAutoScaling()
                .group(GROUP, { minSize: 0, maxSize: 10, desiredCapacity: 1 })
                .members(GROUP, [serving])
                .members(GROUP, [retained], "Terminating:Retained")
                .members(GROUP, [standby], "Standby")
                .install(autoScaling);
            const emitted: string[] = [];

            const { response } = await whenBatchArrives(warnings([retained, standby, serving]), {
                capacityOnInterruption: "decrement",
                reporting: { emit: (line) => emitted.push(line) },
            });

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(detachCalls(), [{ group: GROUP, ids: [serving], decrement: true }]);
            assert.equal(fake.groups.get(GROUP)?.desiredCapacity, 0);
            assert.deepEqual(fake.membersOf(GROUP).sort(), [retained, standby].sort());
            const reasons = emitted.map((line) => JSON.parse(line)).filter((d) => d.Reason);
            assert.deepEqual(
                reasons.map((d) => [d.Reason, d.Ignored]),
                [
                    ["standby", 1],
                    ["retained", 1],
                ],
            );
        });

        it("counts a listed group that does not exist, at ERROR and in MissingGroups", async () => {
            const [a] = ids(1);
            groupOf([a], sizes);
            const emitted: string[] = [];

            const { logged } = await whenBatchArrives(warnings([a]), {
                groups: { kind: "names", names: [GROUP, "web-typo"] },
                reporting: { emit: (line) => emitted.push(line) },
            });

            const [counts] = emitted.map((line) => JSON.parse(line));
            assert.deepEqual([counts.MissingGroups, counts.Detached], [1, 1]);
            const error = logged.find((l) => l.level === "ERROR")?.record;
            assert.deepEqual(error?.missingGroups, ["web-typo"]);
        });

        it("makes no call at all for a batch without a usable warning", async () => {
            const { response } = await whenBatchArrives([
                asSqsRecord("not json", { messageId: "m0" }),
                asSqsRecord(loadEvent("rebalance-recommendation", ids(1)[0]), { messageId: "m1" }),
            ]);

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(autoScaling.calls(), []);
        });

        it("handles an interruptible Capacity Reservation warning as it handles a Spot one", async () => {
            const [a] = ids(1);
            const fake = groupOf([a], sizes);
            const event = {
                ...loadEvent("capacity-reservation-interruption-warning", a),
                time: new Date(NOW - 5_000).toISOString(),
            };

            const { response } = await whenBatchArrives([asSqsRecord(event, { messageId: "m0" })]);

            assert.deepEqual(response, { batchItemFailures: [] });
            assert.deepEqual(fake.membersOf(GROUP), []);
        });
    });
});
