import * as assert from "node:assert/strict";
import {
    recorded,
    type RecordedResource,
    runStackProgram,
    unwrap,
} from "../../offline/pulumi-engine";
import { mockedStackPerSuite } from "../support/handler-mocks";

type Program = typeof import("../../index");

const WEB_TIER_TYPE = "spot-interruption-handler:index:SpotWebTier";
const HANDLER_TYPE = "spot-interruption-handler:index:SpotInterruptionHandler";
const PERMISSION_TYPE = "aws:lambda/permission:Permission";
const MAPPING_TYPE = "aws:lambda/eventSourceMapping:EventSourceMapping";

/** For the current suite: index.ts run afresh under mocks with exactly this stack config. */
function programRunWith(config: Record<string, string>): { program: Program } {
    const run = {} as { program: Program };
    before(async () => {
        run.program = (await runStackProgram<Program>(config)).program;
    });
    return run;
}

function one(type: string, name?: string): RecordedResource {
    const matches = recorded.filter(
        (r) => r.type === type && (name === undefined || r.name === name),
    );
    assert.equal(matches.length, 1, `expected exactly one ${type}${name ? ` called ${name}` : ""}`);
    return matches[0];
}

/** The one group name the deployed handler function will act on. */
function handlerGroupName(): unknown {
    const environment = one("aws:lambda/function:Function").inputs.environment as {
        variables: Record<string, string>;
    };
    const names = JSON.parse(environment.variables.AUTO_SCALING_GROUP_NAMES) as string[];
    assert.equal(names.length, 1, `one group, not ${names.join(", ")}`);
    return names[0];
}

/** The group ARN the handler's role may detach from. */
function detachableGroupArn(): unknown {
    const policy = JSON.parse(
        one("aws:iam/rolePolicy:RolePolicy", "spot-policy").inputs.policy as string,
    ) as {
        Statement: { Sid?: string; Resource?: unknown }[];
    };
    return policy.Statement.find((s) => s.Sid === "ActOnChosenGroupsOnly")?.Resource;
}

const detachArn = (group: string) =>
    `arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/${group}`;

