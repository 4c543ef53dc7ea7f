/** The SpotInterruptionHandler's argument errors, and the checks its arguments go through. */
import { argumentErrorsOf, autoScalingGroupNameProblem, quoteAll } from "../shared/argument-checks";

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

/** `value` when it is one of `choices`; else an error that names the argument and lists them. */
export function oneOf<T extends string>(
    argument: string,
    value: unknown,
    choices: readonly T[],
): T {
    if (!choices.includes(value as T)) {
        throw handlerArgumentError(
            argument,
            `is ${JSON.stringify(value)}; allowed values are ${quoteAll(choices)}`,
        );
    }
    return value as T;
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
