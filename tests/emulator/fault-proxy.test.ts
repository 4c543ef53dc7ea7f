/**
 * The fault proxy's API budget, seen by real SDK clients over HTTP with the emulator behind the
 * proxy. A fake clock makes the token bucket deterministic: time moves only when a test moves it.
 */
import { clientConfigFor } from "../../emulator/group-state";
import * as assert from "node:assert/strict";
import {
    AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DescribeAutoScalingInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
    CreateQueueCommand,
    GetQueueAttributesCommand,
    ReceiveMessageCommand,
    SendMessageCommand,
    SQSClient,
} from "@aws-sdk/client-sqs";
import {
    type FaultProxy,
    type FaultProxyOptions,
    FAULTS,
    startFaultProxy,
    TokenBucket,
} from "../../emulator/fault-proxy";
import { tierEmulatorForSuite } from "../support/tier-emulator";

type AwsClientConfig = ReturnType<typeof clientConfigFor>;

const DESCRIBE_GROUPS = "DescribeAutoScalingGroups";

describe("the fault proxy's API budget", function () {
    // The first run installs moto into .venv.
    this.timeout(600_000);

    const tier = tierEmulatorForSuite();
    let direct: AwsClientConfig;
    let clockMs = 0;
    const now = () => clockMs;
    const opened: { proxy: FaultProxy; clients: { destroy(): void }[] }[] = [];

    before(() => {
        direct = clientConfigFor(tier.emulator);
    });

    beforeEach(() => {
        clockMs = 1_000_000;
    });

    afterEach(async () => {
        for (const { proxy, clients } of opened.splice(0)) {
            clients.forEach((client) => client.destroy());
            await proxy.close();
        }
    });

    /** A proxy in front of the emulator, and clients that call through it and never retry. */
    async function proxied(options: FaultProxyOptions) {
        const proxy = await startFaultProxy(tier.emulator.endpoint, { now, ...options });
        const config = { ...direct, endpoint: proxy.endpoint, maxAttempts: 1 };
        const clients = {
            autoScaling: new AutoScalingClient(config),
            sqs: new SQSClient(config),
            ec2: new EC2Client(config),
        };
        opened.push({ proxy, clients: Object.values(clients) });
        return { proxy, ...clients };
    }

    /** Sends `count` DescribeAutoScalingGroups at once; returns how many succeeded and the errors. */
    async function describeGroups(autoScaling: AutoScalingClient, count: number) {
        const results = await Promise.allSettled(
            Array.from({ length: count }, () =>
                autoScaling.send(new DescribeAutoScalingGroupsCommand({})),
            ),
        );
        const errors = results
            .filter((r): r is PromiseRejectedResult => r.status === "rejected")
            .map((r) => r.reason as Error & { $metadata?: { httpStatusCode?: number } });
        return { served: results.length - errors.length, errors };
    }

    it("serves exactly N of N + k concurrent requests against a budget of N, and throttles k as AWS does", async () => {
        const { proxy, autoScaling } = await proxied({ budget: { requestsPerSecond: 5 } });

        const { served, errors } = await describeGroups(autoScaling, 8);

        assert.equal(served, 5);
        assert.equal(errors.length, 3);
        for (const error of errors) {
            assert.equal(error.name, "Throttling");
            assert.equal(error.message, "Rate exceeded");
            assert.equal(error.$metadata?.httpStatusCode, 400);
        }
        assert.equal(proxy.served.get(DESCRIBE_GROUPS), 5);
        assert.equal(proxy.throttled.get(DESCRIBE_GROUPS), 3);
        assert.equal(proxy.requests.get(DESCRIBE_GROUPS), 8);
        assert.equal(proxy.faulted.size, 0);
    });

    it("refills tokens with time, up to the burst", async () => {
        const { proxy, autoScaling } = await proxied({ budget: { requestsPerSecond: 4 } });
        assert.equal((await describeGroups(autoScaling, 4)).served, 4);
        assert.equal((await describeGroups(autoScaling, 1)).served, 0, "the bucket is empty");

        clockMs += 250; // a quarter second at 4/s: one token
        assert.equal((await describeGroups(autoScaling, 2)).served, 1);

        clockMs += 10_000; // forty tokens' worth, capped at the burst of 4
        assert.equal((await describeGroups(autoScaling, 6)).served, 4);

        assert.equal(proxy.served.get(DESCRIBE_GROUPS), 9);
        assert.equal(proxy.throttled.get(DESCRIBE_GROUPS), 4);
    });

    it("lets a burst larger than the rate through at once, then refills at the rate", async () => {
        const { autoScaling } = await proxied({ budget: { requestsPerSecond: 2, burst: 6 } });
        assert.equal((await describeGroups(autoScaling, 8)).served, 6);

        clockMs += 500;
        assert.equal((await describeGroups(autoScaling, 3)).served, 1);
    });

    it("shares one bucket across all Auto Scaling actions, and counts each action", async () => {
        const { proxy, autoScaling } = await proxied({ budget: { requestsPerSecond: 3 } });

        const results = await Promise.allSettled([
            autoScaling.send(new DescribeAutoScalingGroupsCommand({})),
            autoScaling.send(new DescribeAutoScalingGroupsCommand({})),
            autoScaling.send(new DescribeAutoScalingInstancesCommand({})),
            autoScaling.send(new DescribeAutoScalingInstancesCommand({})),
        ]);

        assert.equal(results.filter((r) => r.status === "fulfilled").length, 3);
        const total = (counts: Map<string, number>) =>
            [...counts.values()].reduce((a, b) => a + b, 0);
        assert.equal(total(proxy.served), 3);
        assert.equal(total(proxy.throttled), 1);
        assert.deepEqual([...proxy.requests].sort(), [
            ["DescribeAutoScalingGroups", 2],
            ["DescribeAutoScalingInstances", 2],
        ]);
    });

    it("passes SQS (JSON protocol) and EC2 (another query-protocol service) through, untouched and uncounted", async () => {
        const { proxy, autoScaling, sqs, ec2 } = await proxied({
            budget: { requestsPerSecond: 1 },
            // A plan that would fault everything it is asked about.
            plan: () => FAULTS.resourceContention,
        });
        await assert.rejects(autoScaling.send(new DescribeAutoScalingGroupsCommand({})), {
            name: "ResourceContentionFault", // the SDK's name for the ResourceContention code
        });

        const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "through-proxy" }));
        await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "hello" }));
        const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
        const attributes = await sqs.send(
            new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }),
        );
        await ec2.send(new DescribeInstancesCommand({}));

        assert.equal(received.Messages?.[0]?.Body, "hello");
        assert.match(attributes.Attributes?.QueueArn ?? "", /:through-proxy$/);
        assert.equal(proxy.otherRequests, 5);
        assert.deepEqual([...proxy.requests], [[DESCRIBE_GROUPS, 1]]);
        assert.equal(proxy.served.size, 0);
        assert.equal(proxy.throttled.size, 0);
    });

    it("answers the plan's faults before the budget, without taking a token", async () => {
        const { proxy, autoScaling } = await proxied({
            budget: { requestsPerSecond: 1 },
            plan: (action, n) =>
                action === DESCRIBE_GROUPS && n === 1 ? FAULTS.resourceContention : undefined,
        });

        await assert.rejects(autoScaling.send(new DescribeAutoScalingGroupsCommand({})), {
            name: "ResourceContentionFault", // the SDK's name for the ResourceContention code
        });
        await autoScaling.send(new DescribeAutoScalingGroupsCommand({}));
        await assert.rejects(autoScaling.send(new DescribeAutoScalingGroupsCommand({})), {
            name: "Throttling",
        });

        assert.equal(proxy.faulted.get(DESCRIBE_GROUPS), 1);
        assert.equal(proxy.served.get(DESCRIBE_GROUPS), 1);
        assert.equal(proxy.throttled.get(DESCRIBE_GROUPS), 1);
    });

    it("still takes a plan as its second argument, with no budget", async () => {
        const proxy = await startFaultProxy(tier.emulator.endpoint, (_action, n) =>
            n === 2 ? FAULTS.throttling : undefined,
        );
        const autoScaling = new AutoScalingClient({
            ...direct,
            endpoint: proxy.endpoint,
            maxAttempts: 1,
        });
        opened.push({ proxy, clients: [autoScaling] });

        await autoScaling.send(new DescribeAutoScalingGroupsCommand({}));
        await assert.rejects(autoScaling.send(new DescribeAutoScalingGroupsCommand({})), {
            name: "Throttling",
        });
        assert.equal((await describeGroups(autoScaling, 20)).served, 20, "no budget, no limit");
        assert.equal(proxy.requests.get(DESCRIBE_GROUPS), 22);
        assert.equal(proxy.faulted.get(DESCRIBE_GROUPS), 1);
    });

    describe("TokenBucket", () => {
        it("refills fractions of a token, ignores a clock that steps back, and refuses a bad budget", () => {
            const bucket = new TokenBucket({ requestsPerSecond: 10, burst: 2 }, now);
            assert.ok(bucket.tryTake());
            assert.ok(bucket.tryTake());
            assert.ok(!bucket.tryTake());
            clockMs += 50; // half a token
            assert.ok(!bucket.tryTake());
            clockMs += 50;
            assert.ok(bucket.tryTake());
            clockMs -= 10_000;
            assert.equal(bucket.available(), 0, "stepping back refills nothing");
            clockMs += 10_000 + 100; // the bucket counts from the latest time it saw
            assert.equal(bucket.available(), 1);

            assert.throws(() => new TokenBucket({ requestsPerSecond: 0 }, now), RangeError);
            assert.throws(
                () => new TokenBucket({ requestsPerSecond: 5, burst: 0.5 }, now),
                RangeError,
            );
            assert.throws(
                () => new TokenBucket({ requestsPerSecond: Number.NaN }, now),
                RangeError,
            );
        });
    });
});
