/**
 * `pulumi up` on a fresh clone, as the CLI runs it: before the program starts, the CLI validates
 * Pulumi.yaml and merges its project config into the stack's (pulumi/pulumi `mergeConfig`, in
 * pkg/workspace/config.go, modelled by offline/pulumi-config-merge.ts). Mocks skip all of that, so
 * these tests apply the merge first and then run index.ts with exactly the config the CLI passes.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import {
    applyConfigSet,
    mergeConfig,
    type Project,
    programConfig,
    readProject,
    readStackFile,
    type StackConfig,
} from "../../offline/pulumi-config-merge";
import { recorded, type RecordedResource, runStackProgram } from "../../offline/pulumi-engine";
import { ARGUMENTS_PAGE, configSetLines, shellBlocks } from "../support/readme";
import { ROOT } from "../support/processes";

type ConfigModule = typeof import("../../config");
type WebTierModule = typeof import("../../components/spot-web-tier");

const PROJECT = "spot-interruption-handler";
const WEB_TIER_TYPE = "spot-interruption-handler:index:SpotWebTier";

const project = (): Project => readProject(path.join(ROOT, "Pulumi.yaml"));
const devStack = (): StackConfig => readStackFile(path.join(ROOT, "Pulumi.dev.yaml"));

/** The dev stack after these `pulumi config set` lines, merged as `pulumi up` merges it. */
function mergedDevConfig(lines: readonly string[], into: Project = project()): StackConfig {
    const stack = devStack();
    for (const line of lines) {
        applyConfigSet(stack, into.name, line);
    }
    return mergeConfig("dev", into, stack);
}

function one(type: string): RecordedResource {
    const matches = recorded.filter((r) => r.type === type);
    assert.equal(matches.length, 1, `exactly one ${type}`);
    return matches[0];
}

function handlerEnvironment(): Record<string, string> {
    const environment = one("aws:lambda/function:Function").inputs.environment as {
        variables: Record<string, string>;
    };
    return environment.variables;
}

