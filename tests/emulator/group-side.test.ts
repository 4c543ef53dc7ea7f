/**
 * What an Auto Scaling group does on its own, as AWS defines it, proved on both fakes by the same
 * scenarios: the emulator (moto and emulator/group_side.py, in real time) and FakeAutoScaling (in
 * memory, behind aws-sdk-client-mock). Capacity Rebalancing on a Spot warning, termination hooks,
 * TerminateInstanceInAutoScalingGroup with and without a decrement, AWS's refusals word for word,
 * weighted capacity in units, and the states Detach refuses; judged by what the client reads back
 * (DescribeAutoScalingGroups, DescribeLifecycleHooks), AWS's error names and messages, and each
 * fake's record of group actions. Then each fake's own switches and faults, which the other lacks.
 */
import { strict as assert } from "node:assert";
import { setTimeout as delay } from "node:timers/promises";
import {
    AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DescribeLifecycleHooksCommand,
    DetachInstancesCommand,
    DetachLoadBalancerTargetGroupsCommand,
    SetDesiredCapacityCommand,
    TerminateInstanceInAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { mockClient } from "aws-sdk-client-mock";
import { clientConfigFor } from "../../emulator/group-state";
import { type Emulator } from "../../emulator/server";
import { putLifecycleHook, seedWorkshopEnvironment } from "../../emulator/workshop";
import {
    describeGroupActions,
    type GroupAction,
    groupActionsWhenSettled,
    type LifecycleStateName,
    sendSpotWarning,
    type SpotWarningOptions,
    setLifecycleState,
} from "../../emulator/group-side";
import { TERMINATING_TRANSITION } from "../../handler/auto-scaling";
import { autoScalingErrors } from "../support/auto-scaling-errors";
import { ids } from "../support/auto-scaling-stub";
import { FakeAutoScaling } from "../support/fake-auto-scaling";
import { assertRefusedWith, seedWeightedGroup } from "../support/group-side";
import { tierEmulatorForSuite } from "../support/tier-emulator";

/** How long the emulator's group takes to react to a warning: long enough to detach first. */
const REACTION_MS = 300;
const DRAIN = ["drain", TERMINATING_TRANSITION] as const;
const WARM_UP = ["warm-up", "autoscaling:EC2_INSTANCE_LAUNCHING"] as const;
const TERMINATE = "TerminateInstanceInAutoScalingGroup";
/** The web group: min 2, desired 4, max 12, four InService members. */
const WEB_SIZES = { minSize: 2, desiredCapacity: 4, maxSize: 12 };
/** The weighted group: min 2, desired 6 units, max 20; a 4-unit m7i.2xlarge, two 1-unit m7i.large. */
const WEIGHTED_SIZES = { minSize: 2, desiredCapacity: 6, maxSize: 20 };

interface WebGroupSpec {
    capacityRebalance: boolean;
    /** [name, transition], put in this order. */
    hooks: readonly (readonly [string, string])[];
    /** With one, an instance terminated without a hook stays Terminating (it drains). */
    targetGroup: boolean;
}
const REBALANCING_HOOKED = { capacityRebalance: true, hooks: [DRAIN, WARM_UP], targetGroup: true };
const REBALANCING_UNHOOKED = { capacityRebalance: true, hooks: [], targetGroup: true };
const DRAIN_HOOK_ONLY = { capacityRebalance: false, hooks: [DRAIN], targetGroup: false };
const PLAIN = { capacityRebalance: false, hooks: [], targetGroup: false };

/** A freshly seeded group: its name, its members in order, and an instance in no group. */
interface Seeded {
    name: string;
    members: string[];
    stranger: string;
}

/** One fake Auto Scaling, driven through the same steps; verdicts are read through `client`. */
interface GroupSideFake {
    readonly client: AutoScalingClient;
    /** A web group of WEB_SIZES, alone but for a stranger. */
    seedWeb(spec: WebGroupSpec): Promise<Seeded>;
    /** A weighted group of WEIGHTED_SIZES; its members the 4-unit instance first. */
    seedWeighted(): Promise<Seeded>;
    /** Puts a member in a state by fiat, as no AWS call can. */
    putInState(instanceId: string, state: LifecycleStateName): Promise<void>;
    setDesiredCapacity(group: string, units: number): Promise<void>;
    /** EC2's Spot warning for the instance reaches its group. */
    warn(instanceId: string): Promise<void>;
    /** Every instance taken out of service so far, once the group's reactions are done. */
    settle(): Promise<GroupAction[]>;
}

/** The tier's moto, reset and seeded with the workshop for each scenario. */
function emulatorFake(): GroupSideFake & { readonly emulator: Emulator } {
    const tier = tierEmulatorForSuite();
    let client: AutoScalingClient;
    before(() => {
        client = new AutoScalingClient(clientConfigFor(tier.emulator));
    });
    after(() => client?.destroy());
    const seedWorkshop = async (capacityRebalance: boolean) => {
        await tier.emulator.reset();
        const webGroup = { ...WEB_SIZES, capacityRebalance };
        return seedWorkshopEnvironment(tier.emulator, { webGroup });
    };
    return {
        get client() {
            return client;
        },
        get emulator() {
            return tier.emulator;
        },
        async seedWeb({ capacityRebalance, hooks, targetGroup }) {
            const workshop = await seedWorkshop(capacityRebalance);
            const name = workshop.webGroupName;
            for (const [hook, transition] of hooks) {
                await putLifecycleHook(tier.emulator, name, hook, transition);
            }
            if (!targetGroup) {
                const TargetGroupARNs = [workshop.targetGroupArn];
                const detach = { AutoScalingGroupName: name, TargetGroupARNs };
                await client.send(new DetachLoadBalancerTargetGroupsCommand(detach));
            }
            const members = (await membership(client, name)).instances.map((m) => m.split(" ")[0]);
            return { name, members, stranger: workshop.standaloneInstanceId };
        },
        async seedWeighted() {
            const workshop = await seedWorkshop(false);
            const { name, instanceIds } = await seedWeightedGroup(tier.emulator, workshop);
            return { name, members: instanceIds, stranger: workshop.standaloneInstanceId };
        },
        putInState: (instanceId, state) => setLifecycleState(tier.emulator, instanceId, state),
        async setDesiredCapacity(group, units) {
            // Not UpdateAutoScalingGroup: moto drops a MixedInstancesPolicy that an update omits.
            const desired = { AutoScalingGroupName: group, DesiredCapacity: units };
            await client.send(new SetDesiredCapacityCommand(desired));
        },
        async warn(instanceId) {
            await sendSpotWarning(tier.emulator, instanceId, { reactAfterMs: REACTION_MS });
        },
        settle: () => groupActionsWhenSettled(tier.emulator),
    };
}

/** FakeAutoScaling installed on a client of its own, mocked by aws-sdk-client-mock. */
function inMemoryFake(): GroupSideFake & { readonly model: FakeAutoScaling } {
    const client = new AutoScalingClient({ region: "eu-west-1" });
    const stub = mockClient(client);
    after(() => stub.restore());
    let model = new FakeAutoScaling();
    let warned: string[] = [];
    const stranger = ids(1, 15)[0];
    const start = (name: string, members: string[], fresh: FakeAutoScaling): Seeded => {
        stub.reset();
        warned = [];
        model = fresh.install(stub);
        return { name, members, stranger };
    };
    return {
        client,
        get model() {
            return model;
        },
        async seedWeb({ capacityRebalance, hooks, targetGroup }) {
            const options = { capacityRebalance, behindLoadBalancer: targetGroup };
            const fresh = new FakeAutoScaling().group("web", WEB_SIZES, {}, options);
            hooks.forEach(([hook, transition]) => fresh.lifecycleHook("web", hook, transition));
            const members = ids(4, 10);
            return start("web", members, fresh.members("web", members));
        },
        async seedWeighted() {
            const [big, ...small] = ids(3, 10);
            const weights = { "m7i.large": 1, "m7i.2xlarge": 4 };
            const fresh = new FakeAutoScaling()
                .group("weighted", WEIGHTED_SIZES, {}, { weights })
                .members("weighted", [big], "InService", "m7i.2xlarge")
                .members("weighted", small, "InService", "m7i.large");
            return start("weighted", [big, ...small], fresh);
        },
        async putInState(instanceId, state) {
            const { group, instanceType } = model.instances.get(instanceId) ?? assert.fail();
            model.members(group, [instanceId], state, instanceType);
        },
        async setDesiredCapacity(group, units) {
            (model.groups.get(group) ?? assert.fail(group)).desiredCapacity = units;
        },
        async warn(instanceId) {
            warned.push(instanceId);
        },
        // This fake's group reacts when told to: here, to the warnings in the order they came.
        async settle() {
            warned.splice(0).forEach((id) => model.reactToSpotWarning(id));
            return [...model.actions];
        },
    };
}

async function describeGroup(client: AutoScalingClient, name: string) {
    const command = new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] });
    return (await client.send(command)).AutoScalingGroups?.[0] ?? assert.fail(`no group ${name}`);
}

