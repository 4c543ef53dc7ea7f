/**
 * `npm start`'s tour of the handler's decisions per kind of group (interruptionAction auto,
 * keep): a plain group, a group with a termination hook, a Standby instance, and a group with
 * Capacity Rebalancing that reacts to the warning, or does nothing. Each warning goes straight
 * to the handler, whose answer carries its reason; the group's side is the emulator's. Each is
 * judged from the emulator's state, not from the handler's echo.
 */
import { performance } from "node:perf_hooks";
import { AutoScalingClient, PutLifecycleHookCommand } from "@aws-sdk/client-auto-scaling";
import type { InterruptionSummary } from "../../handler/entry";
import type { Emulator } from "../../emulator/server";
import type { HandlerArchive } from "../../offline/handler-archive";
import {
    describeGroupActions,
    type GroupAction,
    sendSpotWarning,
    setLifecycleState,
} from "../../emulator/group-side";
import { clientConfigFor, describeGroupState } from "../../emulator/group-state";
import { freshSampleEvent } from "../../offline/sample-event";
import { seedWorkshopEnvironment } from "../../emulator/workshop";
import { SAFETY_NET_GRACE_MS } from "../../contract";

/**
 * The warnings are backdated by this much, so that the handler's grace for a rebalancing group
 * ends about 2 s after the invoke instead of 25 s: the same decision, in less wall time.
 */
export const BACKDATE_MS = SAFETY_NET_GRACE_MS - 2_000;
const HOOK_NAME = "drain-connections";
const TERMINATING_TRANSITION = "autoscaling:EC2_INSTANCE_TERMINATING";
/** The group's own reaction comes while the handler waits out its grace. */
const REACT_AFTER_MS = 500;

export type GroupKind =
    "plain" | "termination-hook" | "standby" | "rebalancing-idle" | "rebalancing-reacts";

export interface KindRun {
    readonly kind: GroupKind;
    /** The group as the handler finds it, in words. */
    readonly group: string;
    readonly instanceId: string;
    readonly stateBefore: string;
    /** What the handler should answer, and with which marks. */
    readonly expected: { readonly action: string; readonly safetyNet?: true };
    readonly summary?: InterruptionSummary;
    readonly error?: string;
    /** Why, in words: the handler's own reason where it gives one. */
    readonly reason: string;
    /** Who took the instance out, as the emulator's group side recorded it. */
    readonly groupAction?: GroupAction;
    /** The instance's lifecycle state afterwards, or "(left the group)". */
    readonly stateAfter: string;
    readonly handlerMs: number;
    readonly passed: boolean;
}

interface Scenario {
    readonly kind: GroupKind;
    readonly group: string;
    readonly expected: KindRun["expected"];
    /** What the group does, and says, before the handler looks. */
    readonly prepare: (instanceId: string, groupName: string) => Promise<void>;
    /** The reason for an answer that gives none. */
    readonly because: string;
    /** The state the instance must end in, judged from the emulator. */
    readonly endsIn: (state: string, action: GroupAction | undefined) => boolean;
}

