import * as assert from "node:assert/strict";
import { unwrap } from "../../../offline/pulumi-engine";
import { all, build, givenDefaultTier, describeTier, one, TUNED_ARGS } from "./support";

describeTier("SpotWebTier load balancer", () => {
    describe("given no args (every default)", () => {
        // Given a Region with four zones, When the tier is built with no args
        const defaults = givenDefaultTier();

        it("admits HTTP from the internet to the load balancer, which may only reach the instances", () => {
            const rulesOf = (type: string) =>
                all(type)
                    .filter((r) => r.inputs.securityGroupId === "web-alb-sg-id")
                    .map((r) => r.inputs);
            assert.deepEqual(rulesOf("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"), [
                {
                    securityGroupId: "web-alb-sg-id",
                    description: "HTTP from the internet",
                    ipProtocol: "tcp",
                    fromPort: 80,
                    toPort: 80,
                    cidrIpv4: "0.0.0.0/0",
                },
            ]);
            assert.deepEqual(rulesOf("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"), [
                {
                    securityGroupId: "web-alb-sg-id",
                    description: "HTTP and health checks to the instances",
                    ipProtocol: "tcp",
                    fromPort: 80,
                    toPort: 80,
                    referencedSecurityGroupId: "web-instance-sg-id",
                },
            ]);
        });

        it("admits HTTP to the instances from the load balancer's security group only, and lets them out on HTTPS only", () => {
            const rulesOf = (type: string) =>
                all(type)
                    .filter((r) => r.inputs.securityGroupId === "web-instance-sg-id")
                    .map((r) => r.inputs);
            assert.deepEqual(rulesOf("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"), [
                {
                    securityGroupId: "web-instance-sg-id",
                    description: "HTTP from the load balancer only",
                    ipProtocol: "tcp",
                    fromPort: 80,
                    toPort: 80,
                    referencedSecurityGroupId: "web-alb-sg-id",
                },
            ]);
            assert.deepEqual(rulesOf("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"), [
                {
                    securityGroupId: "web-instance-sg-id",
                    description: "HTTPS to AWS APIs (Systems Manager) and package repositories",
                    ipProtocol: "tcp",
                    fromPort: 443,
                    toPort: 443,
                    cidrIpv4: "0.0.0.0/0",
                },
            ]);
            // And neither group carries inline rules that would fight the rule resources
            for (const group of all("aws:ec2/securityGroup:SecurityGroup")) {
                assert.equal(group.inputs.ingress, undefined);
                assert.equal(group.inputs.egress, undefined);
            }
        });

        it("puts an internet-facing load balancer in every public subnet, behind its own security group", () => {
            assert.deepEqual(one("aws:lb/loadBalancer:LoadBalancer").inputs, {
                loadBalancerType: "application",
                internal: false,
                securityGroups: ["web-alb-sg-id"],
                subnets: ["web-public-0-id", "web-public-1-id", "web-public-2-id"],
                dropInvalidHeaderFields: true,
                tags: {},
            });
        });

        it("drains leaving instances for 120 seconds, the interruption notice, and health-checks /", () => {
            assert.deepEqual(one("aws:lb/targetGroup:TargetGroup").inputs, {
                vpcId: "web-vpc-id",
                targetType: "instance",
                protocol: "HTTP",
                port: 80,
                deregistrationDelay: 120,
                healthCheck: {
                    enabled: true,
                    protocol: "HTTP",
                    path: "/",
                    matcher: "200",
                    interval: 10,
                    timeout: 5,
                    healthyThreshold: 2,
                    unhealthyThreshold: 2,
                },
                tags: {},
            });
        });

        it("forwards HTTP on port 80 to the target group", async () => {
            const listener = one("aws:lb/listener:Listener").inputs;
            assert.equal(listener.loadBalancerArn, await unwrap(defaults.tier.loadBalancer.arn));
            assert.equal(listener.protocol, "HTTP");
            assert.equal(listener.port, 80);
            assert.deepEqual(listener.defaultActions, [
                { type: "forward", targetGroupArn: await unwrap(defaults.tier.targetGroup.arn) },
            ]);
        });
    });

    describe("given 2 zones, a 30 s delay, instance requirements and lowest-price over 4 pools", () => {
        before(async () => {
            await build("tuned", TUNED_ARGS);
        });

        it("drains for 30 seconds", () => {
            assert.equal(one("aws:lb/targetGroup:TargetGroup").inputs.deregistrationDelay, 30);
        });
    });
});
