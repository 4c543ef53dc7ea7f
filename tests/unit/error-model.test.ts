/**
 * One error model for arguments and config: every component refuses a bad argument with a
 * ComponentArgsError that carries the component, the argument and the problem, and its message
 * is made of exactly those; the stack's config errors are the same kind, with their fix command.
 */
import * as assert from "node:assert/strict";
import { installPulumiMocks } from "../../offline/pulumi-engine";

type Components = typeof import("../../components");

describe("the one error model for arguments and config", () => {
    let components: Components;

    before(async () => {
        installPulumiMocks();
        components = await import("../../components");
    });

    const cases: {
        when: string;
        build: (c: Components) => unknown;
        component: string;
        argument: string;
    }[] = [
        {
            when: "a handler argument out of range",
            build: (c) =>
                new c.SpotInterruptionHandler("e1", {
                    autoScalingGroupName: "web",
                    memorySizeMb: 64,
                }),
            component: "SpotInterruptionHandler",
            argument: "memorySizeMb",
        },
        {
            when: "a fault injection field",
            build: (c) =>
                new c.SpotInterruptionHandler("e2", {
                    autoScalingGroupTag: { key: "team" },
                    faultInjection: { enabled: true },
                }),
            component: "SpotInterruptionHandler",
            argument: "faultInjection.autoScalingGroupName",
        },
        {
            when: "a monitoring argument",
            build: (c) =>
                new c.SpotInterruptionHandler("e3", {
                    autoScalingGroupName: "web",
                    notifyOnDetach: true,
                }),
            component: "SpotInterruptionHandler",
            argument: "notifyOnDetach",
        },
        {
            when: "a web tier argument",
            build: (c) => new c.SpotWebTier("e4", { minSize: 5, maxSize: 2 }),
            component: "SpotWebTier",
            argument: "minSize",
        },
    ];

    for (const { when, build, component, argument } of cases) {
        it(`refuses ${when} with a ComponentArgsError naming ${component} [${argument}]`, () => {
            assert.throws(
                () => build(components),
                (error: unknown) => {
                    assert.ok(error instanceof components.ComponentArgsError, String(error));
                    assert.equal(error.name, "ComponentArgsError");
                    assert.equal(error.component, component);
                    assert.equal(error.argument, argument);
                    assert.ok(error.problem.length > 0);
                    assert.equal(error.message, `${component}: [${argument}] ${error.problem}`);
                    return true;
                },
            );
        });
    }

    it("makes the stack's config errors the same kind, with the command that fixes them", async () => {
        const { StackConfigError } = await import("../../config");
        const error = new StackConfigError("dryRun", 'is "yes"', "pulumi config set dryRun true");
        assert.ok(error instanceof components.ComponentArgsError);
        assert.equal(error.component, "Stack config");
        assert.equal(error.argument, "dryRun");
        assert.equal(error.fixCommand, "pulumi config set dryRun true");
        assert.equal(
            error.message,
            'Stack config "dryRun" is "yes". Fix it with: pulumi config set dryRun true',
        );
    });

    it("reports an argument error found inside an apply as a pulumi.ResourceError, and a bug as it is", async () => {
        const pulumi = await import("@pulumi/pulumi");
        const { errorInApply, ComponentArgsError } =
            await import("../../components/shared/argument-checks");
        const resource = new pulumi.ComponentResource("test:index:Owner", "owner");
        const argumentProblem = new ComponentArgsError("SpotWebTier", "minSize", "is 5");
        const wrapped = errorInApply(argumentProblem, resource);
        assert.ok(wrapped instanceof pulumi.ResourceError);
        assert.equal((wrapped as Error).message, "SpotWebTier: [minSize] is 5");
        const bug = new TypeError("undefined is not a function");
        assert.equal(errorInApply(bug, resource), bug);
    });
});
