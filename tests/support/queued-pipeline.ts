/**
 * The queued path on the tier's emulator, as the queued-pipeline tests drive it: one archive per
 * handler variant, built from the component with the component's queue settings, fed by the local
 * event source mapping from the events queue that the component's rule fills.
 */
import * as assert from "node:assert/strict";
import type { ResolvedHandlerSettings } from "../../components/spot-interruption-handler/args";
import type { SpotInterruptionHandlerArgs } from "../../components";
import {
    type Emulator,
    type GroupState,
    type HandlerArchive,
    installPulumiMocks,
    type LocalPipeline,
    materializeHandlerArchive,
    seedWorkshopEnvironment,
    WEB_GROUP_NAME,
    withLocalPipeline,
    type WorkshopSeedOptions,
} from "../../local";
import { tierEmulator } from "./tier-emulator";

export const DRAIN_TIMEOUT_MS = 30_000;

export const ids = (group: GroupState) => group.instances.map((i) => i.instanceId);

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

type VariantArgs = Omit<SpotInterruptionHandlerArgs, "autoScalingGroupName">;

/**
 * Registers the suite's before and after hooks: the variants' archives for the web group, and the
 * tier's emulator. Call it inside the describe.
 */
export function queuedPipeline<V extends string>(variants: Record<V, VariantArgs>) {
    let emulator: Emulator | undefined;
    const archives = new Map<V, { archive: HandlerArchive; settings: ResolvedHandlerSettings }>();

    before(async () => {
        installPulumiMocks();
        // Imported after the mocks are installed, as Pulumi reads its settings on first use.
        const { SpotInterruptionHandler, resolveHandlerSettings } =
            await import("../../components");
        for (const [variant, extra] of Object.entries(variants) as [V, VariantArgs][]) {
            const args = { autoScalingGroupName: WEB_GROUP_NAME, ...extra };
            archives.set(variant, {
                settings: resolveHandlerSettings(args),
                archive: await materializeHandlerArchive(
                    new SpotInterruptionHandler(`queued-${variant}`, args).handlerFunction,
                    `queued-${variant}`,
                ),
            });
        }
        emulator = await tierEmulator();
    });

    after(() => {
        for (const { archive } of archives.values()) {
            archive.remove();
        }
    });

    const theEmulator = (): Emulator => {
        assert.ok(emulator, "the suite's before hook starts the emulator");
        return emulator;
    };

    return {
        emulator: theEmulator,
        /** A fresh workshop environment, the web group sized as asked. */
        async seed(webGroup?: WorkshopSeedOptions["webGroup"]) {
            await theEmulator().reset();
            return seedWorkshopEnvironment(theEmulator(), { webGroup });
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
