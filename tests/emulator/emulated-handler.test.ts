/**
 * The serialized handler, exactly as `pulumi up` would upload it, run with the real SDK over HTTP
 * against moto. Every verdict is read back from the emulator's state.
 *
 * moto 5.2.5 accepts DetachInstances calls that AWS refuses (a non-member, an instance not
 * InService or Standby, a decrement below MinSize, more than 20 ids); emulator/server.py
 * refuses them with AWS's messages (tests/emulator/emulator.test.ts proves it), so duplicates here race
 * each other in both modes. Gaps that remain, which the handler must not rely on:
 * - DetachInstances does not deregister the instance from the group's target groups.
 * - DescribeScalingActivities always returns an empty list; only DetachInstances' own response
 *   carries the activity, which the handler logs.
 * - Replacements launch into the first subnet with the launch template's type, ignoring overrides.
 * - TestEventPattern is not implemented; the rule's pattern is proven by PutEvents instead
 *   (tests/emulator/queued-pipeline.test.ts).
 * - Its backends are not thread-safe: emulator/server.py serves one request at a time,
 *   as AWS serialises a group's activities.
 */
import { OTHER_GROUP_NAME, WEB_GROUP_NAME } from "../../emulator/workshop";
import { clientConfigFor, describeInstanceState } from "../../emulator/group-state";
import * as assert from "node:assert/strict";
import { AutoScalingClient, CreateOrUpdateTagsCommand } from "@aws-sdk/client-auto-scaling";
import { FAULTS, startFaultProxy } from "../../emulator/fault-proxy";
import { type HandlerArchive } from "../../offline/handler-archive";
import { loadEvent, UNRECOGNISED_EVENT_FIXTURES } from "../support/events";
import { assertAllFulfilled, emulatedWorkshopSuite, idsOf } from "../support/emulated-workshop";

