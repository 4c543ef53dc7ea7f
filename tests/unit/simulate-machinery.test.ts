/**
 * `npm run simulate`'s console test against groups with their own machinery: Capacity
 * Rebalancing (which never reacts to a console test's warning, so the safety net acts at the
 * grace's end) and a termination hook (terminated through the group, the hook seen running).
 * Judged by the fake account's state and the order of the timeline, on a fake clock.
 */
import * as assert from "node:assert/strict";
import { TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { simulateConsoleTest } from "../../commands/simulate/console-test";
import {
    describeExpectation,
    expectsSafetyNet,
    verdictOf,
} from "../../commands/simulate/handler-log";
import { redeliveredPayload } from "../../commands/simulate/console-test";
import {
    decisionFor,
    type HandlerLogEntry,
    parseLogLine,
} from "../../commands/simulate/handler-log";
import { formatSummary, type SimulationReport } from "../../commands/simulate/run";
import { createStyle } from "../../commands/terminal";
import { FakeAccount, type FakeAccountOptions } from "../support/fake-account";
import { DEPLOYMENT, GROUP, INSTANCES, T0 } from "../support/fake-account";

const [FIRST] = INSTANCES;
const plain = createStyle(false);

async function consoleTest(
    options: FakeAccountOptions,
    flags: { terminate?: boolean } = {},
): Promise<{ account: FakeAccount; report: SimulationReport }> {
    const account = new FakeAccount(options);
    const direct = options.queueDelivery === false;
    const report = await simulateConsoleTest(
        {
            deployment: direct ? { ...DEPLOYMENT, queueUrl: undefined } : DEPLOYMENT,
            terminate: flags.terminate ?? false,
            dryRun: false,
        },
        account.context(),
    );
    return { account, report };
}

/** When the timeline first says something matching `pattern`, in ms since the start. */
function firstAt(report: SimulationReport, pattern: RegExp): number | undefined {
    return report.steps.find((s) => pattern.test(s.message))?.elapsedMs;
}

function invokedRecords(account: FakeAccount): { messageId: string; count: string }[] {
    return account.mocks.lambda.commandCalls(InvokeCommand).map((call) => {
        const payload = JSON.parse(
            new TextDecoder().decode(call.args[0].input.Payload as Uint8Array),
        );
        const [record] = payload.Records;
        return {
            messageId: record.messageId,
            count: record.attributes.ApproximateReceiveCount,
        };
    });
}

describe("npm run simulate's console test against a group's own machinery", () => {
    describe("given queue delivery and a group with Capacity Rebalancing (auto, keep)", () => {
        it("brings the waiting record back at the grace's end, as the queue would, and the safety net detaches", async () => {
            const { account, report } = await consoleTest({ capacityRebalance: true });

            assert.equal(report.outcome, "passed", report.failure?.message);
            assert.deepEqual(invokedRecords(account), [
                { messageId: "id-2", count: "1" },
                { messageId: "id-2", count: "2" },
            ]);
            const [first, second] = report.steps.filter((s) => s.kind === "invoke");
            assert.equal(first.elapsedMs, 0);
            assert.ok(second.elapsedMs >= 25_000, "not before the grace's end");
            assert.ok(second.elapsedMs < 25_000 + 2_000 + 1_000, "at the grace's end");
        });

        it("keeps the instance InService through the grace: the group never reacts to a test's warning", async () => {
            const { report } = await consoleTest({ capacityRebalance: true });

            const left = firstAt(report, new RegExp(`^${FIRST} is Detaching`));
            assert.ok(left !== undefined && left >= 25_000, `left service at ${left} ms`);
            assert.ok(
                !report.steps.some((s) => s.kind === "activity" && /rebalanc/i.test(s.message)),
                "no activity of the group's own",
            );
            assert.equal(report.decision?.action, "detached");
            assert.equal(report.decision?.action === "detached" && report.decision.safetyNet, true);
        });

        it("passes with the verdict 'left to the group, then the safety net', not a timeout", async () => {
            const { report } = await consoleTest({ capacityRebalance: true });

            assert.equal(report.verdict, "left it to the group, then the safety net detached it");
            assert.match(
                formatSummary(report, plain),
                /Passed in [\d.]+ s: the handler left it to the group, then the safety net detached it, as the console test expects\./,
            );
            assert.match(
                report.steps.find((s) => s.kind === "plan" && /^Expected/.test(s.message))
                    ?.message ?? "",
                /Capacity Rebalancing.*not one EC2 sent, so the group never reacts/,
            );
            assert.ok(
                report.steps.some(
                    (s) => s.kind === "note" && /brings it back itself/.test(s.message),
                ),
            );
        });
    });

    describe("given direct delivery and a group with Capacity Rebalancing", () => {
        it("invokes once: the handler waits out the grace in the invocation, then the safety net detaches", async () => {
            const { account, report } = await consoleTest({
                capacityRebalance: true,
                queueDelivery: false,
            });

            assert.equal(report.outcome, "passed", report.failure?.message);
            assert.equal(account.mocks.lambda.commandCalls(InvokeCommand).length, 1);
            assert.deepEqual(report.response, {
                instanceId: FIRST,
                autoScalingGroupName: GROUP,
                capacityOnInterruption: "keep",
                action: "detached",
                safetyNet: true,
            });
            assert.equal(report.verdict, "left it to the group, then the safety net detached it");
        });
    });

    describe("given a group with a termination hook", () => {
        it("follows the termination through the group until the hook runs, and passes as 'terminated through the group (hook ran)'", async () => {
            const { account, report } = await consoleTest({ terminationHook: true });

            assert.equal(report.outcome, "passed", report.failure?.message);
            assert.equal(report.decision?.action, "terminated");
            const drained = firstAt(
                report,
                new RegExp(`^${FIRST} in target group web-tg: draining`),
            );
            const hook = firstAt(report, new RegExp(`^${FIRST} is Terminating:Wait`));
            assert.ok(drained !== undefined && hook !== undefined && hook > drained);
            assert.equal(report.verdict, "terminated it through the group (hook ran)");
            assert.match(
                formatSummary(report, plain),
                /the handler terminated it through the group \(hook ran\), as the console test expects/,
            );
            assert.equal(account.mocks.ec2.commandCalls(TerminateInstancesCommand).length, 0);
            assert.equal(report.warning, undefined, "nothing is left running");
        });

        it("with --terminate, leaves the termination to the group", async () => {
            const { account, report } = await consoleTest(
                { terminationHook: true },
                { terminate: true },
            );

            assert.equal(report.outcome, "passed", report.failure?.message);
            assert.equal(account.mocks.ec2.commandCalls(TerminateInstancesCommand).length, 0);
            assert.ok(
                report.steps.some(
                    (s) =>
                        s.message ===
                        `Not terminating ${FIRST} with EC2: its group terminates it itself.`,
                ),
            );
        });

        it("with Capacity Rebalancing too, the safety net terminates through the group", async () => {
            const { report } = await consoleTest({
                terminationHook: true,
                capacityRebalance: true,
            });

            assert.equal(report.outcome, "passed", report.failure?.message);
            assert.equal(
                report.verdict,
                "left it to the group, then the safety net terminated it through the group (hook ran)",
            );
        });
    });

    describe("given a function deployed with dryRun and a group with Capacity Rebalancing", () => {
        it("says the safety net would have detached it, after the grace", async () => {
            const { report } = await consoleTest({ capacityRebalance: true, handlerDryRun: true });

            assert.equal(report.outcome, "passed", report.failure?.message);
            assert.equal(report.decision?.action, "would-detach");
            assert.equal(
                report.verdict,
                "would have detached it (DRY_RUN=true), by the safety net",
            );
        });
    });
});

describe("npm run simulate: the group's machinery, pure parts", () => {
    it("expects the safety net only where the handler leaves a Spot warning to the group", () => {
        const settings = { interruptionAction: "auto", capacityOnInterruption: "keep" } as const;
        const rebalancing = { name: "web", capacityRebalance: true };

        assert.equal(expectsSafetyNet(settings, rebalancing), true);
        assert.match(describeExpectation(true, "web"), /for its 25 s grace;/);
        assert.equal(
            expectsSafetyNet(settings, { ...rebalancing, capacityRebalance: false }),
            false,
        );
        assert.equal(
            expectsSafetyNet({ ...settings, capacityOnInterruption: "decrement" }, rebalancing),
            false,
        );
        assert.equal(
            expectsSafetyNet({ ...settings, interruptionAction: "detach" }, rebalancing),
            false,
        );
    });

    it("brings a record back with the same message, a fresh receipt handle and one more receive", () => {
        const payload = {
            Records: [
                {
                    messageId: "m-1",
                    receiptHandle: "receipt-1",
                    body: "{}",
                    attributes: { ApproximateReceiveCount: "1", SentTimestamp: "1" },
                },
            ],
        };

        assert.deepEqual(redeliveredPayload(payload, "2"), {
            Records: [
                {
                    messageId: "m-1",
                    receiptHandle: "receipt-2",
                    body: "{}",
                    attributes: { ApproximateReceiveCount: "2", SentTimestamp: "1" },
                },
            ],
        });
        assert.deepEqual(redeliveredPayload({ bare: true }, "2"), { bare: true });
    });

    it("reads a waiting batch as waiting, and a later re-check's detach as the decision", () => {
        const line = (message: Record<string, unknown>, at: number): HandlerLogEntry => {
            const entry = parseLogLine(JSON.stringify({ level: "INFO", ...message }), T0 + at);
            assert.ok(entry);
            return entry;
        };
        const waiting = line(
            {
                message:
                    "Batch of 1 records: 0 detached, 1 waiting for a re-check, 0 ignored, 0 left for a retry",
                waiting: 1,
                safetyNet: 0,
            },
            0,
        );
        const detach = line(
            {
                message: `Instance ${FIRST} belongs to AutoScaling Group web. Detaching instance...`,
                instanceIds: [FIRST],
            },
            25_000,
        );
        const recheck = line(
            {
                message: "Batch of 1 records: 1 detached, 0 ignored, 0 left for a retry",
                detached: 1,
                safetyNet: 1,
            },
            25_000,
        );
        const scope = { attributeBatches: true };

        assert.equal(decisionFor([waiting], FIRST, scope)?.action, "waiting");
        const decision = decisionFor([waiting, detach, recheck], FIRST, scope);
        assert.equal(decision?.action, "detached");
        assert.equal(decision?.action === "detached" && decision.safetyNet, true);
    });

    it("says 'hook ran' only when a poll saw the hook's state", () => {
        const terminated = { action: "terminated", activities: [] } as const;

        assert.equal(verdictOf(terminated, true), "terminated it through the group (hook ran)");
        assert.equal(verdictOf(terminated, false), "terminated it through the group");
    });
});
