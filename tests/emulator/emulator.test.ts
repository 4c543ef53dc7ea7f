import { strict as assert } from "node:assert";
import { execFileSync, spawn } from "node:child_process";
import { DEFAULT_INSTANCE_TYPES } from "../../components/spot-web-tier";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import {
    AutoScalingClient,
    AutoScalingServiceException,
    DescribeAutoScalingGroupsCommand,
    DescribeAutoScalingInstancesCommand,
    DetachInstancesCommand,
    EnterStandbyCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
    DescribeTargetGroupAttributesCommand,
    DescribeTargetGroupsCommand,
    DescribeTargetHealthCommand,
    ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
    EventBridgeClient,
    PutEventsCommand,
    PutRuleCommand,
    PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import {
    CreateQueueCommand,
    GetQueueAttributesCommand,
    ReceiveMessageCommand,
    SQSClient,
} from "@aws-sdk/client-sqs";
import {
    clientConfigFor,
    DEFAULT_REGION,
    describeGroupState,
    describeInstanceState,
    type Emulator,
    seedWorkshopEnvironment,
    SERVER_SCRIPT,
    startEmulator,
    VENV_PYTHON,
    type WorkshopEnvironment,
} from "../../local";
import { tierEmulator } from "../support/tier-emulator";
import { autoScalingErrors } from "../support/auto-scaling-errors";

const FIRST_RUN_BOOTSTRAP_TIMEOUT_MS = 300_000;
const PYTHON_HINT =
    /python3 .*with the venv module is required.*apt-get install python3 python3-venv/s;

describe("The local AWS emulator", function () {
    let emulator: Emulator;

    before(async function () {
        this.timeout(FIRST_RUN_BOOTSTRAP_TIMEOUT_MS);
        emulator = await tierEmulator();
    });

    describe("when the workshop environment is seeded", function () {
        let workshop: WorkshopEnvironment;
        let autoScaling: AutoScalingClient;
        let ec2: EC2Client;
        let elbv2: ElasticLoadBalancingV2Client;

        before(async function () {
            await emulator.reset();
            workshop = await seedWorkshopEnvironment(emulator);
            autoScaling = new AutoScalingClient(clientConfigFor(emulator));
            ec2 = new EC2Client(clientConfigFor(emulator));
            elbv2 = new ElasticLoadBalancingV2Client(clientConfigFor(emulator));
        });

        after(function () {
            autoScaling?.destroy();
            ec2?.destroy();
            elbv2?.destroy();
        });

        it("runs the web group at min 2 and desired 4, with 4 InService instances over all three subnets", async function () {
            // Given the seeded environment
            // When the web group and its instances are described
            const web = await describeGroupState(emulator, workshop.webGroupName);
            const instanceIds = web.instances.map((instance) => instance.instanceId);
            const described = await ec2.send(
                new DescribeInstancesCommand({ InstanceIds: instanceIds }),
            );
            const subnetIds = new Set(
                described.Reservations?.flatMap((reservation) =>
                    (reservation.Instances ?? []).map((instance) => instance.SubnetId),
                ),
            );

            // Then
            assert.equal(web.minSize, 2);
            assert.equal(web.desiredCapacity, 4);
            assert.equal(web.maxSize, 12);
            assert.deepEqual(
                web.instances.map((instance) => instance.lifecycleState),
                ["InService", "InService", "InService", "InService"],
            );
            assert.deepEqual(subnetIds, new Set(workshop.subnetIds));
            assert.deepEqual(
                new Set(web.instances.map((instance) => instance.availabilityZone)),
                new Set(["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
            );
        });

        it("gives the web group the web tier's shape: Spot-only, price-capacity-optimized, over its default types", async function () {
            // Given the seeded environment
            // When the web group is described
            const response = await autoScaling.send(
                new DescribeAutoScalingGroupsCommand({
                    AutoScalingGroupNames: [workshop.webGroupName],
                }),
            );
            const policy = response.AutoScalingGroups?.[0]?.MixedInstancesPolicy;

            // Then
            const overrideTypes = policy?.LaunchTemplate?.Overrides?.map(
                (override) => override.InstanceType,
            );
            assert.deepEqual(overrideTypes, [...DEFAULT_INSTANCE_TYPES]);
            assert.equal(
                policy?.LaunchTemplate?.LaunchTemplateSpecification?.LaunchTemplateId,
                workshop.launchTemplateId,
            );
            assert.deepEqual(policy?.InstancesDistribution, {
                OnDemandBaseCapacity: 0,
                OnDemandPercentageAboveBaseCapacity: 0,
                SpotAllocationStrategy: "price-capacity-optimized",
            });
        });

        it("registers the web instances in an HTTP:80 target group whose deregistration delay is 120 s", async function () {
            // Given the seeded environment
            // When the group, the target group and its targets are described
            const groups = await autoScaling.send(
                new DescribeAutoScalingGroupsCommand({
                    AutoScalingGroupNames: [workshop.webGroupName],
                }),
            );
            const targetGroups = await elbv2.send(
                new DescribeTargetGroupsCommand({ TargetGroupArns: [workshop.targetGroupArn] }),
            );
            const attributes = await elbv2.send(
                new DescribeTargetGroupAttributesCommand({
                    TargetGroupArn: workshop.targetGroupArn,
                }),
            );
            const health = await elbv2.send(
                new DescribeTargetHealthCommand({ TargetGroupArn: workshop.targetGroupArn }),
            );

            // Then
            const group = groups.AutoScalingGroups?.[0];
            assert.deepEqual(group?.TargetGroupARNs, [workshop.targetGroupArn]);
            const targetGroup = targetGroups.TargetGroups?.[0];
            assert.equal(targetGroup?.Protocol, "HTTP");
            assert.equal(targetGroup?.Port, 80);
            assert.equal(targetGroup?.HealthCheckPath, "/");
            const deregistrationDelay = attributes.Attributes?.find(
                (attribute) => attribute.Key === "deregistration_delay.timeout_seconds",
            );
            assert.equal(deregistrationDelay?.Value, "120");
            const targetIds = new Set(
                health.TargetHealthDescriptions?.map((description) => description.Target?.Id),
            );
            assert.deepEqual(
                targetIds,
                new Set(group?.Instances?.map((instance) => instance.InstanceId)),
            );
        });

        it("also holds a second group and a standalone instance that belongs to no group", async function () {
            // Given the seeded environment
            // When the other group and the standalone instance are described
            const other = await describeGroupState(emulator, workshop.otherGroupName);
            const standaloneState = await describeInstanceState(
                emulator,
                workshop.standaloneInstanceId,
            );
            const membership = await autoScaling.send(
                new DescribeAutoScalingInstancesCommand({
                    InstanceIds: [workshop.standaloneInstanceId],
                }),
            );

            // Then
            assert.notEqual(other.name, workshop.webGroupName);
            assert.deepEqual([other.minSize, other.desiredCapacity, other.maxSize], [1, 2, 4]);
            assert.equal(other.instances.length, 2);
            assert.equal(standaloneState, "running");
            assert.deepEqual(membership.AutoScalingInstances ?? [], []);
        });
    });

    describe("DetachInstances, refused as AWS refuses it", function () {
        let workshop: WorkshopEnvironment;
        let autoScaling: AutoScalingClient;
        let web: string[];

        before(function () {
            autoScaling = new AutoScalingClient(clientConfigFor(emulator));
        });

        after(function () {
            autoScaling?.destroy();
        });

        beforeEach(async function () {
            // Given a freshly seeded web group: min 2, desired 4, max 12, 4 InService instances
            await emulator.reset();
            workshop = await seedWorkshopEnvironment(emulator);
            web = (await describeGroupState(emulator, workshop.webGroupName)).instances.map(
                (instance) => instance.instanceId,
            );
        });

        const detach = (instanceIds: string[], decrement: boolean) =>
            autoScaling.send(
                new DetachInstancesCommand({
                    AutoScalingGroupName: workshop.webGroupName,
                    InstanceIds: instanceIds,
                    ShouldDecrementDesiredCapacity: decrement,
                }),
            );
        const webGroup = () => membershipOf(emulator, workshop.webGroupName);

        it("refuses a batch naming an instance of another group, names the first such id in order, and detaches none of the batch", async function () {
            // Given a member of the other group
            const other = await describeGroupState(emulator, workshop.otherGroupName);
            const otherInstanceId = other.instances[0].instanceId;
            const before = await webGroup();

            // When a batch names it between two web members
            const refusal = detach([web[0], otherInstanceId, web[1]], true);

            // Then it is refused with AWS's message naming it
            await assertRefusedWith(
                refusal,
                autoScalingErrors.notPartOfGroup(otherInstanceId, workshop.webGroupName),
            );

            // When a batch names the standalone instance, in no group, before it
            const standaloneFirst = detach(
                [web[0], workshop.standaloneInstanceId, otherInstanceId],
                false,
            );

            // Then the message names the first non-member in order
            await assertRefusedWith(
                standaloneFirst,
                autoScalingErrors.notPartOfGroup(
                    workshop.standaloneInstanceId,
                    workshop.webGroupName,
                ),
            );
            // And neither call changed the group
            assert.deepEqual(await webGroup(), before);
        });

        it("refuses more than 20 ids before looking at any of them", async function () {
            // Given the 4 members and 17 ids that name no instance at all: 21 ids
            const ids = [...web, ...Array.from({ length: 17 }, (_, n) => unknownInstanceId(n))];
            const before = await webGroup();

            // When they are detached in one call
            const refusal = detach(ids, false);

            // Then AWS's list-size refusal wins over the non-members, and nothing changed
            await assertRefusedWith(refusal, autoScalingErrors.tooManyInstances());
            assert.deepEqual(await webGroup(), before);
        });

        it("refuses a decrement that would take desired capacity below MinSize, counting every id", async function () {
            // Given desired 4 and MinSize 2
            const before = await webGroup();

            // When 3 members are detached with decrement
            const refusal = detach(web.slice(0, 3), true);

            // Then
            await assertRefusedWith(
                refusal,
                autoScalingErrors.belowMinSize(workshop.webGroupName, 2, 12, 4, 3),
            );
            assert.deepEqual(await webGroup(), before);
        });

        it("allows a decrement exactly down to MinSize, and refuses one instance more", async function () {
            // Given desired 4 and MinSize 2
            // When 2 members are detached with decrement
            const response = await detach(web.slice(0, 2), true);

            // Then both left, and desired capacity is down to MinSize
            const atMinSize = await webGroup();
            assert.equal(response.Activities?.length, 2);
            assert.deepEqual(atMinSize, {
                desiredCapacity: 2,
                instances: web.slice(2).map((id) => `${id} InService`),
            });

            // When 1 more is detached with decrement
            const oneMore = detach(web.slice(2, 3), true);

            // Then it is refused, and the group stays at MinSize
            await assertRefusedWith(
                oneMore,
                autoScalingErrors.belowMinSize(workshop.webGroupName, 2, 12, 2, 1),
            );
            assert.deepEqual(await webGroup(), atMinSize);
        });

        it("still detaches InService and Standby members together in one call", async function () {
            // Given one member in Standby (with decrement: desired 3)
            await autoScaling.send(
                new EnterStandbyCommand({
                    AutoScalingGroupName: workshop.webGroupName,
                    InstanceIds: [web[3]],
                    ShouldDecrementDesiredCapacity: true,
                }),
            );

            // When it and an InService member are detached without decrement
            const response = await detach([web[0], web[3]], false);

            // Then both left the group, whose desired capacity stayed
            const after = await describeGroupState(emulator, workshop.webGroupName);
            const memberIds = after.instances.map((instance) => instance.instanceId);
            assert.deepEqual(
                response.Activities?.map((activity) => activity.Description),
                [`Detaching EC2 instance: ${web[0]}`, `Detaching EC2 instance: ${web[3]}`],
            );
            assert.equal(after.desiredCapacity, 3);
            assert.ok(!memberIds.includes(web[0]) && !memberIds.includes(web[3]), `${memberIds}`);
        });

        describe("with a member in a lifecycle state moto never reports", function () {
            let controlled: ControlledEmulator;

            before(async function () {
                controlled = await startEmulatorWithLifecycleControl();
            });

            after(async function () {
                await controlled?.stop();
            });

            it("refuses a batch naming a member that is not InService or Standby, and detaches none of it", async function () {
                // Given a member of a seeded group that is Pending, as a launching instance is on AWS
                const seeded = await seedWorkshopEnvironment(controlled.emulator);
                const group = await describeGroupState(controlled.emulator, seeded.webGroupName);
                const [first, pending] = group.instances.map((instance) => instance.instanceId);
                await controlled.setLifecycleState(seeded.webGroupName, pending, "Pending");
                const before = await membershipOf(controlled.emulator, seeded.webGroupName);
                assert.ok(before.instances.includes(`${pending} Pending`), `${before.instances}`);
                const client = new AutoScalingClient(clientConfigFor(controlled.emulator));

                try {
                    // When it is detached along with an InService member
                    const refusal = client.send(
                        new DetachInstancesCommand({
                            AutoScalingGroupName: seeded.webGroupName,
                            InstanceIds: [first, pending],
                            ShouldDecrementDesiredCapacity: false,
                        }),
                    );

                    // Then
                    await assertRefusedWith(
                        refusal,
                        autoScalingErrors.notInServiceOrStandby(pending),
                    );
                    assert.deepEqual(
                        await membershipOf(controlled.emulator, seeded.webGroupName),
                        before,
                    );
                } finally {
                    client.destroy();
                }
            });
        });
    });

    describe("EventBridge rules with an SQS target", function () {
        it("deliver a matching Spot interruption warning into the queue as the whole event, and neither a rebalance recommendation nor another source's event", async function () {
            // Given a rule for Spot interruption warnings whose target is a queue
            await emulator.reset();
            const events = new EventBridgeClient(clientConfigFor(emulator));
            const sqs = new SQSClient(clientConfigFor(emulator));
            try {
                const { QueueUrl: queueUrl } = await sqs.send(
                    new CreateQueueCommand({ QueueName: "spot-interruptions" }),
                );
                const attributes = await sqs.send(
                    new GetQueueAttributesCommand({
                        QueueUrl: queueUrl,
                        AttributeNames: ["QueueArn"],
                    }),
                );
                await events.send(
                    new PutRuleCommand({
                        Name: "spot-interruption-warning",
                        EventPattern: JSON.stringify({
                            source: ["aws.ec2"],
                            "detail-type": ["EC2 Spot Instance Interruption Warning"],
                        }),
                    }),
                );
                await events.send(
                    new PutTargetsCommand({
                        Rule: "spot-interruption-warning",
                        Targets: [{ Id: "queue", Arn: attributes.Attributes?.QueueArn }],
                    }),
                );
                const warning = {
                    Source: "aws.ec2",
                    DetailType: "EC2 Spot Instance Interruption Warning",
                    Resources: ["arn:aws:ec2:eu-west-1b:instance/i-0123456789abcdef0"],
                    Detail: JSON.stringify({
                        "instance-id": "i-0123456789abcdef0",
                        "instance-action": "terminate",
                    }),
                };

                // When a warning, a rebalance recommendation and another source's warning are put
                // (AWS refuses PutEvents for "aws." sources; moto takes them, which is what lets
                // this test drive the rule)
                const put = await events.send(
                    new PutEventsCommand({
                        Entries: [
                            warning,
                            {
                                Source: "aws.ec2",
                                DetailType: "EC2 Instance Rebalance Recommendation",
                                Detail: JSON.stringify({ "instance-id": "i-0123456789abcdef1" }),
                            },
                            { ...warning, Source: "example.spot-drill" },
                        ],
                    }),
                );
                // moto hands every available message to one receive of up to 10
                const received = await sqs.send(
                    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
                );

                // Then only the warning arrived, its body the whole event
                assert.equal(put.FailedEntryCount, 0);
                assert.equal(received.Messages?.length, 1);
                const event = JSON.parse(received.Messages[0].Body ?? "");
                assert.equal(event.id, put.Entries?.[0]?.EventId);
                assert.equal(event.source, "aws.ec2");
                assert.equal(event["detail-type"], "EC2 Spot Instance Interruption Warning");
                assert.equal(event.region, emulator.region);
                assert.deepEqual(event.resources, warning.Resources);
                assert.deepEqual(event.detail, JSON.parse(warning.Detail));
            } finally {
                events.destroy();
                sqs.destroy();
            }
        });
    });

    describe("its server", function () {
        it("runs moto's application one request at a time, so its backends never race", function () {
            // Given an application that records how many calls overlap, behind the server's wrapper
            const probe = `
import importlib.util, sys, threading, time
spec = importlib.util.spec_from_file_location("emulator_server", sys.argv[1])
server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(server)
guard, active, peak, closed = threading.Lock(), 0, 0, 0
class Body(list):
    def close(self):
        global closed
        with guard:
            closed += 1
def application(environ, start_response):
    global active, peak
    with guard:
        active += 1
        peak = max(peak, active)
    time.sleep(0.02)
    with guard:
        active -= 1
    start_response("200 OK", [])
    return Body([b"ok"])
wrapped = server.one_request_at_a_time(application)
bodies = []
threads = [threading.Thread(target=lambda: bodies.append(wrapped({}, lambda *a: None))) for _ in range(8)]
for thread in threads: thread.start()
for thread in threads: thread.join(10)
print(peak, len(bodies), closed, bodies[0])
`;

            // When 8 threads call it at once
            const output = execFileSync(VENV_PYTHON, ["-B", "-c", probe, SERVER_SCRIPT], {
                encoding: "utf8",
                timeout: 30_000,
            });

            // Then no two calls overlapped, and every call got its whole body, closed as WSGI requires
            assert.equal(output.trim(), "1 8 8 [b'ok']");
        });
    });

    describe("environment()", function () {
        it("gives exactly the SDK's standard variables, with dummy credentials", function () {
            // Given the running emulator
            // When its environment is asked for
            const environment = emulator.environment();

            // Then
            assert.deepEqual(environment, {
                AWS_ENDPOINT_URL: emulator.endpoint,
                AWS_REGION: "eu-west-1",
                AWS_ACCESS_KEY_ID: "testing",
                AWS_SECRET_ACCESS_KEY: "testing",
            });
            assert.match(emulator.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
        });
    });

    describe("reset()", function () {
        it("forgets every group and instance", async function () {
            // Given a seeded environment
            await emulator.reset();
            const workshop = await seedWorkshopEnvironment(emulator);

            // When the emulator is reset
            await emulator.reset();

            // Then
            await assert.rejects(
                describeGroupState(emulator, workshop.webGroupName),
                /does not exist/,
            );
            assert.equal(
                await describeInstanceState(emulator, workshop.standaloneInstanceId),
                undefined,
            );
        });
    });

    describe("stop()", function () {
        it("ends the server, so its port refuses connections, and may be called again", async function () {
            // Given a second emulator of its own
            const stoppable = await startEmulator();
            const port = Number(new URL(stoppable.endpoint).port);

            // When it is stopped twice
            await stoppable.stop();
            await stoppable.stop();

            // Then
            await assert.rejects(connect(port), { code: "ECONNREFUSED" });
        });

        it("ends with the process that started it, even one killed by SIGKILL", async function () {
            this.timeout(60_000);
            // Given a process that starts an emulator, prints its endpoint and stays alive
            const script = `require("./local/emulator").startEmulator().then((e) => console.log(e.endpoint)); setInterval(() => {}, 1000);`;
            const parent = spawn(
                process.execPath,
                ["-r", "ts-node/register/transpile-only", "-e", script],
                { cwd: path.resolve(__dirname, "..", ".."), stdio: ["ignore", "pipe", "inherit"] },
            );
            let endpoint: string;
            try {
                const lines = readline.createInterface({ input: parent.stdout });
                endpoint = (await lines[Symbol.asyncIterator]().next()).value as string;
                await connect(Number(new URL(endpoint).port));
            } finally {
                // When that process is killed, so that no exit handler of its own runs
                parent.kill("SIGKILL");
            }
            const port = Number(new URL(endpoint).port);

            // Then its server ends too, within seconds
            const deadline = Date.now() + 10_000;
            let refused = false;
            while (!refused && Date.now() < deadline) {
                refused = await connect(port).then(
                    () => false,
                    () => true,
                );
                if (!refused) await delay(100);
            }
            assert.ok(refused, `the server at ${endpoint} outlived its parent`);
        });
    });

    describe("the tier's shared emulator", function () {
        it("refuses stop(), since the files after this one use it", async function () {
            await assert.rejects(emulator.stop(), /shared by the files after this one/);
            await emulator.reset();
        });
    });

    describe("without a usable python3", function () {
        it("says to install python3 and its venv module when the interpreter is missing", async function () {
            // Given an interpreter that does not exist
            const python = path.join(os.tmpdir(), "no-such-directory", "python3");

            // When the emulator is started with it
            // Then
            await assert.rejects(startEmulator({ python }), PYTHON_HINT);
        });

        it("says the same, with the interpreter's complaint, when the venv module is missing", async function () {
            // Given an interpreter that cannot import venv
            const directory = fs.mkdtempSync(path.join(os.tmpdir(), "spot-emulator-test-"));
            const python = path.join(directory, "python3");
            fs.writeFileSync(
                python,
                "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'venv'\" >&2\nexit 1\n",
                { mode: 0o755 },
            );

            try {
                // When the emulator is started with it
                // Then
                await assert.rejects(startEmulator({ python }), (error: Error) => {
                    assert.match(error.message, PYTHON_HINT);
                    assert.match(error.message, /No module named 'venv'/);
                    return true;
                });
            } finally {
                fs.rmSync(directory, { recursive: true, force: true });
            }
        });
    });
});

function connect(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1");
        socket.once("connect", () => {
            socket.destroy();
            resolve();
        });
        socket.once("error", reject);
    });
}

/** A group's desired capacity and its members as "<instance id> <lifecycle state>", in order. */
async function membershipOf(
    emulator: Emulator,
    groupName: string,
): Promise<{ desiredCapacity: number; instances: string[] }> {
    const group = await describeGroupState(emulator, groupName);
    return {
        desiredCapacity: group.desiredCapacity,
        instances: group.instances.map(
            (instance) => `${instance.instanceId} ${instance.lifecycleState}`,
        ),
    };
}

/** The call failed as the SDK reports AWS's refusal: same error name and message, HTTP 400. */
async function assertRefusedWith(call: Promise<unknown>, expected: Error): Promise<void> {
    await assert.rejects(call, (error: unknown) => {
        assert.ok(error instanceof AutoScalingServiceException, String(error));
        assert.equal(error.name, "ValidationError");
        assert.equal(error.name, expected.name);
        assert.equal(error.message, expected.message);
        assert.equal(error.$metadata.httpStatusCode, 400);
        return true;
    });
}

/** A well-formed instance id that names no instance. */
function unknownInstanceId(n: number): string {
    return `i-${n.toString(16).padStart(17, "0")}`;
}

interface ControlledEmulator {
    readonly emulator: Emulator;
    /** Sets a member's LifecycleState in moto's backend, as no Auto Scaling API call can. */
    setLifecycleState(groupName: string, instanceId: string, state: string): Promise<void>;
    stop(): Promise<void>;
}

/**
 * The emulator's server script, started through its own main(), plus a test-only channel on stdin
 * that sets a member's lifecycle state in moto's backend: moto only ever reports InService and
 * Standby, where AWS also has Pending, Terminating and others. Each line
 * "<region> <group> <instance id> <state>" is answered "set" (or the error) on stdout. It runs
 * outside the server's lock, so the test only writes while no request is in flight.
 */
const LIFECYCLE_CONTROL = `
import importlib.util, sys, threading
spec = importlib.util.spec_from_file_location("emulator_server", sys.argv[1])
server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(server)
def control():
    from moto.autoscaling.models import autoscaling_backends
    from moto.core import DEFAULT_ACCOUNT_ID
    for line in sys.stdin:
        try:
            region, group, instance_id, state = line.split()
            members = autoscaling_backends[DEFAULT_ACCOUNT_ID][region].autoscaling_groups[group]
            [member] = [m for m in members.instance_states if m.instance.id == instance_id]
            member.lifecycle_state = state
            print("set", flush=True)
        except Exception as error:
            print(repr(error), flush=True)
threading.Thread(target=control, daemon=True).start()
sys.argv = [sys.argv[1], "--host", "127.0.0.1", "--port", sys.argv[2]]
server.main()
`;
const CONTROLLED_READINESS_TIMEOUT_MS = 30_000;

async function startEmulatorWithLifecycleControl(): Promise<ControlledEmulator> {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const child = spawn(VENV_PYTHON, ["-B", "-c", LIFECYCLE_CONTROL, SERVER_SCRIPT, String(port)], {
        stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    child.stderr.on("data", (chunk: Buffer) => {
        output = (output + chunk.toString("utf8")).slice(-4_000);
    });
    const answers = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const stop = async (): Promise<void> => {
        if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
            await exited;
        }
    };

    try {
        const deadline = Date.now() + CONTROLLED_READINESS_TIMEOUT_MS;
        for (;;) {
            const ready = await fetch(`${endpoint}/moto-api/`).then(
                (response) => response.ok,
                () => false,
            );
            if (ready) {
                break;
            }
            if (child.exitCode !== null || Date.now() > deadline) {
                throw new Error(`The controlled emulator did not start. Its output:\n${output}`);
            }
            await delay(100);
        }
    } catch (error) {
        await stop();
        throw error;
    }

    return {
        emulator: {
            endpoint,
            region: DEFAULT_REGION,
            environment: () => ({
                AWS_ENDPOINT_URL: endpoint,
                AWS_REGION: DEFAULT_REGION,
                AWS_ACCESS_KEY_ID: "testing",
                AWS_SECRET_ACCESS_KEY: "testing",
            }),
            reset: async () => {
                await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
            },
            stop,
        },
        async setLifecycleState(groupName, instanceId, state) {
            child.stdin.write(`${DEFAULT_REGION} ${groupName} ${instanceId} ${state}\n`);
            const answer = await answers.next();
            if (answer.value !== "set") {
                throw new Error(`Setting ${instanceId} to ${state} failed: ${answer.value}`);
            }
        },
        stop,
    };
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const probe = net.createServer();
        probe.once("error", reject);
        probe.listen(0, "127.0.0.1", () => {
            const address = probe.address();
            probe.close(() =>
                typeof address === "object" && address !== null
                    ? resolve(address.port)
                    : reject(new Error(`Unexpected address ${String(address)}`)),
            );
        });
    });
}
