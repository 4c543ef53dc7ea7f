/**
 * Component names, checked against the physical names they imply before anything registers:
 * pulumi-aws would refuse an over-long auto-name only when that child is created, mid-deployment.
 */
import * as assert from "node:assert/strict";
import { recorded, registrationsSettled } from "../../offline/pulumi-engine";
import { emptyRecord, describeComponents, components } from "../support/handler-mocks";
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

// Each component's name limit, set by the child whose auto-name runs out of room first, and the
// names whose characters that child's name cannot hold.
const COMPONENTS = [
    {
        component: "SpotInterruptionHandler",
        child: { noun: "function", suffix: "-function", maxLength: 64 },
        maxLength: () => components.MAX_HANDLER_NAME_LENGTH,
        validate: (name: string) => components.validateHandlerName(name),
        create: (name: string) =>
            new components.SpotInterruptionHandler(name, { autoScalingGroupName: "web" }),
        tooLong: (name: string) =>
            `SpotInterruptionHandler: [name] "${name}" is 48 characters, but SpotInterruptionHandler names have at most 47: its function is auto-named "${name}-function" plus "-" and 7 random characters, and Lambda function names have at most 64; choose a shorter name`,
        badNames: [
            {
                refuses: "characters a function or queue name cannot hold",
                name: "spot.handler",
                message:
                    'SpotInterruptionHandler: [name] "spot.handler" would name its function "spot.handler-function-…", but Lambda function names allow only letters, digits, hyphens and underscores; choose a name of those',
            },
        ],
        autoNamed: HANDLER_AUTO_NAMED_CHILDREN,
        // Its optional children too: those of notifications and of fault injection.
        createWithEveryChild: (name: string) =>
            new components.SpotInterruptionHandler(name, {
                autoScalingGroupName: "web",
                notificationEmail: "ops@example.com",
                faultInjection: { enabled: true },
            }),
    },
    {
        component: "SpotWebTier",
        child: { noun: "load balancer", suffix: "-alb", maxLength: 32 },
        maxLength: () => components.MAX_WEB_TIER_NAME_LENGTH,
        validate: (name: string) => components.validateWebTierName(name),
        create: (name: string) => new components.SpotWebTier(name, {}),
        tooLong: (name: string) =>
            `SpotWebTier: [name] "${name}" is 21 characters, but SpotWebTier names have at most 20: its load balancer is auto-named "${name}-alb" plus "-" and 7 random characters, and load balancer names have at most 32; choose a shorter name`,
        badNames: [
            {
                refuses: "an underscore, which load balancer names cannot hold",
                name: "web_tier",
                message:
                    'SpotWebTier: [name] "web_tier" would name its load balancer "web_tier-alb-…", but load balancer names allow only letters, digits and hyphens, not starting with a hyphen; choose a name of those',
            },
            {
                refuses: '"internal", since a load balancer name cannot start with "internal-"',
                name: "internal",
                message:
                    'SpotWebTier: [name] "internal" would name its load balancer "internal-alb-…", but load balancer names cannot start with "internal-"; choose another name',
            },
        ],
        autoNamed: WEB_TIER_AUTO_NAMED_CHILDREN,
        createWithEveryChild: (name: string) => new components.SpotWebTier(name, {}),
    },
] as const;

describeComponents("component names", () => {
    beforeEach(emptyRecord);

    for (const { component, child, maxLength, validate, create, tooLong, badNames } of COMPONENTS) {
        const max = child.maxLength - child.suffix.length - 8;
        describe(component, () => {
            it(`takes names up to ${max} characters: a ${child.noun} name's ${child.maxLength}, less '${child.suffix}' and 8 for auto-naming`, () => {
                assert.equal(maxLength(), max);
                assert.equal(validate("n".repeat(max)), "n".repeat(max));
            });

            it(`refuses ${max + 1} characters before registering anything, with the limit and the child that sets it`, async () => {
                const name = "n".repeat(max + 1);
                await assertRefusedBeforeRegistering(() => create(name), tooLong(name));
            });

            for (const { refuses, name, message } of badNames) {
                it(`refuses ${refuses}`, () => {
                    assert.throws(() => validate(name), { message });
                });
            }
        });
    }

    describe("the lists of limited children, held to what the components register", () => {
        for (const { component, autoNamed, createWithEveryChild, maxLength } of COMPONENTS) {
            it(`${component}: every registered child of a limited type is listed, and fits at the longest name`, async () => {
                const name = "n".repeat(maxLength());
                createWithEveryChild(name);
                await registrationsSettled();

                const limited = recorded.filter((r) => isLimited(r.type));
                assert.deepEqual(
                    limited.map((r) => `${r.type} ${r.name}`).sort(),
                    autoNamed.map((c) => `${c.type} ${name}${c.suffix}`).sort(),
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
