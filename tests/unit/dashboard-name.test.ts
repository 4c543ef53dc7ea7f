/**
 * The dashboard's name: global to the account in CloudWatch, so unique per project, stack, Region
 * and component, in CloudWatch's alphabet and length.
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import {
    type DashboardScope,
    dashboardName,
    MAX_DASHBOARD_NAME_LENGTH,
} from "../../components/spot-interruption-handler/monitoring";
import {
    installPulumiMocks,
    recorded,
    registrationsSettled,
    resetRecorded,
} from "../../offline/pulumi-engine";

const SCOPE: DashboardScope = {
    project: "spot-interruption-handler",
    stack: "dev",
    region: "eu-west-1",
    component: "spot",
};

describe("the dashboard's name", () => {
    it("reads as project, stack, Region and component, then a hash of them", () => {
        assert.match(
            dashboardName(SCOPE),
            /^spot-interruption-handler-dev-eu-west-1-spot-[0-9a-f]{8}$/,
        );
    });

    it("differs when any one of the four differs", () => {
        const names = [
            SCOPE,
            { ...SCOPE, project: "other-program" },
            { ...SCOPE, stack: "prod" },
            { ...SCOPE, region: "us-east-1" },
            { ...SCOPE, component: "fleet" },
        ].map(dashboardName);
        assert.equal(new Set(names).size, names.length);
    });

    it("keeps apart scopes that read the same once joined or once their characters are replaced", () => {
        const joined = [
            { ...SCOPE, project: "a-b", stack: "c" },
            { ...SCOPE, project: "a", stack: "b-c" },
        ].map(dashboardName);
        const replaced = [
            { ...SCOPE, stack: "org.prod" },
            { ...SCOPE, stack: "org-prod" },
        ].map(dashboardName);
        assert.notEqual(joined[0], joined[1]);
        assert.notEqual(replaced[0], replaced[1]);
    });

    it("keeps apart long scopes that differ only past the cut", () => {
        const long = "s".repeat(300);
        const [a, b] = [`${long}a`, `${long}b`].map((component) =>
            dashboardName({ ...SCOPE, component }),
        );
        assert.equal(a.length, MAX_DASHBOARD_NAME_LENGTH);
        assert.notEqual(a, b);
    });

    it("is always 1 to 255 letters, digits, - and _", () => {
        fc.assert(
            fc.property(
                fc.record({
                    project: fc.string({ minLength: 1, maxLength: 120 }),
                    stack: fc.string({ minLength: 1, maxLength: 120 }),
                    region: fc.constantFrom("eu-west-1", "us-gov-west-1", "cn-north-1"),
                    component: fc.string({ minLength: 1, maxLength: 120 }),
                }),
                (scope) => {
                    const name = dashboardName(scope);
                    return /^[A-Za-z0-9_-]{1,255}$/.test(name);
                },
            ),
        );
    });

    it("is the one the component gives its dashboard, from the project, stack and Region it runs in", async () => {
        installPulumiMocks("prod");
        const { SpotInterruptionHandler } = await import("../../components");
        await registrationsSettled();
        resetRecorded();
        new SpotInterruptionHandler("fleet", { autoScalingGroupName: "web" });
        await registrationsSettled();

        const [dashboard] = recorded.filter((r) => r.type === "aws:cloudwatch/dashboard:Dashboard");
        assert.equal(
            dashboard.inputs.dashboardName,
            dashboardName({ ...SCOPE, stack: "prod", component: "fleet" }),
        );
        installPulumiMocks();
    });
});
