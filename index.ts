/**
 * The stack program that `pulumi up` runs (Pulumi.yaml `main`). Importers of the library get
 * components/index.ts instead, so importing the package never deploys anything.
 */
import * as pulumi from "@pulumi/pulumi";
import { SpotInterruptionHandler } from "./components";
import { readStackConfig } from "./config";

const config = readStackConfig(new pulumi.Config());

const handler = new SpotInterruptionHandler("spot", {
    autoScalingGroupName: config.autoScalingGroupName,
    capacityOnInterruption: config.capacityOnInterruption,
});

export const eventRuleName = handler.eventRule.name;
export const functionName = handler.handlerFunction.name;
export const deadLetterQueueUrl = handler.deadLetterQueue.url;
