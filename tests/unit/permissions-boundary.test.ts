/**
 * permissionsBoundary: every role either component creates carries it, as an argument, because
 * `transforms` (the usual way to add one) never run under mocks. Checked on the stack program,
 * which builds all three roles, and on each component.
 */
import * as assert from "node:assert/strict";
import { recorded, registrationsSettled, runStackProgram } from "../../offline/pulumi-engine";
import { emptyRecord, describeComponents, components } from "../support/handler-mocks";
import { permissionsBoundaryProblem } from "../../components/shared/iam";

const BOUNDARY = "arn:aws:iam::123456789012:policy/DeveloperBoundary";
const ROLE = "aws:iam/role:Role";

/** Each registered role's name and boundary. */
function roleBoundaries(): Record<string, unknown> {
    return Object.fromEntries(
        recorded.filter((r) => r.type === ROLE).map((r) => [r.name, r.inputs.permissionsBoundary]),
    );
}

describe("permissionsBoundary", () => {
    describe("the check of a plain value", () => {
        for (const arn of [
            BOUNDARY,
            "arn:aws:iam::aws:policy/PowerUserAccess",
            "arn:aws-cn:iam::123456789012:policy/teams/Boundary",
            "arn:aws-us-gov:iam::123456789012:policy/Boundary",
        ]) {
            it(`accepts the managed policy ${arn}`, () => {
                assert.equal(permissionsBoundaryProblem(arn), undefined);
            });
        }

        for (const [what, value] of [
            ["a policy's name", "DeveloperBoundary"],
            ["a role's ARN", "arn:aws:iam::123456789012:role/Boundary"],
            ["an empty string", ""],
            ["an inline policy", '{"Version":"2012-10-17","Statement":[]}'],
        ]) {
            it(`refuses ${what}, saying what a boundary is`, () => {
                assert.match(
                    permissionsBoundaryProblem(value) ?? "",
                    /^is ".*", not a managed policy's ARN: pass one like "arn:aws:iam::123456789012:policy\/Boundary"/,
                );
            });
        }
    });

    const programCases = [
        {
            given: "a boundary and fault injection",
            it: "bounds the function's role, FIS's role and the web tier's instance role",
            boundary: BOUNDARY,
            expected: BOUNDARY,
        },
        {
            given: "the declared default, an empty string",
            it: "bounds no role",
            boundary: "",
            expected: undefined,
        },
    ];
    for (const c of programCases) {
        describe(`given the stack program with ${c.given}`, () => {
            before(async () => {
                await runStackProgram({
                    "aws:region": "eu-west-1",
                    permissionsBoundary: c.boundary,
                    faultInjection: "true",
                });
            });

            it(c.it, () => {
                assert.deepEqual(roleBoundaries(), {
                    "spot-role": c.expected,
                    "spot-fis-role": c.expected,
                    "web-instance-role": c.expected,
                });
            });
        });
    }

    describe("given a stack config value that is not a policy ARN", () => {
        it("stops the program with the key and the command that sets one", async () => {
            await assert.rejects(
                runStackProgram({ "aws:region": "eu-west-1", permissionsBoundary: "Boundary" }),
                {
                    name: "StackConfigError",
                    message:
                        'Stack config "permissionsBoundary" is "Boundary", not a managed policy\'s ARN: pass one like "arn:aws:iam::123456789012:policy/Boundary" (an inline policy or a policy name cannot be a boundary). Fix it with: pulumi config set permissionsBoundary arn:aws:iam::<account>:policy/<boundary>',
                },
            );
        });
    });

    describeComponents("on each component", () => {
        beforeEach(emptyRecord);

        it("SpotInterruptionHandler takes a boundary given as an Output", async () => {
            const { Output } = await import("@pulumi/pulumi");
            new components.SpotInterruptionHandler("bounded", {
                autoScalingGroupName: "web",
                faultInjection: { enabled: true },
                permissionsBoundary: Output.create(BOUNDARY),
            });
            await registrationsSettled();

            assert.deepEqual(roleBoundaries(), {
                "bounded-role": BOUNDARY,
                "bounded-fis-role": BOUNDARY,
            });
        });

        it("SpotInterruptionHandler refuses a policy name before registering anything", async () => {
            assert.throws(
                () =>
                    new components.SpotInterruptionHandler("named", {
                        autoScalingGroupName: "web",
                        permissionsBoundary: "DeveloperBoundary",
                    }),
                (error: Error) =>
                    error instanceof components.ComponentArgsError &&
                    error.argument === "permissionsBoundary" &&
                    error.message.startsWith(
                        'SpotInterruptionHandler: [permissionsBoundary] is "DeveloperBoundary", not a managed policy\'s ARN',
                    ),
            );
            await registrationsSettled();
            assert.deepEqual(recorded, []);
        });

        it("SpotWebTier refuses a policy name before registering anything, with the value to set", async () => {
            assert.throws(
                () => new components.SpotWebTier("tier", { permissionsBoundary: "Boundary" }),
                (error: Error) =>
                    error instanceof components.ComponentArgsError &&
                    error.argument === "permissionsBoundary" &&
                    error.component === "SpotWebTier" &&
                    error.remedy?.action === "set" &&
                    error.remedy.value === "arn:aws:iam::<account>:policy/<boundary>",
            );
            await registrationsSettled();
            assert.deepEqual(recorded, []);
        });
    });
});
