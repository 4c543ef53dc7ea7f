/**
 * A bare EventBridge event: direct delivery, and the Lambda console's test. One warning per
 * invocation, which waits inside the invocation when the group's grace or a launch calls for it.
 */
import type { HandlerDependencies, BatchResult } from "./batch-context";
import {
    type ActedAction,
    type HooksSkipped,
    stillPendingOutcome,
    type WarningOutcome,
} from "./batch-steps";
import { isStale } from "./decision";
import { type ParsedEvent, parseInterruptionWarning } from "./event";
import { handleWarnings } from "./handle";
import { report, type Reporting } from "./reporting";
import { type CapacityOnInterruption } from "../contract";

export const deploymentOnlyModule = true;

/** What one direct invocation did; the Lambda console's test shows this. */
export interface InterruptionSummary {
    readonly instanceId?: string;
    /** The instance's group, once the lookup placed it in a chosen one. */
    readonly autoScalingGroupName?: string;
    readonly action: ActedAction | "left-to-group" | "ignored";
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly reason?: string;
    /** The group had Capacity Rebalancing, and the instance was still InService after its grace. */
    readonly safetyNet?: true;
    /** Detached from a group whose termination hook was skipped, or could not be looked up. */
    readonly hooks?: HooksSkipped;
}

/** The key of the one warning in a direct invocation. */
const DIRECT_KEY = "event";

/**
 * Handles one bare EventBridge event. Throws when the instance could still be saved by a retry,
 * so that EventBridge or Lambda retries it and finally dead-letters it.
 *
 * A waiting warning waits here: a direct invocation has no queue to come back through, and
 * Lambda's own retries come 1 and 2 minutes later, past the 60 s the instance has to leave
 * service. The wait holds one invocation for the grace (about 25 s), one concurrency slot per
 * waiting warning: queue delivery, the default, is the way through storms.
 */
export async function handleDirectEvent(
    event: unknown,
    deps: HandlerDependencies,
    reporting: Reporting = {},
): Promise<InterruptionSummary> {
    const { capacityOnInterruption, dryRun } = deps.config;
    const now = deps.now ?? Date.now;
    const parsed = parseInterruptionWarning(event);
    const requestsBefore = reporting.requests?.();
    // A console test has no `time`: its grace starts when the invocation does.
    const input = { key: DIRECT_KEY, parsed, firstSeenMs: now() };
    let calls = 0;
    let refusals = 0;
    let result: BatchResult | undefined;
    let outcome: WarningOutcome | undefined;
    for (let check = 0; check < MAX_DIRECT_CHECKS; check++) {
        result = await handleWarnings([input], deps, {
            // EventBridge's and Lambda's maximum event age already bound a direct warning's age.
            ignoreStale: false,
            dryRun,
        });
        calls += result.autoScalingCalls;
        refusals += result.refusals;
        outcome = finalDirectOutcome(
            result.outcomes.get(DIRECT_KEY) as WarningOutcome,
            parsed,
            now(),
        );
        const waitMs = outcome.action === "waiting" ? directWaitMs(outcome, now()) : undefined;
        if (waitMs === undefined || deps.remainingTimeMs() - waitMs < DIRECT_RECHECK_RESERVE_MS) {
            break;
        }
        await (deps.sleep ?? sleep)(waitMs);
    }
    const final = outcome as WarningOutcome;
    await report(
        [final],
        { ...(result as BatchResult), autoScalingCalls: calls, refusals },
        1,
        deps,
        reporting,
        requestsBefore,
    );
    if (final.action === "failed") {
        throw Object.assign(new Error(final.error.message), { name: final.error.name });
    }
    if (final.action === "waiting") {
        deps.log("WARN", { message: `Still waiting when the invocation ran out: ${final.detail}` });
        throw Object.assign(new Error(final.detail), { name: "StillWaiting" });
    }
    const summary = directSummary(final, capacityOnInterruption);
    if (final.action === "ignored" || final.action === "left-to-group") {
        deps.log("INFO", {
            eventId: parsed.eventId,
            ...summary,
            message:
                final.action === "ignored"
                    ? `Ignored the warning: ${final.reason}`
                    : "Left the warning to the group's Capacity Rebalancing",
        });
    }
    return summary;
}

// Re-checks of one direct warning: the grace's end, then a launching instance every 10 s.
const MAX_DIRECT_CHECKS = 12;
const PENDING_RECHECK_MS = 10_000;
// A re-check needs time for its lookup, its action and the response.
const DIRECT_RECHECK_RESERVE_MS = 8_000;

function directWaitMs(outcome: WarningOutcome & { action: "waiting" }, nowMs: number): number {
    return outcome.recheckAtMs === undefined
        ? PENDING_RECHECK_MS
        : Math.max(0, outcome.recheckAtMs - nowMs);
}

/** A launching instance whose notice has ended is acknowledged: no retry can drain it now. */
function finalDirectOutcome(
    outcome: WarningOutcome,
    parsed: ParsedEvent,
    nowMs: number,
): WarningOutcome {
    if (
        outcome.action !== "waiting" ||
        outcome.waitingFor !== "pending" ||
        parsed.kind !== "interruption-warning" ||
        !isStale(parsed.sentAtMs, nowMs)
    ) {
        return outcome;
    }
    return stillPendingOutcome(
        outcome.instanceId,
        outcome.autoScalingGroupName,
        `${outcome.detail}; its notice ended first`,
    );
}

function directSummary(
    outcome: Exclude<WarningOutcome, { action: "failed" | "waiting" }>,
    capacityOnInterruption: CapacityOnInterruption,
): InterruptionSummary {
    if (outcome.action === "ignored" || outcome.action === "left-to-group") {
        return {
            instanceId: outcome.instanceId,
            ...(outcome.autoScalingGroupName === undefined
                ? {}
                : { autoScalingGroupName: outcome.autoScalingGroupName }),
            action: outcome.action,
            capacityOnInterruption,
            reason: outcome.detail,
        };
    }
    return {
        instanceId: outcome.instanceId,
        autoScalingGroupName: outcome.autoScalingGroupName,
        action: outcome.action,
        capacityOnInterruption: outcome.capacityOnInterruption,
        ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        ...(outcome.safetyNet ? { safetyNet: true } : {}),
        ...(outcome.hooks === undefined ? {} : { hooks: outcome.hooks }),
    };
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
