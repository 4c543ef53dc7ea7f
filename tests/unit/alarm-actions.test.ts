/** alarmActions: at most 5 per alarm, the notification topic included, refused at construction. */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { recorded } from "../../offline/pulumi-engine";

import {
    assertRefusedBeforeRegistering,
    buildHandler,
    type HandlerArgs,
    describeComponents,
    components,
} from "../support/handler-mocks";

const topics = (count: number) =>
    Array.from({ length: count }, (_, i) => `arn:aws:sns:eu-west-1:123456789012:chat-${i}`);

describeComponents("alarmActions", () => {
    const settings = (args: Partial<HandlerArgs>) =>
        components.resolveHandlerSettings({ autoScalingGroupName: "web", ...args });

    describe("given up to 5 actions, the topic included", () => {
        it("accepts 5 ARNs alone, and 4 with notificationEmail's topic", () => {
            assert.doesNotThrow(() => settings({ alarmActions: topics(5) }));
            assert.doesNotThrow(() =>
                settings({ alarmActions: topics(4), notificationEmail: "ops@example.com" }),
            );
        });

        it("gives every alarm exactly those 5 actions, for ALARM and for OK", async () => {
            await buildHandler(components, "five", {
                alarmActions: topics(4),
                notificationEmail: "ops@example.com",
            });

            const alarms = recorded.filter(
                (r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm",
            );
            assert.ok(alarms.length > 0);
            for (const alarm of alarms) {
                assert.equal((alarm.inputs.alarmActions as string[]).length, 5, alarm.name);
                assert.deepEqual(alarm.inputs.okActions, alarm.inputs.alarmActions, alarm.name);
            }
        });
    });

    describe("given more than 5", () => {
        it("refuses 6 ARNs, naming alarmActions and the limit", () => {
            assert.throws(() => settings({ alarmActions: topics(6) }), {
                name: "ComponentArgsError",
                message:
                    "SpotInterruptionHandler: [alarmActions] has 6 ARNs, but a CloudWatch alarm takes at most 5: pass at most 5, or fan out through one SNS topic",
            });
        });

        it("refuses 5 ARNs with notificationEmail, counting its topic", () => {
            assert.throws(
                () => settings({ alarmActions: topics(5), notificationEmail: "ops@example.com" }),
                {
                    name: "ComponentArgsError",
                    message:
                        "SpotInterruptionHandler: [alarmActions] 5 ARNs, plus the notificationEmail topic, make 6 actions, but a CloudWatch alarm takes at most 5: pass at most 4, or fan out through one SNS topic",
                },
            );
        });

        it("counts ARNs that are still Outputs, and registers nothing", () =>
            assertRefusedBeforeRegistering(
                components,
                { alarmActions: topics(6).map((arn) => pulumi.output(arn)) },
                (error: Error) =>
                    error instanceof components.ComponentArgsError &&
                    error.argument === "alarmActions",
            ));
    });
});
