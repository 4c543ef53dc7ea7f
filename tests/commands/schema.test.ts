/**
 * The schema that `pulumi package add <this repository>` infers from the components' TypeScript
 * types, with the SDK's own inference (ComponentProvider), run here as Pulumi runs it. Every other
 * language's SDK is generated from this schema.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../support/processes";

const PACKAGE = "spot-interruption-handler";
const HANDLER = `${PACKAGE}:index:SpotInterruptionHandler`;
const WEB_TIER = `${PACKAGE}:index:SpotWebTier`;
const ref = (type: string) => ({ $ref: `#/types/${PACKAGE}:index:${type}` });
const awsRef = (token: string) => ({ $ref: `/aws/v7.48.0/schema.json#/resources/${token}` });

interface Property {
    readonly type?: string;
    readonly $ref?: string;
    readonly items?: Property;
    readonly additionalProperties?: Property;
    readonly description?: string;
}
interface Schema {
    readonly name: string;
    readonly resources: Record<
        string,
        {
            readonly isComponent?: boolean;
            readonly inputProperties: Record<string, Property>;
            readonly requiredInputs?: string[];
            readonly properties: Record<string, Property>;
        }
    >;
    readonly types: Record<string, { readonly type: string; readonly enum?: { value: string }[] }>;
    readonly dependencies?: { name: string }[];
}

/** An input's or output's type, without its description and plainness. */
function typeOf(property: Property): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(property).filter(
            ([key]) => !["description", "plain", "optional"].includes(key),
        ),
    );
}

