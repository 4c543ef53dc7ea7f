import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { SpotWebTierArgs } from "./args";
import { createInstances } from "./instances";
import { createLoadBalancer } from "./load-balancer";
import { createNetwork } from "./network";
import { validateWebTierName } from "./names";
import { resolveWebTierSettings } from "./settings";

/**
 * A load-balanced web application on a diversified Spot Auto Scaling group: an internet-facing
 * ALB whose target group drains leaving instances, and a group that mixes many instance types
 * across zones with Capacity Rebalancing. Pass `autoScalingGroup.name` to a
 * SpotInterruptionHandler to detach instances on the two-minute warning.
 */
export class SpotWebTier extends pulumi.ComponentResource {
    /** The VPC the tier runs in. */
    public readonly vpcId: pulumi.Output<string>;
    /** The public subnets of the load balancer and the instances, one per zone. */
    public readonly subnetIds: pulumi.Output<string[]>;
    /** The new VPC; undefined when `vpcId` was given. */
    public readonly vpc?: aws.ec2.Vpc;
    /** Admits HTTP from the internet to the load balancer. */
    public readonly loadBalancerSecurityGroup: aws.ec2.SecurityGroup;
    /** Admits HTTP to the instances from the load balancer only. */
    public readonly instanceSecurityGroup: aws.ec2.SecurityGroup;
    /** The internet-facing Application Load Balancer. */
    public readonly loadBalancer: aws.lb.LoadBalancer;
    /** Health-checks the instances on `/` and drains them for the deregistration delay. */
    public readonly targetGroup: aws.lb.TargetGroup;
    /** Forwards HTTP on port 80 to the target group. */
    public readonly listener: aws.lb.Listener;
    /** The instances' role: Session Manager, nothing else. */
    public readonly instanceRole: aws.iam.Role;
    public readonly instanceProfile: aws.iam.InstanceProfile;
    /** Latest Amazon Linux 2023, IMDSv2 only, and the page-serving user data. */
    public readonly launchTemplate: aws.ec2.LaunchTemplate;
    /** The diversified Spot group; give its name to the SpotInterruptionHandler. */
    public readonly autoScalingGroup: aws.autoscaling.Group;
    /** The load balancer's address, e.g. `http://web-alb-1234.eu-west-1.elb.amazonaws.com`. */
    public readonly url: pulumi.Output<string>;

    /**
     * @param name The _unique_ name of this component, at most 20 characters (letters, digits and
     * -) so that the load balancer's auto-name fits; each child is named `${name}-<role>`.
     * @param args Network, load balancer and group settings; every one has a default.
     * @param opts Options for the component; `provider`/`providers` reach every child.
     */
    constructor(name: string, args: SpotWebTierArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        // Validated before registering, so that bad args leave no half-built component behind.
        validateWebTierName(name);
        const settings = resolveWebTierSettings(args);
        super("spot-interruption-handler:index:SpotWebTier", name, {}, opts);
        const childOpts = { parent: this } satisfies pulumi.CustomResourceOptions;
        const tags = pulumi.output(args.tags ?? {});
        const named = (role: string) => tags.apply((t) => ({ Name: `${name}-${role}`, ...t }));

        const network = createNetwork(name, settings.network, named, childOpts);
        this.vpcId = network.vpcId;
        this.subnetIds = network.subnetIds;
        this.vpc = network.vpc;

        const loadBalancer = createLoadBalancer(
            name,
            {
                network,
                deregistrationDelaySeconds: settings.deregistrationDelaySeconds,
                tags,
                named,
            },
            childOpts,
        );
        this.loadBalancerSecurityGroup = loadBalancer.loadBalancerSecurityGroup;
        this.instanceSecurityGroup = loadBalancer.instanceSecurityGroup;
        this.loadBalancer = loadBalancer.loadBalancer;
        this.targetGroup = loadBalancer.targetGroup;
        this.listener = loadBalancer.listener;

        const instances = createInstances(
            name,
            { settings, network, loadBalancer, tags },
            childOpts,
        );
        this.instanceRole = instances.instanceRole;
        this.instanceProfile = instances.instanceProfile;
        this.launchTemplate = instances.launchTemplate;
        this.autoScalingGroup = instances.autoScalingGroup;

        this.url = pulumi.interpolate`http://${this.loadBalancer.dnsName}`;

        this.registerOutputs({
            vpcId: this.vpcId,
            subnetIds: this.subnetIds,
            vpc: this.vpc,
            loadBalancerSecurityGroup: this.loadBalancerSecurityGroup,
            instanceSecurityGroup: this.instanceSecurityGroup,
            loadBalancer: this.loadBalancer,
            targetGroup: this.targetGroup,
            listener: this.listener,
            instanceRole: this.instanceRole,
            instanceProfile: this.instanceProfile,
            launchTemplate: this.launchTemplate,
            autoScalingGroup: this.autoScalingGroup,
            url: this.url,
        });
    }
}
