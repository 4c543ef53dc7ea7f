/**
 * The component under the mocks Pulumi documents for unit tests (pulumi.com, "Unit testing Pulumi
 * programs"): every resource's state is its inputs and every call returns its inputs, so no name,
 * ARN or Region is ever filled in. An importer who tests their own program that way must see no
 * unhandled rejection from inside the component.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { installPulumiMocks } from "../../offline/pulumi-engine";

type Components = typeof import("../../components");
type HandlerArgs = import("../../components").SpotInterruptionHandlerArgs;

/** Exactly the documented mocks. */
const DOCUMENTED_MOCKS: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs) {
        return { id: `${String(args.inputs.name)}_id`, state: args.inputs };
    },
    call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
    },
};

const CONFIGURATIONS: { when: string; args: HandlerArgs }[] = [
    { when: "queue delivery", args: { autoScalingGroupName: "web" } },
    { when: "direct delivery", args: { autoScalingGroupName: "web", delivery: "direct" } },
    {
        when: "notifications on detach",
        args: {
            autoScalingGroupName: "web",
            notificationEmail: "ops@example.com",
            notifyOnDetach: true,
        },
    },
    {
        when: "fault injection and a target group",
        args: {
            autoScalingGroupName: "web",
            faultInjection: { enabled: true },
            targetGroupArn:
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123",
        },
    },
];

describe("the component under Pulumi's documented mocks", () => {
    let components: Components;
    const rejections: unknown[] = [];
    const collect = (reason: unknown) => rejections.push(reason);

    before(async () => {
        pulumi.runtime.setMocks(DOCUMENTED_MOCKS, "project", "stack", false);
        components = await import("../../components");
        process.on("unhandledRejection", collect);
    });

    after(() => {
        process.off("unhandledRejection", collect);
        installPulumiMocks();
    });

    for (const { when, args } of CONFIGURATIONS) {
        it(`raises no unhandled rejection with ${when}`, async () => {
            rejections.length = 0;
            new components.SpotInterruptionHandler("spot", args);
            // Every registration and apply has run once the engine disconnects.
            await pulumi.runtime.disconnect();
            pulumi.runtime.setMocks(DOCUMENTED_MOCKS, "project", "stack", false);
            await new Promise((resolve) => setImmediate(resolve));

            assert.deepEqual(rejections.map(String), []);
        });
    }
});
