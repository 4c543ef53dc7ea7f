/** The local AWS emulator refuses DetachInstances as AWS does, for each reason AWS gives. */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as net from "node:net";
import * as readline from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import {
    AutoScalingClient,
    DetachInstancesCommand,
    EnterStandbyCommand,
} from "@aws-sdk/client-auto-scaling";
import { clientConfigFor, describeGroupState } from "../../emulator/group-state";
import { DEFAULT_REGION, type Emulator, SERVER_SCRIPT } from "../../emulator/server";
import { seedWorkshopEnvironment, type WorkshopEnvironment } from "../../emulator/workshop";
import { VENV_PYTHON } from "../../emulator/install";
import { tierEmulatorForSuite } from "../support/tier-emulator";
import { autoScalingErrors } from "../support/auto-scaling-errors";
import { assertRefusedWith as assertRefusedAsAwsDoes, membershipOf } from "../support/group-side";

describe("The local AWS emulator's DetachInstances", function () {
    const tier = tierEmulatorForSuite();

    describe("DetachInstances, refused as AWS refuses it", function () {
        let workshop: WorkshopEnvironment;
        let autoScaling: AutoScalingClient;
        let web: string[];

        before(function () {
            autoScaling = new AutoScalingClient(clientConfigFor(tier.emulator));
        });

        after(function () {
            autoScaling?.destroy();
        });

        beforeEach(async function () {
            // Given a freshly seeded web group: min 2, desired 4, max 12, 4 InService instances
            await tier.emulator.reset();
            workshop = await seedWorkshopEnvironment(tier.emulator);
            web = (await describeGroupState(tier.emulator, workshop.webGroupName)).instances.map(
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
        const webGroup = () => membershipOf(tier.emulator, workshop.webGroupName);

        it("refuses a batch naming an instance of another group, names the first such id in order, and detaches none of the batch", async function () {
            // Given a member of the other group
            const other = await describeGroupState(tier.emulator, workshop.otherGroupName);
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
            const after = await describeGroupState(tier.emulator, workshop.webGroupName);
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
});

/** AWS's refusal, which for DetachInstances is always a ValidationError. */
async function assertRefusedWith(call: Promise<unknown>, expected: Error): Promise<void> {
    assert.equal(expected.name, "ValidationError");
    await assertRefusedAsAwsDoes(call, expected);
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
