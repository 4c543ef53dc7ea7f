/**
 * The Spot web tier: a load-balanced, diversified Spot Auto Scaling group to protect. The folder
 * follows the architecture: arguments and their validation, then network, load balancer and
 * instances, which the component wires together.
 */
export {
    AL2023_AMI_PARAMETER,
    type CountRange,
    DEFAULT_INSTANCE_TYPES,
    HTTP_PORT,
    type InstanceRequirements,
    isSpotAllocationStrategy,
    SPOT_ALLOCATION_STRATEGIES,
    SpotAllocationStrategy,
    type SpotWebTierArgs,
    VPC_CIDR_BLOCK,
    WEB_TIER_DEFAULTS,
} from "./args";
export { SpotWebTier } from "./component";
export {
    autoScalingGroupTags,
    instancesDistribution,
    launchTemplateOverrides,
    ssmManagedInstanceCorePolicyArn,
    webTierUserData,
} from "./instances";
export { MAX_WEB_TIER_NAME_LENGTH, validateWebTierName } from "./names";
export { pickAvailabilityZones, publicSubnetCidrBlock } from "./network";
export {
    type InstanceSelection,
    type ResolvedWebTierSettings,
    resolveWebTierSettings,
    type WebTierNetwork,
} from "./settings";
