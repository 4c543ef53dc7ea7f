/**
 * What can go wrong in `npm run simulate`, in words a person can act on: every AWS call is made
 * through awsCall, which names the IAM action, so that a denied call says which permission is
 * missing and a missing resource says which flag or output to check.
 */

/** What went wrong, as a person would name it; the CLI prints the message as is. */
export type FailureKind =
    | "no-credentials"
    | "no-region"
    | "not-deployed"
    | "deployment-mismatch"
    | "function-not-found"
    | "queue-not-found"
    | "group-not-found"
    | "group-empty"
    | "instance-not-in-group"
    | "template-not-found"
    | "permission-denied"
    | "handler-failed"
    | "experiment-failed"
    | "timeout"
    | "aws-error";

export class SimulationError extends Error {
    constructor(
        readonly kind: FailureKind,
        message: string,
    ) {
        super(message);
        this.name = "SimulationError";
    }
}

/** A call that does not answer within this long is abandoned: nothing here should take longer. */
export const CALL_TIMEOUT_MS = 30_000;

const ACCESS_DENIED = new Set([
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "UnauthorizedException",
]);
const BAD_CREDENTIALS = new Set([
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "AuthFailure",
]);
const NOT_FOUND = new Set([
    "ResourceNotFoundException",
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "InvalidInstanceID.NotFound",
    "TargetGroupNotFound",
    "TargetGroupNotFoundException",
]);

/**
 * Runs one AWS call, bounded by `timeoutMs`, and turns its failure into a SimulationError that
 * names `action` (the IAM action, e.g. "lambda:InvokeFunction"). `notFound` words a missing
 * resource for this call.
 */
export async function awsCall<T>(
    action: string,
    send: (abortSignal: AbortSignal) => Promise<T>,
    options: { notFound?: () => SimulationError; timeoutMs?: number } = {},
): Promise<T> {
    const timeoutMs = options.timeoutMs ?? CALL_TIMEOUT_MS;
    try {
        return await send(AbortSignal.timeout(timeoutMs));
    } catch (error) {
        throw explainAwsError(error, action, options.notFound, timeoutMs);
    }
}

export function explainAwsError(
    error: unknown,
    action: string,
    notFound?: () => SimulationError,
    timeoutMs = CALL_TIMEOUT_MS,
): SimulationError {
    if (error instanceof SimulationError) {
        return error;
    }
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    if (name === "CredentialsProviderError" || /could not load credentials/i.test(message)) {
        return new SimulationError(
            "no-credentials",
            "No AWS credentials found. The simulation uses the standard AWS chain: set AWS_PROFILE (after aws sso login or aws configure), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then run it again.",
        );
    }
    if (/region is missing/i.test(message)) {
        return new SimulationError(
            "no-region",
            "No AWS Region configured: pass --region with the stack's Region (e.g. --region eu-west-1), or set AWS_REGION or a region in your AWS profile.",
        );
    }
    if (BAD_CREDENTIALS.has(name)) {
        return new SimulationError(
            "no-credentials",
            `AWS refused the credentials (${name}: ${message}). Refresh them (e.g. aws sso login) and run it again.`,
        );
    }
    if (ACCESS_DENIED.has(name)) {
        return new SimulationError(
            "permission-denied",
            `Missing permission: ${action} was denied (${name}: ${message}). Grant ${action} to your identity, or run with --dry-run to check every permission the simulation needs.`,
        );
    }
    if (notFound !== undefined && NOT_FOUND.has(name)) {
        return notFound();
    }
    if (name === "TimeoutError" || name === "AbortError") {
        return new SimulationError(
            "aws-error",
            `${action} did not answer within ${Math.round(timeoutMs / 1000)} s; check your network and the region, then run it again.`,
        );
    }
    return new SimulationError("aws-error", `${action} failed: ${name}: ${message}`);
}
