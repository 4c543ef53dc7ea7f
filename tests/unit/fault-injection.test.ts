/**
 * The FIS experiment template and its role, as `pulumi up` would create them: exact inputs under
 * the offline engine's mocks, exact IAM documents, and the validation of `faultInjection`.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as FaultInjectionModule from "../../components/spot-interruption-handler/fault-injection";
import {
    installPulumiMocks,
    MOCK_ACCOUNT_ID,
    MOCK_REGION,
    recorded,
    registrationsSettled,
    resetRecorded,
} from "../../offline/pulumi-engine";

const ALARM_ARN = `arn:aws:cloudwatch:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:alarm:spot-dead-letters`;

describe("fault injection: a FIS experiment template that interrupts the group's Spot instances", () => {
    let fis: typeof FaultInjectionModule;

    before(async () => {
        installPulumiMocks();
        fis = await import("../../components/spot-interruption-handler/fault-injection");
    });

    async function create(
        settings: FaultInjectionModule.FaultInjectionSettings,
        extra: { stopConditionAlarmArn?: string; tags?: Record<string, string> } = {},
    ) {
        resetRecorded();
        fis.createFaultInjection("spot", {
            autoScalingGroupName: "web",
            settings,
            account: { partition: "aws", region: MOCK_REGION, accountId: MOCK_ACCOUNT_ID },
            ...extra,
        });
        await registrationsSettled();
        const one = (type: string) => {
            const matches = recorded.filter((r) => r.type === type);
            assert.equal(matches.length, 1, `exactly one ${type}`);
            return matches[0];
        };
        return {
            role: one("aws:iam/role:Role"),
            rolePolicy: one("aws:iam/rolePolicy:RolePolicy"),
            template: one("aws:fis/experimentTemplate:ExperimentTemplate"),
            all: [...recorded],
        };
    }

    describe("given the defaults (one instance, PT2M, no stop condition)", () => {
        it("creates exactly a role, its policy and the template, named after the component", async () => {
            const { all } = await create({ instanceCount: 1, durationBeforeInterruption: "PT2M" });

            assert.deepEqual(all.map((r) => r.name).sort(), [
                "spot-fis-policy",
                "spot-fis-role",
                "spot-fis-template",
            ]);
        });

        it("targets COUNT(1) running Spot instances tagged with the group, and interrupts them after PT2M", async () => {
            const { template } = await create({
                instanceCount: 1,
                durationBeforeInterruption: "PT2M",
            });

            assert.deepEqual(template.inputs, {
                description:
                    "Spot interruption of 1 running instance(s) of Auto Scaling group web: rebalance recommendation at once, interruption after PT2M",
                roleArn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/spot-fis-role-a1b2c3d`,
                targets: [
                    {
                        name: "SpotInstancesOfGroup",
                        resourceType: "aws:ec2:spot-instance",
                        resourceTags: [{ key: "aws:autoscaling:groupName", value: "web" }],
                        filters: [{ path: "State.Name", values: ["running"] }],
                        selectionMode: "COUNT(1)",
                    },
                ],
                actions: [
                    {
                        name: "InterruptSpotInstances",
                        actionId: "aws:ec2:send-spot-instance-interruptions",
                        parameters: [{ key: "durationBeforeInterruption", value: "PT2M" }],
                        target: { key: "SpotInstances", value: "SpotInstancesOfGroup" },
                    },
                ],
                stopConditions: [{ source: "none" }],
            });
        });

        it("lets only FIS, for this account's experiments, assume the role", async () => {
            const { role } = await create({ instanceCount: 1, durationBeforeInterruption: "PT2M" });

            assert.deepEqual(JSON.parse(String(role.inputs.assumeRolePolicy)), {
                Version: "2012-10-17",
                Statement: [
                    {
                        Effect: "Allow",
                        Principal: { Service: "fis.amazonaws.com" },
                        Action: "sts:AssumeRole",
                        Condition: {
                            StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID },
                            ArnLike: {
                                "aws:SourceArn": `arn:aws:fis:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:experiment/*`,
                            },
                        },
                    },
                ],
            });
        });

        it("grants SendSpotInstanceInterruptions only on instances tagged with the group, plus DescribeInstances", async () => {
            const { role, rolePolicy } = await create({
                instanceCount: 1,
                durationBeforeInterruption: "PT2M",
            });

            assert.equal(rolePolicy.inputs.role, `${role.name}-id`);
            assert.deepEqual(JSON.parse(String(rolePolicy.inputs.policy)), {
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "InterruptOwnGroupSpotInstancesOnly",
                        Effect: "Allow",
                        Action: "ec2:SendSpotInstanceInterruptions",
                        Resource: `arn:aws:ec2:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:instance/*`,
                        Condition: {
                            StringEquals: { "aws:ResourceTag/aws:autoscaling:groupName": "web" },
                        },
                    },
                    {
                        Sid: "FindTargetInstances",
                        Effect: "Allow",
                        Action: "ec2:DescribeInstances",
                        Resource: "*",
                    },
                ],
            });
        });
    });

    describe("given five instances, PT5M, a stop-condition alarm and tags", () => {
        it("selects COUNT(5), waits PT5M, stops on the alarm, and tags every resource", async () => {
            const tags = { team: "web" };
            const { template, role } = await create(
                { instanceCount: 5, durationBeforeInterruption: "PT5M" },
                { stopConditionAlarmArn: ALARM_ARN, tags },
            );

            const targets = template.inputs.targets as { selectionMode: string }[];
            const actions = template.inputs.actions as { parameters: unknown }[];
            assert.equal(targets[0].selectionMode, "COUNT(5)");
            assert.deepEqual(actions[0].parameters, [
                { key: "durationBeforeInterruption", value: "PT5M" },
            ]);
            assert.deepEqual(template.inputs.stopConditions, [
                { source: "aws:cloudwatch:alarm", value: ALARM_ARN },
            ]);
            assert.deepEqual(template.inputs.tags, tags);
            assert.deepEqual(role.inputs.tags, tags);
        });
    });

    describe("given a group name with IAM wildcard characters", () => {
        it("escapes them in the tag condition, so that web* means exactly web*", () => {
            const document = fis.faultInjectionRolePolicyDocument({
                partition: "aws",
                region: MOCK_REGION,
                accountId: MOCK_ACCOUNT_ID,
                autoScalingGroupName: "web*",
            });

            assert.deepEqual(document.Statement[0].Condition, {
                StringEquals: { "aws:ResourceTag/aws:autoscaling:groupName": "web${*}" },
            });
        });
    });

    describe("resolveFaultInjectionSettings", () => {
        it("is off without faultInjection, or with enabled false", () => {
            assert.equal(fis.resolveFaultInjectionSettings(undefined), undefined);
            assert.equal(fis.resolveFaultInjectionSettings({}), undefined);
            assert.equal(fis.resolveFaultInjectionSettings({ enabled: false }), undefined);
        });

        it("defaults to one instance and PT2M when enabled", () => {
            assert.deepEqual(fis.resolveFaultInjectionSettings({ enabled: true }), {
                instanceCount: 1,
                durationBeforeInterruption: "PT2M",
            });
        });

        it("accepts the range's ends and seconds", () => {
            for (const duration of ["PT2M", "PT15M", "PT150S", "PT0H3M"]) {
                assert.equal(
                    fis.resolveFaultInjectionSettings({
                        enabled: true,
                        durationBeforeInterruption: duration,
                    })?.durationBeforeInterruption,
                    duration,
                );
            }
        });

        // Each refused setting, and the exact message.
        const refusals = JSON.parse(
            fs.readFileSync(path.join(__dirname, "fault-injection-refusals.json"), "utf8"),
        ) as [string, FaultInjectionModule.FaultInjectionArgs, string][];
        for (const [what, args, message] of refusals) {
            it(`refuses ${what}`, () => {
                assert.throws(() => fis.resolveFaultInjectionSettings(args), { message });
            });
        }
    });
});
