/**
 * The stack program that `pulumi up` runs (Pulumi.yaml `main`). Importers of the library get
 * components/index.ts instead, so importing the package never deploys anything.
 *
 * Without `autoScalingGroupName` it builds the whole architecture: a SpotWebTier, whose group the
 * SpotInterruptionHandler protects. With it, it protects that existing group and builds nothing else.
 */
import * as pulumi from "@pulumi/pulumi";
import { SpotInterruptionHandler, SpotWebTier } from "./components";
import { readStackConfig } from "./config";

const config = readStackConfig(new pulumi.Config());

let webTier: SpotWebTier | undefined;
let protectedGroupName: pulumi.Input<string>;
if (config.kind === "web-tier") {
    webTier = new SpotWebTier("web", config.webTier);
    protectedGroupName = webTier.autoScalingGroup.name;
} else {
    protectedGroupName = config.autoScalingGroupName;
}

const handler = new SpotInterruptionHandler("spot", {
    autoScalingGroupName: protectedGroupName,
    capacityOnInterruption: config.capacityOnInterruption,
    delivery: config.delivery,
    dryRun: config.dryRun,
    notificationEmail: config.notificationEmail,
    targetGroupArn: webTier?.targetGroup.arn,
    faultInjection: { enabled: config.faultInjection },
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
/** The protected group: the web tier's, or the configured existing one. */
export const autoScalingGroupName = pulumi.output(protectedGroupName);
/** The web tier's address; undefined (no output) when protecting an existing group. */
export const url = webTier?.url;
/** The web tier's target group; undefined (no output) when protecting an existing group. */
export const targetGroupArn = webTier?.targetGroup.arn;
