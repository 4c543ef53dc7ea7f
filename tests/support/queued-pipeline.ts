/**
 * The queued path on the tier's emulator, as the queued-pipeline tests drive it: one archive per
 * handler variant, built from the component with the component's queue settings, fed by the local
 * event source mapping from the events queue that the component's rule fills.
 */
import * as assert from "node:assert/strict";
import type { ResolvedHandlerSettings } from "../../components/spot-interruption-handler/args";
import { type Emulator } from "../../emulator/server";
import { type GroupState } from "../../emulator/group-state";
import { type HandlerArchive } from "../../offline/handler-archive";
import { installPulumiMocks } from "../../offline/pulumi-engine";
import { type LocalPipeline, withLocalPipeline } from "../../offline/pipeline";
import { WEB_GROUP_NAME, type WorkshopSeedOptions } from "../../emulator/workshop";
import {
    emulatedWorkshop,
    webGroupHandlerArchive,
    type WebGroupHandlerArgs,
} from "./emulated-workshop";
import { tierEmulator } from "./tier-emulator";

export const DRAIN_TIMEOUT_MS = 30_000;

/** The pipeline gathers for 1 s instead of the default 4 s: each test waits out its window. */
export const ONE_SECOND_WINDOW = { maximumBatchingWindowInSeconds: 1 } as const;

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

export function queuedPipeline<V extends string>(variants: Record<V, WebGroupHandlerArgs>) {
    let emulator: Emulator | undefined;
    const archives = new Map<V, { archive: HandlerArchive; settings: ResolvedHandlerSettings }>();

    before(async () => {
        installPulumiMocks();
        // Imported after the mocks are installed, as Pulumi reads its settings on first use.
        const { resolveHandlerSettings } = await import("../../components");
        for (const [variant, args] of Object.entries(variants) as [V, WebGroupHandlerArgs][]) {
            archives.set(variant, {
                settings: resolveHandlerSettings({ autoScalingGroupName: WEB_GROUP_NAME, ...args }),
                archive: await webGroupHandlerArchive(`queued-${variant}`, args),
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
