/**
 * The logical names (and explicit physical names) the default stack program deploys today, for
 * its components `spot` and `web`. A renamed child is a new resource to Pulumi: the old one is
 * deleted, and a renamed queue loses the warnings it holds. New children may appear; none of these
 * may change name or type.
 */
import * as assert from "node:assert/strict";
import { type RecordedResource, runStackProgram } from "../../offline/pulumi-engine";

/** Every child of the stack with every option on: a notification email and fault injection. */
const PINNED: readonly [type: string, name: string][] = [
    ["spot-interruption-handler:index:SpotWebTier", "web"],
    ["spot-interruption-handler:index:SpotInterruptionHandler", "spot"],
    ["aws:cloudwatch/logGroup:LogGroup", "spot-logs"],
    ["aws:cloudwatch/eventRule:EventRule", "spot-rule"],
    ["aws:iam/role:Role", "spot-role"],
    ["aws:sqs/queue:Queue", "spot-dlq"],
    ["aws:sqs/queue:Queue", "spot-queue"],
    ["aws:sqs/queuePolicy:QueuePolicy", "spot-dlq-policy"],
    ["aws:sqs/queuePolicy:QueuePolicy", "spot-queue-policy"],
    ["aws:iam/rolePolicy:RolePolicy", "spot-policy"],
    ["aws:iam/rolePolicy:RolePolicy", "spot-drain-policy"],
    ["aws:lambda/function:Function", "spot-function"],
    ["aws:lambda/eventSourceMapping:EventSourceMapping", "spot-mapping"],
    ["aws:cloudwatch/eventTarget:EventTarget", "spot-target"],
    ["aws:kms/key:Key", "spot-notifications-key"],
    ["aws:sns/topic:Topic", "spot-notifications"],
    ["aws:sns/topicPolicy:TopicPolicy", "spot-notifications-policy"],
    ["aws:sns/topicSubscription:TopicSubscription", "spot-notifications-email"],
    ["aws:iam/role:Role", "spot-fis-role"],
    ["aws:iam/rolePolicy:RolePolicy", "spot-fis-policy"],
    ["aws:fis/experimentTemplate:ExperimentTemplate", "spot-fis-template"],
    ["aws:cloudwatch/dashboard:Dashboard", "spot-dashboard"],
    ["aws:cloudwatch/metricAlarm:MetricAlarm", "spot-dead-letters"],
    ["aws:cloudwatch/metricAlarm:MetricAlarm", "spot-warnings-waiting"],
    ["aws:cloudwatch/metricAlarm:MetricAlarm", "spot-function-errors"],
    ["aws:cloudwatch/metricAlarm:MetricAlarm", "spot-function-throttles"],
    ["aws:cloudwatch/metricAlarm:MetricAlarm", "spot-failed-warnings"],
    ["aws:cloudwatch/metricAlarm:MetricAlarm", "spot-missing-groups"],
    ["aws:cloudwatch/metricAlarm:MetricAlarm", "spot-stale-warnings"],
    ["aws:cloudwatch/metricAlarm:MetricAlarm", "spot-malformed-warnings"],
    ["aws:ec2/vpc:Vpc", "web-vpc"],
    ["aws:ec2/internetGateway:InternetGateway", "web-igw"],
    ["aws:ec2/routeTable:RouteTable", "web-public-rt"],
    ["aws:ec2/subnet:Subnet", "web-public-0"],
    ["aws:ec2/subnet:Subnet", "web-public-1"],
    ["aws:ec2/subnet:Subnet", "web-public-2"],
    ["aws:ec2/routeTableAssociation:RouteTableAssociation", "web-public-0-rta"],
    ["aws:ec2/routeTableAssociation:RouteTableAssociation", "web-public-1-rta"],
    ["aws:ec2/routeTableAssociation:RouteTableAssociation", "web-public-2-rta"],
    ["aws:ec2/securityGroup:SecurityGroup", "web-alb-sg"],
    ["aws:ec2/securityGroup:SecurityGroup", "web-instance-sg"],
    ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "web-alb-http-in"],
    ["aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "web-alb-http-out"],
    ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "web-instance-http-in"],
    ["aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "web-instance-https-out"],
    ["aws:lb/loadBalancer:LoadBalancer", "web-alb"],
    ["aws:lb/targetGroup:TargetGroup", "web-tg"],
    ["aws:lb/listener:Listener", "web-http"],
    ["aws:iam/role:Role", "web-instance-role"],
    ["aws:iam/rolePolicyAttachment:RolePolicyAttachment", "web-instance-ssm"],
    ["aws:iam/instanceProfile:InstanceProfile", "web-instance-profile"],
    ["aws:ec2/launchTemplate:LaunchTemplate", "web-lt"],
    ["aws:autoscaling/group:Group", "web-asg"],
];

/** With direct delivery, in place of the queue's mapping and policies. */
const PINNED_DIRECT: readonly [type: string, name: string][] = [
    ["aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "spot-invoke-config"],
    ["aws:lambda/permission:Permission", "spot-permission"],
];

/** Inputs that set a physical name outright, rather than leaving it to auto-naming. */
const PHYSICAL_NAME_INPUTS = ["name", "namePrefix", "dashboardName", "alarmName"];

function explicitNames(resources: readonly RecordedResource[]): Record<string, unknown> {
    return Object.fromEntries(
        resources.flatMap((r) =>
            PHYSICAL_NAME_INPUTS.filter((input) => r.inputs[input] !== undefined).map((input) => [
                `${r.name}.${input}`,
                r.inputs[input],
            ]),
        ),
    );
}

const missing = (resources: readonly RecordedResource[], pinned: typeof PINNED) => {
    const registered = new Set(resources.map((r) => `${r.type} ${r.name}`));
    return pinned.filter(([type, name]) => !registered.has(`${type} ${name}`));
};

describe("the default stack program's names, as deployed today", () => {
    let resources: RecordedResource[];

    before(async () => {
        ({ resources } = await runStackProgram({
            "aws:region": "eu-west-1",
            notificationEmail: "ops@example.com",
            faultInjection: "true",
        }));
    });

    it("registers every pinned child under its name and type", () => {
        assert.deepEqual(missing(resources, PINNED), []);
    });

    // Renamed once, from "spot-dev-eu-west-1-spot-interruptions": docs/upgrading.md, "Dashboard name".
    it("sets no physical name outright but the dashboard's, unique to project, stack, Region and component", () => {
        assert.deepEqual(explicitNames(resources), {
            "spot-dashboard.dashboardName": "spot-interruption-handler-dev-eu-west-1-spot-93938b2e",
        });
    });

    it("registers the direct path's children under their names with delivery direct", async () => {
        const direct = await runStackProgram({ "aws:region": "eu-west-1", delivery: "direct" });
        assert.deepEqual(missing(direct.resources, PINNED_DIRECT), []);
    });
});
