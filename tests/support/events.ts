import * as fs from "node:fs";
import * as path from "node:path";
import { fillInstanceId } from "../../offline/sample-event";

const EVENTS = path.join(__dirname, "..", "fixtures", "events");

export type EventFixture =
    | "seed-sample-event"
    | "capacity-reservation-interruption-warning"
    | "interruption-warning-hibernate"
    | "rebalance-recommendation"
    | "other-source"
    | "missing-detail"
    | "missing-instance-id";

/** A sample event from tests/fixtures/events, its `<instance-id>` placeholders filled if `instanceId` is given. */
export function loadEvent(name: EventFixture, instanceId?: string): Record<string, unknown> {
    const text = fs.readFileSync(path.join(EVENTS, `${name}.json`), "utf8");
    const filled = instanceId === undefined ? text : fillInstanceId(text, instanceId);
    return JSON.parse(filled) as Record<string, unknown>;
}

/** The malformed or foreign events the handler must ignore without calling AWS. */
export const UNRECOGNISED_EVENT_FIXTURES: readonly EventFixture[] = [
    "rebalance-recommendation",
    "other-source",
    "missing-detail",
    "missing-instance-id",
];
