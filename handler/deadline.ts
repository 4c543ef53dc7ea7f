/** The invocation's deadline, applied to each Auto Scaling call. */

export const deploymentOnlyModule = true;

export const DEADLINE_EXCEEDED = "DeadlineExceeded";

/**
 * The error for an invocation with too little time left to start or finish an Auto Scaling call.
 * A plain Error, not a subclass: Pulumi's closure serializer does not keep subclasses of Error.
 */
export function deadlineExceeded(message: string): Error {
    return Object.assign(new Error(message), { name: DEADLINE_EXCEEDED });
}

// Time kept back for the final log line and the response, so that a timeout never goes unlogged.
const FINAL_LOG_MARGIN_MS = 1_500;
// A call that cannot get at least this long is not started.
const MIN_CALL_MS = 500;

/**
 * Runs one Auto Scaling call (with the SDK's retries) only if it can finish before the invocation
 * must log and return, and aborts it at that point: no attempt outlives the function.
 */
export async function withinDeadline<T>(
    remainingTimeMs: () => number,
    operation: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
    const budgetMs = remainingTimeMs() - FINAL_LOG_MARGIN_MS;
    if (budgetMs < MIN_CALL_MS) {
        throw deadlineExceeded(
            `only ${Math.max(0, Math.round(budgetMs + FINAL_LOG_MARGIN_MS))} ms left in the invocation: not starting another Auto Scaling call`,
        );
    }
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
            const error = deadlineExceeded(
                `the Auto Scaling call did not finish within the ${Math.round(budgetMs)} ms the invocation had left`,
            );
            controller.abort(error);
            reject(error);
        }, budgetMs);
    });
    try {
        return await Promise.race([operation(controller.signal), deadline]);
    } catch (error) {
        // The SDK rejects an aborted call with its own AbortError: report the cause instead.
        throw controller.signal.aborted ? controller.signal.reason : error;
    } finally {
        clearTimeout(timer);
    }
}
