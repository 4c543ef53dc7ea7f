/** The workshop on the tier's emulator: seeded, read back and warned through handler archives, direct or queued. */
import * as assert from "node:assert/strict";
import {
    describeGroupState,
    describeInstanceState,
    type GroupState,
} from "../../emulator/group-state";
import {
    type HandlerArchive,
    type Invocations,
    materializeHandlerArchive,
} from "../../offline/handler-archive";
import {
    type LocalPipeline,
    type LocalPipelineOptions,
    withLocalPipeline,
} from "../../offline/pipeline";
import type { QueueSettings } from "../../components/spot-interruption-handler/args";
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

/** The component's arguments: the web group's, unless they choose their own groups. */
function webGroupUnlessChosen(args: SpotInterruptionHandlerArgs): SpotInterruptionHandlerArgs {
    const { autoScalingGroupName, autoScalingGroupNames, autoScalingGroupTag } = args;
    const chosen = autoScalingGroupName ?? autoScalingGroupNames ?? autoScalingGroupTag;
    return chosen === undefined ? { autoScalingGroupName: WEB_GROUP_NAME, ...args } : args;
}

/**
 * For the current suite, the component's function per variant, named `${label}-${variant}`,
 * serialized and loaded as Lambda loads it: built before the suite runs, removed after it.
 */
export function handlerArchivesForSuite<V extends string>(
    label: string,
    variants: Record<V, SpotInterruptionHandlerArgs>,
): Readonly<Record<V, HandlerArchive>> {
    // Filled in before the suite runs, as variables that a `before` hook sets are.
    const archives = {} as Record<V, HandlerArchive>;
    before(async () => {
        const { SpotInterruptionHandler } = await mockedComponents();
        for (const [variant, args] of Object.entries<SpotInterruptionHandlerArgs>(variants)) {
            const name = `${label}-${variant}`;
            const handler = new SpotInterruptionHandler(name, webGroupUnlessChosen(args));
            archives[variant as V] = await materializeHandlerArchive(handler.handlerFunction, name);
        }
    });
    after(() => Object.values<HandlerArchive>(archives).forEach((archive) => archive.remove()));
    return archives;
}

/** For the current suite: the tier's emulator, the variants' handler archives, and the workshop seeded afresh on it. */
export function emulatedWorkshopSuite<V extends string>(
    label: string,
    variants: Record<V, SpotInterruptionHandlerArgs>,
) {
    const tier = tierEmulatorForSuite();
    const emulator = () => tier.emulator;
    const archives = handlerArchivesForSuite(label, variants);
    let environment: WorkshopEnvironment | undefined;
    const seeded = (): WorkshopEnvironment => {
        assert.ok(environment, "seed() the workshop first");
        return environment;
    };
    const webGroup = () => describeGroupState(emulator(), seeded().webGroupName);
    return {
        emulator,
        archives,
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

/** What a queued pipeline takes besides its variant's settings. */
type PipelineOptions = Omit<LocalPipelineOptions, "settings">;

/** For the current suite, the emulated workshop with each variant's queued pipeline. */
export function queuedPipeline<V extends string>(variants: Record<V, SpotInterruptionHandlerArgs>) {
    const { emulator, archives, seed, environment } = emulatedWorkshopSuite("queued", variants);
    const settings = new Map<V, QueueSettings>();

    before(async () => {
        const { resolveHandlerSettings } = await mockedComponents();
        for (const [variant, args] of Object.entries<SpotInterruptionHandlerArgs>(variants)) {
            const { queue } = resolveHandlerSettings(webGroupUnlessChosen(args));
            assert.ok(queue, "the component's default delivery is the queue");
            settings.set(variant as V, queue);
        }
    });

    /** Runs `body` with the variant's pipeline (its rule, queue, mapping and handler) and these options. */
    function run<T>(
        variant: V,
        body: (p: LocalPipeline) => Promise<T>,
        options: PipelineOptions = {},
    ) {
        const queue = settings.get(variant);
        assert.ok(queue, `variant ${variant} is built`);
        return withLocalPipeline(
            emulator(),
            archives[variant],
            { ...options, settings: queue },
            body,
        );
    }

    return {
        emulator,
        archives,
        /** A fresh workshop environment, the web group sized as asked. */
        async seed(webGroup?: WorkshopSeedOptions["webGroup"]) {
            await seed(webGroup);
            return environment();
        },
        run,
        /** Puts `events` through the variant's pipeline until it drains: the records it delivered, and what its queues have left. */
        deliver(
            variant: V,
            events: readonly Record<string, unknown>[],
            options: PipelineOptions = {},
        ) {
            return run(
                variant,
                async (p) => {
                    await p.putEvents(events);
                    await p.mapping.drained(DRAIN_TIMEOUT_MS);
                    return { records: p.mapping.stats.records, left: await p.counts() };
                },
                options,
            );
        },
    };
}
