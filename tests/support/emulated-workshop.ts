/** The workshop on the tier's emulator: seeded, read back and warned through handler archives, direct or queued. */
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
import { type LocalPipeline, withLocalPipeline } from "../../offline/pipeline";
import type { ResolvedHandlerSettings } from "../../components/spot-interruption-handler/args";
import {
    seedWorkshopEnvironment,
    WEB_GROUP_NAME,
    type WorkshopEnvironment,
    type WorkshopSeedOptions,
} from "../../emulator/workshop";
import type { SpotInterruptionHandlerArgs } from "../../components";
import { loadEvent } from "./events";
import { mockedComponents } from "./handler-mocks";
import { tierEmulatorForSuite } from "./tier-emulator";

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
    const { SpotInterruptionHandler } = await mockedComponents();
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
    return {
        environment: seeded,
        webGroup,

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

        /** One warning per instance, at once, each its own invocation; through `endpoint` if given. */
        interrupt(
            archive: HandlerArchive,
            instanceIds: string[],
            endpoint?: string,
            attempts?: number,
        ) {
            const events = instanceIds.map((id) => loadEvent("seed-sample-event", id));
            return archive.invoke(events, {
                ...emulator().environment(),
                ...(endpoint && { AWS_ENDPOINT_URL: endpoint }),
                ...(attempts && { AWS_MAX_ATTEMPTS: String(attempts) }),
            });
        },

        async snapshot() {
            return {
                web: await webGroup(),
                other: await describeGroupState(emulator(), seeded().otherGroupName),
                standalone: await describeInstanceState(emulator(), seeded().standaloneInstanceId),
            };
        },
    };
}

export const DRAIN_TIMEOUT_MS = 30_000;

/** The pipeline gathers for 1 s instead of the default 4 s: each test waits out its window. */
export const ONE_SECOND_WINDOW = { maximumBatchingWindowInSeconds: 1 } as const;

/** The handler-wide EMF documents among the handler's lines, and their counts summed. */
export function metricsOf(logLines: string[]) {
    const documents = logLines.map((l) => JSON.parse(l)).filter((l) => l._aws !== undefined);
    const sum = (name: string) =>
        documents
            .filter((d) => d.Reason === undefined && d.AutoScalingGroupName === undefined)
            .reduce((total, d) => total + (typeof d[name] === "number" ? d[name] : 0), 0);
    return {
        received: sum("WarningsReceived"),
        detached: sum("Detached"),
        wouldDetach: sum("WouldDetach"),
        ignored: sum("Ignored"),
        failed: sum("Failed"),
    };
}

export function queuedPipeline<V extends string>(variants: Record<V, WebGroupHandlerArgs>) {
    const tier = tierEmulatorForSuite();
    const archives = new Map<V, { archive: HandlerArchive; settings: ResolvedHandlerSettings }>();

    before(async () => {
        const { resolveHandlerSettings } = await mockedComponents();
        for (const [variant, args] of Object.entries(variants) as [V, WebGroupHandlerArgs][]) {
            archives.set(variant, {
                settings: resolveHandlerSettings({ autoScalingGroupName: WEB_GROUP_NAME, ...args }),
                archive: await webGroupHandlerArchive(`queued-${variant}`, args),
            });
        }
    });

    after(() => archives.forEach(({ archive }) => archive.remove()));

    const theEmulator = () => tier.emulator;
    const workshop = emulatedWorkshop(theEmulator);

    return {
        emulator: theEmulator,
        /** A fresh workshop environment, the web group sized as asked. */
        async seed(webGroup?: WorkshopSeedOptions["webGroup"]) {
            await workshop.seed(webGroup);
            return workshop.environment();
        },
        /** Runs `body` with the variant's pipeline: its rule, queue, mapping and handler. */
        run<T>(
            variant: V,
            body: (p: LocalPipeline) => Promise<T>,
            handlerEnvironment: Record<string, string> = {},
        ) {
            const built = archives.get(variant);
            assert.ok(built, `variant ${variant} is built`);
            assert.ok(built.settings.queue, "the component's default delivery is the queue");
            return withLocalPipeline(
                theEmulator(),
                built.archive,
                { settings: built.settings.queue, handlerEnvironment },
                body,
            );
        },
    };
}
