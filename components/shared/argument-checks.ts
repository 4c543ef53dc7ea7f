import * as pulumi from "@pulumi/pulumi";

/**
 * The one error model for component arguments and stack config: a ComponentArgsError names the
 * argument, what is wrong and, where one exists, the remedy; inside an apply it travels as a
 * pulumi.ResourceError (ArgumentValueError). Below it, the checks the SpotInterruptionHandler's
 * arguments go through; `quoteAll` serves the web tier's messages too.
 */

const MAX_GROUP_NAME_LENGTH = 255;

/**
 * Refuses a name Auto Scaling would refuse (1 to 255 characters of ASCII 33 to 126, no colon) and one with
 * surrounding whitespace, which would make the policy and the handler name different groups.
 */
export function validateAutoScalingGroupName(
    name: string,
    argument = "autoScalingGroupName",
): string {
    if (typeof name !== "string" || name.trim() === "") {
        throw argumentError(
            argument,
            "is empty: pass the name of the Auto Scaling group to protect",
        );
    }
    if (name !== name.trim()) {
        throw argumentError(
            argument,
            `${JSON.stringify(name)} has surrounding whitespace: pass the group's exact name, ${JSON.stringify(name.trim())}`,
        );
    }
    if (name.length > MAX_GROUP_NAME_LENGTH) {
        throw argumentError(
            argument,
            `is ${name.length} characters long; Auto Scaling group names have at most ${MAX_GROUP_NAME_LENGTH}`,
        );
    }
    const outside = [...name].find((c) => c.charCodeAt(0) < 0x21 || c.charCodeAt(0) > 0x7e);
    if (outside !== undefined) {
        throw argumentError(
            argument,
            `${JSON.stringify(name)} contains ${JSON.stringify(outside)}, but Auto Scaling group names are printable ASCII (characters 33 to 126) without spaces: pass the group's exact name`,
        );
    }
    if (name.includes(":")) {
        throw argumentError(
            argument,
            `${JSON.stringify(name)} contains a colon, which Auto Scaling group names cannot: pass the group's name, not its ARN`,
        );
    }
    return name;
}

export function integerInRange(argument: string, value: number, min: number, max: number): number {
    if (!Number.isInteger(value) || value < min || value > max) {
        throw argumentError(
            argument,
            `is ${value}; it must be a whole number from ${min} to ${max}`,
        );
    }
    return value;
}

/** What fixes an argument: a value to set (at a path inside it), or removing it. */
export type ArgumentRemedy =
    | { readonly action: "set"; readonly path?: string; readonly value: string }
    | { readonly action: "unset"; readonly path?: string };

/** A bad or conflicting argument of a component, named as in its args (the stack's keys too). */
export class ComponentArgsError extends Error {
    constructor(
        /** The component whose argument it is, e.g. "SpotWebTier". */
        public readonly component: string,
        /** The argument's name, with a path inside it: `faultInjection.enabled`. */
        public readonly argument: string,
        /** What is wrong, starting with a verb: `is 5000; it must be …`. */
        public readonly problem: string,
        /** What fixes it, when one value or removal does; the stack turns it into a command. */
        public readonly remedy?: ArgumentRemedy,
    ) {
        super(`${component}: [${argument}] ${problem}`);
        this.name = "ComponentArgsError";
    }
}

/** A SpotInterruptionHandler argument's error. */
export function argumentError(
    argument: string,
    problem: string,
    remedy?: ArgumentRemedy,
): ComponentArgsError {
    return new ComponentArgsError("SpotInterruptionHandler", argument, problem, remedy);
}

export function quoteAll(values: readonly string[]): string {
    return values.map((v) => `"${v}"`).join(", ");
}

export function booleanArg(argument: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) {
        return fallback;
    }
    if (typeof value !== "boolean") {
        throw argumentError(argument, `is ${JSON.stringify(value)}; it must be true or false`);
    }
    return value;
}

/**
 * A ComponentArgsError found inside an apply, reported once against the component. Pulumi prefixes
 * an error's message in place each time it passes through a resource's inputs ("error serializing
 * property ..."), hundreds of times for a group name; this one keeps its message as written, and
 * the program's handler reports one error object once.
 */
export class ArgumentValueError extends pulumi.ResourceError {
    constructor(cause: ComponentArgsError, resource: pulumi.Resource) {
        super(cause.message, resource, true);
        const message = cause.message;
        Object.defineProperty(this, "message", {
            get: () => message,
            set: () => undefined,
            enumerable: false,
        });
        this.name = "ArgumentValueError";
    }
}

/** What an apply throws for an error: an argument error once against the resource, a bug as it is. */
export function errorInApply(error: unknown, resource: pulumi.Resource): unknown {
    return error instanceof ComponentArgsError ? new ArgumentValueError(error, resource) : error;
}
