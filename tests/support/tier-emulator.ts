/** The emulator tier's moto: one server per test process, reset for each file, ending with the process. */
import * as assert from "node:assert/strict";
import { type Emulator, startEmulator } from "../../emulator/server";

let started: Promise<Emulator> | undefined;

/** The process's emulator, started on first use and reset for the file that asks. */
async function tierEmulator(): Promise<Emulator> {
    started ??= startEmulator({ onProgress: (message) => console.log(`      ${message}`) });
    // After a failed start, the next file tries again.
    const emulator = await started.catch((error: unknown) => {
        started = undefined;
        throw error;
    });
    await emulator.reset();
    return {
        ...emulator,
        stop: async () => {
            throw new Error(
                "The emulator tier's moto is shared by the files after this one, and ends with the test process: do not stop it",
            );
        },
    };
}

/** The first start builds moto's virtual environment: minutes on a cold machine. */
export const FIRST_RUN_BOOTSTRAP_TIMEOUT_MS = 300_000;

/** For the current suite, the tier's emulator, reset for it; read `emulator` once the suite runs. */
export function tierEmulatorForSuite(): { readonly emulator: Emulator } {
    let emulator: Emulator | undefined;
    before(async function () {
        // The first start's time, or the suite's own timeout if that is longer.
        this.timeout(Math.max(this.timeout(), FIRST_RUN_BOOTSTRAP_TIMEOUT_MS));
        emulator = await tierEmulator();
    });
    return {
        get emulator(): Emulator {
            assert.ok(
                emulator !== undefined,
                "the tier's emulator is read before its suite started",
            );
            return emulator;
        },
    };
}
