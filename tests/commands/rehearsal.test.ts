import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Plan } from "../../commands/rehearsal/plan";
import type { Check, RehearsalRun } from "../../commands/rehearsal/warning";
import type { KindRun } from "../../commands/rehearsal/group-kinds";
import { ROOT, WITH_TYPESCRIPT } from "../support/processes";

/** What `npm start -- --json` prints. */
interface RehearsalJson {
    delivery: string;
    passed: boolean;
    runs: RehearsalRun[];
    checks: { capacityOnInterruption: string; checks: Check[] }[];
    groupKinds: KindRun[];
    warning: string;
}

function rehearsal(args: string[], timeout = 300_000) {
    return promisify(execFile)(
        process.execPath,
        [...WITH_TYPESCRIPT, "commands/rehearsal/workshop-test.ts", ...args],
        { cwd: ROOT, timeout, maxBuffer: 16 * 1024 * 1024 },
    );
}

const types = (plan: Plan) => plan.resources.map((r) => `${r.type} ${r.name}`);

describe("npm start, the offline rehearsal", function () {
    // The first run may install moto into .venv.
    this.timeout(600_000);

    // Every command at once, each rehearsal with its own emulator: the slow part of this file.
    type Outcome = PromiseSettledResult<{ stdout: string; stderr: string }>;
    let queued: Outcome;
    let direct: Outcome;
    let help: Outcome;
    let badValue: Outcome;
    before(async () => {
        [queued, direct, help, badValue] = await Promise.allSettled([
            rehearsal(["--json"]),
            rehearsal(["--json", "--delivery", "direct", "--capacity", "decrement"]),
            rehearsal(["--help"], 60_000),
            rehearsal(["--delivery", "eventbridge"], 60_000),
        ]);
    });

    function stdoutOf(result: Outcome): string {
        if (result.status === "rejected") {
            // A failed check exits 1: the error shows what the command printed.
            throw result.reason;
        }
        return result.value.stdout;
    }

    const reportOf = (result: Outcome) => JSON.parse(stdoutOf(result)) as RehearsalJson;

    describe("given no flags: queue delivery, keep then decrement", () => {
        it("plans the queue, its policy and the event source mapping", () => {
            const report = reportOf(queued);

            for (const run of report.runs) {
                assert.match(
                    run.plan.heading,
                    /^the handler for an existing group named web \(capacityOnInterruption (keep|decrement), queue delivery\): 23 resources/,
                );
                for (const resource of [
                    "aws:sqs/queue:Queue spot-queue",
                    "aws:sqs/queuePolicy:QueuePolicy spot-queue-policy",
                    "aws:iam/rolePolicy:RolePolicy spot-drain-policy",
                    "aws:lambda/eventSourceMapping:EventSourceMapping spot-mapping",
                ]) {
                    assert.ok(types(run.plan).includes(resource), resource);
                }
            }
        });

        it("carries the fresh warning from PutEvents through the rule and queue to the handler in one batch", () => {
            const report = reportOf(queued);

            assert.equal(report.delivery, "queue");
            for (const run of report.runs) {
                const hops = run.queued;
                assert.ok(hops, "the queued hops are reported");
                assert.equal(run.event.source, "aws.ec2");
                assert.ok(Date.now() - Date.parse(String(run.event.time)) < 10 * 60_000);
                assert.equal(hops.queuedAfterPut, 1);
                assert.equal(hops.recordsDelivered, 1);
                assert.deepEqual(
                    hops.batches.map((b) => [b.messageIds.length, b.outcome]),
                    [[1, "succeeded"]],
                );
                assert.deepEqual(hops.queueAfter, { queued: 0, deadLettered: 0 });
                const batchLog = run.logRecords.find((r) => /^Batch of 1 records/.test(r.message));
                assert.deepEqual(
                    [batchLog?.records, batchLog?.detached, batchLog?.failed],
                    [1, 1, 0],
                );
                assert.equal(run.activities.length, 1);
            }
        });

        it("keeps, then decrements, the group's capacity, and every console check passes on the emulator's state", () => {
            const report = reportOf(queued);

            assert.deepEqual(
                report.runs.map((r) => [
                    r.capacityOnInterruption,
                    r.desiredCapacityBefore,
                    r.desiredCapacityAfter,
                    r.instancesAfter.filter((i) => i.mark === "replacement").length,
                ]),
                [
                    ["keep", 4, 4, 1],
                    ["decrement", 4, 3, 0],
                ],
            );
            assert.ok(report.runs.every((r) => !r.interruptedInstanceInGroup));
            assert.ok(report.runs.every((r) => r.interruptedInstanceEc2State === "running"));
            for (const { checks } of report.checks) {
                assert.deepEqual(
                    checks.filter((c) => !c.passed),
                    [],
                );
            }
            assert.equal(report.passed, true);
            assert.match(report.warning, /keeps running/);
        });
    });

    describe("given no flags: the handler's decision per kind of group", () => {
        const kind = (name: KindRun["kind"]) => {
            const run = reportOf(queued).groupKinds.find((k) => k.kind === name);
            assert.ok(run, `the ${name} kind was rehearsed`);
            return run;
        };

        it("detaches from a plain group: the instance left it and a replacement launched", () => {
            const run = kind("plain");

            assert.equal(run.summary?.action, "detached");
            assert.equal(run.stateAfter, "(left the group)");
            assert.equal(run.groupAction?.by, "DetachInstances");
        });

        it("terminates through a group with a termination hook, so that the hook runs", () => {
            const run = kind("termination-hook");

            assert.equal(run.summary?.action, "terminated");
            assert.equal(run.stateAfter, "Terminating:Wait");
            assert.equal(run.groupAction?.by, "TerminateInstanceInAutoScalingGroup");
            assert.deepEqual(run.groupAction?.hooksRun, ["drain-connections"]);
            assert.equal(run.groupAction?.replacements.length, 1);
        });

        it("acknowledges a Standby instance without a call, with the handler's reason", () => {
            const run = kind("standby");

            assert.equal(run.summary?.action, "ignored");
            assert.match(run.reason, /is Standby in web: it serves no traffic/);
            assert.equal(run.stateAfter, "Standby");
            assert.equal(run.groupAction, undefined);
        });

        it("leaves a Spot warning to Capacity Rebalancing, which terminates and replaces the instance", () => {
            const run = kind("rebalancing-reacts");

            assert.equal(run.summary?.action, "left-to-group");
            assert.equal(run.groupAction?.by, "CapacityRebalancing");
            assert.equal(run.stateAfter, "Terminating:Wait");
            assert.equal(run.groupAction?.replacements.length, 1);
            assert.match(run.reason, /Capacity Rebalancing is terminating and replacing it/);
        });

        it("detaches by the safety net when Capacity Rebalancing does nothing, after the backdated grace", () => {
            const run = kind("rebalancing-idle");

            assert.equal(run.stateBefore, "InService");
            assert.deepEqual([run.summary?.action, run.summary?.safetyNet], ["detached", true]);
            assert.equal(run.groupAction?.by, "DetachInstances");
            assert.equal(run.stateAfter, "(left the group)");
            // The warning is backdated 23 s: the handler waits out the rest, not the whole 25 s.
            assert.ok(run.handlerMs >= 500 && run.handlerMs < 10_000, `${run.handlerMs} ms`);
        });

        it("passes only when every kind ended as its group's machinery says", () => {
            const report = reportOf(queued);

            assert.equal(report.groupKinds.length, 5);
            assert.ok(report.groupKinds.every((k) => k.passed));
        });

        it("leaves the tour out with --capacity decrement, whose groups Capacity Rebalancing does not serve", () => {
            assert.deepEqual(reportOf(direct).groupKinds, []);
        });
    });

    describe("given --delivery direct --capacity decrement", () => {
        it("plans the permission instead of the queue, and the bare event detaches with a decrement", () => {
            const report = reportOf(direct);

            assert.equal(report.delivery, "direct");
            const [run] = report.runs;
            assert.equal(report.runs.length, 1);
            assert.match(run.plan.heading, /direct delivery\): 19 resources/);
            assert.ok(types(run.plan).includes("aws:lambda/permission:Permission spot-permission"));
            assert.ok(!types(run.plan).some((t) => t.startsWith("aws:sqs/queue:Queue spot-queue")));
            assert.deepEqual(run.direct?.summary, {
                instanceId: run.interruptedInstanceId,
                autoScalingGroupName: "web",
                action: "detached",
                capacityOnInterruption: "decrement",
            });
            assert.deepEqual([run.desiredCapacityBefore, run.desiredCapacityAfter], [4, 3]);
            assert.equal(report.passed, true);
        });
    });

    describe("given --help", () => {
        it("documents every flag and exits 0", () => {
            const stdout = stdoutOf(help);

            for (const flag of [
                "--capacity keep|decrement",
                "--delivery queue|direct",
                "--json",
                "-h, --help",
            ]) {
                assert.ok(stdout.includes(flag), flag);
            }
        });
    });

    describe("given a value a flag does not allow", () => {
        it("fails at once with exit 2, naming the flag and its allowed values", () => {
            assert.equal(badValue.status, "rejected");
            const error = (badValue as PromiseRejectedResult).reason as {
                code?: number;
                stdout?: string;
                stderr?: string;
            };
            assert.deepEqual(
                [error.code, error.stdout, error.stderr],
                [
                    2,
                    "",
                    'npm start: --delivery "eventbridge" is not allowed; use --delivery queue or --delivery direct\n',
                ],
            );
        });
    });
});
