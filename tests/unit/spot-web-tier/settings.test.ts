import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { recorded, registrationsSettled, resetRecorded } from "../../../offline/pulumi-engine";
import { describeTier, components, type SpotWebTierArgs } from "./support";

describeTier("SpotWebTier settings", () => {
    describe("given bad or conflicting args", () => {
        // Each bad or conflicting argument: the problem, and the remedy that fixes it.
        const cases = JSON.parse(
            fs.readFileSync(path.join(__dirname, "settings-refusals.json"), "utf8"),
        ) as {
            when: string;
            args: SpotWebTierArgs;
            argument: string;
            message: string;
            remedy: Record<string, string>;
        }[];

        for (const { when, args, argument, message, remedy } of cases) {
            it(`refuses ${when} at construction, naming [${argument}], and registers nothing`, async () => {
                // Given a clean slate
                resetRecorded();
                // When the tier is built with the bad args
                // Then it throws a ComponentArgsError that names the argument and what is allowed
                assert.throws(
                    () => new components.SpotWebTier("bad", args),
                    (error: unknown) => {
                        assert.ok(error instanceof components.ComponentArgsError);
                        assert.equal(error.message, `SpotWebTier: [${argument}] ${message}`);
                        assert.equal(error.component, "SpotWebTier");
                        assert.equal(error.argument, argument);
                        assert.equal(error.problem, message);
                        assert.deepEqual(error.remedy, remedy);
                        return true;
                    },
                );
                // And not even the component was registered, once registrations have settled
                // (proven: with validation moved after super(), this fails with the component).
                await registrationsSettled();
                assert.deepEqual(recorded, []);
            });
        }
    });

    describe("pure helpers", () => {
        describe("resolveWebTierSettings", () => {
            it("applies every default when given nothing", () => {
                // Pulumi.yaml's test and the built tier's pin each value; this, where each one lands.
                const { availabilityZoneCount, instanceTypes, ...flat } =
                    components.WEB_TIER_DEFAULTS;
                assert.deepEqual(components.resolveWebTierSettings({}), {
                    ...flat,
                    network: { kind: "new-vpc", availabilityZoneCount },
                    instanceSelection: { kind: "types", instanceTypes: [...instanceTypes] },
                    ignoreScalingChanges: false,
                });
            });

            it("accepts every documented allocation strategy with instance types", () => {
                for (const strategy of components.SPOT_ALLOCATION_STRATEGIES) {
                    const settings = components.resolveWebTierSettings({
                        spotAllocationStrategy: strategy,
                    });
                    assert.equal(settings.spotAllocationStrategy, strategy);
                }
                assert.deepEqual(components.SPOT_ALLOCATION_STRATEGIES, [
                    "price-capacity-optimized",
                    "capacity-optimized",
                    "capacity-optimized-prioritized",
                    "lowest-price",
                ]);
            });

            it("accepts the edges: 0 and 3600 seconds of delay, 16 zones, 40 types, a group of 0", () => {
                for (const delay of [0, 3600]) {
                    assert.equal(
                        components.resolveWebTierSettings({ deregistrationDelaySeconds: delay })
                            .deregistrationDelaySeconds,
                        delay,
                    );
                }
                assert.deepEqual(
                    components.resolveWebTierSettings({ availabilityZoneCount: 16 }).network,
                    { kind: "new-vpc", availabilityZoneCount: 16 },
                );
                const forty = Array.from({ length: 40 }, (_, i) => `m${i}.large`);
                assert.deepEqual(
                    components.resolveWebTierSettings({ instanceTypes: forty }).instanceSelection,
                    { kind: "types", instanceTypes: forty },
                );
                const empty = components.resolveWebTierSettings({
                    minSize: 0,
                    maxSize: 1,
                    desiredCapacity: 0,
                });
                assert.deepEqual([empty.minSize, empty.desiredCapacity, empty.maxSize], [0, 0, 1]);
            });
        });
    });
});
