/** The SpotInterruptionHandler's argument errors, and the checks its arguments go through. */
import { argumentErrorsOf, autoScalingGroupNameProblem } from "../shared/argument-checks";

/** A SpotInterruptionHandler argument's error. */
export const handlerArgumentError = argumentErrorsOf("SpotInterruptionHandler");

/** Refuses a group name Auto Scaling would refuse, naming the argument that carried it. */
export function validateAutoScalingGroupName(
    name: string,
    argument = "autoScalingGroupName",
): string {
    const problem = autoScalingGroupNameProblem(name);
    if (problem !== undefined) {
        throw handlerArgumentError(argument, problem);
    }
    return name;
}

export function integerInRange(argument: string, value: number, min: number, max: number): number {
    if (!Number.isInteger(value) || value < min || value > max) {
        throw handlerArgumentError(
            argument,
            `is ${value}; it must be a whole number from ${min} to ${max}`,
        );
    }
    return value;
}

export function booleanArg(argument: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) {
        return fallback;
    }
    if (typeof value !== "boolean") {
        throw handlerArgumentError(
            argument,
            `is ${JSON.stringify(value)}; it must be true or false`,
        );
    }
    return value;
}
