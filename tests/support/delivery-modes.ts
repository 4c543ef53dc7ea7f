/** What the suites of both deliveries assert alike of a built handler: its children, its role policy. */
import * as assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import {
    assertChildren,
    childrenInBothModes,
    childTypes,
    type Handler,
    named,
    sharedRoleStatements,
    TYPES_IN_BOTH_MODES,
    withParsed,
} from "./handler-mocks";

/**
 * Asserts that `component` has exactly the children of both modes, the mode's `own` (role: member
 * and type) and the types in `unexposed`; and that each exposed one is the component's, named after it.
 */
export async function assertExactChildren(
    component: string,
    handler: Handler,
    own: Record<string, [pulumi.Resource | undefined, string]>,
    unexposed: readonly string[] = [],
): Promise<void> {
    const ownTypes = Object.values(own).map(([, type]) => type);
    assert.deepEqual(
        childTypes(component),
        [...TYPES_IN_BOTH_MODES, ...ownTypes, ...unexposed].sort(),
    );
    await assertChildren(component, { ...childrenInBothModes(handler), ...own });
}

/** Asserts the whole role policy of a handler for the group "web": the statements both modes share. */
export function assertSharedRolePolicy(component: string): void {
    const { inputs } = named(`${component}-policy`, "aws:iam/rolePolicy:RolePolicy");
    assert.deepEqual(withParsed(inputs, "policy"), {
        role: `${component}-role-id`,
        policy: { Version: "2012-10-17", Statement: sharedRoleStatements(component, "web") },
    });
}
