/** SpotInterruptionHandler refuses bad arguments at construction, naming the argument, before it registers anything. */
import * as assert from "node:assert/strict";
import {
    recorded,
    unwrap,
    installPulumiMocks,
    resetRecorded,
} from "../../../offline/pulumi-engine";
import {
    assertRefusedBeforeRegistering,
    emptyRecord,
    type HandlerArgs,
    describeComponents,
    components,
} from "../../support/handler-mocks";

describeComponents("SpotInterruptionHandler's bad arguments", () => {
    describe("given bad arguments", () => {
        const directOnly = (arg: keyof HandlerArgs, value: number) => ({
            when: `${arg} with direct delivery`,
            args: { delivery: "direct", [arg]: value },
            message: `[${arg}] applies only with delivery "queue"; remove it, or set delivery to "queue"`,
        });
        const cases: { when: string; args: Record<string, unknown>; message: string }[] = [
            {
                when: "no group name",
                args: { autoScalingGroupName: undefined },
                message:
                    "[autoScalingGroupName] is required: pass the name of the Auto Scaling group to protect, or autoScalingGroupNames (a list), or autoScalingGroupTag ({ key, value })",
            },
            {
                when: "an empty group name",
                args: { autoScalingGroupName: "" },
                message:
                    "[autoScalingGroupName] is empty: pass the name of the Auto Scaling group to protect",
            },
            {
                when: "a whitespace-only group name",
                args: { autoScalingGroupName: " \t " },
                message:
                    "[autoScalingGroupName] is empty: pass the name of the Auto Scaling group to protect",
            },
            {
                when: "a group name with surrounding whitespace",
                args: { autoScalingGroupName: " web " },
                message:
                    '[autoScalingGroupName] " web " has surrounding whitespace: pass the group\'s exact name, "web"',
            },
            {
                when: "a group name of 256 characters",
                args: { autoScalingGroupName: "w".repeat(256) },
                message:
                    "[autoScalingGroupName] is 256 characters long; Auto Scaling group names have at most 255",
            },
            {
                when: "a group name with a colon (an ARN)",
                args: { autoScalingGroupName: "autoScalingGroupName/web:1" },
                message:
                    '[autoScalingGroupName] "autoScalingGroupName/web:1" contains a colon, which Auto Scaling group names cannot: pass the group\'s name, not its ARN',
            },
            {
                when: "an unknown delivery",
                args: { delivery: "sqs" },
                message: '[delivery] is "sqs"; allowed values are "queue", "direct"',
            },
            {
                when: "an unknown capacity choice",
                args: { capacityOnInterruption: "shrink" },
                message:
                    '[capacityOnInterruption] is "shrink"; allowed values are "keep", "decrement"',
            },
            {
                when: "a deprecated runtime",
                args: { runtime: "nodejs20.x" },
                message: '[runtime] is "nodejs20.x"; allowed values are "nodejs24.x", "nodejs22.x"',
            },
            {
                when: "a retention CloudWatch refuses",
                args: { logRetentionInDays: 31 },
                message:
                    "[logRetentionInDays] is 31; CloudWatch Logs accepts 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
            },
            {
                when: "a timeout below 10 s",
                args: { timeoutSeconds: 5 },
                message: "[timeoutSeconds] is 5; it must be a whole number from 10 to 900",
            },
            {
                when: "a fractional memory size",
                args: { memorySizeMb: 200.5 },
                message: "[memorySizeMb] is 200.5; it must be a whole number from 128 to 10240",
            },
            {
                when: "a retry window longer than the notice",
                args: { maximumEventAgeInSeconds: 300 },
                message:
                    "[maximumEventAgeInSeconds] is 300; it must be a whole number from 60 to 120",
            },
            {
                when: "a visibility timeout shorter than the function's timeout",
                args: { timeoutSeconds: 30, visibilityTimeoutSeconds: 20 },
                message:
                    "[visibilityTimeoutSeconds] is 20, shorter than timeoutSeconds 30: Lambda refuses to map a queue whose visibility timeout is shorter than the function's timeout; raise it to at least 34 (timeoutSeconds + maximumBatchingWindowInSeconds)",
            },
            {
                when: "a visibility timeout shorter than the function's timeout plus the window",
                args: {
                    timeoutSeconds: 16,
                    maximumBatchingWindowInSeconds: 6,
                    visibilityTimeoutSeconds: 20,
                },
                message:
                    "[visibilityTimeoutSeconds] is 20, shorter than timeoutSeconds 16 + maximumBatchingWindowInSeconds 6 = 22: the mapping may hold a record for the whole window before the function's timeout starts, so the record could become visible again, and be received again, while its own batch still runs; raise it to at least 22",
            },
            {
                when: "a batching window that breaks the safety net's 60 s",
                args: { maximumBatchingWindowInSeconds: 11 },
                message:
                    "[maximumBatchingWindowInSeconds] is 11, over 10: the Capacity Rebalancing safety net re-checks a warning 25 s after it, may wait 20 s for Lambda's poller and then the window, and needs 5 s to act, all within 60 s; lower it to at most 10",
            },
            {
                when: "a timeout that, with the window, leaves a lone warning no retry in its notice",
                args: { timeoutSeconds: 57 },
                message:
                    "[timeoutSeconds] leaves a lone warning waiting up to maximumBatchingWindowInSeconds 4 + timeoutSeconds 57 = 61 s for its first attempt, over 60 s (half the 120 s notice): an attempt that runs to its timeout would leave no retry inside the notice; lower either so that they sum to at most 60",
            },
            {
                when: "a window that, with the timeout, leaves a lone warning no retry in its notice",
                args: { timeoutSeconds: 52, maximumBatchingWindowInSeconds: 9 },
                message:
                    "[maximumBatchingWindowInSeconds] leaves a lone warning waiting up to maximumBatchingWindowInSeconds 9 + timeoutSeconds 52 = 61 s for its first attempt, over 60 s (half the 120 s notice): an attempt that runs to its timeout would leave no retry inside the notice; lower either so that they sum to at most 60",
            },
            {
                when: "a batch over 10 with no batching window",
                args: { batchSize: 11, maximumBatchingWindowInSeconds: 0 },
                message:
                    "[maximumBatchingWindowInSeconds] is 0, but Lambda requires at least 1 for a batchSize over 10 (11); raise it or lower batchSize to 10",
            },
            {
                when: "a retention shorter than the receives can take",
                args: {
                    visibilityTimeoutSeconds: 40,
                    maxReceiveCount: 5,
                    messageRetentionSeconds: 300,
                },
                message:
                    "[messageRetentionSeconds] is 300, less than the 320 s that maxReceiveCount 5 receives can take (each up to 20 s of Lambda's long poll plus visibilityTimeoutSeconds 40, and one more poll): SQS would delete a record before its retries end, without dead-lettering it; raise it to at least 320",
            },
            {
                when: "a maximum concurrency of 1",
                args: { maximumConcurrency: 1 },
                message: "[maximumConcurrency] is 1; it must be a whole number from 2 to 1000",
            },
            {
                when: "a maximum concurrency of 1001",
                args: { maximumConcurrency: 1001 },
                message: "[maximumConcurrency] is 1001; it must be a whole number from 2 to 1000",
            },
            directOnly("batchSize", 10),
            directOnly("maximumBatchingWindowInSeconds", 1),
            directOnly("maximumConcurrency", 2),
            directOnly("visibilityTimeoutSeconds", 60),
            directOnly("maxReceiveCount", 5),
            directOnly("messageRetentionSeconds", 3600),
            {
                when: "retries that would dead-letter a warning inside its notice",
                args: { maxReceiveCount: 7 },
                message:
                    "[maxReceiveCount] is 7: with visibilityTimeoutSeconds 20, SQS could dead-letter a waiting or failed warning 100 s after its first receive ((maxReceiveCount − 2) × visibilityTimeoutSeconds, since one re-check may come early), while its 120 s notice still runs; raise it to at least 8",
            },
            {
                when: "a group name and a list of names together",
                args: { autoScalingGroupNames: ["api"] },
                message:
                    "[autoScalingGroupNames] cannot be combined with autoScalingGroupName: pass exactly one of autoScalingGroupName, autoScalingGroupNames, autoScalingGroupTag",
            },
            {
                when: "an empty list of names",
                args: { autoScalingGroupName: undefined, autoScalingGroupNames: [] },
                message:
                    "[autoScalingGroupNames] has 0 names; pass a list of 1 to 100 group names, or autoScalingGroupTag for more",
            },
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
                when: "a name listed twice",
                args: { autoScalingGroupName: undefined, autoScalingGroupNames: ["a", "b", "a"] },
                message: '[autoScalingGroupNames] names "a" twice: list each group once',
            },
            {
                when: "a listed ARN",
                args: { autoScalingGroupName: undefined, autoScalingGroupNames: ["a", "b:c"] },
                message:
                    '[autoScalingGroupNames[1]] "b:c" contains a colon, which Auto Scaling group names cannot: pass the group\'s name, not its ARN',
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
                when: "a tag without a key",
                args: { autoScalingGroupName: undefined, autoScalingGroupTag: { key: " " } },
                message:
                    '[autoScalingGroupTag.key] is " "; pass the tag\'s key, 1 to 128 characters',
            },
            {
                when: "a tag with a field it does not take",
                args: {
                    autoScalingGroupName: undefined,
                    autoScalingGroupTag: { key: "team", values: ["web"] },
                },
                message: '[autoScalingGroupTag] has "values"; it takes only "key" and "value"',
            },
            {
                when: "a tag value over 256 characters",
                args: {
                    autoScalingGroupName: undefined,
                    autoScalingGroupTag: { key: "team", value: "v".repeat(257) },
                },
                message: `[autoScalingGroupTag.value] is "${"v".repeat(257)}"; pass the tag's value (at most 256 characters), or leave it out to match any value`,
            },
            {
                when: "fault injection by tag, without the group to interrupt",
                args: {
                    autoScalingGroupName: undefined,
                    autoScalingGroupTag: { key: "team", value: "web" },
                    faultInjection: { enabled: true },
                },
                message:
                    "[faultInjection.autoScalingGroupName] is required with autoScalingGroupTag: name the tagged group whose instances the experiment interrupts",
            },
            {
                when: "a reservation below the mapping's maximum concurrency",
                args: { reservedConcurrentExecutions: 1 },
                message:
                    "[reservedConcurrentExecutions] is 1, below maximumConcurrency 2: the mapping's invocations would be throttled; reserve at least 2",
            },
        ];

        for (const { when, args, message } of cases) {
            it(`refuses ${when}, naming the argument, and registers nothing`, () =>
                assertRefusedBeforeRegistering(components, args, {
                    message: `SpotInterruptionHandler: ${message}`,
                }));
        }
    });

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