/** The group's desired capacity and its members as "<id> <state>", in order. */
async function membership(client: AutoScalingClient, name: string) {
    const { DesiredCapacity, Instances = [] } = await describeGroup(client, name);
    const instances = Instances.map((i) => `${i.InstanceId} ${i.LifecycleState}`);
    return { desiredCapacity: DesiredCapacity, instances };
}

const inService = (members: string[]) => members.map((id) => `${id} InService`);

const terminate = (fake: GroupSideFake, instanceId: string, decrement: boolean) =>
    fake.client.send(
        new TerminateInstanceInAutoScalingGroupCommand({
            InstanceId: instanceId,
            ShouldDecrementDesiredCapacity: decrement,
        }),
    );

const detach = (fake: GroupSideFake, group: string, instanceIds: string[], decrement: boolean) =>
    fake.client.send(
        new DetachInstancesCommand({
            AutoScalingGroupName: group,
            InstanceIds: instanceIds,
            ShouldDecrementDesiredCapacity: decrement,
        }),
    );

/** The scenarios both fakes must pass, as AWS behaves. */
function sharedScenarios(fake: GroupSideFake): void {
    let group: Seeded;
    const given = (spec: WebGroupSpec | "weighted") =>
        beforeEach(async function () {
            group = await (spec === "weighted" ? fake.seedWeighted() : fake.seedWeb(spec));
        });
    const groupNow = () => membership(fake.client, group.name);
    const describeNow = () => describeGroup(fake.client, group.name);
    /** The action recorded for a member that a call or the group took out of service. */
    const action = (
        instanceId: string,
        by: GroupAction["by"],
        lifecycleState: GroupAction["lifecycleState"],
        hooksRun: string[] = [],
        replacements: string[] = [],
    ): GroupAction => ({
        instanceId,
        groupName: group.name,
        by,
        lifecycleState,
        hooksRun,
        replacements,
    });

    describe("given a group with Capacity Rebalancing, a termination hook, and a target group", function () {
        given(REBALANCING_HOOKED);

        it("says CapacityRebalance true, DesiredCapacityType units, and lists its hooks with their transitions", async function () {
            const { CapacityRebalance, DesiredCapacityType } = await describeNow();
            const hooks = await fake.client.send(
                new DescribeLifecycleHooksCommand({ AutoScalingGroupName: group.name }),
            );

            assert.deepEqual([CapacityRebalance, DesiredCapacityType], [true, "units"]);
            assert.deepEqual(
                hooks.LifecycleHooks?.map((h) => [h.LifecycleHookName, h.LifecycleTransition]),
                [DRAIN, WARM_UP],
            );
        });

        it("moves a warned instance to Terminating:Wait once it reacts, runs the termination hook only, and replaces it", async function () {
            const [warned, ...others] = group.members;
            await fake.warn(warned);
            // Nothing moves before the group reacts.
            assert.ok((await groupNow()).instances.includes(`${warned} InService`));

            const [moved, ...more] = await fake.settle();
            assert.deepEqual(more, []);
            assert.equal(moved.replacements.length, 1);
            const { replacements } = moved;
            const rebalanced = action(
                warned,
                "CapacityRebalancing",
                "Terminating:Wait",
                ["drain"],
                replacements,
            );
            assert.deepEqual(moved, rebalanced);
            assert.deepEqual(await groupNow(), {
                desiredCapacity: 4,
                instances: [
                    `${warned} Terminating:Wait`,
                    ...inService([...others, ...replacements]),
                ],
            });
        });

        it("does nothing when the handler detached the instance before it reacts", async function () {
            await fake.warn(group.members[0]);
            await detach(fake, group.name, [group.members[0]], true);

            const detached = action(group.members[0], "DetachInstances", "Detached");
            assert.deepEqual(await fake.settle(), [detached]);
            assert.equal((await groupNow()).desiredCapacity, 3);
        });

        it("runs the hook for TerminateInstanceInAutoScalingGroup, and decrements instead of replacing when told", async function () {
            const answer = await terminate(fake, group.members[1], true);

            assert.equal(
                answer.Activity?.Description,
                `Terminating EC2 instance: ${group.members[1]}`,
            );
            assert.deepEqual(await groupNow(), {
                desiredCapacity: 3,
                instances: group.members.map(
                    (id, i) => `${id} ${i === 1 ? "Terminating:Wait" : "InService"}`,
                ),
            });
            const terminated = action(group.members[1], TERMINATE, "Terminating:Wait", ["drain"]);
            assert.deepEqual(await fake.settle(), [terminated]);
        });
    });

    describe("given a group with Capacity Rebalancing, no hook, and a target group", function () {
        given(REBALANCING_UNHOOKED);

        it("takes a warned instance out (Terminating while it drains from its target group) and replaces it", async function () {
            const [warned, ...others] = group.members;
            await fake.warn(warned);
            const [moved] = await fake.settle();

            assert.equal(moved.lifecycleState, "Terminating");
            assert.deepEqual(moved.hooksRun, []);
            // Behind a target group the instance stays Terminating (ASSUMPTIONS.md 24).
            assert.deepEqual(await groupNow(), {
                desiredCapacity: 4,
                instances: [
                    `${warned} Terminating`,
                    ...inService([...others, ...moved.replacements]),
                ],
            });
        });
    });

    describe("given a group without Capacity Rebalancing or a target group, with a termination hook", function () {
        given(DRAIN_HOOK_ONLY);

        it("says CapacityRebalance false and leaves a warned instance InService", async function () {
            await fake.warn(group.members[0]);

            assert.deepEqual(await fake.settle(), []);
            assert.equal((await describeNow()).CapacityRebalance, false);
            assert.deepEqual((await groupNow()).instances, inService(group.members));
        });

        it("refuses Terminate for a non-member, and a decrement at MinSize, in AWS's words, changing nothing", async function () {
            // Given desired capacity brought down to MinSize (2)
            await terminate(fake, group.members[0], true);
            await terminate(fake, group.members[1], true);
            const atMinSize = await groupNow();
            assert.equal(atMinSize.desiredCapacity, 2);

            await assertRefusedWith(
                terminate(fake, group.stranger, false),
                autoScalingErrors.instanceNotFound(group.stranger),
            );
            await assertRefusedWith(
                terminate(fake, group.members[2], true),
                autoScalingErrors.terminateAtMinSize(2),
            );
            assert.deepEqual(await groupNow(), atMinSize);
        });

        it("terminates Retained members without their hooks, a replacement or a decrement: they no longer counted", async function () {
            const [kept, retained, retainedToo, keptToo] = group.members;
            await fake.putInState(retained, "Terminating:Retained");
            await fake.putInState(retainedToo, "Terminating:Retained");

            await terminate(fake, retained, false);
            await terminate(fake, retainedToo, true);

            assert.deepEqual(await fake.settle(), [
                action(retained, TERMINATE, "Terminating"),
                action(retainedToo, TERMINATE, "Terminating"),
            ]);
            assert.deepEqual(await groupNow(), {
                desiredCapacity: 4,
                instances: inService([kept, keptToo]),
            });
        });

        it("refuses to detach Pending, Pending:Wait and Terminating:Wait members", async function () {
            const member = group.members[2];
            for (const state of ["Pending", "Pending:Wait", "Terminating:Wait"] as const) {
                await fake.putInState(member, state);
                await assertRefusedWith(
                    detach(fake, group.name, [member], false),
                    autoScalingErrors.notInServiceOrStandby(member),
                );
            }
        });
    });

    describe("given a group without Capacity Rebalancing, hooks or a target group", function () {
        given(PLAIN);

        it("terminates an instance at once without a hook, and launches its replacement", async function () {
            const [terminated, ...others] = group.members;
            await terminate(fake, terminated, false);

            const [moved] = await fake.settle();
            assert.equal(moved.replacements.length, 1);
            const { replacements } = moved;
            assert.deepEqual(moved, action(terminated, TERMINATE, "Terminating", [], replacements));
            assert.deepEqual(await groupNow(), {
                desiredCapacity: 4,
                instances: inService([...others, ...replacements]),
            });
        });
    });

    describe("given a weighted group: min 2, desired 6 units, max 20, one 4-unit and two 1-unit instances", function () {
        given("weighted");

        it("returns each instance's WeightedCapacity and the group's DesiredCapacityType", async function () {
            const { DesiredCapacityType, DesiredCapacity, Instances } = await describeNow();
            const [big, small, smallToo] = group.members;

            assert.deepEqual([DesiredCapacityType, DesiredCapacity], ["units", 6]);
            assert.deepEqual(
                Instances?.map((i) => `${i.InstanceId} ${i.WeightedCapacity}`),
                [`${big} 4`, `${small} 1`, `${smallToo} 1`],
            );
        });

        it("refuses a decrement below MinSize counted in units, with AWS's detach wording, and decrements by units", async function () {
            const [big, small] = group.members;
            const before = await groupNow();

            await assertRefusedWith(
                detach(fake, group.name, [big, small], true),
                autoScalingErrors.belowMinSize(group.name, 2, 20, 6, 2),
            );
            assert.deepEqual(await groupNow(), before);
            await detach(fake, group.name, [big], true);

            assert.deepEqual(await groupNow(), {
                desiredCapacity: 2,
                instances: inService(group.members.slice(1)),
            });
        });

        it("refuses a Terminate with decrement below MinSize in units; without one, keeps desired capacity and fills it back up in units", async function () {
            // Given desired 5 units and MinSize 2: the 4-unit instance does not fit (5 - 4 < 2)
            const [big] = group.members;
            await fake.setDesiredCapacity(group.name, 5);
            await assertRefusedWith(
                terminate(fake, big, true),
                autoScalingErrors.belowMinSize(group.name, 2, 20, 5, 1),
            );

            assert.ok((await terminate(fake, big, false)).Activity);
            // The group fills desired capacity back up, in units: 5 less the 2 left, three 1-unit instances.
            const [moved] = await fake.settle();
            assert.equal(moved?.replacements.length, 3);
            assert.equal((await groupNow()).desiredCapacity, 5);
        });
    });
}

