/**
 * The Lambda side of the project: what runs when a Spot interruption warning arrives, from the
 * events queue in batches or from EventBridge directly. `createLambdaHandler` is the factory the
 * component serializes into the deployment package.
 */
export {
    type AutoScalingGateway,
    countRequests,
    createAutoScalingClient,
    createAutoScalingGateway,
    type DetachActivity,
    describeGroupsInput,
    type GroupPage,
    type RequestCounts,
} from "./auto-scaling";
export {
    ENV_AUTO_SCALING_GROUP_NAMES,
    ENV_AUTO_SCALING_GROUP_TAG,
    ENV_CAPACITY_ON_INTERRUPTION,
    ENV_DEAD_LETTER_QUEUE_URL,
    ENV_DRY_RUN,
    ENV_HANDLER_NAME,
    ENV_NOTIFY_TOPIC_ARN,
    groupSelectionEnvironment,
    type HandlerConfig,
    readHandlerConfig,
} from "./config";
export { createDeadLetterGateway, type DeadLetterGateway } from "./dead-letter";
export {
    type CallFailure,
    chunk,
    classifyCallFailure,
    decrementSlots,
    dedupeBy,
    type DetachChunk,
    type GroupSize,
    type GroupSnapshot,
    IGNORE_REASONS,
    type IgnoreReason,
    isChosenGroup,
    isStale,
    judgeMembership,
    keepFallbackReason,
    MAX_DESCRIBED_GROUPS,
    MAX_DETACH_INSTANCE_IDS,
    type Membership,
    membershipsOf,
    type MembershipVerdict,
    missingGroups,
    nextDetachChunk,
    type PendingDetach,
} from "./decision";
export {
    createLambdaHandler,
    handleDirectEvent,
    handleSqsBatch,
    type InterruptionSummary,
    type LambdaContext,
    type LambdaHandler,
    type Reporting,
} from "./entry";
export {
    type CapacityReservationWarningDetail,
    type CapacityReservationWarningEvent,
    isSqsEvent,
    MAX_ECHOED_CHARS,
    type ParsedEvent,
    parseInterruptionWarning,
    parseSqsRecord,
    type QueuedWarning,
    type SpotInterruptionWarningDetail,
    type SpotInterruptionWarningEvent,
} from "./event";
export {
    type EmfDocument,
    emfDocuments,
    GROUP_DIMENSION,
    type GroupMetrics,
    HANDLER_DIMENSION,
    HANDLER_METRICS,
    type HandlerMetricName,
    type InvocationMetrics,
    MAX_VALUES_PER_METRIC,
    METRICS_NAMESPACE,
    REASON_DIMENSION,
} from "./metrics";
export { createDetachNotifier, type DetachNotifier } from "./notify";
export { detachNotification, invocationMetrics, tally, type Tally } from "./report";
export {
    describeError,
    type ErrorDescription,
    placeInGroups,
    screenWarnings,
    type ScreenedWarning,
    type WarningInput,
    type WarningOutcome,
} from "./batch-steps";
export {
    type BatchContext,
    type BatchOptions,
    type BatchResult,
    type DetachProgress,
    type HandlerDependencies,
    openBatch,
} from "./batch-context";
export { DEADLINE_EXCEEDED, deadlineExceeded } from "./deadline";
export {
    detachFromGroup,
    dryRunChunk,
    handleWarnings,
    lookUpGroups,
    planChunk,
    type PlannedChunk,
    recoverFromRefusal,
} from "./handle";
export { type DecisionLogger, type LogLevel, type LogRecord, logDecision } from "./log";