/** Runs every kind on freshly seeded groups; the emulator is left seeded for the last one. */
export async function rehearseGroupKinds(
    emulator: Emulator,
    archive: HandlerArchive,
    report: (message: string) => void,
): Promise<KindRun[]> {
    const runs: KindRun[] = [];
    const hook = (_id: string, groupName: string) => putTerminationHook(emulator, groupName);
    const gone = (state: string) => state === LEFT;
    const rounds: { capacityRebalance: boolean; scenarios: Scenario[] }[] = [
        {
            capacityRebalance: false,
            scenarios: [
                {
                    kind: "plain",
                    group: "no Capacity Rebalancing, no termination hook",
                    expected: { action: "detached" },
                    prepare: async () => undefined,
                    because:
                        "DetachInstances: the load balancer drains it and the group launches a replacement",
                    endsIn: gone,
                },
                {
                    kind: "termination-hook",
                    group: `a termination hook (${HOOK_NAME})`,
                    expected: { action: "terminated" },
                    prepare: hook,
                    because:
                        "TerminateInstanceInAutoScalingGroup, so that the group's termination hook runs",
                    endsIn: (state, action) =>
                        state === "Terminating:Wait" &&
                        (action?.hooksRun ?? []).includes(HOOK_NAME),
                },
                {
                    kind: "standby",
                    group: "the instance in Standby",
                    expected: { action: "ignored" },
                    prepare: (id) => setLifecycleState(emulator, id, "Standby"),
                    because: "it serves no traffic and is outside desired capacity already",
                    endsIn: (state) => state === "Standby",
                },
            ],
        },
        {
            capacityRebalance: true,
            scenarios: [
                {
                    kind: "rebalancing-idle",
                    group: "Capacity Rebalancing, which does nothing this time",
                    expected: { action: "detached", safetyNet: true },
                    prepare: async (id) => {
                        await sendSpotWarning(emulator, id, { groupReacts: false });
                    },
                    because: `left to the group for the ${SAFETY_NET_GRACE_MS / 1000} s grace; still InService at its end, so the safety net detached it`,
                    endsIn: gone,
                },
                {
                    kind: "rebalancing-reacts",
                    group: `Capacity Rebalancing, and a termination hook (${HOOK_NAME})`,
                    expected: { action: "left-to-group" },
                    prepare: async (id, groupName) => {
                        await hook(id, groupName);
                        await sendSpotWarning(emulator, id, { reactAfterMs: REACT_AFTER_MS });
                    },
                    because: "the group's Capacity Rebalancing terminates and replaces it",
                    endsIn: (state, action) =>
                        state === "Terminating:Wait" && action?.by === "CapacityRebalancing",
                },
            ],
        },
    ];
    for (const round of rounds) {
        report(
            `Seeding the workshop environment again, its web group ${round.capacityRebalance ? "with" : "without"} Capacity Rebalancing...`,
        );
        await emulator.reset();
        const environment = await seedWorkshopEnvironment(emulator, {
            webGroup: { capacityRebalance: round.capacityRebalance },
        });
        const group = environment.webGroupName;
        const members = (await describeGroupState(emulator, group)).instances;
        for (const [index, scenario] of round.scenarios.entries()) {
            const instanceId = members[index]?.instanceId;
            if (instanceId === undefined) {
                throw new Error(`Group ${group} has too few instances for every kind`);
            }
            report(`Decisions per kind of group: ${scenario.kind} (${instanceId})...`);
            runs.push(await runScenario(emulator, archive, group, instanceId, scenario));
        }
    }
    return runs;
}

const LEFT = "(left the group)";

async function runScenario(
    emulator: Emulator,
    archive: HandlerArchive,
    groupName: string,
    instanceId: string,
    scenario: Scenario,
): Promise<KindRun> {
    await scenario.prepare(instanceId, groupName);
    const stateOf = async () =>
        (await describeGroupState(emulator, groupName)).instances.find(
            (i) => i.instanceId === instanceId,
        )?.lifecycleState ?? LEFT;
    const stateBefore = await stateOf();
    const event = freshSampleEvent(instanceId, new Date(Date.now() - BACKDATE_MS));
    const startedAt = performance.now();
    const { results } = await archive.invoke([event], emulator.environment());
    const handlerMs = performance.now() - startedAt;
    const [result] = results;
    const summary = result.status === "fulfilled" ? result.value : undefined;
    const stateAfter = await stateOf();
    const { actions } = await describeGroupActions(emulator);
    const groupAction = actions.find((a) => a.instanceId === instanceId);
    const answered =
        summary !== undefined &&
        summary.action === scenario.expected.action &&
        summary.safetyNet === scenario.expected.safetyNet;
    return {
        kind: scenario.kind,
        group: scenario.group,
        instanceId,
        stateBefore,
        expected: scenario.expected,
        ...(summary === undefined
            ? { error: String((result as PromiseRejectedResult).reason) }
            : { summary }),
        reason: summary?.reason ?? scenario.because,
        ...(groupAction === undefined ? {} : { groupAction }),
        stateAfter,
        handlerMs,
        passed: answered && scenario.endsIn(stateAfter, groupAction),
    };
}

async function putTerminationHook(emulator: Emulator, groupName: string): Promise<void> {
    const autoScaling = new AutoScalingClient(clientConfigFor(emulator));
    try {
        await autoScaling.send(
            new PutLifecycleHookCommand({
                AutoScalingGroupName: groupName,
                LifecycleHookName: HOOK_NAME,
                LifecycleTransition: TERMINATING_TRANSITION,
                HeartbeatTimeout: 300,
            }),
        );
    } finally {
        autoScaling.destroy();
    }
}
