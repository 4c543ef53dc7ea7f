/**
 * The workshop's groups on the tier's emulator, as the emulated-handler tests read and poke them:
 * seeded fresh per test, read back as state, and warned through a handler archive.
 */
import * as assert from "node:assert/strict";
import {
    describeGroupState,
    describeInstanceState,
    type GroupState,
} from "../../emulator/group-state";
import { type Emulator } from "../../emulator/server";
import {
    type HandlerArchive,
    type Invocations,
    materializeHandlerArchive,
} from "../../offline/handler-archive";
import { installPulumiMocks } from "../../offline/pulumi-engine";
import {
    seedWorkshopEnvironment,
    WEB_GROUP_NAME,
    type WorkshopEnvironment,
    type WorkshopSeedOptions,
} from "../../emulator/workshop";
import type { SpotInterruptionHandlerArgs } from "../../components";
import { loadEvent } from "./events";

export const idsOf = (group: GroupState) => group.instances.map((i) => i.instanceId).sort();

export function assertAllFulfilled({ results }: Invocations, action: "detached" | "ignored") {
    for (const result of results) {
        assert.equal(result.status, "fulfilled", String((result as PromiseRejectedResult).reason));
        assert.equal((result as PromiseFulfilledResult<{ action: string }>).value.action, action);
    }
}

/** The component's arguments for the web group, but the group. */
export type WebGroupHandlerArgs = Omit<SpotInterruptionHandlerArgs, "autoScalingGroupName">;

/** The component's function, serialized and loaded as Lambda loads it. */
export async function handlerArchive(
    name: string,
    args: SpotInterruptionHandlerArgs,
): Promise<HandlerArchive> {
    installPulumiMocks();
    // Imported after the mocks are installed, as Pulumi reads its settings on first use.
    const { SpotInterruptionHandler } = await import("../../components");
    return materializeHandlerArchive(new SpotInterruptionHandler(name, args).handlerFunction, name);
}

/** The component's function for the web group. */
export function webGroupHandlerArchive(
    name: string,
    args: WebGroupHandlerArgs = {},
): Promise<HandlerArchive> {
    return handlerArchive(name, { autoScalingGroupName: WEB_GROUP_NAME, ...args });
}

export function emulatedWorkshop(emulator: () => Emulator) {
    let environment: WorkshopEnvironment | undefined;
    const seeded = (): WorkshopEnvironment => {
        assert.ok(environment, "seed() the workshop first");
        return environment;
    };
    const webGroup = () => describeGroupState(emulator(), seeded().webGroupName);
    const otherGroup = () => describeGroupState(emulator(), seeded().otherGroupName);
    return {
        environment: seeded,
        webGroup,
        otherGroup,

        async seed(webGroupOptions?: WorkshopSeedOptions["webGroup"]) {
            await emulator().reset();
            environment = await seedWorkshopEnvironment(emulator(), { webGroup: webGroupOptions });
        },

        async inServiceWebInstances(count: number): Promise<string[]> {
            const ids = (await webGroup()).instances
                .filter((i) => i.lifecycleState === "InService")
                .map((i) => i.instanceId);
            assert.ok(ids.length >= count, `the web group has ${ids.length} InService instances`);
            return ids.slice(0, count);
        },

        /**
         * Delivers one interruption warning per instance, all at once, each its own invocation;
         * through `endpoint` instead of the emulator, and with at most `attempts` SDK attempts, if given.
         */
        interrupt(
            archive: HandlerArchive,
            instanceIds: string[],
            endpoint?: string,
            attempts?: number,
        ) {
            const events = instanceIds.map((id) => loadEvent("seed-sample-event", id));
            return archive.invoke(events, {
                ...emulator().environment(),
                ...(endpoint === undefined ? {} : { AWS_ENDPOINT_URL: endpoint }),
                ...(attempts === undefined ? {} : { AWS_MAX_ATTEMPTS: String(attempts) }),
            });
        },

        async snapshot() {
            return {
                web: await webGroup(),
                other: await otherGroup(),
                standalone: await describeInstanceState(emulator(), seeded().standaloneInstanceId),
            };
        },
    };
}
