/**
 * What the handler makes of one warned instance, given its group's own machinery: Capacity
 * Rebalancing, the lifecycle state AWS reports, and the settings. Pure, so every row is checked.
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import {
    type ActionSettings,
    type GroupSnapshot,
    judgeMembership,
    type MembershipVerdict,
    type WarnedInstance,
} from "../../handler/decision";
import { OUT_OF_SERVICE_DEADLINE_MS, SAFETY_NET_GRACE_MS } from "../../contract";

const INSTANCE = "i-0123456789abcdef0";
const SENT_AT = Date.parse("2026-12-07T12:00:00Z");
const WEB = { kind: "names", names: ["web"] } as const;

function group(state: string, capacityRebalance: boolean): GroupSnapshot {
    return {
        name: "web",
        minSize: 1,
        desiredCapacity: 4,
        instances: new Map([[INSTANCE, state]]),
        tags: new Map(),
        capacityRebalance,
    };
}

const spot: WarnedInstance = { instanceId: INSTANCE, kind: "spot", sentAtMs: SENT_AT };
const auto = (capacityOnInterruption: "keep" | "decrement" = "keep"): ActionSettings => ({
    interruptionAction: "auto",
    capacityOnInterruption,
});

function judge(
    state: string,
    capacityRebalance: boolean,
    options: { settings?: ActionSettings; warning?: WarnedInstance; afterMs?: number } = {},
): MembershipVerdict {
    return judgeMembership(
        options.warning ?? spot,
        group(state, capacityRebalance),
        WEB,
        options.settings ?? auto(),
        SENT_AT + (options.afterMs ?? 2_000),
    );
}

describe("judging a warned instance with its group's own machinery", () => {
    describe("given a group with Capacity Rebalancing, keep, and a Spot warning", () => {
        it("leaves it to the group during the grace, with the re-check due when the grace ends", () => {
            const verdict = judge("InService", true);
            assert.equal(verdict.verdict, "wait");
            assert.equal(verdict.verdict === "wait" && verdict.waitingFor, "capacity-rebalancing");
            assert.equal(
                verdict.verdict === "wait" && verdict.recheckAtMs,
                SENT_AT + SAFETY_NET_GRACE_MS,
            );
        });

        it("acts as a safety net once the grace has passed with the instance still InService", () => {
            assert.deepEqual(judge("InService", true, { afterMs: SAFETY_NET_GRACE_MS }), {
                verdict: "act",
                autoScalingGroupName: "web",
                safetyNet: true,
            });
        });

        it("counts the group's own termination as left to the group, hook or none", () => {
            for (const state of ["Terminating", "Terminating:Wait", "Terminating:Proceed"]) {
                assert.equal(judge(state, true).verdict, "left-to-group", state);
            }
        });

        it("leaves a warning without a time to the group from when the handler first saw it", () => {
            const untimed = { instanceId: INSTANCE, kind: "spot" as const };
            const verdict = judge("InService", true, { warning: untimed });
            assert.equal(
                verdict.verdict === "wait" && verdict.recheckAtMs,
                SENT_AT + 2_000 + SAFETY_NET_GRACE_MS,
            );
        });
    });

    describe("when Capacity Rebalancing does not cover the warning", () => {
        it("acts at once with decrement: the group's reaction would replace the instance instead", () => {
            assert.deepEqual(judge("InService", true, { settings: auto("decrement") }), {
                verdict: "act",
                autoScalingGroupName: "web",
                safetyNet: false,
            });
        });

        it("acts at once on a Capacity Reservation warning, which no group reacts to", () => {
            const reservation = { ...spot, kind: "capacity-reservation" as const };
            assert.equal(judge("InService", true, { warning: reservation }).verdict, "act");
        });

        it("acts at once when the action is forced, or the group has no Capacity Rebalancing", () => {
            for (const interruptionAction of ["detach", "terminate"] as const) {
                const settings = { interruptionAction, capacityOnInterruption: "keep" as const };
                assert.equal(judge("InService", true, { settings }).verdict, "act");
            }
            assert.equal(judge("InService", false).verdict, "act");
            assert.equal(judge("Terminating", false).verdict, "ignore");
        });
    });

    describe("whatever the group does", () => {
        it("waits for a launching instance, and acts once it is InService", () => {
            for (const state of ["Pending", "Pending:Wait", "Pending:Proceed"]) {
                const verdict = judge(state, false);
                assert.equal(verdict.verdict === "wait" && verdict.waitingFor, "pending", state);
                assert.equal(verdict.verdict === "wait" && verdict.recheckAtMs, undefined, state);
            }
        });

        it("acknowledges Standby and Retained instances with their own reasons, without a call", () => {
            const standby = judge("Standby", true);
            assert.equal(standby.verdict === "ignore" && standby.reason, "standby");
            const retained = judge("Terminating:Retained", false);
            assert.equal(retained.verdict === "ignore" && retained.reason, "retained");
        });

        it("never acts on an instance outside the chosen groups", () => {
            const verdict = judgeMembership(spot, undefined, WEB, auto(), SENT_AT);
            assert.equal(verdict.verdict === "ignore" && verdict.reason, "not-a-member");
        });
    });

    it("never acts during the grace on a keep group with Capacity Rebalancing, and always after it", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 0, max: OUT_OF_SERVICE_DEADLINE_MS }),
                fc.constantFrom("keep", "decrement"),
                fc.constantFrom("spot", "capacity-reservation"),
                fc.boolean(),
                (afterMs, capacityOnInterruption, kind, capacityRebalance) => {
                    const verdict = judge("InService", capacityRebalance, {
                        afterMs,
                        settings: auto(capacityOnInterruption as "keep" | "decrement"),
                        warning: { ...spot, kind: kind as "spot" | "capacity-reservation" },
                    });
                    const groupActs =
                        capacityRebalance && capacityOnInterruption === "keep" && kind === "spot";
                    const expected = groupActs && afterMs < SAFETY_NET_GRACE_MS ? "wait" : "act";
                    assert.equal(verdict.verdict, expected);
                    if (verdict.verdict === "act") {
                        assert.equal(verdict.safetyNet, groupActs);
                    }
                },
            ),
        );
    });
});
