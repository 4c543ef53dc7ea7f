import * as assert from "node:assert/strict";
import { unwrap } from "../../../offline/pulumi-engine";
import { hasProperties } from "../../support/handler-mocks";
import { all, build, givenDefaultTier, describeTier, one, TUNED_ARGS } from "./support";

/** The health check's timing, in seconds and checks. */
type HealthTiming = Record<
    "interval" | "timeout" | "healthyThreshold" | "unhealthyThreshold",
    number
>;

describeTier("SpotWebTier load balancer", () => {
    describe("given no args (every default)", () => {
        // Given a Region with four zones, When the tier is built with no args
        const defaults = givenDefaultTier();

        const tcp = (port: number) => ({ ipProtocol: "tcp", fromPort: port, toPort: port });
        const securityGroups = [
            {
                it: "admits HTTP from the internet to the load balancer, which may only reach the instances",
                group: "web-alb-sg-id",
                ingress: {
                    description: "HTTP from the internet",
                    ...tcp(80),
                    cidrIpv4: "0.0.0.0/0",
                },
                egress: {
                    description: "HTTP and health checks to the instances",
                    ...tcp(80),
                    referencedSecurityGroupId: "web-instance-sg-id",
                },
            },
            {
                it: "admits HTTP to the instances from the load balancer's security group only, and lets them out on HTTPS only",
                group: "web-instance-sg-id",
                ingress: {
                    description: "HTTP from the load balancer only",
                    ...tcp(80),
                    referencedSecurityGroupId: "web-alb-sg-id",
                },
                egress: {
                    description: "HTTPS to AWS APIs (Systems Manager) and package repositories",
                    ...tcp(443),
                    cidrIpv4: "0.0.0.0/0",
                },
            },
        ];
        for (const { it: title, group, ingress, egress } of securityGroups) {
            it(title, () => {
                const rulesOf = (direction: "Ingress" | "Egress") =>
                    all(`aws:vpc/securityGroup${direction}Rule:SecurityGroup${direction}Rule`)
                        .filter((r) => r.inputs.securityGroupId === group)
                        .map((r) => r.inputs);
                assert.deepEqual(rulesOf("Ingress"), [{ securityGroupId: group, ...ingress }]);
                assert.deepEqual(rulesOf("Egress"), [{ securityGroupId: group, ...egress }]);
                // And neither group carries inline rules that would fight the rule resources
                for (const sg of all("aws:ec2/securityGroup:SecurityGroup")) {
                    assert.equal(sg.inputs.ingress, undefined);
                    assert.equal(sg.inputs.egress, undefined);
                }
            });
        }

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

        it("drains leaving instances for 120 seconds, the interruption notice, and health-checks /, noticing an instance come or go within 20 s", () => {
            const targetGroup = one("aws:lb/targetGroup:TargetGroup").inputs;
            hasProperties(targetGroup, {
                vpcId: "web-vpc-id",
                targetType: "instance",
                protocol: "HTTP",
                port: 80,
                deregistrationDelay: 120,
                tags: {},
            });
            const check = targetGroup.healthCheck as Record<string, unknown> & HealthTiming;
            hasProperties(
                check,
                { enabled: true, protocol: "HTTP", path: "/", matcher: "200" },
                "the health check",
            );
            // Its timing matters only as how soon it notices, well inside the two-minute notice.
            assert.ok(check.interval * check.healthyThreshold <= 20, "a new instance in 20 s");
            assert.ok(check.interval * check.unhealthyThreshold <= 20, "a dead one in 20 s");
            assert.ok(check.timeout < check.interval, "each check ends before the next starts");
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
