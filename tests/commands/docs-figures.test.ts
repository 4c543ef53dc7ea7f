/**
 * The figures the docs state and the code decides: the rule's detail-types, the archive's bound,
 * the alarm counts, and the queue's default window, timeout and visibility.
 */
import * as assert from "node:assert/strict";
import type { Tokens } from "marked";
import { readPage, sectionTables } from "../support/readme";

const ARCHITECTURE = "docs/architecture.md";
const STORMS = "docs/storms.md";

/** The text of `page` with its line breaks as spaces, as a reader reads its sentences. */
const prose = (page: string) => readPage(page).replace(/\s*\n\s*/g, " ");

describe("the figures in the docs", () => {
    it("name exactly the detail-types the rule matches", async () => {
        const { INTERRUPTION_WARNING_DETAIL_TYPES } = await import("../../contract");
        const text = prose(ARCHITECTURE);
        const sentence =
            /The rule matches, on the default bus, source `aws\.ec2` and these detail-types: (.*?)\(/.exec(
                text,
            );
        assert.ok(sentence, "the architecture page names the rule's detail-types");
        const named = [...sentence[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]);

        assert.deepEqual(named, [...INTERRUPTION_WARNING_DETAIL_TYPES]);
    });

    it("state the archive's bound that the archive test holds", () => {
        const test = readPage("tests/emulator/handler-archive.test.ts");
        const bound = /const MAX_ZIPPED_BYTES = (\d+) \* 1024;/.exec(test);
        assert.ok(bound, "the archive test's bound");
        const stated = [...prose(ARCHITECTURE).matchAll(/under (\d+) KiB zipped/g)].map(
            (m) => m[1],
        );

        assert.ok(stated.length >= 2, "the table and the details state the bound");
        assert.deepEqual(new Set(stated), new Set([bound[1]]));
    });

    it("count the alarms handlerAlarms creates, with queue and with direct delivery", async () => {
        const { handlerAlarms } =
            await import("../../components/spot-interruption-handler/dashboard");
        const resources = {
            region: "eu-west-1",
            handlerName: "p/s/spot",
            groupsDescription: "web",
            functionName: "spot-function",
            deadLetterQueueName: "spot-dlq",
        };
        const queued = handlerAlarms({ ...resources, eventsQueueName: "spot-queue" }, 75);
        const direct = handlerAlarms(resources, 75);
        const table = sectionTables(ARCHITECTURE, "What it deploys")[0];
        const row = table.rows.find((r: Tokens.TableCell[]) => r[0].text === "MetricAlarms");
        assert.ok(row, "a MetricAlarms row");

        assert.deepEqual(
            [row[1].text, row[2].text],
            [String(queued.length), String(direct.length)],
        );
        const operations = prose("docs/operations.md");
        assert.match(
            operations,
            new RegExp(
                `With queue delivery there are ${queued.length} alarms, with direct delivery ${direct.length}`,
            ),
        );
        for (const alarm of queued) {
            assert.ok(
                operations.includes(`- \`${alarm.role}\``),
                `operations describes ${alarm.role}`,
            );
        }
    });

    it("give the queue's default window, timeout and visibility", async () => {
        const { QUEUE_DEFAULTS } = await import("../../components/spot-interruption-handler/args");
        const text = prose(STORMS);
        const waits =
            /a warning waits at most (\d+) s for its batch \(the default window\), and the function's timeout is (\d+) s/.exec(
                text,
            );
        assert.ok(waits, "storms.md says how long a warning waits for its batch");
        assert.deepEqual(
            [Number(waits[1]), Number(waits[2])],
            [QUEUE_DEFAULTS.maximumBatchingWindowInSeconds, QUEUE_DEFAULTS.timeoutSeconds],
        );
        assert.match(
            text,
            new RegExp(
                `comes back after ${QUEUE_DEFAULTS.visibilityTimeoutSeconds} s \\(the visibility timeout\\), up to ${QUEUE_DEFAULTS.maxReceiveCount} times`,
            ),
        );
        assert.match(
            text,
            new RegExp(
                `up to ${QUEUE_DEFAULTS.batchSize} warnings at a time, gathered for ${QUEUE_DEFAULTS.maximumBatchingWindowInSeconds} s`,
            ),
        );
    });
});
