/** The function's architecture: arm64 unless the caller chooses x86_64, and nothing else. */
import * as assert from "node:assert/strict";
import {
    installPulumiMocks,
    recorded,
    registrationsSettled,
    resetRecorded,
} from "../../offline/pulumi-engine";

type Components = typeof import("../../components");
type HandlerArgs = import("../../components").SpotInterruptionHandlerArgs;

describe("the handler function's architecture", () => {
    let components: Components;

    before(async () => {
        installPulumiMocks();
        components = await import("../../components");
    });

    /** The architectures the function registered with. */
    async function architecturesOf(args: Partial<HandlerArgs>): Promise<unknown> {
        await registrationsSettled();
        resetRecorded();
        new components.SpotInterruptionHandler("arch", { autoScalingGroupName: "web", ...args });
        await registrationsSettled();
        const [fn] = recorded.filter((r) => r.type === "aws:lambda/function:Function");
        return fn.inputs.architectures;
    }

    it("is arm64 by default", async () => {
        assert.deepEqual(await architecturesOf({}), ["arm64"]);
    });

    it("is x86_64 when chosen, by the choice's constant or its plain string", async () => {
        assert.deepEqual(
            await architecturesOf({ architecture: components.HandlerArchitecture.X86_64 }),
            ["x86_64"],
        );
        assert.deepEqual(await architecturesOf({ architecture: "x86_64" }), ["x86_64"]);
    });

    it("offers exactly Lambda's two architectures", () => {
        assert.deepEqual(components.HANDLER_ARCHITECTURES, ["arm64", "x86_64"]);
    });

    it("refuses another value, naming the argument and the allowed values", () => {
        assert.throws(
            () =>
                components.resolveHandlerSettings({
                    autoScalingGroupName: "web",
                    architecture: "aarch64" as HandlerArgs["architecture"],
                }),
            {
                name: "ComponentArgsError",
                message:
                    'SpotInterruptionHandler: [architecture] is "aarch64"; allowed values are "arm64", "x86_64"',
            },
        );
    });
});
