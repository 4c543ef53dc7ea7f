import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { DEFAULT_INSTANCE_TYPES } from "../components/spot-web-tier";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
    AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DescribeAutoScalingInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
    DescribeTargetGroupAttributesCommand,
    DescribeTargetGroupsCommand,
    DescribeTargetHealthCommand,
    ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { SERVER_SCRIPT, startEmulator, VENV_PYTHON, type Emulator } from "../scripts/emulator";
import {
    clientConfigFor,
    describeGroupState,
    describeInstanceState,
    seedWorkshopEnvironment,
    type WorkshopEnvironment,
} from "../scripts/workshop-environment";

const FIRST_RUN_BOOTSTRAP_TIMEOUT_MS = 300_000;
const PYTHON_HINT =
    /python3 .*with the venv module is required.*apt-get install python3 python3-venv/s;

describe("The local AWS emulator", function () {
    let emulator: Emulator;

    before(async function () {
        this.timeout(FIRST_RUN_BOOTSTRAP_TIMEOUT_MS);
        emulator = await startEmulator({
            onProgress: (message) => console.log(`      ${message}`),
        });
    });

    after(async function () {
        await emulator?.stop();
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
