/** The web tier's children whose physical names AWS limits, and so the longest component name. */
import {
    type AutoNamedChild,
    maxComponentNameLength,
    validateComponentName,
} from "../shared/physical-names";

export const WEB_TIER_AUTO_NAMED_CHILDREN: readonly AutoNamedChild[] = [
    { suffix: "-alb", type: "aws:lb/loadBalancer:LoadBalancer", role: "load balancer" },
    { suffix: "-tg", type: "aws:lb/targetGroup:TargetGroup", role: "target group" },
    { suffix: "-instance-role", type: "aws:iam/role:Role", role: "instances' role" },
];

/** 20: a load balancer name (32) less "-alb" and auto-naming's 8 characters. */
export const MAX_WEB_TIER_NAME_LENGTH = maxComponentNameLength(WEB_TIER_AUTO_NAMED_CHILDREN);

/** Refuses a SpotWebTier name whose children AWS would refuse, naming the limit. */
export function validateWebTierName(name: string): string {
    return validateComponentName("SpotWebTier", name, WEB_TIER_AUTO_NAMED_CHILDREN);
}
