/**
 * `npm run simulate`'s console test end to end on the emulator, with queue delivery: the real
 * simulation code against moto, for everything moto has. moto cannot run a Lambda function, so
 * the simulation's invoke seam is bound to the local pipeline instead: the warning the console
 * test would invoke the function with goes PutEvents → the component's rule → the events queue →
 * the local event source mapping → the serialized handler, which detaches the instance in moto.
 * Two stand-ins follow, for what AWS does and moto does not: the handler's log lines are written
 * to the function's log group (Lambda's log shipping), and the detached instance is deregistered
 * from its target group (Auto Scaling's deregistration on detach). Everything else, the function's
 * configuration, the queue, the group, the replacement, the target health and the termination,
 * is moto's own answer to the simulation's calls.
 */
import { type WorkshopEnvironment } from "../../emulator/workshop";
import {
    type GroupState,
    clientConfigFor,
    describeGroupState,
    describeInstanceState,
} from "../../emulator/group-state";
import * as assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import {
    CloudWatchLogsClient,
    CreateLogGroupCommand,
    CreateLogStreamCommand,
    PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import {
    DeregisterTargetsCommand,
    ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { SQSEvent } from "aws-lambda";
import type * as ConsoleTest from "../../commands/simulate/console-test";
import type { Invoker } from "../../commands/simulate/run";
import type { SimulationReport } from "../../commands/simulate/run";
import { type SimulationClients } from "../../commands/simulate/aws";
import { queuedPipeline } from "../support/emulated-workshop";

const FUNCTION = "spot-function";
const LOG_GROUP = `/aws/lambda/${FUNCTION}`;
/** How far back the simulation's clock runs: the grace outlasts the mapping's 4 s batching window. */
const BACKDATE_MS = 17_000;

describe("npm run simulate on the emulator: the console test end to end with queue delivery", function () {
    this.timeout(600_000);

    // The component's defaults, its 4 s batching window included.
    const pipeline = queuedPipeline({ simulated: {} });
    const { emulator, archives, seed, deliver } = pipeline;
    let simulate: typeof ConsoleTest;
    let clients: SimulationClients;

    before(async () => {
        const aws = await import("../../commands/simulate/aws");
        simulate = await import("../../commands/simulate/console-test");
        clients = aws.createClients(clientConfigFor(emulator()));
    });

    after(async () => {
        if (clients !== undefined) {
            Object.values(clients).forEach((client) => client.destroy());
        }
    });

    /** The workshop environment, the pipeline's queues and rule, and the function as moto holds it. */
    async function deploy(capacityRebalance = false): Promise<{
        queueUrl: string;
        environment: WorkshopEnvironment;
    }> {
        const environment = await seed({ capacityRebalance });
        const { value: queueUrl } = await pipeline.run("simulated", async (p) => p.queueUrl);
        const config = clientConfigFor(emulator());
        const iam = new IAMClient(config);
        const lambda = new LambdaClient(config);
        const logs = new CloudWatchLogsClient(config);
        try {
            const { Role } = await iam.send(
                new CreateRoleCommand({ RoleName: "spot-role", AssumeRolePolicyDocument: "{}" }),
            );
            await lambda.send(
                new CreateFunctionCommand({
                    FunctionName: FUNCTION,
                    Role: Role?.Arn,
                    Runtime: "nodejs22.x",
                    Handler: "__index.handler",
                    Timeout: archives.simulated.timeoutMs / 1000,
                    // moto keeps the code but cannot run it: the invoke seam runs the archive.
                    Code: { ZipFile: EMPTY_ZIP },
                    Environment: { Variables: { ...archives.simulated.environment } },
                }),
            );
            await logs.send(new CreateLogGroupCommand({ logGroupName: LOG_GROUP }));
        } finally {
            [iam, lambda, logs].forEach((client) => client.destroy());
        }
        return { queueUrl, environment };
    }

    /** What moved through the pipeline, per invoke. */
    const deliveries: { records: number; left: { queued: number; deadLettered: number } }[] = [];

    /** The console test's invoke, bound to rule → queue → mapping → serialized handler. */
    function pipelineInvoker(targetGroupArn: string): Invoker {
        return async (_functionName, payload) => {
            const { Records } = payload as SQSEvent;
            const failed: string[] = [];
            const { value: delivered, logLines } = await deliver(
                "simulated",
                Records.map((record) => JSON.parse(record.body)),
                { onBatch: (batch) => failed.push(...batch.failedMessageIds) },
            );
            deliveries.push(delivered);
            await shipLog(logLines);
            await deregisterDetached(logLines, targetGroupArn);
            return {
                payload: {
                    batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })),
                },
            };
        };
    }

    /** Lambda's log shipping: the handler's lines into the function's log group. */
    async function shipLog(lines: readonly string[]): Promise<void> {
        const logs = new CloudWatchLogsClient(clientConfigFor(emulator()));
        const stream = `invocation-${deliveries.length}`;
        try {
            await logs.send(
                new CreateLogStreamCommand({ logGroupName: LOG_GROUP, logStreamName: stream }),
            );
            await logs.send(
                new PutLogEventsCommand({
                    logGroupName: LOG_GROUP,
                    logStreamName: stream,
                    logEvents: lines.map((message) => ({ timestamp: Date.now(), message })),
                }),
            );
        } finally {
            logs.destroy();
        }
    }

    /** Auto Scaling's deregistration on detach, which moto leaves out. */
    async function deregisterDetached(lines: readonly string[], targetGroupArn: string) {
        const detached = lines
            // The SDK's own warnings are plain text: only the handler's lines are JSON.
            .filter((line) => line.startsWith("{"))
            .map((line) => JSON.parse(line))
            .filter((entry) => /Detaching instance/.test(String(entry.message)))
            .flatMap((entry) => entry.instanceIds as string[]);
        if (detached.length === 0) {
            return;
        }
        const elbv2 = new ElasticLoadBalancingV2Client(clientConfigFor(emulator()));
        try {
            await elbv2.send(
                new DeregisterTargetsCommand({
                    TargetGroupArn: targetGroupArn,
                    Targets: detached.map((Id) => ({ Id })),
                }),
            );
        } finally {
            elbv2.destroy();
        }
    }

    async function run(
        terminate: boolean,
        capacityRebalance = false,
    ): Promise<{
        report: SimulationReport;
        environment: WorkshopEnvironment;
        before: GroupState;
    }> {
        const { queueUrl, environment } = await deploy(capacityRebalance);
        const before = await describeGroupState(emulator(), environment.webGroupName);
        const report = await simulate.simulateConsoleTest(
            {
                deployment: { functionName: FUNCTION, queueUrl, source: "the emulator" },
                terminate,
                dryRun: false,
            },
            {
                clients,
                // Backdated: a rebalancing group's 25 s grace ends about 8 s after the warning.
                clock: { now: () => Date.now() - BACKDATE_MS, sleep: (ms) => delay(ms) },
                invoke: pipelineInvoker(environment.targetGroupArn),
                timing: {
                    pollIntervalMs: 100,
                    decisionTimeoutMs: 10_000,
                    reactionTimeoutMs: 20_000,
                },
            },
        );
        return { report, environment, before };
    }

    it("sends the warning through the events queue to the handler, which takes the instance out of the group", async () => {
        deliveries.length = 0;

        const { report, environment, before } = await run(false);

        assert.equal(report.outcome, "passed", report.failure?.message);
        const [victim] = report.instanceIds;
        assert.equal(
            victim,
            before.instances.find((i) => i.lifecycleState === "InService")?.instanceId,
        );
        assert.deepEqual(deliveries, [{ records: 1, left: { queued: 0, deadLettered: 0 } }]);
        assert.equal(report.deployment?.delivery, "queue");
        assert.equal(report.decision?.action, "detached");
        const after = await describeGroupState(emulator(), environment.webGroupName);
        assert.ok(
            !after.instances.some((i) => i.instanceId === victim),
            "the instance left the group",
        );
        assert.equal(after.desiredCapacity, before.desiredCapacity, "capacity kept");
        const [replacement] = after.instances
            .map((i) => i.instanceId)
            .filter((id) => !before.instances.some((b) => b.instanceId === id));
        const followed = report.steps
            .filter((s) => ["invoke", "handler", "group", "target"].includes(s.kind))
            .map((s) => s.message);
        assert.deepEqual(followed.slice(0, 4), [
            `Invoked ${FUNCTION}: it answered {"batchItemFailures":[]}`,
            `Instance ${victim} belongs to AutoScaling Group web. Detaching instance... (capacity keep)`,
            "Batch of 1 records: 1 detached, 0 ignored, 0 left for a retry",
            `${victim} has left group web`,
        ]);
        assert.match(
            followed[4],
            new RegExp(`^Replacement ${replacement} launched into group web \\(InService`),
        );
        assert.deepEqual(followed.slice(5), [
            `${victim} in target group workshop-web: unused (Target.NotRegistered)`,
        ]);
        assert.equal(await describeInstanceState(emulator(), victim), "running");
        assert.match(report.warning ?? "", /keeps running \(and billing\)/);
    });

    it("given Capacity Rebalancing, which never sees a console test's warning: the record waits out the grace in the queue, then the safety net detaches", async () => {
        deliveries.length = 0;

        const { report, environment, before } = await run(false, true);

        assert.equal(report.outcome, "passed", report.failure?.message);
        const [victim] = report.instanceIds;
        assert.deepEqual(deliveries, [{ records: 2, left: { queued: 0, deadLettered: 0 } }]);
        assert.equal(report.decision?.action, "detached");
        assert.equal(report.decision?.action === "detached" && report.decision.safetyNet, true);
        assert.equal(report.verdict, "left it to the group, then the safety net detached it");
        const after = await describeGroupState(emulator(), environment.webGroupName);
        assert.ok(!after.instances.some((i) => i.instanceId === victim), "it left the group");
        assert.equal(after.desiredCapacity, before.desiredCapacity, "capacity kept");
        const handler = report.steps.filter((s) => s.kind === "handler").map((s) => s.message);
        assert.match(handler[0], /^Batch of 1 records: 0 detached, 1 waiting for a re-check/);
    });

    it("with --terminate, terminates the detached instance once it has drained", async () => {
        const { report } = await run(true);

        assert.equal(report.outcome, "passed", report.failure?.message);
        const [victim] = report.instanceIds;
        assert.match(
            report.steps.at(-1)?.message ?? "",
            new RegExp(`^Terminated ${victim} as --terminate asks: running → shutting-down$`),
        );
        assert.ok(
            ["shutting-down", "terminated"].includes(
                (await describeInstanceState(emulator(), victim)) ?? "",
            ),
        );
    });
});

/** An empty zip archive: moto stores a function's code without running it. */
const EMPTY_ZIP = new Uint8Array([80, 75, 5, 6, ...new Array<number>(18).fill(0)]);
