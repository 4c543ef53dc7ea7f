/** SpotInterruptionHandler refuses bad arguments at construction, naming the argument, before it registers anything. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    recorded,
    unwrap,
    installPulumiMocks,
    resetRecorded,
} from "../../../offline/pulumi-engine";
import {
    assertRefusedBeforeRegistering,
    emptyRecord,
    describeComponents,
    components,
} from "../../support/handler-mocks";

describeComponents("SpotInterruptionHandler's bad arguments", () => {
    // The cases whose arguments are built rather than written; the rest are in bad-arguments.json,
    // where null stands for an argument left undefined (JSON has no undefined).
    const cases: { when: string; args: Record<string, unknown>; message: string }[] = [
        {
            when: "101 names",
            args: {
                autoScalingGroupName: undefined,
                autoScalingGroupNames: Array.from({ length: 101 }, (_, i) => `g${i}`),
            },
            message:
                "[autoScalingGroupNames] has 101 names; pass a list of 1 to 100 group names, or autoScalingGroupTag for more",
        },
        {
            when: "names too long for Lambda's 4 KB of environment",
            args: {
                autoScalingGroupName: undefined,
                autoScalingGroupNames: Array.from({ length: 20 }, (_, i) =>
                    `g${i}`.padEnd(200, "x"),
                ),
            },
            message:
                "[autoScalingGroupNames] takes 4061 characters of the function's environment, over the 3072 it may use of Lambda's 4 KB: tag the groups and pass autoScalingGroupTag instead",
        },
        {
            when: "a tag value over 256 characters",
            args: {
                autoScalingGroupName: undefined,
                autoScalingGroupTag: { key: "team", value: "v".repeat(257) },
            },
            message: `[autoScalingGroupTag.value] is "${"v".repeat(257)}"; pass the tag's value (at most 256 characters), or leave it out to match any value`,
        },
        ...(
            JSON.parse(fs.readFileSync(path.join(__dirname, "bad-arguments.json"), "utf8")) as {
                when: string;
                args: Record<string, unknown>;
                message: string;
            }[]
        ).map((c) => ({
            ...c,
            args: Object.fromEntries(Object.entries(c.args).map(([k, v]) => [k, v ?? undefined])),
        })),
    ];

    for (const { when, args, message } of cases) {
        it(`refuses ${when}, naming the argument, and registers nothing`, () =>
            assertRefusedBeforeRegistering(components, args, {
                message: `SpotInterruptionHandler: ${message}`,
            }));
    }

    describe("given a group name that is an Output and resolves to a bad name", () => {
        const rejections: unknown[] = [];
        const onRejection = (reason: unknown) => rejections.push(reason);

        before(() => process.on("unhandledRejection", onRejection));
        after(() => {
            process.off("unhandledRejection", onRejection);
            // The failed registrations leave the engine waiting for ever: start a fresh one.
            installPulumiMocks();
            resetRecorded();
        });

        it("fails the program, naming the argument, and never registers the name's policy or function", async () => {
            // Given a group whose name, known only once it is created, is an ARN
            const aws = await import("@pulumi/aws");
            await emptyRecord();
            const group = new aws.autoscaling.Group("badfleet", {
                name: "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:x:autoScalingGroupName/web",
                maxSize: 1,
                minSize: 1,
            });
            // When the component is built with it, which cannot be judged yet
            const handler = new components.SpotInterruptionHandler("spotbad", {
                autoScalingGroupName: group.name,
            });
            // Then the program fails once the name resolves, as `pulumi up` reports an
            // unhandled error (proven to fail: without the component's validating apply, no
            // rejection came)
            const deadline = Date.now() + 10_000;
            const namesTheArgument = (reason: unknown) =>
                reason instanceof Error &&
                reason.message.includes(
                    'SpotInterruptionHandler: [autoScalingGroupName] "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:x:autoScalingGroupName/web" contains a colon',
                );
            while (!rejections.some(namesTheArgument)) {
                assert.ok(Date.now() < deadline, "no error names autoScalingGroupName");
                await new Promise((resolve) => setTimeout(resolve, 20));
            }
            // And what does not carry the name is registered, but the policy and function never
            await unwrap(handler.deadLetterQueuePolicy.urn);
            assert.ok(handler.queuePolicy !== undefined);
            await unwrap(handler.queuePolicy.urn);
            const registered = recorded.map((r) => r.name);
            assert.ok(registered.includes("spotbad-dlq-policy"));
            for (const never of ["spotbad-policy", "spotbad-function", "spotbad-mapping"]) {
                assert.equal(registered.includes(never), false, `${never} was registered`);
            }
        });
    });
});
