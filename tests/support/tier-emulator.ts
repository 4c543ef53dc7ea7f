/**
 * The emulator tier's moto: one server per test process, shared by every file that process runs
 * (the whole tier under `npm run test:emulator`, a worker's share of it under --parallel). Each
 * file gets it freshly reset. It ends with the process: the server exits when its stdin closes.
 */
import { type Emulator, startEmulator } from "../../local/emulator";

let started: Promise<Emulator> | undefined;

/** The process's emulator, started on first use and reset for the file that asks. */
export async function tierEmulator(): Promise<Emulator> {
    started ??= startEmulator({ onProgress: (message) => console.log(`      ${message}`) });
    let emulator: Emulator;
    try {
        emulator = await started;
    } catch (error) {
        // The next file tries again, and says why if it fails too.
        started = undefined;
        throw error;
    }
    await emulator.reset();
    return {
        ...emulator,
        stop: () =>
            Promise.reject(
                new Error(
                    "The emulator tier's moto is shared by the files after this one, and ends with the test process: do not stop it",
                ),
            ),
    };
}
