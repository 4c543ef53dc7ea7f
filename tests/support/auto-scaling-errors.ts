import { AutoScalingServiceException, ResourceContentionFault } from "@aws-sdk/client-auto-scaling";

/** Errors shaped exactly as the SDK raises them for Auto Scaling's documented faults. */
export const autoScalingErrors = {
    notPartOfGroup: (instanceId: string, group: string) =>
        validationError(`The instance ${instanceId} is not part of Auto Scaling group ${group}.`),
    notInServiceOrStandby: (instanceId: string) =>
        validationError(`The instance ${instanceId} is not in InService or Standby.`),
    belowMinSize: (group: string, min: number, max: number, desired: number) =>
        validationError(
            `AutoScalingGroup ${group} has min-size=${min}, max-size=${max}, and desired-size=${desired}. To detach 1 instance, please update the AutoScalingGroup sizes appropriately.`,
        ),
    unknownValidation: () => validationError("1 validation error detected: unexpected"),
    throttling: () =>
        new AutoScalingServiceException({
            name: "Throttling",
            $fault: "client",
            $metadata: { httpStatusCode: 400 },
            message: "Rate exceeded",
        }),
    resourceContention: () =>
        new ResourceContentionFault({
            $metadata: { httpStatusCode: 500 },
            message: "You already have a pending update to an Auto Scaling resource.",
        }),
};

function validationError(message: string): AutoScalingServiceException {
    return new AutoScalingServiceException({
        name: "ValidationError",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
        message,
    });
}
