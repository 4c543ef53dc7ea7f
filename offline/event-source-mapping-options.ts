/** What a local event source mapping is given, validated as CreateEventSourceMapping does, and reports. */
import type { SQSClientConfig } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";

/** The mapping's settings, named and bounded as in CreateEventSourceMapping. */
export interface EventSourceMappingSettings {
    /** 1..10000; over 10 needs a batching window of at least 1 s. */
    readonly batchSize: number;
    /** 0..300. */
    readonly maximumBatchingWindowInSeconds: number;
    /** 2..1000 (`scalingConfig.maximumConcurrency`): at most this many invocations in flight. */
    readonly maximumConcurrency: number;
}

/** What the handler gets besides the event: the parts of Lambda's context a batch handler uses. */
export interface InvocationContext {
    readonly awsRequestId: string;
    getRemainingTimeInMillis(): number;
}

export type SqsBatchHandler = (
    event: SQSEvent,
    context: InvocationContext,
) => Promise<SQSBatchResponse | undefined | void>; // eslint-disable-line @typescript-eslint/no-invalid-void-type

/** One finished invocation, as told to `onBatch`. */
export interface BatchInfo {
    readonly messageIds: readonly string[];
    /** "failed": the whole batch comes back; "partial": only `failedMessageIds` come back. */
    readonly outcome: "succeeded" | "partial" | "failed";
    /** Records left on the queue to reappear after its visibility timeout. */
    readonly failedMessageIds: readonly string[];
    /** Why the whole batch failed, when it did. */
    readonly error?: string;
    /** From the first record's receipt to the invocation. */
    readonly gatherMs: number;
    readonly durationMs: number;
    /** Invocations in flight when this one started, itself included. */
    readonly inFlight: number;
}

export interface EventSourceMappingStats {
    invocations: number;
    records: number;
    /** Records per invocation, in the order the invocations started. */
    batchSizes: number[];
    deleted: number;
    /** Records left for redelivery: named in batchItemFailures, or in a batch that failed whole. */
    failedRecords: number;
    /** Invocations that failed whole: a throw, a timeout or an invalid response. */
    failedBatches: number;
    maxInFlight: number;
    /** Records received but never invoked because the mapping stopped; they reappear later. */
    abandonedRecords: number;
    /** Failed SQS calls (receive, delete, attributes) and throwing `onBatch` callbacks. */
    errors: number;
    lastError?: string;
}

export interface LocalEventSourceMapping {
    /** Live counters; read them, don't write them. */
    readonly stats: Readonly<EventSourceMappingStats>;
    /** Resolves when the queue has shown empty (ApproximateNumberOfMessages + NotVisible + Delayed = 0) and nothing is held or in flight; rejects after timeoutMs or once the mapping has stopped. */
    drained(timeoutMs: number): Promise<void>;
    /** Stops polling and waits for in-flight invocations. Idempotent. */
    stop(): Promise<void>;
}

export interface EventSourceMappingOptions {
    readonly queueUrl: string;
    readonly queueArn: string;
    readonly region: string;
    readonly clientConfig: SQSClientConfig;
    readonly settings: EventSourceMappingSettings;
    readonly handler: SqsBatchHandler;
    readonly onBatch?: (info: BatchInfo) => void;
    /** An invocation running longer fails whole, as at the function's timeout. Default 60 000. */
    readonly functionTimeoutMs?: number;
    /** Gathering loops. Default 1, which keeps batch composition deterministic; Lambda starts five, which splits a burst into smaller batches. */
    readonly pollers?: number;
    /** Pause after an empty receive. Default 25 ms. */
    readonly idlePollIntervalMs?: number;
    /** ReceiveMessage's long-poll wait, 0..20. Default 0: a long poll stalls the emulator (see the top); Lambda itself long-polls real SQS. */
    readonly waitTimeSeconds?: number;
    /** The mapping stops itself after this long, so a forgotten stop() cannot poll forever. Default 10 minutes. */
    readonly maxLifetimeMs?: number;
}

const SETTINGS_LIMITS = {
    batchSize: { min: 1, max: 10_000 },
    maximumBatchingWindowInSeconds: { min: 0, max: 300 },
    maximumConcurrency: { min: 2, max: 1000 },
} as const;

/** Lambda's limit on a synchronous invocation's payload. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Throws a RangeError, worded like Lambda's validation, for settings Lambda would refuse. */
export function validateSettings(settings: EventSourceMappingSettings): void {
    for (const [name, { min, max }] of Object.entries(SETTINGS_LIMITS)) {
        assertIntegerIn(name, settings[name as keyof EventSourceMappingSettings], min, max);
    }
    if (settings.batchSize > 10 && settings.maximumBatchingWindowInSeconds < 1) {
        throw new RangeError(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        );
    }
}

export function assertIntegerIn(name: string, value: number, min: number, max: number): void {
    if (!Number.isInteger(value) || value < min || value > max) {
        throw new RangeError(`${name} must be an integer from ${min} to ${max}, not ${value}`);
    }
}
