import * as pulumi from "@pulumi/pulumi";
import {
    CAPACITY_ON_INTERRUPTION_CHOICES,
    type CapacityOnInterruption,
    isCapacityOnInterruption,
} from "./handler/decision";

/** The stack's configuration, validated, with defaults applied. Defaults live here, not in Pulumi.yaml, because mocks never read Pulumi.yaml. */
export interface StackConfig {
    readonly autoScalingGroupName: string;
    readonly capacityOnInterruption: CapacityOnInterruption;
}

/** A configuration mistake, named by its key, with the command that fixes it. */
export class StackConfigError extends Error {
    constructor(key: string, problem: string, fix: string) {
        super(`Stack config "${key}" ${problem}. Fix it with: pulumi config set ${key} ${fix}`);
        this.name = "StackConfigError";
    }
}

export function readStackConfig(config: pulumi.Config): StackConfig {
    const autoScalingGroupName = config.get("autoScalingGroupName")?.trim();
    if (!autoScalingGroupName) {
        throw new StackConfigError(
            "autoScalingGroupName",
            "is not set: name the existing Auto Scaling group to protect",
            "<auto-scaling-group-name>",
        );
    }
    const capacityOnInterruption = config.get("capacityOnInterruption") ?? "keep";
    if (!isCapacityOnInterruption(capacityOnInterruption)) {
        throw new StackConfigError(
            "capacityOnInterruption",
            `is "${capacityOnInterruption}", but must be one of ${CAPACITY_ON_INTERRUPTION_CHOICES.join(" or ")}`,
            CAPACITY_ON_INTERRUPTION_CHOICES.join("|"),
        );
    }
    return { autoScalingGroupName, capacityOnInterruption };
}
