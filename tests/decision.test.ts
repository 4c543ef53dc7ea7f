import * as assert from "node:assert/strict";
import {
    classifyDetachFailure,
    judgeMembership,
    parseInterruptionWarning,
    planCapacity,
    readHandlerConfig,
} from "../handler";

describe("the handler's pure decisions", () => {
    describe("parseInterruptionWarning", () => {
        const warning = (instanceId: unknown) => ({
            id: "e-1",
            source: "aws.ec2",
            "detail-type": "EC2 Spot Instance Interruption Warning",
            detail: { "instance-id": instanceId, "instance-action": "terminate" },
        });

        it("accepts both the 8- and the 17-hex-digit instance id formats", () => {
            for (const id of ["i-1234abcd", "i-0123456789abcdef0"]) {
                assert.deepEqual(parseInterruptionWarning(warning(id)), {
                    kind: "interruption-warning",
                    eventId: "e-1",
                    instanceId: id,
                });
            }
        });

        it("rejects ids that EC2 never issues, naming the field", () => {
            for (const id of ["i-XYZ", "i-0123456789ABCDEF0", "sg-0123456789abcdef0", 7, ""]) {
                const parsed = parseInterruptionWarning(warning(id));
                assert.equal(parsed.kind, "unrecognised");
                assert.match(
                    parsed.kind === "unrecognised" ? parsed.reason : "",
                    /detail.instance-id/,
                );
            }
        });
    });

    describe("judgeMembership", () => {
        it("detaches only InService or Standby members of the configured group", () => {
            const member = (state: string, group = "web") =>
                judgeMembership(
                    "i-1234abcd",
                    { autoScalingGroupName: group, lifecycleState: state },
                    "web",
                );

            assert.deepEqual(member("InService"), { verdict: "detach" });
            assert.deepEqual(member("Standby"), { verdict: "detach" });
            assert.equal(member("Pending").verdict, "ignore");
            assert.equal(member("InService", "batch").verdict, "ignore");
            assert.equal(judgeMembership("i-1234abcd", undefined, "web").verdict, "ignore");
        });
    });

    describe("planCapacity", () => {
        it("decrements only while desired - 1 stays at or above MinSize", () => {
            assert.equal(
                planCapacity("decrement", { minSize: 2, desiredCapacity: 3 })
                    .shouldDecrementDesiredCapacity,
                true,
            );
            const atMinimum = planCapacity("decrement", { minSize: 2, desiredCapacity: 2 });
            assert.equal(atMinimum.shouldDecrementDesiredCapacity, false);
            assert.equal(atMinimum.capacityOnInterruption, "keep");
            assert.match(atMinimum.fallbackReason ?? "", /launches a replacement/);
        });

        it("never decrements when keeping, whatever the sizes", () => {
            assert.deepEqual(planCapacity("keep", { minSize: 0, desiredCapacity: 9 }), {
                capacityOnInterruption: "keep",
                shouldDecrementDesiredCapacity: false,
            });
        });

        it("lets AWS judge a decrement when the group's sizes are unknown", () => {
            assert.equal(planCapacity("decrement", undefined).shouldDecrementDesiredCapacity, true);
        });
    });

    describe("classifyDetachFailure", () => {
        it("tells duplicates, MinSize refusals and everything else apart", () => {
            const kind = (name: string, message: string) =>
                classifyDetachFailure({ name, message }).kind;

            assert.equal(
                kind("ValidationError", "The instance i-1 is not part of Auto Scaling group web."),
                "already-leaving",
            );
            assert.equal(
                kind("ValidationError", "The instance i-1 is not in InService or Standby."),
                "already-leaving",
            );
            assert.equal(
                kind(
                    "ValidationError",
                    "AutoScalingGroup web has min-size=2, max-size=4, and desired-size=2. To detach 1 instance, please update the AutoScalingGroup sizes appropriately.",
                ),
                "below-min-size",
            );
            assert.equal(kind("ValidationError", "Group web not found"), "unexpected");
            assert.equal(kind("Throttling", "Rate exceeded"), "unexpected");
            assert.equal(
                kind("AccessDenied", "The instance i-1 is not part of Auto Scaling group web."),
                "unexpected",
            );
        });
    });

    describe("readHandlerConfig", () => {
        it("defaults to keep", () => {
            assert.deepEqual(readHandlerConfig({ AUTO_SCALING_GROUP_NAME: "web" }), {
                autoScalingGroupName: "web",
                capacityOnInterruption: "keep",
            });
        });

        it("throws, naming the variable, when the group is missing or the choice is unknown", () => {
            assert.throws(() => readHandlerConfig({}), /AUTO_SCALING_GROUP_NAME is not set/);
            assert.throws(
                () =>
                    readHandlerConfig({
                        AUTO_SCALING_GROUP_NAME: "web",
                        CAPACITY_ON_INTERRUPTION: "shrink",
                    }),
                /CAPACITY_ON_INTERRUPTION is "shrink": set it to one of keep, decrement/,
            );
        });
    });
});
