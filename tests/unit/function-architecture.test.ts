/** The function's architecture: arm64 unless the caller chooses x86_64, and nothing else. */
import * as assert from "node:assert/strict";
import {
    buildHandler,
    childOf,
    components,
    describeComponents,
    type HandlerArgs,
} from "../support/handler-mocks";

describeComponents("the handler function's architecture", () => {
    /** The architectures the function registered with. */
    async function architecturesOf(args: Partial<HandlerArgs>): Promise<unknown> {
        await buildHandler(components, "arch", args);
        return childOf("arch", "aws:lambda/function:Function").inputs.architectures;
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
