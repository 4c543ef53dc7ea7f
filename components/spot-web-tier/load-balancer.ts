/**
 * The tier's front: an internet-facing Application Load Balancer, a target group that drains
 * leaving instances, its listener, and the security groups of the load balancer and instances.
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { HTTP_PORT } from "./args";
import type { NameTags, WebTierNetworkResources } from "./network";

export interface WebTierLoadBalancerArgs {
    readonly network: WebTierNetworkResources;
    readonly deregistrationDelaySeconds: number;
    /** The caller's tags, for resources that need no Name. */
    readonly tags: pulumi.Output<Record<string, string>>;
    readonly named: NameTags;
}

export interface WebTierLoadBalancer {
    readonly loadBalancerSecurityGroup: aws.ec2.SecurityGroup;
    readonly instanceSecurityGroup: aws.ec2.SecurityGroup;
    readonly loadBalancer: aws.lb.LoadBalancer;
    readonly targetGroup: aws.lb.TargetGroup;
    readonly listener: aws.lb.Listener;
}

/** Builds the load balancer and both security groups as children named `${name}-<role>`. */
export function createLoadBalancer(
    name: string,
    { network, deregistrationDelaySeconds, tags, named }: WebTierLoadBalancerArgs,
    childOpts: pulumi.CustomResourceOptions,
): WebTierLoadBalancer {
    const { vpcId, subnetIds, networkReady } = network;
    const loadBalancerSecurityGroup = new aws.ec2.SecurityGroup(
        `${name}-alb-sg`,
        {
            description: "Spot web tier load balancer: HTTP from the internet",
            vpcId,
            tags: named("alb-sg"),
        },
        childOpts,
    );
    const instanceSecurityGroup = new aws.ec2.SecurityGroup(
        `${name}-instance-sg`,
        {
            description: "Spot web tier instances: HTTP from the load balancer only",
            vpcId,
            tags: named("instance-sg"),
        },
        childOpts,
    );
    // Separate rule resources: the two groups refer to each other, which inline rules cannot express.
    new aws.vpc.SecurityGroupIngressRule(
        `${name}-alb-http-in`,
        {
            securityGroupId: loadBalancerSecurityGroup.id,
            description: "HTTP from the internet",
            ipProtocol: "tcp",
            fromPort: HTTP_PORT,
            toPort: HTTP_PORT,
            cidrIpv4: "0.0.0.0/0",
        },
        childOpts,
    );
    new aws.vpc.SecurityGroupEgressRule(
        `${name}-alb-http-out`,
        {
            securityGroupId: loadBalancerSecurityGroup.id,
            description: "HTTP and health checks to the instances",
            ipProtocol: "tcp",
            fromPort: HTTP_PORT,
            toPort: HTTP_PORT,
            referencedSecurityGroupId: instanceSecurityGroup.id,
        },
        childOpts,
    );
    new aws.vpc.SecurityGroupIngressRule(
        `${name}-instance-http-in`,
        {
            securityGroupId: instanceSecurityGroup.id,
            description: "HTTP from the load balancer only",
            ipProtocol: "tcp",
            fromPort: HTTP_PORT,
            toPort: HTTP_PORT,
            referencedSecurityGroupId: loadBalancerSecurityGroup.id,
        },
        childOpts,
    );
    // HTTPS out is all the instances need: Systems Manager and package repositories.
    // Instance metadata, DNS and time sync are link-local and not subject to security groups.
    new aws.vpc.SecurityGroupEgressRule(
        `${name}-instance-https-out`,
        {
            securityGroupId: instanceSecurityGroup.id,
            description: "HTTPS to AWS APIs (Systems Manager) and package repositories",
            ipProtocol: "tcp",
            fromPort: 443,
            toPort: 443,
            cidrIpv4: "0.0.0.0/0",
        },
        childOpts,
    );

    const loadBalancer = new aws.lb.LoadBalancer(
        `${name}-alb`,
        {
            loadBalancerType: "application",
            internal: false,
            securityGroups: [loadBalancerSecurityGroup.id],
            subnets: subnetIds,
            dropInvalidHeaderFields: true,
            tags,
        },
        { ...childOpts, dependsOn: networkReady },
    );

    const targetGroup = new aws.lb.TargetGroup(
        `${name}-tg`,
        {
            vpcId,
            targetType: "instance",
            protocol: "HTTP",
            port: HTTP_PORT,
            deregistrationDelay: deregistrationDelaySeconds,
            // Quick to notice a new instance, and a dead one, well inside the two-minute notice.
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
            tags,
        },
        childOpts,
    );

    const listener = new aws.lb.Listener(
        `${name}-http`,
        {
            loadBalancerArn: loadBalancer.arn,
            protocol: "HTTP",
            port: HTTP_PORT,
            defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
            tags,
        },
        childOpts,
    );

    return {
        loadBalancerSecurityGroup,
        instanceSecurityGroup,
        loadBalancer,
        targetGroup,
        listener,
    };
}
