/**
 * ignoreScalingChanges: whether `pulumi up` owns the group's desired capacity, or leaves it to
 * whoever scales the group at run time (a person, a handler that decrements).
 */
import * as assert from "node:assert/strict";
import {
    build,
    childOptions,
    describeTier,
    components,
    one,
    type SpotWebTierArgs,
} from "./support";

describeTier("SpotWebTier ignoreScalingChanges", () => {
    /** The group's ignoreChanges and its registered desired capacity, after building `args`. */
    async function groupAfter(args: SpotWebTierArgs) {
        await build("web", args);
        return {
            ignoreChanges: childOptions.get("web-asg")?.ignoreChanges,
            desiredCapacity: one("aws:autoscaling/group:Group").inputs.desiredCapacity,
        };
    }

    it("by default, lets pulumi up set desired capacity back to the argument", async () => {
        assert.deepEqual(await groupAfter({}), { ignoreChanges: undefined, desiredCapacity: 4 });
    });

    it("with the option on, ignores later changes to desired capacity but still creates the group at it", async () => {
        assert.deepEqual(await groupAfter({ ignoreScalingChanges: true, desiredCapacity: 3 }), {
            ignoreChanges: ["desiredCapacity"],
            desiredCapacity: 3,
        });
    });

    it("touches no other child's options", async () => {
        await build("web", { ignoreScalingChanges: true });
        const ignoring = [...childOptions]
            .filter(([, opts]) => opts.ignoreChanges !== undefined)
            .map(([name]) => name);
        assert.deepEqual(ignoring, ["web-asg"]);
    });

    it("refuses a value that is not a boolean, with the value to set", () => {
        assert.throws(
            () =>
                components.resolveWebTierSettings({
                    ignoreScalingChanges: "yes" as unknown as boolean,
                }),
            (error: Error) =>
                error instanceof components.ComponentArgsError &&
                error.message ===
                    'SpotWebTier: [ignoreScalingChanges] is "yes"; it must be true or false' &&
                error.remedy?.action === "set",
        );
    });
});