describe("the multi-language schema, as Pulumi infers it from the TypeScript types", function () {
    // The inference type-checks the whole project once.
    this.timeout(120_000);

    let schema: Schema;

    before(async () => {
        const { ComponentProvider } = await import("@pulumi/pulumi/provider/experimental");
        const components = await import("../../components");
        const provider = new ComponentProvider({
            components: [components.SpotInterruptionHandler, components.SpotWebTier],
            dirname: ROOT,
            name: PACKAGE,
        });
        schema = JSON.parse(await provider.getSchema()) as Schema;
    });

    // package.json's exports name only the packed bin/, which has no source the inference can read,
    // so it starts from the stack program and follows its import of components/ (same schema).
    // Which file it started from is the Analyzer's private business: the schema shows it got there.
    it("reaches both components from the stack program, since the exports name only the packed bin/", () => {
        const packageJson = JSON.parse(
            fs.readFileSync(path.join(ROOT, "package.json"), "utf8"),
        ) as {
            exports: { ".": { default: string } };
        };
        assert.match(packageJson.exports["."].default, /^\.\/bin\//);
        assert.match(
            fs.readFileSync(path.join(ROOT, "index.ts"), "utf8"),
            /^import \{ SpotInterruptionHandler, SpotWebTier \} from "\.\/components";$/m,
        );
        assert.deepEqual(Object.keys(schema.resources).sort(), [HANDLER, WEB_TIER]);
    });

    it("declares both components, depending on the AWS provider only", () => {
        assert.deepEqual(Object.keys(schema.resources).sort(), [HANDLER, WEB_TIER]);
        assert.deepEqual(
            schema.dependencies?.map((d) => d.name),
            ["aws"],
        );
        assert.ok(
            fs.existsSync(path.join(ROOT, "PulumiPlugin.yaml")),
            "PulumiPlugin.yaml is the descriptor",
        );
        assert.match(
            fs.readFileSync(path.join(ROOT, "PulumiPlugin.yaml"), "utf8"),
            /^runtime: nodejs$/m,
        );
    });

    it("types every SpotInterruptionHandler input, with its choices as enums", () => {
        const { inputProperties, requiredInputs } = schema.resources[HANDLER];
        const string = { type: "string" };
        const boolean = { type: "boolean" };

        // One of the three group choices is required; the schema cannot say "exactly one of".
        assert.deepEqual(requiredInputs ?? [], []);
        assert.deepEqual(
            Object.fromEntries(Object.entries(inputProperties).map(([k, v]) => [k, typeOf(v)])),
            {
                autoScalingGroupName: string,
                autoScalingGroupNames: { type: "array", items: string },
                autoScalingGroupTag: ref("AutoScalingGroupTag"),
                capacityOnInterruption: ref("CapacityOnInterruption"),
                interruptionAction: ref("InterruptionAction"),
                delivery: ref("Delivery"),
                runtime: ref("HandlerRuntime"),
                architecture: ref("HandlerArchitecture"),
                permissionsBoundary: string,
                logRetentionInDays: { type: "number" },
                timeoutSeconds: { type: "number" },
                memorySizeMb: { type: "number" },
                maximumEventAgeInSeconds: { type: "number" },
                batchSize: { type: "number" },
                maximumBatchingWindowInSeconds: { type: "number" },
                maximumConcurrency: { type: "number" },
                visibilityTimeoutSeconds: { type: "number" },
                maxReceiveCount: { type: "number" },
                messageRetentionSeconds: { type: "number" },
                reservedConcurrentExecutions: { type: "number" },
                dryRun: boolean,
                monitoring: boolean,
                alarmActions: { type: "array", items: string },
                notificationEmail: string,
                notifyOnDetach: boolean,
                targetGroupArn: string,
                queueAgeAlarmSeconds: { type: "number" },
                faultInjection: ref("FaultInjectionArgs"),
                tags: { type: "object", additionalProperties: string },
            },
        );
        assert.deepEqual(enumValues("CapacityOnInterruption"), ["keep", "decrement"]);
        assert.deepEqual(enumValues("InterruptionAction"), ["auto", "detach", "terminate"]);
        assert.deepEqual(enumValues("Delivery"), ["queue", "direct"]);
        assert.deepEqual(enumValues("HandlerRuntime"), ["nodejs24.x", "nodejs22.x"]);
        assert.deepEqual(enumValues("HandlerArchitecture"), ["arm64", "x86_64"]);
    });

    it("documents every input of both components with its default, or as required", () => {
        for (const component of [HANDLER, WEB_TIER]) {
            for (const [name, input] of Object.entries(
                schema.resources[component].inputProperties,
            )) {
                assert.match(
                    input.description ?? "",
                    /(Defaults? (to|is)|Default:|Required\.|Requires|Defaults to none)/,
                    `${component} input ${name}: ${input.description}`,
                );
            }
        }
    });

    it("types every SpotWebTier input, with the allocation strategy as an enum", () => {
        const { inputProperties } = schema.resources[WEB_TIER];
        assert.deepEqual(Object.keys(inputProperties), [
            "availabilityZoneCount",
            "vpcId",
            "subnetIds",
            "deregistrationDelaySeconds",
            "instanceTypes",
            "instanceRequirements",
            "spotAllocationStrategy",
            "spotInstancePools",
            "onDemandBaseCapacity",
            "onDemandPercentageAboveBaseCapacity",
            "capacityRebalance",
            "minSize",
            "maxSize",
            "desiredCapacity",
            "healthCheckGracePeriodSeconds",
            "ignoreScalingChanges",
            "permissionsBoundary",
            "tags",
        ]);
        assert.deepEqual(typeOf(inputProperties.subnetIds), {
            type: "array",
            items: { type: "string" },
        });
        assert.deepEqual(typeOf(inputProperties.instanceRequirements), ref("InstanceRequirements"));
        assert.deepEqual(
            typeOf(inputProperties.spotAllocationStrategy),
            ref("SpotAllocationStrategy"),
        );
        assert.deepEqual(enumValues("SpotAllocationStrategy"), [
            "price-capacity-optimized",
            "capacity-optimized",
            "capacity-optimized-prioritized",
            "lowest-price",
        ]);
    });

    it("exposes every public member of both components as an output, AWS resources by reference", () => {
        const outputs = (component: string) =>
            Object.fromEntries(
                Object.entries(schema.resources[component].properties).map(([k, v]) => [
                    k,
                    typeOf(v),
                ]),
            );
        assert.deepEqual(outputs(HANDLER), {
            eventRule: awsRef("aws:cloudwatch%2FeventRule:EventRule"),
            eventTarget: awsRef("aws:cloudwatch%2FeventTarget:EventTarget"),
            handlerFunction: awsRef("aws:lambda%2Ffunction:Function"),
            role: awsRef("aws:iam%2Frole:Role"),
            rolePolicy: awsRef("aws:iam%2FrolePolicy:RolePolicy"),
            drainPolicy: awsRef("aws:iam%2FrolePolicy:RolePolicy"),
            logGroup: awsRef("aws:cloudwatch%2FlogGroup:LogGroup"),
            deadLetterQueue: awsRef("aws:sqs%2Fqueue:Queue"),
            deadLetterQueuePolicy: awsRef("aws:sqs%2FqueuePolicy:QueuePolicy"),
            queue: awsRef("aws:sqs%2Fqueue:Queue"),
            queuePolicy: awsRef("aws:sqs%2FqueuePolicy:QueuePolicy"),
            eventSourceMapping: awsRef("aws:lambda%2FeventSourceMapping:EventSourceMapping"),
            permission: awsRef("aws:lambda%2Fpermission:Permission"),
            invokeConfig: awsRef(
                "aws:lambda%2FfunctionEventInvokeConfig:FunctionEventInvokeConfig",
            ),
            notificationTopic: awsRef("aws:sns%2Ftopic:Topic"),
            notificationKey: awsRef("aws:kms%2Fkey:Key"),
            alarms: { type: "array", items: awsRef("aws:cloudwatch%2FmetricAlarm:MetricAlarm") },
            dashboard: awsRef("aws:cloudwatch%2Fdashboard:Dashboard"),
            dashboardUrl: { type: "string" },
            faultInjectionTemplate: awsRef("aws:fis%2FexperimentTemplate:ExperimentTemplate"),
            faultInjectionRole: awsRef("aws:iam%2Frole:Role"),
        });
        assert.deepEqual(Object.keys(outputs(WEB_TIER)), [
            "vpcId",
            "subnetIds",
            "vpc",
            "loadBalancerSecurityGroup",
            "instanceSecurityGroup",
            "loadBalancer",
            "targetGroup",
            "listener",
            "instanceRole",
            "instanceProfile",
            "launchTemplate",
            "autoScalingGroup",
            "url",
        ]);
    });

    function enumValues(type: string): string[] {
        return (schema.types[`${PACKAGE}:index:${type}`]?.enum ?? []).map((e) => e.value);
    }
});
