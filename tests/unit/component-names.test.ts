/**
 * Component names, checked against the physical names they imply before anything registers:
 * pulumi-aws would refuse an over-long auto-name only when that child is created, mid-deployment.
 */
import * as assert from "node:assert/strict";
import { recorded, registrationsSettled } from "../../offline/pulumi-engine";
import {
    type Components,
    emptyRecord,
    describeComponents,
    components,
} from "../support/handler-mocks";
import {
    AUTO_NAME_RANDOM_SUFFIX_LENGTH,
    PHYSICAL_NAME_RULES,
    type LimitedType,
} from "../../components/shared/physical-names";
import { HANDLER_AUTO_NAMED_CHILDREN } from "../../components/spot-interruption-handler/names";
import { WEB_TIER_AUTO_NAMED_CHILDREN } from "../../components/spot-web-tier/names";

const isLimited = (type: string): type is LimitedType => type in PHYSICAL_NAME_RULES;

/** Asserts that `create` throws a ComponentArgsError with `message`, and that nothing registered. */
async function assertRefusedBeforeRegistering(create: () => unknown, message: string) {
    assert.throws(create, { name: "ComponentArgsError", message });
    await registrationsSettled();
    assert.deepEqual(recorded, []);
}

describeComponents("component names", () => {
    beforeEach(emptyRecord);

    describe("SpotInterruptionHandler", () => {
        it("takes names up to 47 characters: a function name's 64, less '-function' and 8 for auto-naming", () => {
            assert.equal(components.MAX_HANDLER_NAME_LENGTH, 64 - "-function".length - 8);
            assert.equal(components.validateHandlerName("h".repeat(47)), "h".repeat(47));
        });

        it("refuses 48 characters before registering anything, with the limit and the child that sets it", async () => {
            const name = "h".repeat(48);
            await assertRefusedBeforeRegistering(
                () => new components.SpotInterruptionHandler(name, { autoScalingGroupName: "web" }),
                `SpotInterruptionHandler: [name] "${name}" is 48 characters, but SpotInterruptionHandler names have at most 47: its function is auto-named "${name}-function" plus "-" and 7 random characters, and Lambda function names have at most 64; choose a shorter name`,
            );
        });

        it("refuses characters a function or queue name cannot hold", () => {
            assert.throws(() => components.validateHandlerName("spot.handler"), {
                message:
                    'SpotInterruptionHandler: [name] "spot.handler" would name its function "spot.handler-function-…", but Lambda function names allow only letters, digits, hyphens and underscores; choose a name of those',
            });
        });
    });

    describe("SpotWebTier", () => {
        it("takes names up to 20 characters: a load balancer name's 32, less '-alb' and 8 for auto-naming", () => {
            assert.equal(components.MAX_WEB_TIER_NAME_LENGTH, 32 - "-alb".length - 8);
            assert.equal(components.validateWebTierName("w".repeat(20)), "w".repeat(20));
        });

        it("refuses 21 characters before registering anything, with the limit and the child that sets it", async () => {
            const name = "w".repeat(21);
            await assertRefusedBeforeRegistering(
                () => new components.SpotWebTier(name, {}),
                `SpotWebTier: [name] "${name}" is 21 characters, but SpotWebTier names have at most 20: its load balancer is auto-named "${name}-alb" plus "-" and 7 random characters, and load balancer names have at most 32; choose a shorter name`,
            );
        });

        it("refuses an underscore, which load balancer names cannot hold", () => {
            assert.throws(() => components.validateWebTierName("web_tier"), {
                message:
                    'SpotWebTier: [name] "web_tier" would name its load balancer "web_tier-alb-…", but load balancer names allow only letters, digits and hyphens, not starting with a hyphen; choose a name of those',
            });
        });

        it('refuses "internal", since a load balancer name cannot start with "internal-"', () => {
            assert.throws(() => components.validateWebTierName("internal"), {
                message:
                    'SpotWebTier: [name] "internal" would name its load balancer "internal-alb-…", but load balancer names cannot start with "internal-"; choose another name',
            });
        });
    });

    describe("the lists of limited children, held to what the components register", () => {
        for (const [component, children, build] of [
            [
                "SpotInterruptionHandler",
                HANDLER_AUTO_NAMED_CHILDREN,
                (c: Components, name: string) =>
                    new c.SpotInterruptionHandler(name, {
                        autoScalingGroupName: "web",
                        notificationEmail: "ops@example.com",
                        faultInjection: { enabled: true },
                    }),
            ],
            [
                "SpotWebTier",
                WEB_TIER_AUTO_NAMED_CHILDREN,
                (c: Components, name: string) => new c.SpotWebTier(name, {}),
            ],
        ] as const) {
            it(`${component}: every registered child of a limited type is listed, and fits at the longest name`, async () => {
                const max =
                    component === "SpotWebTier"
                        ? components.MAX_WEB_TIER_NAME_LENGTH
                        : components.MAX_HANDLER_NAME_LENGTH;
                const name = "n".repeat(max);
                build(components, name);
                await registrationsSettled();

                const limited = recorded.filter((r) => isLimited(r.type));
                assert.deepEqual(
                    limited.map((r) => `${r.type} ${r.name}`).sort(),
                    children.map((c) => `${c.type} ${name}${c.suffix}`).sort(),
                );
                for (const { type, name: logical } of limited) {
                    const rule = PHYSICAL_NAME_RULES[type as LimitedType];
                    assert.ok(
                        logical.length + AUTO_NAME_RANDOM_SUFFIX_LENGTH <= rule.maxLength,
                        `${logical} fits ${rule.maxLength}`,
                    );
                }
            });
        }
    });
});
