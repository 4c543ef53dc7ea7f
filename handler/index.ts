/**
 * The Lambda side of the project: what runs when a Spot interruption warning arrives, from the
 * events queue in batches or from EventBridge directly. `createLambdaHandler` is the factory the
 * component serializes into the deployment package.
 */
export {
    type AutoScalingGateway,
    countThrottles,
    createAutoScalingClient,
    createAutoScalingGateway,
    type DetachActivity,
} from "./auto-scaling";
export {
    ENV_AUTO_SCALING_GROUP_NAME,
    ENV_CAPACITY_ON_INTERRUPTION,
    ENV_DEAD_LETTER_QUEUE_URL,
    ENV_DRY_RUN,
    ENV_NOTIFY_TOPIC_ARN,
    type HandlerConfig,
    readHandlerConfig,
} from "./config";
export { createDeadLetterGateway, type DeadLetterGateway } from "./dead-letter";
export {
    CAPACITY_ON_INTERRUPTION_CHOICES,
    type CallFailure,
    CapacityOnInterruption,
    chunk,
    classifyCallFailure,
    decrementSlots,
    dedupeBy,
    type DetachChunk,
    type GroupSize,
    IGNORE_REASONS,
    type IgnoreReason,
    INTERRUPTION_NOTICE_MS,
    isCapacityOnInterruption,
    isStale,
    judgeMembership,
    keepFallbackReason,
    MAX_DESCRIBE_INSTANCE_IDS,
    MAX_DETACH_INSTANCE_IDS,
    type Membership,
    type MembershipVerdict,
    nextDetachChunk,
} from "./decision";
export {
    createLambdaHandler,
    handleDirectEvent,
    handleSqsBatch,
    type InterruptionSummary,
    type LambdaContext,
    type LambdaHandler,
    type Reporting,
    reportMissingGroup,
} from "./entry";
export {
    INTERRUPTION_WARNING_DETAIL_TYPE,
    INTERRUPTION_WARNING_SOURCE,
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
    DEADLINE_EXCEEDED,
    deadlineExceeded,
    type DecisionLogger,
    type ErrorDescription,
    handleWarnings,
    type HandlerDependencies,
    type LogLevel,
    type LogRecord,
    logDecision,
    type WarningInput,
    type WarningOutcome,
} from "./handle";
