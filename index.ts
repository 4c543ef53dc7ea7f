/**
 * The stack program that `pulumi up` runs (Pulumi.yaml `main`). Importers of the library get
 * components/index.ts instead, so importing the package never deploys anything.
 *
 * Without a group choice it builds the whole architecture: a SpotWebTier, whose group the
 * SpotInterruptionHandler protects. With `autoScalingGroupName`, `autoScalingGroupNames` or
 * `autoScalingGroupTag`, it protects those existing groups and builds nothing else.
 */
import * as pulumi from "@pulumi/pulumi";
import { SpotInterruptionHandler, SpotWebTier } from "./components";
import { readStackConfig, WEB_TIER_GROUP_TAG_KEY } from "./config";
import { type GroupSelection } from "./contract";

const config = readStackConfig(new pulumi.Config());

let webTier: SpotWebTier | undefined;
let groups: GroupSelection | undefined;
if (config.kind === "web-tier") {
    // Its group carries the tag, so that a handler choosing groups by tag protects it too.
    webTier = new SpotWebTier("web", {
        ...config.webTier,
        permissionsBoundary: config.permissionsBoundary,
        tags: { [WEB_TIER_GROUP_TAG_KEY]: pulumi.getStack() },
    });
} else {
    groups = config.groups;
}
const protectedGroupName =
    webTier?.autoScalingGroup.name ??
    (groups?.kind === "names" && groups.names.length === 1 ? groups.names[0] : undefined);

const handler = new SpotInterruptionHandler("spot", {
    ...(protectedGroupName !== undefined
        ? { autoScalingGroupName: protectedGroupName }
        : groups?.kind === "names"
          ? { autoScalingGroupNames: [...groups.names] }
          : groups?.kind === "tag"
            ? { autoScalingGroupTag: { key: groups.key, value: groups.value } }
            : {}),
    capacityOnInterruption: config.capacityOnInterruption,
    interruptionAction: config.interruptionAction,
    delivery: config.delivery,
    dryRun: config.dryRun,
    notificationEmail: config.notificationEmail,
    targetGroupArn: webTier?.targetGroup.arn,
    faultInjection: { enabled: config.faultInjection },
    permissionsBoundary: config.permissionsBoundary,
});

export const eventRuleName = handler.eventRule.name;
export const functionName = handler.handlerFunction.name;
export const deadLetterQueueUrl = handler.deadLetterQueue.url;
/** The queue the rule sends warnings to; undefined (no output) with direct delivery. */
export const eventsQueueUrl = handler.queue?.url;
/** The handler's storm dashboard in the CloudWatch console. */
export const dashboardUrl = handler.dashboardUrl;
/** The topic alarms notify, with notificationEmail set; undefined (no output) otherwise. */
export const notificationTopicArn = handler.notificationTopic?.arn;
/** The FIS experiment template for `npm run simulate -- --fis`; with faultInjection only. */
export const faultInjectionTemplateId = handler.faultInjectionTemplate?.id;
/** The protected group, when there is one: the web tier's, or the configured existing one. */
export const autoScalingGroupName =
    protectedGroupName === undefined ? undefined : pulumi.output(protectedGroupName);
/** With autoScalingGroupNames: the listed groups. */
export const autoScalingGroupNames =
    groups?.kind === "names" && groups.names.length > 1 ? groups.names : undefined;
/** With autoScalingGroupTag: the tag that chooses the groups. */
export const autoScalingGroupTag =
    groups?.kind === "tag" ? { key: groups.key, value: groups.value } : undefined;
/** The web tier's address; undefined (no output) when protecting an existing group. */
export const url = webTier?.url;
/** The web tier's target group; undefined (no output) when protecting an existing group. */
export const targetGroupArn = webTier?.targetGroup.arn;
