import * as pulumi from "@pulumi/pulumi";

/**
 * The one error model for component arguments and stack config: a ComponentArgsError names the
 * argument, what is wrong and, where one exists, the remedy; inside an apply it travels as a
 * pulumi.ResourceError (ArgumentValueError). Each component makes its own errors
 * (argumentErrorsOf); the checks and wording below serve every component.
 */

const MAX_GROUP_NAME_LENGTH = 255;

/**
 * What is wrong with a name Auto Scaling would refuse (1 to 255 characters of ASCII 33 to 126, no
 * colon) or one with surrounding whitespace, which would make the policy and the handler name
 * different groups; undefined when nothing is. Each component words its own error around it.
 */
export function autoScalingGroupNameProblem(name: string): string | undefined {
    if (typeof name !== "string" || name.trim() === "") {
        return "is empty: pass the name of the Auto Scaling group to protect";
    }
    if (name !== name.trim()) {
        return `${JSON.stringify(name)} has surrounding whitespace: pass the group's exact name, ${JSON.stringify(name.trim())}`;
    }
    if (name.length > MAX_GROUP_NAME_LENGTH) {
        return `is ${name.length} characters long; Auto Scaling group names have at most ${MAX_GROUP_NAME_LENGTH}`;
    }
    const outside = [...name].find((c) => c.charCodeAt(0) < 0x21 || c.charCodeAt(0) > 0x7e);
    if (outside !== undefined) {
        return `${JSON.stringify(name)} contains ${JSON.stringify(outside)}, but Auto Scaling group names are printable ASCII (characters 33 to 126) without spaces: pass the group's exact name`;
    }
    if (name.includes(":")) {
        return `${JSON.stringify(name)} contains a colon, which Auto Scaling group names cannot: pass the group's name, not its ARN`;
    }
    return undefined;
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

/** Makes one component's argument errors: each component has its own, named after it. */
export type ArgumentErrorFactory = (
    argument: string,
    problem: string,
    remedy?: ArgumentRemedy,
) => ComponentArgsError;

/** The argument errors of the component whose type is `component`, e.g. "SpotWebTier". */
export function argumentErrorsOf(component: string): ArgumentErrorFactory {
    return (argument, problem, remedy) =>
        new ComponentArgsError(component, argument, problem, remedy);
}

export function quoteAll(values: readonly string[]): string {
    return values.map((v) => `"${v}"`).join(", ");
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
