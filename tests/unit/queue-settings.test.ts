import * as assert from "node:assert/strict";
import { QUEUE_DEFAULTS } from "../../components/spot-interruption-handler/args";
import {
    deadLetteredAfterSeconds,
    minRetentionSeconds,
    waitingWarningAgeSeconds,
} from "../../components/spot-interruption-handler/queue-settings";
import { resolveHandlerSettings } from "../../components/spot-interruption-handler/settings";
import { INTERRUPTION_NOTICE_MS } from "../../contract";

const NOTICE_SECONDS = INTERRUPTION_NOTICE_MS / 1000;

describe("the queue's timing rules", () => {
    describe("given the defaults", () => {
        const settings = resolveHandlerSettings({ autoScalingGroupName: "web" });
        const queue = settings.queue;

        it("hide a record for the whole window and timeout, and no longer: a retry every 20 s", () => {
            assert.ok(queue !== undefined);
            assert.equal(settings.timeoutSeconds, 16);
            assert.equal(queue.maximumBatchingWindowInSeconds, 4);
            assert.equal(queue.visibilityTimeoutSeconds, 20);
            assert.equal(
                queue.visibilityTimeoutSeconds,
                settings.timeoutSeconds + queue.maximumBatchingWindowInSeconds,
            );
        });

        it("never dead-letter a warning inside its notice, even with one early re-check", () => {
            assert.ok(queue !== undefined);
            assert.equal(queue.maxReceiveCount, QUEUE_DEFAULTS.maxReceiveCount);
            assert.ok(
                deadLetteredAfterSeconds(queue.maxReceiveCount, queue.visibilityTimeoutSeconds) >=
                    NOTICE_SECONDS,
            );
            assert.ok(
                queue.messageRetentionSeconds >=
                    minRetentionSeconds(queue.maxReceiveCount, queue.visibilityTimeoutSeconds),
            );
        });

        it("alarm on the queue's age only above what a deliberately waiting warning reaches", () => {
            assert.ok(queue !== undefined);
            assert.equal(waitingWarningAgeSeconds(queue), 68);
            assert.equal(settings.monitoring?.queueAgeAlarmSeconds, 75);
            assert.ok((settings.monitoring?.queueAgeAlarmSeconds ?? 0) < NOTICE_SECONDS);
        });
    });

    // One second more of either is refused: bad-arguments.json holds those rows.
    it("accept the longest window the safety net allows (10 s), and a first attempt of half the notice (60 s)", () => {
        const settings = resolveHandlerSettings({
            autoScalingGroupName: "web",
            maximumBatchingWindowInSeconds: 10,
            timeoutSeconds: 50,
            monitoring: false,
        });
        assert.equal(settings.queue?.visibilityTimeoutSeconds, 60);
    });

    it("raise the default alarm threshold with a longer visibility timeout, below the notice", () => {
        const settings = resolveHandlerSettings({
            autoScalingGroupName: "web",
            visibilityTimeoutSeconds: 40,
        });
        // 4 + 2 × 40 + 20 + 4 = 108 s of deliberate waiting, then 5 s of margin, rounded to 5.
        assert.equal(settings.monitoring?.queueAgeAlarmSeconds, 115);
    });

    it("accept a queue-age threshold just above the waiting bound", () => {
        const settings = resolveHandlerSettings({
            autoScalingGroupName: "web",
            queueAgeAlarmSeconds: 69,
        });
        assert.equal(settings.monitoring?.queueAgeAlarmSeconds, 69);
    });
});
