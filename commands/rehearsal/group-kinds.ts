/** `npm start`'s tour of the handler's decision per kind of group, judged from the emulator. */
import type { Emulator } from "../../emulator/server";
import {
    describeGroupActions,
    type GroupAction,
    sendSpotWarning,
    setLifecycleState,
} from "../../emulator/group-side";
import { describeGroupState } from "../../emulator/group-state";
import { freshSampleEvent } from "../../offline/sample-event";
import { putLifecycleHook, seedWorkshopEnvironment } from "../../emulator/workshop";
import { SAFETY_NET_GRACE_MS } from "../../contract";
import { planHandler } from "./plan";
import { answerOf, LEFT_THE_GROUP, type Report } from "./warning";

/** Warnings are backdated so that a rebalancing group's grace ends about 2 s after the invoke. */
export const BACKDATE_MS = SAFETY_NET_GRACE_MS - 2_000;
const HOOK_NAME = "drain-connections";

export type GroupKind =
    "plain" | "termination-hook" | "standby" | "rebalancing-idle" | "rebalancing-reacts";

/** One kind's rehearsal: the group, the handler's answer and why, what the group did, the verdict. */
export type KindRun = Awaited<ReturnType<typeof rehearseGroupKinds>>[number];

interface Scenario {
    readonly kind: GroupKind;
    /** The group as the handler finds it, in words. */
    readonly group: string;
    /** What the handler should answer, and with which marks. */
    readonly expected: { readonly action: string; readonly safetyNet?: true };
    /** What the group does, and says, before the handler looks. */
    readonly prepare?: (emulator: Emulator, instanceId: string, group: string) => Promise<unknown>;
    /** The reason for an answer that gives none. */
    readonly because: string;
    /** The state the instance must end in, judged from the emulator. */
    readonly endsIn: (state: string, action: GroupAction | undefined) => boolean;
}

const putTerminationHook = (emulator: Emulator, _id: string, groupName: string) =>
    putLifecycleHook(emulator, groupName, HOOK_NAME);

const gone = (state: string) => state === LEFT_THE_GROUP;

const SCENARIOS: readonly Scenario[] = [
    {
        kind: "plain",
        group: "no Capacity Rebalancing, no termination hook",
        expected: { action: "detached" },
        because:
            "DetachInstances: the load balancer drains it and the group launches a replacement",
        endsIn: gone,
    },
    {
        kind: "termination-hook",
        group: `a termination hook (${HOOK_NAME})`,
        expected: { action: "terminated" },
        prepare: putTerminationHook,
        because: "TerminateInstanceInAutoScalingGroup, so that the group's termination hook runs",
        endsIn: (state, action) =>
            state === "Terminating:Wait" && (action?.hooksRun ?? []).includes(HOOK_NAME),
    },
    {
        kind: "standby",
        group: "the instance in Standby",
        expected: { action: "ignored" },
        prepare: (emulator, id) => setLifecycleState(emulator, id, "Standby"),
        because: "it serves no traffic and is outside desired capacity already",
        endsIn: (state) => state === "Standby",
    },
    {
        kind: "rebalancing-idle",
        group: "Capacity Rebalancing, which does nothing this time",
        expected: { action: "detached", safetyNet: true },
        prepare: (emulator, id) => sendSpotWarning(emulator, id, { groupReacts: false }),
        because: `left to the group for the ${SAFETY_NET_GRACE_MS / 1000} s grace; still InService at its end, so the safety net detached it`,
        endsIn: gone,
    },
    {
        kind: "rebalancing-reacts",
        group: `Capacity Rebalancing, and a termination hook (${HOOK_NAME})`,
        expected: { action: "left-to-group" },
        prepare: async (emulator, id, groupName) => {
            await putTerminationHook(emulator, id, groupName);
            // The group's own reaction comes while the handler waits out its grace.
            await sendSpotWarning(emulator, id, { reactAfterMs: 500 });
        },
        because: "the group's Capacity Rebalancing terminates and replaces it",
        endsIn: (state, action) =>
            state === "Terminating:Wait" && action?.by === "CapacityRebalancing",
    },
];

/** Plans the handler once more and runs every kind on freshly seeded groups, one per instance. */
export async function rehearseGroupKinds(emulator: Emulator, groupName: string, report: Report) {
    report("Planning the handler once more, for its decisions per kind of group...");
    const mode = { capacityOnInterruption: "keep", delivery: "direct" } as const;
    const { archive } = await planHandler(mode, groupName, emulator.region);
    const runs = [];
    try {
        for (const capacityRebalance of [false, true]) {
            report(
                `Seeding the workshop environment again, its web group ${capacityRebalance ? "with" : "without"} Capacity Rebalancing...`,
            );
            await emulator.reset();
            // The seed names its web group as the plan does (groupName).
            await seedWorkshopEnvironment(emulator, { webGroup: { capacityRebalance } });
            const members = (await describeGroupState(emulator, groupName)).instances;
            // The rebalancing kinds need a group with Capacity Rebalancing, seeded afresh.
            const round = SCENARIOS.filter(
                (s) => s.kind.startsWith("rebalancing-") === capacityRebalance,
            );
            // The seeded group has 4 instances: one each for at most 3 kinds a round.
            for (const [index, scenario] of round.entries()) {
                const { instanceId } = members[index];
                report(`Decisions per kind of group: ${scenario.kind} (${instanceId})...`);
                const stateOf = async () =>
                    (await describeGroupState(emulator, groupName)).instances.find(
                        (i) => i.instanceId === instanceId,
                    )?.lifecycleState ?? LEFT_THE_GROUP;
                await scenario.prepare?.(emulator, instanceId, groupName);
                const stateBefore = await stateOf();
                const event = freshSampleEvent(instanceId, new Date(Date.now() - BACKDATE_MS));
                const invoked = await archive.invoke([event], emulator.environment());
                const answer = answerOf(invoked.results[0]);
                const stateAfter = await stateOf();
                const { actions } = await describeGroupActions(emulator);
                const groupAction = actions.find((a) => a.instanceId === instanceId);
                const { summary } = answer;
                runs.push({
                    kind: scenario.kind,
                    group: scenario.group,
                    instanceId,
                    stateBefore,
                    expected: scenario.expected,
                    ...answer,
                    // The handler's own reason where it gives one.
                    reason: summary?.reason ?? scenario.because,
                    // Who took the instance out, as the emulator's group side recorded it.
                    ...(groupAction === undefined ? {} : { groupAction }),
                    stateAfter,
                    handlerMs: invoked.durationsMs[0],
                    passed:
                        summary?.action === scenario.expected.action &&
                        summary.safetyNet === scenario.expected.safetyNet &&
                        scenario.endsIn(stateAfter, groupAction),
                });
            }
        }
        return runs;
    } finally {
        archive.remove();
    }
}
