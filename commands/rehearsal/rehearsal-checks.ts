/**
 * What the workshop has you verify in the console after a rehearsal, judged from the emulator's
 * state: the warning's way to the handler, the detach, and the group's capacity afterwards.
 */
import type { RehearsalRun } from "./rehearsal-steps";

export interface Check {
    readonly label: string;
    readonly passed: boolean;
}

/** What the workshop has you verify in the console, judged from the emulator's state. */
export function checksFor(run: RehearsalRun): Check[] {
    const {
        interruptedInstanceId: victim,
        desiredCapacityBefore: before,
        desiredCapacityAfter: after,
        capacityOnInterruption: mode,
    } = run;
    const inGroup = run.instancesAfter.filter((i) => i.mark !== "detached");
    const replacements = run.instancesAfter.filter((i) => i.mark === "replacement").length;
    const detachLogged = run.logRecords.some(
        (r) =>
            Array.isArray(r.instanceIds) &&
            r.instanceIds.includes(victim) &&
            r.capacityOnInterruption === mode,
    );
    const delivery: Check[] = [];
    if (run.queued !== undefined) {
        const { queued } = run;
        delivery.push(
            {
                label: `the rule's pattern matched the warning into ${queued.queueName}: the mapping received 1 record`,
                passed: queued.recordsDelivered === 1,
            },
            {
                label: "the mapping invoked the handler once, and it reported no batch item failures",
                passed: queued.batches.length === 1 && queued.batches[0].outcome === "succeeded",
            },
            {
                label: `nothing is left in ${queued.queueName} or ${queued.deadLetterQueueName}`,
                passed: queued.queueAfter.queued === 0 && queued.queueAfter.deadLettered === 0,
            },
        );
    }
    if (run.direct !== undefined) {
        delivery.push({
            label: `the handler answered "detached" for ${victim}`,
            passed:
                run.direct.summary?.action === "detached" &&
                run.direct.summary.instanceId === victim,
        });
    }
    const common: Check[] = [
        ...delivery,
        {
            label: `the handler logged the detach of ${victim} with capacityOnInterruption ${mode}`,
            passed: detachLogged,
        },
        { label: `${victim} left the group`, passed: !run.interruptedInstanceInGroup },
        {
            label: `${victim} is still running: detaching does not terminate it`,
            passed: run.interruptedInstanceEc2State === "running",
        },
        { label: "the neighbour group is untouched", passed: run.neighbourGroupUnchanged },
    ];
    if (mode === "keep") {
        return [
            ...common,
            { label: `desired capacity kept at ${before}`, passed: after === before },
            { label: "a replacement was launched", passed: replacements === 1 },
            {
                label: `the group is back at ${before} instances`,
                passed: inGroup.length === before,
            },
        ];
    }
    return [
        ...common,
        {
            label: `desired capacity decremented ${before} → ${before - 1}`,
            passed: after === before - 1,
        },
        { label: "no replacement was launched", passed: replacements === 0 },
    ];
}