describe("pulumi up's config checks (mergeConfig), before the program runs", () => {
    let configModule: ConfigModule;
    let webTierModule: WebTierModule;

    before(async () => {
        configModule = await import("../../config");
        webTierModule = await import("../../components/spot-web-tier");
    });

    describe("Pulumi.yaml", () => {
        it("passes the CLI's own validation of the project file", () => {
            assert.doesNotThrow(project);
        });

        it("declares only keys the program reads, each with the program's type and a description", () => {
            const declared = project().config;
            const types: Record<string, string> = configModule.STACK_CONFIG_TYPES;
            for (const [key, declaration] of Object.entries(declared)) {
                const type =
                    declaration.items === undefined
                        ? declaration.type
                        : `${declaration.type}<${declaration.items.type}>`;
                assert.equal(type, types[key], `${key}'s type`);
                assert.ok((declaration.description ?? "").length > 20, `${key}'s description`);
            }
        });

        it("declares exactly the keys that have a default in code, each with that default", () => {
            const codeDefaults: Record<string, unknown> = {
                ...configModule.HANDLER_CONFIG_DEFAULTS,
                ...webTierModule.WEB_TIER_DEFAULTS,
            };
            const declaredDefaults = Object.fromEntries(
                Object.entries(project().config).map(([key, d]) => [key, d.default]),
            );
            const configurable = Object.fromEntries(
                Object.keys(configModule.STACK_CONFIG_TYPES)
                    .filter((key) => codeDefaults[key] !== undefined)
                    .map((key) => [key, codeDefaults[key]]),
            );
            assert.deepEqual(declaredDefaults, configurable);
        });

        it("requires no key, so a stack that sets only its Region passes", () => {
            const merged = mergeConfig("dev", project(), devStack());
            assert.equal(merged.get("aws:region")?.kind, "text");
        });
    });

    describe("given the README's recipe for the whole architecture, on Pulumi.dev.yaml", () => {
        let merged: StackConfig;

        before(async () => {
            // Given the recipe's config lines (it has none) on the committed dev stack
            const [webTierRecipe] = shellBlocks("Deploy");
            // When the CLI merges Pulumi.yaml into it and runs the program
            merged = mergedDevConfig(configSetLines(webTierRecipe));
            await runStackProgram(programConfig(merged));
        });

        it("writes each declared default into the stack's config, as the program then reads it", () => {
            const declaredDefaults = {
                capacityOnInterruption: "keep",
                interruptionAction: "auto",
                delivery: "queue",
                dryRun: "false",
                faultInjection: "false",
                permissionsBoundary: "",
                availabilityZoneCount: "3",
                deregistrationDelaySeconds: "120",
                instanceTypes: JSON.stringify(webTierModule.DEFAULT_INSTANCE_TYPES),
                spotAllocationStrategy: "price-capacity-optimized",
                onDemandBaseCapacity: "0",
                onDemandPercentageAboveBaseCapacity: "0",
                capacityRebalance: "true",
                minSize: "2",
                maxSize: "12",
                desiredCapacity: "4",
            };
            const projectKeys = Object.entries(declaredDefaults).map(([k, v]) => [
                `${PROJECT}:${k}`,
                v,
            ]);
            assert.deepEqual(programConfig(merged), {
                "aws:region": "eu-west-1",
                ...Object.fromEntries(projectKeys),
            });
        });

        it("plans the web tier with those defaults, and the handler on its group", () => {
            assert.equal(one(WEB_TIER_TYPE).name, "web");
            const group = one("aws:autoscaling/group:Group").inputs;
            assert.deepEqual([group.minSize, group.desiredCapacity, group.maxSize], [2, 4, 12]);
            const policy = group.mixedInstancesPolicy as {
                instancesDistribution: Record<string, unknown>;
                launchTemplate: { overrides: unknown[] };
            };
            assert.equal(policy.launchTemplate.overrides.length, 14);
            assert.deepEqual(policy.instancesDistribution, {
                onDemandAllocationStrategy: "prioritized",
                onDemandBaseCapacity: 0,
                onDemandPercentageAboveBaseCapacity: 0,
                spotAllocationStrategy: "price-capacity-optimized",
            });
            assert.equal(group.capacityRebalance, true);
            assert.equal(one("aws:lb/targetGroup:TargetGroup").inputs.deregistrationDelay, 120);
            assert.equal(recorded.filter((r) => r.type === "aws:ec2/subnet:Subnet").length, 3);
            assert.equal(handlerEnvironment().AUTO_SCALING_GROUP_NAMES, '["web-asg-a1b2c3d"]');
            assert.equal(handlerEnvironment().CAPACITY_ON_INTERRUPTION, "keep");
        });
    });

    describe("given the README's recipe for an existing group, on Pulumi.dev.yaml", () => {
        before(async () => {
            const [, existingGroupRecipe] = shellBlocks("Deploy");
            assert.deepEqual(configSetLines(existingGroupRecipe), [
                "pulumi config set autoScalingGroupName my-spot-group",
                "pulumi config set capacityOnInterruption keep   # or decrement",
            ]);
            await runStackProgram(
                programConfig(mergedDevConfig(configSetLines(existingGroupRecipe))),
            );
        });

        it("plans the handler on that group, undeterred by the web tier defaults the CLI wrote in", () => {
            assert.equal(recorded.filter((r) => r.type === WEB_TIER_TYPE).length, 0);
            assert.equal(handlerEnvironment().AUTO_SCALING_GROUP_NAMES, '["my-spot-group"]');
        });
    });

    describe("given the README's recipes for many groups, by list and by tag", () => {
        it("plans one handler on both listed groups, and no web tier", async () => {
            const [, , listRecipe] = shellBlocks("Deploy");
            assert.equal(configSetLines(listRecipe).length, 2);
            await runStackProgram(programConfig(mergedDevConfig(configSetLines(listRecipe))));

            assert.equal(recorded.filter((r) => r.type === WEB_TIER_TYPE).length, 0);
            assert.equal(handlerEnvironment().AUTO_SCALING_GROUP_NAMES, '["web-blue","web-green"]');
        });

        it("plans one handler on every group with the tag, and no web tier", async () => {
            const [, , , tagRecipe] = shellBlocks("Deploy");
            assert.equal(configSetLines(tagRecipe).length, 2);
            await runStackProgram(programConfig(mergedDevConfig(configSetLines(tagRecipe))));

            assert.equal(recorded.filter((r) => r.type === WEB_TIER_TYPE).length, 0);
            assert.equal(
                handlerEnvironment().AUTO_SCALING_GROUP_TAG,
                '{"key":"spot-interruption-handler","value":"enabled"}',
            );
        });
    });

    describe("given a web tier key set away from its default while protecting an existing group", () => {
        it("stops the program with the key and the command that removes it", async () => {
            const merged = mergedDevConfig([
                "pulumi config set autoScalingGroupName my-spot-group",
                "pulumi config set minSize 3",
            ]);
            await assert.rejects(runStackProgram(programConfig(merged)), {
                name: "StackConfigError",
                message:
                    'Stack config "minSize" shapes the web tier, which the stack does not build while autoScalingGroupName names an existing group. Fix it with: pulumi config rm minSize',
            });
        });
    });

    describe("given the --path lines for instanceRequirements in docs/arguments.md", () => {
        it("selects by attributes, although the CLI wrote instanceTypes' default in", async () => {
            const [pathExamples] = shellBlocks("Stack configuration", ARGUMENTS_PAGE);
            const lines = configSetLines(pathExamples).filter((l) =>
                l.includes("instanceRequirements"),
            );
            assert.equal(lines.length, 2);

            await runStackProgram(programConfig(mergedDevConfig(lines)));

            const launchTemplate = one("aws:autoscaling/group:Group").inputs
                .mixedInstancesPolicy as {
                launchTemplate: { overrides: { instanceRequirements?: unknown }[] };
            };
            assert.deepEqual(launchTemplate.launchTemplate.overrides.length, 1);
            assert.ok(launchTemplate.launchTemplate.overrides[0].instanceRequirements);
        });
    });

    describe("given an existing VPC and its subnets", () => {
        it("uses them, although the CLI wrote availabilityZoneCount's default in", async () => {
            await runStackProgram(
                programConfig(
                    mergedDevConfig([
                        "pulumi config set vpcId vpc-0123456789abcdef0",
                        "pulumi config set --path 'subnetIds[0]' subnet-0123456789abcdef0",
                        "pulumi config set --path 'subnetIds[1]' subnet-0123456789abcdef1",
                    ]),
                ),
            );
            assert.equal(recorded.filter((r) => r.type === "aws:ec2/vpc:Vpc").length, 0);
            assert.deepEqual(one("aws:lb/loadBalancer:LoadBalancer").inputs.subnets, [
                "subnet-0123456789abcdef0",
                "subnet-0123456789abcdef1",
            ]);
        });
    });

    describe("given a key declared with a type and no default, which the stack does not set", () => {
        it("stops before the program with the CLI's message, naming every missing key", () => {
            const base = project();
            const withRequired: Project = {
                ...base,
                config: {
                    ...base.config,
                    alarmEmail: { type: "string", description: "Where alarms go." },
                    team: { type: "string" },
                },
            };
            assert.throws(() => mergedDevConfig([], withRequired), {
                name: "StackConfigMergeError",
                message: "Stack 'dev' is missing configuration values 'alarmEmail' and 'team'",
            });
            assert.throws(
                () => mergedDevConfig([], { ...base, config: { ...base.config, team: {} } }),
                { message: "Stack 'dev' is missing configuration value 'team'" },
            );
        });
    });

    describe("given a value of the wrong type", () => {
        const cases = [
            {
                line: "pulumi config set minSize two",
                message: "'minSize' must be of type 'integer'",
            },
            { line: "pulumi config set dryRun yes", message: "'dryRun' must be of type 'boolean'" },
            {
                line: "pulumi config set instanceTypes m5.large",
                message: "'instanceTypes' must be of type 'array<string>'",
            },
            {
                line: "pulumi config set --path 'instanceTypes[0]' 5",
                message: "'instanceTypes' must be of type 'array<string>'",
            },
        ];
        for (const { line, message } of cases) {
            it(`stops \`${line}\` before the program with the CLI's message`, () => {
                assert.throws(() => mergedDevConfig([line]), {
                    name: "StackConfigMergeError",
                    message: `Stack 'dev' with configuration key ${message}`,
                });
            });
        }

        it("accepts what the CLI accepts: integers and booleans as text, items set by path", () => {
            const merged = mergedDevConfig([
                "pulumi config set minSize 3",
                "pulumi config set dryRun true",
                "pulumi config set --path 'instanceTypes[0]' m7i.large",
                "pulumi config set --path 'instanceTypes[1]' c7i.large",
            ]);
            assert.deepEqual(merged.get(`${PROJECT}:instanceTypes`), {
                kind: "object",
                value: ["m7i.large", "c7i.large"],
            });
            assert.deepEqual(merged.get(`${PROJECT}:minSize`), { kind: "text", text: "3" });
        });
    });

    describe("given a Pulumi.yaml the CLI refuses", () => {
        it("names a default that does not match its key's type", async () => {
            const { validateProject } = await import("../../offline/pulumi-config-merge");
            assert.throws(
                () =>
                    validateProject({
                        name: PROJECT,
                        config: { minSize: { type: "integer", default: "two" } },
                    }),
                {
                    message:
                        "The default value specified for configuration key 'minSize' is not of the expected type 'integer'",
                },
            );
        });
    });
});
