/**
 * A bad argument that only resolves after construction (an Output) fails once: one error object,
 * with the message as written, however many resources consume the value. Pulumi's program
 * handler reports an error object once (cmd/run/run.js, `uncaughtHandler`), so one object is one
 * report.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { installPulumiMocks, registrationsSettled } from "../../offline/pulumi-engine";

describe("given an autoScalingGroupName Output that resolves to a name Auto Scaling refuses", () => {
    const cases = [
        {
            name: "web:prod",
            message:
                'SpotInterruptionHandler: [autoScalingGroupName] "web:prod" contains a colon, which Auto Scaling group names cannot: pass the group\'s name, not its ARN',
        },
        {
            name: "web prod",
            message:
                'SpotInterruptionHandler: [autoScalingGroupName] "web prod" contains " ", but Auto Scaling group names are printable ASCII (characters 33 to 126) without spaces: pass the group\'s exact name',
        },
    ];
    const reasons: unknown[] = [];
    const collect = (reason: unknown) => reasons.push(reason);

    before(() => {
        installPulumiMocks();
        process.on("unhandledRejection", collect);
    });

    after(() => {
        process.off("unhandledRejection", collect);
    });

    for (const { name, message } of cases) {
        it(`reports ${JSON.stringify(name)} as one error naming the argument and the fix`, async () => {
            const { SpotInterruptionHandler } = await import("../../components");
            reasons.length = 0;

            new SpotInterruptionHandler("spot", { autoScalingGroupName: pulumi.output(name) });
            await registrationsSettled();
            await new Promise((resolve) => setImmediate(resolve));

            const distinct = [...new Set(reasons)];
            assert.ok(reasons.length > 1, "many resources consume the name");
            assert.equal(distinct.length, 1, "one error object");
            assert.ok(distinct[0] instanceof pulumi.ResourceError);
            assert.equal((distinct[0] as Error).message, message);
        });
    }
});