const FAKES = { "The emulator": emulatorFake, FakeAutoScaling: inMemoryFake };
for (const [fakeName, makeFake] of Object.entries(FAKES)) {
    describe(`${fakeName}'s Auto Scaling groups, on their own side`, function () {
        sharedScenarios(makeFake());
    });
}

describe("The emulator's own switches: its answer to a warning, a group that does not react, reset", function () {
    const fake = emulatorFake();
    /** A fresh group, and the emulator's answer to the warning for its first member. */
    const seedAndWarn = async (spec: WebGroupSpec, options: SpotWarningOptions) => {
        const group = await fake.seedWeb(spec);
        return { group, answer: await sendSpotWarning(fake.emulator, group.members[0], options) };
    };

    it("answers that a group with Capacity Rebalancing will react, and records when the instance left service", async function () {
        const reactAfterMs = REACTION_MS;
        const { group, answer } = await seedAndWarn(REBALANCING_HOOKED, { reactAfterMs });

        assert.deepEqual(answer, {
            instanceId: group.members[0],
            groupName: group.name,
            capacityRebalance: true,
            reaction: "scheduled",
        });
        await fake.settle();
        const { outOfServiceAtMs } = await describeGroupActions(fake.emulator);
        assert.deepEqual(Object.keys(outOfServiceAtMs), [group.members[0]]);
    });

    it("answers that a group without Capacity Rebalancing will not react", async function () {
        const { answer } = await seedAndWarn(DRAIN_HOOK_ONLY, { reactAfterMs: 0 });
        await delay(REACTION_MS);

        assert.deepEqual([answer.capacityRebalance, answer.reaction], [false, "none"]);
        assert.deepEqual(await fake.settle(), []);
    });

    it("does nothing when the test says the group does not react, leaving the handler's safety net to act", async function () {
        const reaction = { reactAfterMs: 0, groupReacts: false };
        const { group, answer } = await seedAndWarn(REBALANCING_HOOKED, reaction);
        await delay(REACTION_MS);

        assert.equal(answer.reaction, "none");
        assert.deepEqual(await fake.settle(), []);
        const { instances } = await membership(fake.client, group.name);
        assert.ok(instances.includes(`${group.members[0]} InService`));
    });

    it("forgets a pending reaction on reset", async function () {
        await seedAndWarn(REBALANCING_HOOKED, { reactAfterMs: REACTION_MS });
        await fake.emulator.reset();

        const { actions, pendingReactions, outOfServiceAtMs } = await describeGroupActions(
            fake.emulator,
        );
        assert.deepEqual([actions, pendingReactions, outOfServiceAtMs], [[], 0, {}]);
    });
});

describe("FakeAutoScaling's own cases: DescribeLifecycleHooks faults", function () {
    const fake = inMemoryFake();
    /** DescribeLifecycleHooks for a fresh group with one hook. */
    const lookupOnFreshGroup = async () => {
        const { name } = await fake.seedWeb(DRAIN_HOOK_ONLY);
        return () =>
            fake.client.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: name }));
    };

    it("throttles the calls it is told to, and answers the rest", async function () {
        const lookup = await lookupOnFreshGroup();
        fake.model.throttleCalls("DescribeLifecycleHooks", [0]);

        await assertRefusedWith(lookup(), autoScalingErrors.throttling());
        assert.equal((await lookup()).LifecycleHooks?.length, 1);
        assert.equal(fake.model.hookLookups.length, 1);
    });

    it("refuses them all with AccessDenied when a permissions boundary denies them", async function () {
        const lookup = await lookupOnFreshGroup();
        fake.model.denyHookLookups();

        await assert.rejects(
            lookup(),
            (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
                assert.equal(error.name, "AccessDenied");
                assert.match(error.message, /autoscaling:DescribeLifecycleHooks/);
                assert.equal(error.$metadata?.httpStatusCode, 403);
                return true;
            },
        );
    });
});