describe("the uploaded handler against the local AWS emulator", function () {
    // The first run installs moto into .venv.
    this.timeout(600_000);

    const {
        emulator,
        archives,
        environment,
        seed,
        webGroup,
        inServiceWebInstances,
        interrupt,
        snapshot,
    } = emulatedWorkshopSuite("emulated", {
        keep: { capacityOnInterruption: "keep" },
        decrement: { capacityOnInterruption: "decrement" },
        // One handler for several groups: by tag (team=web), and by a list of both groups.
        byTag: { autoScalingGroupTag: { key: "team", value: "web" } },
        byList: {
            autoScalingGroupNames: [WEB_GROUP_NAME, OTHER_GROUP_NAME],
            capacityOnInterruption: "decrement",
        },
    });

    describe("given one handler for several groups", () => {
        /** Tags each group as moto stores it, so that the tag lookup has something to find. */
        async function tagGroups(tags: Record<string, string>) {
            const autoScaling = new AutoScalingClient(clientConfigFor(emulator()));
            try {
                await autoScaling.send(
                    new CreateOrUpdateTagsCommand({
                        Tags: Object.entries(tags).map(([group, value]) => ({
                            ResourceId: group,
                            ResourceType: "auto-scaling-group",
                            Key: "team",
                            Value: value,
                            PropagateAtLaunch: false,
                        })),
                    }),
                );
            } finally {
                autoScaling.destroy();
            }
        }

        beforeEach(async () => {
            await seed();
            await tagGroups({
                [environment().webGroupName]: "web",
                [environment().otherGroupName]: "batch",
            });
        });

        /** Every warning in one queued batch, as the events queue would deliver them. */
        async function batchOf(archive: HandlerArchive, instanceIds: readonly string[]) {
            const { asSqsRecord, freshSampleEvent } = await import("../../offline/sample-event");
            const records = instanceIds.map((id, i) =>
                asSqsRecord(freshSampleEvent(id), { messageId: `m${i}` }),
            );
            const proxy = await startFaultProxy(emulator().endpoint, () => undefined);
            try {
                const invocations = await archive.invoke([{ Records: records }], {
                    ...emulator().environment(),
                    AWS_ENDPOINT_URL: proxy.endpoint,
                });
                return { invocations, requests: Object.fromEntries(proxy.requests) };
            } finally {
                await proxy.close();
            }
        }

        it("by tag: detaches the tagged group's instances in one lookup, one hook lookup and one detach, and leaves another value alone", async () => {
            const before = await snapshot();
            const web = idsOf(before.web);
            const other = idsOf(before.other);

            const { invocations, requests } = await batchOf(archives.byTag, [
                ...web,
                ...other,
                environment().standaloneInstanceId,
            ]);

            assert.deepEqual(invocations.results[0], {
                status: "fulfilled",
                value: { batchItemFailures: [] },
            });
            const after = await snapshot();
            assert.ok(
                web.every((id) => !idsOf(after.web).includes(id)),
                "every warned web instance left",
            );
            assert.deepEqual(after.other, before.other);
            assert.deepEqual(after.standalone, before.standalone);
            assert.deepEqual(requests, {
                DescribeAutoScalingGroups: 1,
                // Once, for the group it acts on: a plain group, so it detaches.
                DescribeLifecycleHooks: 1,
                DetachInstances: 1,
            });
        });

        it("by list: detaches from both groups in one lookup, each down to its own MinSize", async () => {
            const before = await snapshot();
            const warned = [...idsOf(before.web), ...idsOf(before.other)];

            const { invocations, requests } = await batchOf(archives.byList, [
                ...warned,
                environment().standaloneInstanceId,
            ]);

            assert.equal(invocations.results[0].status, "fulfilled");
            const after = await snapshot();
            for (const [group, was] of [
                [after.web, before.web],
                [after.other, before.other],
            ] as const) {
                assert.ok(
                    idsOf(was).every((id) => !idsOf(group).includes(id)),
                    `every warned instance left ${group.name}`,
                );
                assert.equal(group.desiredCapacity, Math.max(was.minSize, 0), group.name);
            }
            assert.deepEqual(after.standalone, before.standalone);
            assert.equal(requests.DescribeAutoScalingGroups, 1);
        });
    });

    describe("given injected faults: a throttled lookup, a detach whose answer is lost, a duplicate batch", () => {
        beforeEach(() => seed());

        it("reports metrics whose sums equal what the emulator saw and did", async () => {
            const { asSqsRecord, freshSampleEvent } = await import("../../offline/sample-event");
            const before = await webGroup();
            const warned = idsOf(before);
            const batch = (prefix: string) => ({
                Records: [...warned, warned[0]].map((id, i) =>
                    asSqsRecord(freshSampleEvent(id), { messageId: `${prefix}${i}` }),
                ),
            });
            const proxy = await startFaultProxy(emulator().endpoint, (action, n) =>
                action === "DescribeAutoScalingGroups" && n === 1
                    ? FAULTS.throttling
                    : action === "DetachInstances" && n === 1
                      ? FAULTS.lostResponse
                      : undefined,
            );
            let lines: Record<string, unknown>[];
            try {
                const env = { ...emulator().environment(), AWS_ENDPOINT_URL: proxy.endpoint };
                const first = await archives.keep.invoke([batch("a")], env);
                const second = await archives.keep.invoke([batch("b")], env);
                lines = [...first.logLines, ...second.logLines].map((l) => JSON.parse(l));
            } finally {
                await proxy.close();
            }

            const after = await webGroup();
            const left = warned.filter((id) => !idsOf(after).includes(id));
            const handlerWide = lines.filter(
                (l) =>
                    l._aws !== undefined &&
                    l.Reason === undefined &&
                    l.AutoScalingGroupName === undefined,
            );
            const sum = (name: string) =>
                handlerWide.reduce((total, d) => total + (d[name] as number), 0);
            const requests = [...proxy.requests.values()].reduce((a, b) => a + b, 0);
            // Every instance that left, left because of us, and is counted once, as Detached.
            assert.equal(left.length, warned.length);
            assert.equal(sum("Detached"), left.length);
            assert.equal(sum("Failed"), 0);
            // Every request that reached Auto Scaling, the throttled and the lost one included.
            assert.equal(sum("AutoScalingCalls"), requests);
            assert.equal(sum("Throttles"), proxy.faulted.get("DescribeAutoScalingGroups"));
            assert.equal(sum("WarningsReceived"), 2 * (warned.length + 1));
            assert.equal(
                sum("Ignored"),
                sum("WarningsReceived") - sum("Detached"),
                "the rest: duplicates, and the second batch finding them gone",
            );
        });
    });

    describe("given capacityOnInterruption keep", () => {
        beforeEach(() => seed());

        it("detaches the instance and the group launches a replacement at the same desired capacity", async () => {
            const [victim] = await inServiceWebInstances(1);

            assertAllFulfilled(await interrupt(archives.keep, [victim]), "detached");

            const after = await webGroup();
            assert.equal(after.desiredCapacity, 4);
            assert.ok(!idsOf(after).includes(victim), "the instance left the group");
            assert.equal(
                after.instances.length,
                4,
                "a replacement brought the group back to desired",
            );
            // As the seed warns: detaching does not terminate the instance.
            assert.equal(await describeInstanceState(emulator(), victim), "running");
        });

        it("logs the scaling activity that the detach started, to find it in the history", async () => {
            const [victim] = await inServiceWebInstances(1);

            const { logLines } = await interrupt(archives.keep, [victim]);

            const [record] = logLines.map((line) => JSON.parse(line));
            assert.match(
                record.activities?.[0]?.description ?? "",
                new RegExp(`Detaching EC2 instance: ${victim}`),
            );
        });

        it("treats a duplicate delivery, even a concurrent one, as a no-op", async () => {
            const [victim] = await inServiceWebInstances(1);
            await interrupt(archives.keep, [victim, victim]);
            const afterFirst = await snapshot();

            const second = await interrupt(archives.keep, [victim]);

            assertAllFulfilled(second, "ignored");
            assert.deepEqual(await snapshot(), afterFirst);
            assert.equal(afterFirst.web.desiredCapacity, 4);
            assert.equal(afterFirst.web.instances.length, 4);
        });
    });

    describe("given capacityOnInterruption decrement", () => {
        it("detaches the instance and shrinks the group by one, with no replacement", async () => {
            await seed();
            const before = await webGroup();
            const [victim] = await inServiceWebInstances(1);

            assertAllFulfilled(await interrupt(archives.decrement, [victim]), "detached");

            const after = await webGroup();
            assert.equal(after.desiredCapacity, 3);
            assert.deepEqual(
                idsOf(after),
                idsOf(before).filter((id) => id !== victim),
            );
        });

        it("decrements only once when the same event is delivered twice, even concurrently", async () => {
            await seed();
            const [victim] = await inServiceWebInstances(1);

            const racing = await interrupt(archives.decrement, [victim, victim]);
            const second = await interrupt(archives.decrement, [victim]);

            assert.deepEqual(
                racing.results.map((r) => r.status === "fulfilled" && r.value.action).sort(),
                ["detached", "ignored"],
            );
            assertAllFulfilled(second, "ignored");
            assert.equal((await webGroup()).desiredCapacity, 3);
        });

        it("falls back to keep at MinSize, so the instance still leaves and is replaced", async () => {
            await seed({ minSize: 2, desiredCapacity: 2, maxSize: 12 });
            const [victim] = await inServiceWebInstances(1);

            const { results } = await interrupt(archives.decrement, [victim]);

            assert.equal(results[0].status, "fulfilled");
            const summary = (
                results[0] as PromiseFulfilledResult<{ capacityOnInterruption: string }>
            ).value;
            assert.equal(summary.capacityOnInterruption, "keep");
            const after = await webGroup();
            assert.equal(after.desiredCapacity, 2);
            assert.equal(after.instances.length, 2);
            assert.ok(!idsOf(after).includes(victim));
        });
    });

    describe("given an instance that is not the configured group's", () => {
        beforeEach(() => seed());

        it("leaves both groups untouched for an instance of the other group", async () => {
            const before = await snapshot();
            const [neighbour] = idsOf(before.other);

            assertAllFulfilled(await interrupt(archives.decrement, [neighbour]), "ignored");

            assert.deepEqual(await snapshot(), before);
        });

        it("changes nothing for a standalone instance", async () => {
            const before = await snapshot();

            assertAllFulfilled(
                await interrupt(archives.decrement, [environment().standaloneInstanceId]),
                "ignored",
            );

            assert.deepEqual(await snapshot(), before);
        });
    });

    describe("given an event that is not a usable interruption warning", () => {
        it("changes nothing", async () => {
            await seed();
            const before = await snapshot();
            const [victim] = await inServiceWebInstances(1);
            const events = UNRECOGNISED_EVENT_FIXTURES.map((name) => loadEvent(name, victim));

            const invocations = await archives.decrement.invoke(events, emulator().environment());

            assertAllFulfilled(invocations, "ignored");
            assert.deepEqual(await snapshot(), before);
        });
    });

    describe("given a storm of 20 simultaneous interruptions", () => {
        it("detaches all 20 exactly once, each in its own invocation", async () => {
            await seed({ minSize: 2, desiredCapacity: 24, maxSize: 30 });
            const victims = await inServiceWebInstances(20);

            assertAllFulfilled(await interrupt(archives.decrement, victims), "detached");

            const after = await webGroup();
            assert.equal(after.desiredCapacity, 4, "desired dropped by exactly 20");
            assert.equal(after.instances.length, 4);
            assert.deepEqual(
                idsOf(after).filter((id) => victims.includes(id)),
                [],
            );
        });
    });
});
