/**
 * The stack config: readStackConfig as the program reads it, the `pulumi config` commands that fix
 * a key, and the bad configs the program refuses before it creates anything.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { recorded, registrationsSettled, runStackProgram } from "../../offline/pulumi-engine";
import { mockedStackPerSuite } from "../support/handler-mocks";

type ConfigModule = typeof import("../../config");

const PROJECT = "spot-interruption-handler";

describe("the stack config", () => {
    let configModule: ConfigModule;

    mockedStackPerSuite();
    before(async () => {
        configModule = await import("../../config");
    });

    describe("readStackConfig", () => {
        // What every stack reads when a key is not set.
        const defaults = {
            capacityOnInterruption: "keep",
            interruptionAction: "auto",
            delivery: "queue",
            dryRun: false,
            faultInjection: false,
        };
        const musicWeb = {
            kind: "existing-group",
            groups: { kind: "names", names: ["music-web"] },
            groupsKey: "autoScalingGroupName",
        };
        const cases: { it: string; config: Record<string, string>; read: unknown }[] = [
            {
                it: "returns web tier args with only the keys that are set, so the component's defaults apply",
                config: {
                    maxSize: "8",
                    instanceRequirements:
                        '{"vcpuCount":{"min":2,"max":4},"memoryMib":{"min":4096}}',
                },
                read: {
                    kind: "web-tier",
                    ...defaults,
                    webTier: {
                        maxSize: 8,
                        instanceRequirements: {
                            vcpuCount: { min: 2, max: 4 },
                            memoryMib: { min: 4096 },
                        },
                    },
                },
            },
            {
                it: "reads the dry run switch and the notification email",
                config: {
                    autoScalingGroupName: "music-web",
                    dryRun: "true",
                    notificationEmail: "ops@example.com",
                },
                read: {
                    ...musicWeb,
                    ...defaults,
                    dryRun: true,
                    notificationEmail: "ops@example.com",
                },
            },
            {
                it: "reads delivery direct",
                config: { autoScalingGroupName: "music-web", delivery: "direct" },
                read: { ...musicWeb, ...defaults, delivery: "direct" },
            },
        ];

        for (const c of cases) {
            it(c.it, () => {
                // Given the config's keys
                pulumi.runtime.setAllConfig(
                    Object.fromEntries(
                        Object.entries(c.config).map(([key, value]) => [
                            `${PROJECT}:${key}`,
                            value,
                        ]),
                    ),
                );
                // When it is read; Then it is exactly what the program builds from
                assert.deepEqual(configModule.readStackConfig(new pulumi.Config(PROJECT)), c.read);
            });
        }

        it("renders every remedy as a pulumi config command", () => {
            assert.deepEqual(
                [
                    configModule.fixCommand("minSize", { action: "set", value: "2" }),
                    configModule.fixCommand("subnetIds", {
                        action: "set",
                        path: "[0]",
                        value: "<subnet-id>",
                    }),
                    configModule.fixCommand("spotInstancePools", { action: "unset" }),
                    configModule.fixCommand("instanceTypes", { action: "unset", path: "[3]" }),
                ],
                [
                    "pulumi config set minSize 2",
                    "pulumi config set --path 'subnetIds[0]' <subnet-id>",
                    "pulumi config rm spotInstancePools",
                    "pulumi config rm --path 'instanceTypes[3]'",
                ],
            );
        });
    });

    describe("given a bad stack config", () => {
        // Each bad config, and the exact message that names its key and the command that fixes it.
        const refusals = JSON.parse(
            fs.readFileSync(path.join(__dirname, "stack-config-refusals.json"), "utf8"),
        ) as { when: string; config: Record<string, string>; message: string }[];
        for (const { when, config, message } of refusals) {
            it(`refuses ${when}, naming the key and the command that fixes it, before creating anything`, async () => {
                // Given the bad config
                // When the program runs
                // Then it fails with a StackConfigError
                await assert.rejects(runStackProgram(config), (error: unknown) => {
                    assert.ok(error instanceof configModule.StackConfigError);
                    assert.equal(error.message, message);
                    return true;
                });
                // And nothing was registered
                await registrationsSettled();
                assert.deepEqual(recorded, []);
            });
        }
    });
});
