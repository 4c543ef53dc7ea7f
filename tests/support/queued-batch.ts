/** Queued warnings run through handleSqsBatch against the stubbed Auto Scaling client, and what it did. */
import {
    DescribeAutoScalingGroupsCommand,
    DetachInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { type HandlerConfig } from "../../handler/config";
import { type DeadLetterGateway } from "../../handler/dead-letter";
import { handleSqsBatch } from "../../handler/queue-batch";
import { type Reporting } from "../../handler/reporting";
import { type LogLevel, type LogRecord } from "../../handler/log";
import { asSqsRecord, freshSampleEvent } from "../../offline/sample-event";
import { autoScaling, stubbedGateway } from "./auto-scaling-stub";
import { FakeAutoScaling, type FakeGroup } from "./fake-auto-scaling";

export const GROUP = "web";
export const HANDLER = "project/dev/spot";
export const NOW = Date.parse("2026-11-28T01:00:00Z");

/** A FakeAutoScaling behind the stub whose group GROUP, of these sizes, holds `members` InService. */
export const groupOf = (
    members: readonly string[],
    sizes: Pick<FakeGroup, "minSize" | "maxSize" | "desiredCapacity">,
) => new FakeAutoScaling().group(GROUP, sizes).members(GROUP, members).install(autoScaling);

/** One queued warning per instance id, message ids m0, m1, … in order. */
export function warnings(
    instanceIds: readonly string[],
    sentAt = new Date(NOW - 5_000),
): SQSRecord[] {
    return instanceIds.map((id, i) =>
        asSqsRecord(freshSampleEvent(id, sentAt), { messageId: `m${i}` }),
    );
}

export async function whenBatchArrives(
    records: SQSRecord[],
    {
        capacityOnInterruption = "keep",
        remainingTimeMs = () => 20_000,
        deadLetter,
        dryRun = false,
        reporting = {},
        groups = { kind: "names", names: [GROUP] },
    }: Partial<Pick<HandlerConfig, "groups" | "capacityOnInterruption" | "dryRun">> & {
        remainingTimeMs?: () => number;
        deadLetter?: DeadLetterGateway;
        reporting?: Reporting;
    } = {},
): Promise<{ response: SQSBatchResponse; logged: { level: LogLevel; record: LogRecord }[] }> {
    const logged: { level: LogLevel; record: LogRecord }[] = [];
    const response = await handleSqsBatch(
        { Records: records },
        {
            config: {
                groups,
                handlerName: HANDLER,
                capacityOnInterruption,
                interruptionAction: "detach",
                dryRun,
            },
            autoScaling: stubbedGateway(),
            log: (level, record) => logged.push({ level, record }),
            remainingTimeMs,
            now: () => NOW,
        },
        deadLetter,
        reporting,
    );
    return { response, logged };
}

export const lookups = () =>
    autoScaling.commandCalls(DescribeAutoScalingGroupsCommand).map((c) => c.args[0].input);
export const detachCalls = () =>
    autoScaling.commandCalls(DetachInstancesCommand).map((c) => ({
        group: c.args[0].input.AutoScalingGroupName,
        ids: c.args[0].input.InstanceIds,
        decrement: c.args[0].input.ShouldDecrementDesiredCapacity,
    }));
export const byName = (...names: string[]) => ({ AutoScalingGroupNames: names, MaxRecords: 100 });
export const batchLog = (logged: { record: LogRecord }[]) =>
    logged.map((l) => l.record).find((r) => r.message.startsWith("Batch of"));
