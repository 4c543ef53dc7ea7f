import * as assert from "node:assert/strict";
import { autoScaling, stubAutoScalingPerSuite, stubbedGateway } from "../support/auto-scaling-stub";
import {
    DescribeAutoScalingGroupsCommand,
    DetachInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import { handleDirectEvent } from "../../handler/direct";
import { type LogLevel, type LogRecord, logDecision } from "../../handler/log";
import { autoScalingErrors } from "../support/auto-scaling-errors";
import { loadEvent, UNRECOGNISED_EVENT_FIXTURES } from "../support/events";
import { groupLookupAnswer } from "../support/fake-auto-scaling";
import { type CapacityOnInterruption } from "../../contract";

const GROUP = "web";
const INSTANCE = "i-0123456789abcdef0";
/** What the batch's one DescribeAutoScalingGroups reports of the configured group. */
let lookup: { minSize: number; desiredCapacity: number; members: [string, string][] };

function answerLookup(): void {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves(groupLookupAnswer(GROUP, lookup));
}

/** A member of `group`: the lookup of the configured group shows it only when it is that one. */
function givenMember(group: string, lifecycleState = "InService", instanceId = INSTANCE): void {
    if (group === GROUP) {
        lookup.members.push([instanceId, lifecycleState]);
    }
    answerLookup();
}

function givenGroupSize(minSize: number, desiredCapacity: number): void {
    Object.assign(lookup, { minSize, desiredCapacity });
    answerLookup();
}

const CONFIG = {
    groups: { kind: "names", names: [GROUP] },
    handlerName: "test",
    interruptionAction: "detach",
} as const;

async function whenWarned(
    capacityOnInterruption: CapacityOnInterruption,
    event: unknown = loadEvent("seed-sample-event", INSTANCE),
    sleep?: (ms: number) => Promise<void>,
) {
    const logged: { level: LogLevel; record: LogRecord }[] = [];
    const summary = await handleDirectEvent(event, {
        ...(sleep === undefined ? {} : { sleep }),
        config: { ...CONFIG, capacityOnInterruption },
        autoScaling: stubbedGateway(),
        log: (level, record) => logged.push({ level, record }),
        remainingTimeMs: () => 60_000,
    });
    return { summary, logged };
}

function detachCalls() {
    return autoScaling.commandCalls(DetachInstancesCommand).map((call) => call.args[0].input);
}

describe("the handler, given a bare EventBridge event (direct delivery, the console test)", () => {
    stubAutoScalingPerSuite();
    beforeEach(() => {
        lookup = { minSize: 0, desiredCapacity: 4, members: [] };
        answerLookup();
    });

    describe("given an InService instance of the configured group", () => {
        beforeEach(() => givenMember(GROUP));

        it("detaches it keeping desired capacity, and says so in the seed's words", async () => {
            autoScaling.on(DetachInstancesCommand).resolves({});

            const { summary, logged } = await whenWarned("keep");

            assert.deepEqual(detachCalls(), [
                {
                    AutoScalingGroupName: GROUP,
                    InstanceIds: [INSTANCE],
                    ShouldDecrementDesiredCapacity: false,
                },
            ]);
            assert.deepEqual(summary, {
                instanceId: INSTANCE,
                autoScalingGroupName: GROUP,
                action: "detached",
                capacityOnInterruption: "keep",
            });
            assert.deepEqual(logged, [
                {
                    level: "INFO",
                    record: {
                        message: `Instance ${INSTANCE} belongs to AutoScaling Group web. Detaching instance...`,
                        autoScalingGroupName: GROUP,
                        capacityOnInterruption: "keep",
                        instanceIds: [INSTANCE],
                        activities: [],
                    },
                },
            ]);
        });

        it("costs two Auto Scaling calls in either mode: one lookup, one detach", async () => {
            autoScaling.on(DetachInstancesCommand).resolves({});

            for (const mode of ["keep", "decrement"] as const) {
                autoScaling.resetHistory();
                await whenWarned(mode);

                assert.deepEqual(
                    autoScaling.calls().map((c) => c.args[0].constructor.name),
                    ["DescribeAutoScalingGroupsCommand", "DetachInstancesCommand"],
                );
            }
        });

        it("detaches with a decrement when the group is above its minimum", async () => {
            givenGroupSize(2, 4);
            autoScaling.on(DetachInstancesCommand).resolves({});

            const { summary } = await whenWarned("decrement");

            assert.equal(detachCalls()[0]?.ShouldDecrementDesiredCapacity, true);
            assert.equal(summary.action, "detached");
            assert.equal(summary.capacityOnInterruption, "decrement");
            assert.equal(summary.reason, undefined);
        });

        it("detaches whatever the instance-action (terminate, stop or hibernate)", async () => {
            autoScaling.on(DetachInstancesCommand).resolves({});

            const { summary } = await whenWarned(
                "keep",
                loadEvent("interruption-warning-hibernate", INSTANCE),
            );

            assert.equal(summary.action, "detached");
        });
    });

    describe("given an Auto Scaling group at its minimum size", () => {
        beforeEach(() => {
            givenMember(GROUP);
            givenGroupSize(2, 2);
            autoScaling.on(DetachInstancesCommand).resolves({});
        });

        it("falls back to keep, so the instance still leaves, and logs a warning", async () => {
            const { summary, logged } = await whenWarned("decrement");

            assert.equal(detachCalls()[0]?.ShouldDecrementDesiredCapacity, false);
            assert.equal(summary.action, "detached");
            assert.equal(summary.capacityOnInterruption, "keep");
            assert.equal(
                summary.reason,
                "desired capacity 2 is at MinSize 2; kept desired capacity instead, so the group launches a replacement",
            );
            assert.deepEqual(
                logged.map((l) => l.level),
                ["WARN"],
            );
        });
    });

    describe("given AWS refuses the decrement because the group shrank meanwhile", () => {
        it("detaches again with keep", async () => {
            givenMember(GROUP);
            givenGroupSize(2, 3);
            autoScaling
                .on(DetachInstancesCommand, { ShouldDecrementDesiredCapacity: true })
                .rejects(autoScalingErrors.belowMinSize(GROUP, 2, 12, 2))
                .on(DetachInstancesCommand, { ShouldDecrementDesiredCapacity: false })
                .resolves({});

            const { summary } = await whenWarned("decrement");

            assert.deepEqual(
                detachCalls().map((c) => c.ShouldDecrementDesiredCapacity),
                [true, false],
            );
            assert.equal(summary.action, "detached");
            assert.equal(summary.capacityOnInterruption, "keep");
            assert.match(summary.reason ?? "", /desired capacity 2 is at MinSize 2; kept/);
        });
    });

    describe("given an instance that is not ours", () => {
        it("ignores an instance in no group, without detaching anything", async () => {
            const { summary } = await whenWarned("decrement");

            assert.equal(summary.action, "ignored");
            assert.equal(summary.reason, `${INSTANCE} is not a member of Auto Scaling group web`);
            assert.deepEqual(detachCalls(), []);
        });

        it("ignores an instance of another group and never looks that group up", async () => {
            givenMember("batch");

            const { summary } = await whenWarned("decrement");

            assert.equal(summary.action, "ignored");
            assert.deepEqual(detachCalls(), []);
            assert.deepEqual(
                autoScaling
                    .commandCalls(DescribeAutoScalingGroupsCommand)
                    .map((c) => c.args[0].input.AutoScalingGroupNames),
                [[GROUP]],
            );
        });
    });

    describe("given an instance already on its way out", () => {
        for (const state of ["Terminating", "Terminating:Wait", "Detaching", "Detached"]) {
            it(`ignores it while ${state}`, async () => {
                givenMember(GROUP, state);

                const { summary } = await whenWarned("keep");

                assert.equal(summary.action, "ignored");
                assert.match(summary.reason ?? "", new RegExp(`is ${state} in web, not InService`));
                assert.deepEqual(detachCalls(), []);
            });
        }

        it("acknowledges it in Standby without a call: it serves no traffic already", async () => {
            givenMember(GROUP, "Standby");

            const { summary } = await whenWarned("decrement");

            assert.equal(summary.action, "ignored");
            assert.match(summary.reason ?? "", /is Standby in web: it serves no traffic/);
            assert.deepEqual(detachCalls(), []);
        });
    });

    describe("given an instance still launching", () => {
        it("waits in the invocation, and detaches it once it is InService", async () => {
            givenMember(GROUP, "Pending");
            autoScaling.on(DetachInstancesCommand).resolves({});
            const waits: number[] = [];
            const launch = async (ms: number) => {
                waits.push(ms);
                lookup.members = [[INSTANCE, "InService"]];
                answerLookup();
            };

            const justSent = {
                ...loadEvent("seed-sample-event", INSTANCE),
                time: new Date().toISOString(),
            };

            const { summary } = await whenWarned("keep", justSent, launch);

            assert.deepEqual(waits, [10_000]);
            assert.equal(summary.action, "detached");
            assert.deepEqual(
                detachCalls().map((c) => c.InstanceIds),
                [[INSTANCE]],
            );
        });

        it("acknowledges it once its notice has ended while it was still launching", async () => {
            givenMember(GROUP, "Pending");
            const sentLongAgo = {
                ...loadEvent("seed-sample-event", INSTANCE),
                time: new Date(Date.now() - 121_000).toISOString(),
            };

            const { summary } = await whenWarned("keep", sentLongAgo, () =>
                assert.fail("no wait past the notice"),
            );

            assert.equal(summary.action, "ignored");
            assert.match(summary.reason ?? "", /still launching.*its notice ended first/);
            assert.deepEqual(detachCalls(), []);
        });
    });

    describe("given a duplicate delivery that races the first", () => {
        beforeEach(() => givenMember(GROUP));

        it("treats 'not part of Auto Scaling group' as a harmless no-op", async () => {
            autoScaling
                .on(DetachInstancesCommand)
                .rejects(autoScalingErrors.notPartOfGroup(INSTANCE, GROUP));

            const { summary } = await whenWarned("keep");

            assert.equal(summary.action, "ignored");
            assert.match(summary.reason ?? "", /is not part of Auto Scaling group web/);
        });

        it("treats 'not in InService or Standby' as a harmless no-op", async () => {
            givenGroupSize(2, 4);
            autoScaling
                .on(DetachInstancesCommand)
                .rejects(autoScalingErrors.notInServiceOrStandby(INSTANCE));

            const { summary } = await whenWarned("decrement");

            assert.equal(summary.action, "ignored");
            assert.equal(detachCalls().length, 1);
        });
    });

    describe("given a fault that a retry could fix", () => {
        beforeEach(() => givenMember(GROUP));

        it("rethrows throttling from DescribeAutoScalingGroups, so Lambda retries", async () => {
            autoScaling
                .on(DescribeAutoScalingGroupsCommand)
                .rejects(autoScalingErrors.throttling());

            await assert.rejects(whenWarned("keep"), { name: "Throttling" });
            assert.deepEqual(detachCalls(), []);
        });

        it("rethrows ResourceContention from DetachInstances and logs an error line", async () => {
            autoScaling.on(DetachInstancesCommand).rejects(autoScalingErrors.resourceContention());

            const failure = whenWarned("keep");

            await assert.rejects(failure, { name: "ResourceContentionFault" });
        });

        it("logs every failed call, Describe included, as one structured ERROR entry", async () => {
            autoScaling
                .on(DescribeAutoScalingGroupsCommand)
                .rejects(autoScalingErrors.throttling());
            const logged: { level: LogLevel; record: LogRecord }[] = [];

            await assert.rejects(
                handleDirectEvent(loadEvent("seed-sample-event", INSTANCE), {
                    config: { ...CONFIG, capacityOnInterruption: "keep" },
                    autoScaling: stubbedGateway(),
                    log: (level, record) => logged.push({ level, record }),
                    remainingTimeMs: () => 60_000,
                }),
                { name: "Throttling" },
            );
            assert.deepEqual(logged, [
                {
                    level: "ERROR",
                    record: {
                        message:
                            "DescribeAutoScalingGroups failed for 1 instance(s); they are left for a retry",
                        instanceIds: [INSTANCE],
                        error: { name: "Throttling", message: "Rate exceeded" },
                    },
                },
            ]);
        });

        it("re-reads the group on a ValidationError it does not recognise, never repeats the call, and rethrows", async () => {
            autoScaling.on(DetachInstancesCommand).rejects(autoScalingErrors.unknownValidation());

            await assert.rejects(whenWarned("keep"), { name: "ValidationError" });
            assert.equal(detachCalls().length, 1);
            assert.equal(autoScaling.commandCalls(DescribeAutoScalingGroupsCommand).length, 2);
        });
    });

    describe("given an event that is not a usable interruption warning", () => {
        for (const fixture of UNRECOGNISED_EVENT_FIXTURES) {
            it(`ignores ${fixture} without calling AWS`, async () => {
                const { summary, logged } = await whenWarned("keep", loadEvent(fixture, INSTANCE));

                assert.equal(summary.action, "ignored");
                assert.ok(summary.reason, "an ignored event carries its reason");
                assert.equal(autoScaling.calls().length, 0);
                assert.equal(logged[0]?.record.eventId, loadEvent(fixture).id);
            });
        }

        it("ignores the seed's sample event until its <instance-id> placeholder is filled in", async () => {
            const { summary } = await whenWarned("keep", loadEvent("seed-sample-event"));

            assert.equal(summary.action, "ignored");
            assert.equal(
                summary.reason,
                'detail.instance-id is "<instance-id>", not an EC2 instance id',
            );
            assert.equal(autoScaling.calls().length, 0);
        });

        it("logs a hostile 1 MB instance-id in under 1 KB", async () => {
            const event = loadEvent("seed-sample-event", INSTANCE);
            const huge = { ...event, detail: { "instance-id": "i-".padEnd(1_000_000, "f") } };

            const { summary, logged } = await whenWarned("keep", huge);

            assert.equal(summary.action, "ignored");
            assert.ok(JSON.stringify(logged).length < 1024, JSON.stringify(logged).slice(0, 300));
        });

        for (const notAnEvent of [null, "text", 42, []]) {
            it(`ignores ${JSON.stringify(notAnEvent)}`, async () => {
                const { summary } = await whenWarned("keep", notAnEvent);

                assert.equal(summary.action, "ignored");
                assert.equal(autoScaling.calls().length, 0);
            });
        }
    });
});

describe("logDecision", () => {
    const record = { eventId: "e-1", instanceId: INSTANCE, message: "Ignored: test" };
    let written: { method: string; args: unknown[] }[];
    let original: Pick<Console, "info" | "warn" | "error">;

    beforeEach(() => {
        written = [];
        original = { info: console.info, warn: console.warn, error: console.error };
        for (const method of ["info", "warn", "error"] as const) {
            console[method] = (...args: unknown[]) => written.push({ method, args });
        }
    });
    afterEach(() => {
        Object.assign(console, original);
        delete process.env.AWS_LAMBDA_LOG_FORMAT;
    });

    it("writes one JSON line, with its level, at the matching console method", () => {
        logDecision("WARN", record);

        assert.deepEqual(written, [
            { method: "warn", args: [JSON.stringify({ level: "WARN", ...record })] },
        ]);
    });

    it("hands Lambda's JSON log format the record itself, so its fields stay queryable", () => {
        process.env.AWS_LAMBDA_LOG_FORMAT = "JSON";

        logDecision("ERROR", record);

        assert.deepEqual(written, [{ method: "error", args: [record] }]);
    });
});
