import * as assert from "node:assert/strict";
import {
    AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DescribeAutoScalingInstancesCommand,
    DetachInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import type { HandlerArchive } from "../scripts/handler-archive";
import { loadEvent } from "./support/events";
import { installPulumiMocks } from "../scripts/offline-engine";

const INSTANCE = "i-0fedcba9876543210";
/** The bound the project promises for the deployment package. */
const MAX_ZIPPED_BYTES = 16 * 1024;

describe("the deployment package, as pulumi up would upload it", () => {
    let autoScaling: AwsClientStub<AutoScalingClient>;
    let keep: HandlerArchive;
    let decrement: HandlerArchive;

    before(async () => {
        autoScaling = mockClient(AutoScalingClient);
        installPulumiMocks();
        const { SpotInterruptionHandler } = await import("../components");
        const { materializeHandlerArchive } = await import("../scripts/handler-archive");
        keep = await materializeHandlerArchive(
            new SpotInterruptionHandler("pkg-keep", { autoScalingGroupName: "web" })
                .handlerFunction,
            "keep",
        );
        decrement = await materializeHandlerArchive(
            new SpotInterruptionHandler("pkg-dec", {
                autoScalingGroupName: "web",
                capacityOnInterruption: "decrement",
            }).handlerFunction,
            "decrement",
        );
    });
    beforeEach(() => {
        autoScaling.reset();
        autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
            AutoScalingInstances: [
                {
                    InstanceId: INSTANCE,
                    AutoScalingGroupName: "web",
                    LifecycleState: "InService",
                    AvailabilityZone: "eu-west-1b",
                    HealthStatus: "HEALTHY",
                    ProtectedFromScaleIn: false,
                },
            ],
        });
        autoScaling.on(DetachInstancesCommand).resolves({});
    });
    after(() => {
        autoScaling.restore();
        keep?.remove();
        decrement?.remove();
    });

    it("holds only the serialized handler: no node_modules, so no bundled AWS SDK", () => {
        assert.deepEqual(keep.paths, ["__index.js"]);
    });

    it("zips to under 16 KiB", () => {
        const size = keep.zippedBytes;
        assert.ok(size < MAX_ZIPPED_BYTES, `zipped archive is ${size} bytes`);
    });

    it("requires nothing at run time but the SDK v3 Auto Scaling client that Lambda ships", () => {
        const required = [...keep.indexSource.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
        assert.ok(required.length > 0);
        for (const name of required) {
            assert.match(name, /^@aws-sdk\/client-auto-scaling(\/|$)/);
        }
    });

    it("detaches the instance named in the seed's sample event, keeping capacity", async () => {
        const {
            results: [result],
            logLines,
        } = await keep.invoke([loadEvent("seed-sample-event", INSTANCE)], {
            AWS_REGION: "eu-west-1",
        });

        assert.deepEqual(
            logLines.map((line) => JSON.parse(line)),
            [
                {
                    level: "INFO",
                    eventId: "92453ca5-5b23-219e-8003-ab7283ca016b",
                    instanceId: INSTANCE,
                    autoScalingGroupName: "web",
                    action: "detached",
                    capacityOnInterruption: "keep",
                    message: `Instance ${INSTANCE} belongs to AutoScaling Group web. Detaching instance...`,
                },
            ],
        );
        assert.deepEqual(result, {
            status: "fulfilled",
            value: {
                instanceId: INSTANCE,
                autoScalingGroupName: "web",
                action: "detached",
                capacityOnInterruption: "keep",
            },
        });
        assert.deepEqual(
            autoScaling.commandCalls(DetachInstancesCommand).map((c) => c.args[0].input),
            [
                {
                    AutoScalingGroupName: "web",
                    InstanceIds: [INSTANCE],
                    ShouldDecrementDesiredCapacity: false,
                },
            ],
        );
    });

    it("decrements when built with capacityOnInterruption decrement", async () => {
        autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
            AutoScalingGroups: [
                {
                    AutoScalingGroupName: "web",
                    MinSize: 2,
                    MaxSize: 12,
                    DesiredCapacity: 4,
                    DefaultCooldown: 300,
                    AvailabilityZones: ["eu-west-1a"],
                    HealthCheckType: "ELB",
                    CreatedTime: new Date(0),
                },
            ],
        });

        const {
            results: [result],
        } = await decrement.invoke([loadEvent("seed-sample-event", INSTANCE)], {
            AWS_REGION: "eu-west-1",
        });

        assert.equal(result.status, "fulfilled");
        assert.equal(
            autoScaling.commandCalls(DetachInstancesCommand)[0]?.args[0].input
                .ShouldDecrementDesiredCapacity,
            true,
        );
    });

    it("throws, so the event is retried or dead-lettered, when its configuration is missing", async () => {
        const {
            results: [result],
        } = await keep.invoke([loadEvent("seed-sample-event", INSTANCE)], {
            AWS_REGION: "eu-west-1",
            AUTO_SCALING_GROUP_NAME: "",
        });

        assert.equal(result.status, "rejected");
        assert.match(
            String((result as PromiseRejectedResult).reason),
            /AUTO_SCALING_GROUP_NAME is not set/,
        );
        assert.equal(autoScaling.calls().length, 0);
    });
});
