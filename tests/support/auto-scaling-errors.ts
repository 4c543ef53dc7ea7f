import { AutoScalingServiceException, ResourceContentionFault } from "@aws-sdk/client-auto-scaling";
import refusals from "../../emulator/auto-scaling-refusals.json";

/** Errors shaped exactly as the SDK raises them for Auto Scaling's documented faults. */
export const autoScalingErrors = {
    /** DetachInstances with more than 20 ids. */
    tooManyInstances: () => validationError(refusals.tooManyInstances),
    notPartOfGroup: (instanceId: string, group: string) =>
        validationError(fill(refusals.notPartOfGroup, { instanceId, groupName: group })),
    notInServiceOrStandby: (instanceId: string) =>
        validationError(fill(refusals.notInServiceOrStandby, { instanceId })),
    /** `desired` is the group's desired capacity before the detach of `count` instances. */
    belowMinSize: (group: string, min: number, max: number, desired: number, count = 1) =>
        validationError(
            fill(refusals.belowMinSize, { groupName: group, min, max, desired, count }),
        ),
    /** TerminateInstanceInAutoScalingGroup for an instance in no group. */
    instanceNotFound: (instanceId: string) =>
        validationError(fill(refusals.instanceNotFound, { instanceId })),
    /** TerminateInstanceInAutoScalingGroup with decrement while desired capacity is MinSize. */
    terminateAtMinSize: (min: number) =>
        validationError(fill(refusals.terminateAtMinSize, { min })),
    /** IAM's refusal when a permissions boundary allows no `autoscaling:<action>`. */
    accessDenied: (action: string) =>
        serviceError(
            "AccessDenied",
            403,
            `User: ${HANDLER_ROLE_SESSION} is not authorized to perform: autoscaling:${action} because no permissions boundary allows the autoscaling:${action} action`,
        ),
    unknownValidation: () => validationError("1 validation error detected: unexpected"),
    throttling: () => serviceError("Throttling", 400, "Rate exceeded"),
    resourceContention: () =>
        new ResourceContentionFault({
            $metadata: { httpStatusCode: 500 },
            message: "You already have a pending update to an Auto Scaling resource.",
        }),
};

const HANDLER_ROLE_SESSION =
    "arn:aws:sts::123456789012:assumed-role/spot-interruption-handler/spot-interruption-handler";

/** Replaces each `{name}` of a template from emulator/auto-scaling-refusals.json, in one pass. */
function fill(template: string, values: Record<string, string | number>): string {
    return template.replace(/\{(\w+)\}/g, (placeholder, name: string) => {
        const value = values[name];
        if (value === undefined) {
            throw new Error(`No value for ${placeholder} in "${template}"`);
        }
        return String(value);
    });
}

const serviceError = (name: string, httpStatusCode: number, message: string) =>
    new AutoScalingServiceException({
        name,
        $fault: "client",
        $metadata: { httpStatusCode },
        message,
    });

const validationError = (message: string) => serviceError("ValidationError", 400, message);