describe("the stack program", () => {
    mockedStackPerSuite();

    describe("given autoScalingGroupName names an existing group", () => {
        // When the program runs with an existing group and decrement
        const run = programRunWith({
            autoScalingGroupName: "music-web",
            capacityOnInterruption: "decrement",
        });

        it("builds no web tier: no network, load balancer, launch template or group", () => {
            const types = new Set(recorded.map((r) => r.type));
            assert.equal(types.has(WEB_TIER_TYPE), false);
            for (const type of types) {
                assert.doesNotMatch(type, /^aws:(ec2|vpc|lb|autoscaling)\//, type);
            }
            assert.equal(recorded.filter((r) => r.type === HANDLER_TYPE).length, 1);
        });

        it("wires the handler to the configured group, with the configured capacity choice", () => {
            assert.equal(handlerGroupName(), "music-web");
            assert.equal(detachableGroupArn(), detachArn("music-web"));
            const environment = one("aws:lambda/function:Function").inputs.environment as {
                variables: Record<string, string>;
            };
            assert.equal(environment.variables.CAPACITY_ON_INTERRUPTION, "decrement");
        });

        it("exports the group name and the handler's outputs, but no url or target group", async () => {
            assert.equal(await unwrap(run.program.autoScalingGroupName), "music-web");
            assert.equal(run.program.url, undefined);
            assert.equal(run.program.targetGroupArn, undefined);
            assert.match(await unwrap(run.program.functionName), /^spot-function-/);
            assert.match(await unwrap(run.program.eventRuleName), /^spot-rule-/);
            assert.match(await unwrap(run.program.deadLetterQueueUrl), /^https:\/\/sqs\./);
        });

        it("queues warnings by default, and exports the events queue's URL", async () => {
            assert.ok(run.program.eventsQueueUrl !== undefined, "eventsQueueUrl is exported");
            assert.equal(
                await unwrap(run.program.eventsQueueUrl),
                "https://sqs.eu-west-1.amazonaws.com/123456789012/spot-queue-a1b2c3d",
            );
            assert.equal(
                one("aws:sqs/queue:Queue", "spot-queue").inputs.visibilityTimeoutSeconds,
                20,
            );
            assert.equal(
                recorded.some((r) => r.type === PERMISSION_TYPE),
                false,
            );
            assert.equal(
                one(MAPPING_TYPE).inputs.eventSourceArn,
                "arn:aws:sqs:eu-west-1:123456789012:spot-queue-a1b2c3d",
            );
        });
    });

    describe("given delivery direct", () => {
        // When the program runs with an existing group and direct delivery
        const run = programRunWith({ autoScalingGroupName: "music-web", delivery: "direct" });

        it("lets EventBridge invoke the function, and builds no events queue or mapping", () => {
            assert.deepEqual(one(PERMISSION_TYPE).inputs, {
                action: "lambda:InvokeFunction",
                function: "spot-function-a1b2c3d",
                principal: "events.amazonaws.com",
                sourceArn: "arn:aws:events:eu-west-1:123456789012:rule/spot-rule-a1b2c3d",
            });
            assert.equal(
                recorded.some((r) => r.type === MAPPING_TYPE),
                false,
            );
            assert.deepEqual(
                recorded.filter((r) => r.type === "aws:sqs/queue:Queue").map((r) => r.name),
                ["spot-dlq"],
            );
        });

        it("exports no eventsQueueUrl, and the handler's other outputs", async () => {
            assert.equal(run.program.eventsQueueUrl, undefined);
            assert.equal(await unwrap(run.program.autoScalingGroupName), "music-web");
            assert.match(await unwrap(run.program.deadLetterQueueUrl), /^https:\/\/sqs\./);
        });
    });

    describe("given no autoScalingGroupName", () => {
        // When the program runs with a few web tier keys and no group
        const run = programRunWith({
            availabilityZoneCount: "2",
            spotAllocationStrategy: "capacity-optimized",
            desiredCapacity: "6",
        });

        it("builds one SpotWebTier called web beside the handler", () => {
            assert.equal(recorded.filter((r) => r.type === WEB_TIER_TYPE).length, 1);
            assert.equal(one(WEB_TIER_TYPE).name, "web");
            assert.equal(one(HANDLER_TYPE).name, "spot");
        });

        it("tags the web tier's group with the stack, so that a tag-mode handler protects it", () => {
            const tags = one("aws:autoscaling/group:Group").inputs.tags as {
                key: string;
                value: string;
            }[];
            assert.ok(
                tags.some((t) => t.key === "spot-interruption-handler" && t.value === "dev"),
                JSON.stringify(tags),
            );
        });

        it("wires the handler to the web tier's group name", () => {
            const group = one("aws:autoscaling/group:Group");
            assert.equal(group.name, "web-asg");
            assert.equal(handlerGroupName(), "web-asg-a1b2c3d");
            assert.equal(detachableGroupArn(), detachArn("web-asg-a1b2c3d"));
        });

        it("passes the config keys through to the tier, and the defaults for the rest", () => {
            assert.equal(recorded.filter((r) => r.type === "aws:ec2/subnet:Subnet").length, 2);
            const group = one("aws:autoscaling/group:Group").inputs;
            assert.deepEqual([group.minSize, group.desiredCapacity, group.maxSize], [2, 6, 12]);
            const policy = group.mixedInstancesPolicy as {
                instancesDistribution: Record<string, unknown>;
            };
            assert.equal(policy.instancesDistribution.spotAllocationStrategy, "capacity-optimized");
            assert.equal(one("aws:lb/targetGroup:TargetGroup").inputs.deregistrationDelay, 120);
        });

        it("exports the load balancer URL, the group name and the target group ARN", async () => {
            assert.ok(run.program.url !== undefined && run.program.targetGroupArn !== undefined);
            assert.equal(
                await unwrap(run.program.url),
                "http://web-alb-a1b2c3d-1234567890.eu-west-1.elb.amazonaws.com",
            );
            assert.equal(await unwrap(run.program.autoScalingGroupName), "web-asg-a1b2c3d");
            // The target group the listener forwards to and the group registers its instances in
            const targetGroupArn = await unwrap(run.program.targetGroupArn);
            assert.match(targetGroupArn, /:elasticloadbalancing:.*:targetgroup\/web-tg-/);
            const [forward] = one("aws:lb/listener:Listener").inputs.defaultActions as {
                targetGroupArn: string;
            }[];
            assert.equal(forward.targetGroupArn, targetGroupArn);
            assert.deepEqual(one("aws:autoscaling/group:Group").inputs.targetGroupArns, [
                targetGroupArn,
            ]);
        });

        it("shows the web tier's target group on the handler's dashboard", () => {
            const body = one("aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody as string;
            assert.match(body, /TargetGroup=\\"targetgroup\/web-tg-a1b2c3d\/0123456789abcdef\\"/);
        });
    });

    describe("given faultInjection for an existing group", () => {
        const run = programRunWith({ autoScalingGroupName: "music-web", faultInjection: "true" });

        it("builds the FIS experiment template with faultInjection, and exports its id", async () => {
            const template = one("aws:fis/experimentTemplate:ExperimentTemplate");
            assert.equal(template.name, "spot-fis-template");
            assert.equal(
                await unwrap(run.program.faultInjectionTemplateId),
                "spot-fis-template-id",
            );
        });
    });
});
