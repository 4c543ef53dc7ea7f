/** `npm run simulate --fis` against a fake AWS account: the experiment it starts and follows, its failures and its --dry-run. */
import * as assert from "node:assert/strict";
import { simulateExperiment } from "../../commands/simulate/fis";
import type { Deployment } from "../../commands/simulate/run";
import { FakeAccount, type FakeAccountOptions, messages } from "../support/fake-account";
import {
    ACCOUNT,
    DEPLOYMENT,
    GROUP,
    INSTANCES,
    READ_ONLY_COMMANDS,
    TEMPLATE,
} from "../support/fake-account";

const [FIRST] = INSTANCES;

describe("npm run simulate --fis, against a fake AWS account", () => {
    const experiment = (account: FakeAccount, dryRun = false, deployment = DEPLOYMENT) =>
        simulateExperiment({ deployment, dryRun }, account.context());

    describe("given the component's template and a group without Capacity Rebalancing", () => {
        it("starts the experiment and follows it from start to interruption, each step timestamped", async () => {
            const account = new FakeAccount();

            const report = await experiment(account);

            assert.equal(report.outcome, "passed", report.failure?.message);
            assert.deepEqual(account.startedTemplates(), [TEMPLATE]);
            assert.equal(report.experimentId, "EXP1");
            assert.deepEqual(report.instanceIds, [FIRST]);
            const action =
                "FIS action InterruptSpotInstances (aws:ec2:send-spot-instance-interruptions)";
            assert.deepEqual(messages(report, "experiment", "action", "handler", "instance"), [
                "Started experiment EXP1",
                "Experiment EXP1: initiating",
                `${action}: pending`,
                "Experiment EXP1: running",
                `${action}: running`,
                `FIS selected ${FIRST}`,
                `Instance ${FIRST} belongs to AutoScaling Group ${GROUP}. Detaching instance... (capacity keep)`,
                "Batch of 1 records: 1 detached, 0 ignored, 0 left for a retry",
                "Experiment EXP1: completed",
                `${action}: completed`,
                `${FIRST} is shutting-down (Server.SpotInstanceTermination: Spot instance termination)`,
            ]);
            const steps = report.steps.map((s) => s.elapsedMs);
            assert.deepEqual(
                steps,
                [...steps].sort((a, b) => a - b),
                "steps in time order",
            );
            assert.ok(report.steps.every((s) => s.at.startsWith("2026-05-01T12:")));
            assert.match(report.warning ?? "", new RegExp(`^FIS interrupted ${FIRST} for real`));
        });
    });

    describe("given Capacity Rebalancing, which replaces the instance at the recommendation", () => {
        it("says that the handler left it to the group, and passes", async () => {
            const account = new FakeAccount({ capacityRebalance: true });

            const report = await experiment(account);

            assert.equal(report.outcome, "passed", report.failure?.message);
            assert.deepEqual(report.decision, { action: "left-to-group", inferred: true });
            assert.deepEqual(messages(report, "note"), [
                `The handler left the warning for ${FIRST} to its group: Capacity Rebalancing was already terminating and replacing it, as AWS documents it does on the warning.`,
            ]);
            assert.ok(messages(report, "activity").some((m) => m.includes("rebalance")));
            assert.match(report.warning ?? "", /after Capacity Rebalancing had replaced it/);
        });
    });

    describe("given something wrong, it fails with a specific message", () => {
        const failures: [string, FakeAccountOptions, Partial<Deployment>, string, string][] = [
            [
                "an experiment that FIS fails",
                { experimentFails: true },
                {},
                "experiment-failed",
                "Experiment EXP1 failed: Experiment failed because one or more actions failed; action InterruptSpotInstances: Unable to send interruption: not authorized to perform ec2:SendSpotInstanceInterruptions.",
            ],
            [
                "a warning that never reaches the function",
                { silentLog: true },
                {},
                "timeout",
                `No decision about ${FIRST} in the handler's log group spot-logs-5d6e7f8: the warning did not reach the function (check the rule, the events queue and its mapping).`,
            ],
            [
                "no template",
                {},
                { templateId: undefined },
                "not-deployed",
                "No FIS experiment template is known: deploy the component with faultInjection.enabled (the stack then exports faultInjectionTemplateId), or pass --template.",
            ],
            [
                "a template FIS does not know",
                {},
                { templateId: "EXTmissing" },
                "template-not-found",
                "FIS experiment template EXTmissing not found in eu-west-1: check --template (or the stack's faultInjectionTemplateId output) and AWS_REGION.",
            ],
        ];
        for (const [what, given, deployment, kind, message] of failures) {
            it(`given ${what}`, async () => {
                const account = new FakeAccount(given);

                const report = await experiment(account, false, { ...DEPLOYMENT, ...deployment });

                assert.deepEqual(report.failure, { kind, message });
                assert.deepEqual(
                    account.startedTemplates().length,
                    kind === "not-deployed" || kind === "template-not-found" ? 0 : 1,
                );
            });
        }

        it("gives up on a warning that never reaches the function at the experiment's deadline", async () => {
            const report = await experiment(new FakeAccount({ silentLog: true }));

            // The interruption's two minutes, then the decision's 60 s and the reaction's 180 s.
            assert.equal(report.steps.at(-1)?.elapsedMs, 120_000 + 60_000 + 180_000);
        });
    });

    describe("given --dry-run", () => {
        it("starts nothing and checks fis:StartExperiment among the permissions", async () => {
            const account = new FakeAccount();

            const report = await experiment(account, true);

            assert.equal(report.outcome, "planned");
            assert.deepEqual(
                account.commandNames().filter((name) => !READ_ONLY_COMMANDS.includes(name)),
                [],
            );
            assert.deepEqual(
                report.permissions
                    ?.filter((p) => p.action.startsWith("fis:"))
                    .map((p) => [p.action, p.resource]),
                [
                    [
                        "fis:GetExperimentTemplate",
                        `arn:aws:fis:eu-west-1:${ACCOUNT}:experiment-template/${TEMPLATE}`,
                    ],
                    [
                        "fis:StartExperiment",
                        `arn:aws:fis:eu-west-1:${ACCOUNT}:experiment-template/${TEMPLATE}`,
                    ],
                    ["fis:StartExperiment", `arn:aws:fis:eu-west-1:${ACCOUNT}:experiment/*`],
                    ["fis:GetExperiment", `arn:aws:fis:eu-west-1:${ACCOUNT}:experiment/*`],
                    [
                        "fis:ListExperimentResolvedTargets",
                        `arn:aws:fis:eu-west-1:${ACCOUNT}:experiment/*`,
                    ],
                ],
            );
            assert.match(
                report.warning ?? "",
                /^Without --dry-run, FIS really interrupts COUNT\(1\)/,
            );
        });
    });
});
