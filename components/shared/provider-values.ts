/**
 * Values a real provider always fills in (a group's name, a Region's zones) but that Pulumi's
 * documented unit-test mocks leave undefined: their `newResource` returns the inputs as the state,
 * with no name, and their `call` returns its inputs. Consumed as they are, such a value fails every
 * resource downstream, hundreds of unhandled rejections in an importer's first test. Here it fails
 * once, as one logged error that says how to fix the mock, and stays unknown, so that nothing
 * downstream runs on it; `pulumi up` fails on that error, as on any other.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ComponentArgsError } from "./argument-checks";

/** How Pulumi's documented mocks can return a name, for messages. */
export const MOCK_NAME_FIX =
    "Return state: { ...args.inputs, name: args.inputs.name ?? args.name } from the mocks' newResource";

/**
 * `value`, or, when `missing` finds it lacking, an unknown value after logging `missing`'s error
 * once against `resource`.
 */
export function checkFilledByProvider<T>(
    value: pulumi.Output<T>,
    missing: (value: T) => ComponentArgsError | undefined,
    resource: pulumi.Resource,
): pulumi.Output<T> {
    let reported = false;
    // An unknown Output lifted out of an apply makes the apply's result unknown too.
    const unknown = pulumi.output(pulumi.unknown) as unknown as pulumi.Output<T>;
    return value.apply((resolved): pulumi.Output<T> => {
        const error = missing(resolved);
        if (error === undefined) {
            return pulumi.output(resolved) as pulumi.Output<T>;
        }
        if (!reported) {
            reported = true;
            void pulumi.log.error(error.message, resource);
        }
        return unknown;
    });
}
