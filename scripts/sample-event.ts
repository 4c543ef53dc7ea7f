import * as fs from "node:fs";
import * as path from "node:path";

/** The seed workshop's sample event, from its Lambda console test step. */
export const SEED_SAMPLE_EVENT_FILE = path.resolve(
    __dirname,
    "..",
    "tests",
    "fixtures",
    "events",
    "seed-sample-event.json",
);

/** Fills the `<instance-id>` placeholders of an event's JSON, as the workshop has you do by hand. */
export function fillInstanceId(eventJson: string, instanceId: string): string {
    return eventJson.split("<instance-id>").join(instanceId);
}

export function loadSampleEvent(instanceId: string): Record<string, unknown> {
    const text = fs.readFileSync(SEED_SAMPLE_EVENT_FILE, "utf8");
    return JSON.parse(fillInstanceId(text, instanceId)) as Record<string, unknown>;
}
