/**
 * The groups the handler protects, once every name an Output carries is known: each checked as
 * AWS checks it, and a name that a unit test's mocks never filled in reported once.
 */
import * as pulumi from "@pulumi/pulumi";
import type { GroupSelection } from "../../contract";
import { type ComponentArgsError, errorInApply } from "../shared/argument-checks";
import { handlerArgumentError, validateAutoScalingGroupName } from "./argument-checks";
import { checkFilledByProvider, MOCK_NAME_FIX } from "../shared/provider-values";
import type { GroupArgument } from "./args";
import { validateGroupNameList } from "./settings";

/** The error for a group name that resolved to undefined: only mocks leave a group unnamed. */
export function unnamedGroupError(argument: string): ComponentArgsError {
    return handlerArgumentError(
        argument,
        `resolved to undefined, which no deployed group's name is: a unit test's mocks filled in no name (Pulumi's documented mocks return state: args.inputs). ${MOCK_NAME_FIX}, or pass the name as a string; until then the handler's resources that use it stay unknown`,
    );
}

/** The chosen groups once every name is known, each checked as AWS checks it. */
export function resolvedSelection(
    groups: GroupSelection<pulumi.Input<string>>,
    argument: GroupArgument,
    component: pulumi.Resource,
): pulumi.Output<GroupSelection> {
    if (groups.kind === "tag") {
        const { key, value } = groups;
        return pulumi.output<GroupSelection>(
            value === undefined ? { kind: "tag", key } : { kind: "tag", key, value },
        );
    }
    const argumentAt = (index: number) =>
        argument === "autoScalingGroupNames" ? `autoScalingGroupNames[${index}]` : argument;
    const names = checkFilledByProvider(
        pulumi.all(groups.names.map((name) => pulumi.output(name))),
        (resolved) => {
            const index = resolved.findIndex((name) => name === undefined);
            return index < 0 ? undefined : unnamedGroupError(argumentAt(index));
        },
        component,
    );
    return names.apply((resolved): GroupSelection => {
        try {
            resolved.forEach((name, index) =>
                validateAutoScalingGroupName(name, argumentAt(index)),
            );
            return { kind: "names", names: validateGroupNameList(resolved) };
        } catch (error) {
            throw errorInApply(error, component);
        }
    });
}

/**
 * The group the FIS experiment interrupts: faultInjection.autoScalingGroupName, else the first
 * protected group (validation made sure that tag mode names one).
 */
export function faultInjectionGroupName(
    given: pulumi.Input<string> | undefined,
    selection: pulumi.Output<GroupSelection>,
    component: pulumi.Resource,
): pulumi.Output<string> {
    if (given === undefined) {
        return selection.apply((groups) => (groups.kind === "names" ? groups.names[0] : ""));
    }
    return checkFilledByProvider(
        pulumi.output(given),
        (name) =>
            name === undefined
                ? unnamedGroupError("faultInjection.autoScalingGroupName")
                : undefined,
        component,
    );
}
