import * as assert from "node:assert/strict";
import { MOCK_REGION, recorded, unwrap } from "../../../offline/pulumi-engine";
import { COMPONENT_TYPE, givenDefaultTier, describeTier } from "./support";

describeTier("SpotWebTier", () => {
    describe("given no args (every default)", () => {
        // Given a Region with four zones, When the tier is built with no args
        const defaults = givenDefaultTier();

        it("parents every child to the component and names it web-<role>", async () => {
            const children = recorded.filter((r) => r.type !== COMPONENT_TYPE);
            assert.ok(children.length > 0);
            for (const child of children) {
                assert.ok(
                    child.name.startsWith("web-"),
                    `${child.name} is named after the defaults.tier`,
                );
                assert.ok(
                    defaults.reachedByParent.includes(child.name),
                    `${child.name} is parented to the defaults.tier`,
                );
            }
            const urn = await unwrap(defaults.tier.autoScalingGroup.urn);
            assert.ok(urn.includes(`${COMPONENT_TYPE}$aws:autoscaling/group:Group::web-asg`));
        });

        it("exposes the load balancer's URL and the group for the handler", async () => {
            assert.equal(
                await unwrap(defaults.tier.url),
                `http://web-alb-a1b2c3d-1234567890.${MOCK_REGION}.elb.amazonaws.com`,
            );
            assert.equal(await unwrap(defaults.tier.autoScalingGroup.name), "web-asg-a1b2c3d");
        });
    });
});
