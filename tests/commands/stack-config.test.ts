/** readStackConfig: the stack config as the program reads it, and the `pulumi config` commands that fix a key. */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { installPulumiMocks, resetRecorded } from "../../local";

type ConfigModule = typeof import("../../config");

const PROJECT = "spot-interruption-handler";

describe("the stack config", () => {
    let configModule: ConfigModule;

    before(async () => {
        installPulumiMocks();
        configModule = await import("../../config");
    });

    after(() => {
        pulumi.runtime.setAllConfig({});
        resetRecorded();
    });

    describe("readStackConfig", () => {
        it("returns web tier args with only the keys that are set, so the component's defaults apply", () => {
            // Given a config with two web tier keys
            pulumi.runtime.setAllConfig({
                [`${PROJECT}:maxSize`]: "8",
                [`${PROJECT}:instanceRequirements`]:
                    '{"vcpuCount":{"min":2,"max":4},"memoryMib":{"min":4096}}',
            });
            // When it is read
            const config = configModule.readStackConfig(new pulumi.Config(PROJECT));
            // Then only those keys reach the tier
            assert.deepEqual(config, {
                kind: "web-tier",
                capacityOnInterruption: "keep",
                interruptionAction: "auto",
                delivery: "queue",
                dryRun: false,
                faultInjection: false,
                webTier: {
                    maxSize: 8,
                    instanceRequirements: {
                        vcpuCount: { min: 2, max: 4 },
                        memoryMib: { min: 4096 },
                    },
                },
            });
        });

        it("reads the dry run switch and the notification email", () => {
            pulumi.runtime.setAllConfig({
                [`${PROJECT}:autoScalingGroupName`]: "music-web",
                [`${PROJECT}:dryRun`]: "true",
                [`${PROJECT}:notificationEmail`]: "ops@example.com",
            });
            assert.deepEqual(configModule.readStackConfig(new pulumi.Config(PROJECT)), {
                kind: "existing-group",
                groups: { kind: "names", names: ["music-web"] },
                groupsKey: "autoScalingGroupName",
                capacityOnInterruption: "keep",
                interruptionAction: "auto",
                delivery: "queue",
                dryRun: true,
                faultInjection: false,
                notificationEmail: "ops@example.com",
            });
        });

        it("reads delivery direct", () => {
            // Given direct delivery for an existing group
            pulumi.runtime.setAllConfig({
                [`${PROJECT}:autoScalingGroupName`]: "music-web",
                [`${PROJECT}:delivery`]: "direct",
            });
            // When it is read; Then the handler is to be invoked directly
            assert.deepEqual(configModule.readStackConfig(new pulumi.Config(PROJECT)), {
                kind: "existing-group",
                groups: { kind: "names", names: ["music-web"] },
                groupsKey: "autoScalingGroupName",
                capacityOnInterruption: "keep",
                interruptionAction: "auto",
                delivery: "direct",
                dryRun: false,
                faultInjection: false,
            });
        });

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
});
