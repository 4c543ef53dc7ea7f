/** Which groups a SpotInterruptionHandler protects (a name, a list, a tag), through IAM, the environment and the dashboard. */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { recorded, unwrap, MOCK_ACCOUNT_ID } from "../../../offline/pulumi-engine";
import {
    actOnChosenGroups,
    arn,
    build,
    buildHandler,
    childOf,
    functionEnvironment,
    functionInputsWithoutCode,
    groupArn,
    handlerName,
    hasProperties,
    describeComponents,
    components,
    parseJson,
    rolePolicyOf,
    sharedRoleStatements,
} from "../../support/handler-mocks";

describeComponents("SpotInterruptionHandler's group selection", () => {
    describe("given a group name with the characters IAM reads as wildcards and variables", () => {
        it("lets the function detach and terminate in exactly that group, its name escaped, and gives the function the name as is", async () => {
            // Given a group called web*?$ (legal in Auto Scaling)
            // When the component is built
            await buildHandler(components, "spotesc", {
                autoScalingGroupName: "web*?$",
            });
            // Then the policy's ARN matches that group only, not web-prod or webhooks
            assert.deepEqual(
                rolePolicyOf("spotesc").Statement.find((s) => s.Sid === "ActOnChosenGroupsOnly"),
                actOnChosenGroups(groupArn("web${*}${?}${$}")),
            );
            assert.equal(functionEnvironment("spotesc").AUTO_SCALING_GROUP_NAMES, '["web*?$"]');
        });
    });

    describe("given decrement, a group name from another resource, and an explicit provider", () => {
        let providerUrn: string;

        before(async () => {
            // Given a group whose name is an Output, and a provider for another Region
            // When the component is built with them
            const aws = await import("@pulumi/aws");
            const { provider } = await build(() => {
                const explicit = new aws.Provider("explicit", { region: "us-west-2" });
                const group = new aws.autoscaling.Group("fleet", {
                    name: "fleet-asg",
                    maxSize: 4,
                    minSize: 1,
                });
                new components.SpotInterruptionHandler(
                    "spotdec",
                    {
                        autoScalingGroupName: group.name,
                        capacityOnInterruption: "decrement",
                        runtime: "nodejs22.x",
                    },
                    { provider: explicit },
                );
                return { provider: explicit };
            });
            providerUrn = await unwrap(provider.urn);
        });

        it("sends the explicit provider to every child", () => {
            const children = recorded.filter((r) => r.name.startsWith("spotdec-"));
            assert.equal(children.length, 22, "12 for the handler, 9 alarms and a dashboard");
            for (const resource of children) {
                assert.ok(
                    resource.provider?.startsWith(`${providerUrn}::`),
                    `${resource.name} uses ${resource.provider}`,
                );
            }
        });

        it("scopes detaching and terminating to the resolved group, granted once and never on *", () => {
            const detachStatements = rolePolicyOf("spotdec").Statement.filter((s) =>
                JSON.stringify(s.Action).includes("DetachInstances"),
            );
            assert.deepEqual(detachStatements, [actOnChosenGroups(groupArn("fleet-asg"))]);
        });

        it("configures the function for decrement on nodejs22.x, with the resolved group", () => {
            hasProperties(functionInputsWithoutCode("spotdec"), { runtime: "nodejs22.x" });
            hasProperties(functionEnvironment("spotdec"), {
                AUTO_SCALING_GROUP_NAMES: '["fleet-asg"]',
                CAPACITY_ON_INTERRUPTION: "decrement",
            });
        });
    });

    describe("given a list of groups", () => {
        before(() =>
            build(
                () =>
                    new components.SpotInterruptionHandler("spotlist", {
                        autoScalingGroupNames: ["web-a", pulumi.output("web-b")],
                    }),
            ),
        );

        it("grants detaching and terminating on exactly the listed groups, and the rest as for one group", () => {
            assert.deepEqual(rolePolicyOf("spotlist"), {
                Version: "2012-10-17",
                Statement: sharedRoleStatements("spotlist", "web-a").map((statement) =>
                    statement.Sid === "ActOnChosenGroupsOnly"
                        ? { ...statement, Resource: [groupArn("web-a"), groupArn("web-b")] }
                        : statement,
                ),
            });
        });

        it("refuses a list whose policy would not fit IAM's 10,240 characters of inline policy", () => {
            // Each listed ARN takes about 90 characters besides the name: 100 names never fit.
            const policyFor = (count: number, nameLength: number) =>
                components.handlerPolicyJson({
                    groups: {
                        kind: "names",
                        names: Array.from({ length: count }, (_, i) =>
                            `g${i}`.padEnd(nameLength, "x"),
                        ),
                    },
                    account: { partition: "aws", region: "eu-west-1", accountId: MOCK_ACCOUNT_ID },
                    logGroupArn: arn("logs", "log-group:l"),
                    deadLetterQueueArn: arn("sqs", "dlq"),
                    capacityOnInterruption: "keep",
                    interruptionAction: "auto",
                });

            assert.ok(policyFor(50, 30).length < 9_728);
            assert.throws(() => policyFor(100, 8), {
                message:
                    /^SpotInterruptionHandler: \[autoScalingGroupNames\] make the function's policy 10097 characters, over the 9728 it may use of IAM's 10240 for a role's inline policies: tag the groups and pass autoScalingGroupTag instead$/,
            });
        });

        it("hands the function the names as a JSON list, and no tag", () => {
            hasProperties(functionEnvironment("spotlist"), {
                AUTO_SCALING_GROUP_NAMES: '["web-a","web-b"]',
                AUTO_SCALING_GROUP_TAG: undefined,
            });
        });

        it("charts every listed group by name, quiet ones too", () => {
            const body = parseJson(
                childOf("spotlist", "aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody,
            ) as {
                widgets: { properties: { title: string; metrics: unknown[][] } }[];
            };
            const perGroup = body.widgets.find((w) =>
                w.properties.title.startsWith("Detached, per group"),
            );
            assert.deepEqual(perGroup?.properties.metrics, [
                [
                    "SpotInterruptionHandler",
                    "Detached",
                    "Handler",
                    handlerName("spotlist"),
                    "AutoScalingGroupName",
                    "web-a",
                    { label: "web-a" },
                ],
                [
                    "SpotInterruptionHandler",
                    "Detached",
                    "Handler",
                    handlerName("spotlist"),
                    "AutoScalingGroupName",
                    "web-b",
                    { label: "web-b" },
                ],
            ]);
        });
    });

    describe("given a tag, with or without a value", () => {
        before(() =>
            build(() => {
                new components.SpotInterruptionHandler("spottag", {
                    autoScalingGroupTag: { key: "spot-handler", value: "web${aws:username}" },
                });
                new components.SpotInterruptionHandler("spotkey", {
                    autoScalingGroupTag: { key: "spot-handler" },
                    capacityOnInterruption: "decrement",
                });
            }),
        );

        it("grants detaching and terminating on this account and Region's groups only where the group carries the tag's value, escaped", () => {
            assert.deepEqual(rolePolicyOf("spottag"), {
                Version: "2012-10-17",
                Statement: sharedRoleStatements("spottag", "unused").map((statement) =>
                    statement.Sid === "ActOnChosenGroupsOnly"
                        ? actOnChosenGroups(groupArn("*"), {
                              StringEquals: {
                                  "autoscaling:ResourceTag/spot-handler": "web${$}{aws:username}",
                              },
                          })
                        : statement,
                ),
            });
        });

        it("without a value, grants it where the key is set at all (a Null condition)", () => {
            assert.deepEqual(
                rolePolicyOf("spotkey").Statement.find((s) => s.Sid === "ActOnChosenGroupsOnly"),
                actOnChosenGroups(groupArn("*"), {
                    Null: { "autoscaling:ResourceTag/spot-handler": "false" },
                }),
            );
        });

        it("hands the function the tag, and charts the groups it finds by search", () => {
            hasProperties(functionEnvironment("spotkey"), {
                AUTO_SCALING_GROUP_TAG: '{"key":"spot-handler"}',
                AUTO_SCALING_GROUP_NAMES: undefined,
            });
            const body = JSON.stringify(
                parseJson(
                    childOf("spotkey", "aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody,
                ),
            );
            assert.ok(
                body.includes(
                    `SEARCH('{SpotInterruptionHandler,AutoScalingGroupName,Handler} Handler=\\"${handlerName("spotkey")}\\" MetricName=\\"Detached\\"', 'Sum', 60)`,
                ),
                body.slice(0, 400),
            );
        });
    });
});
