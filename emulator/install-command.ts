/** `npm run emulator:install`: moto installed up front, so npm test's emulator tests need not wait for it. */
import { ensureVirtualEnvironment } from "./install";

ensureVirtualEnvironment(console.log).then(
    (python) => console.log(`The emulator's Python is ready: ${python}`),
    (error: unknown) => {
        console.error(error instanceof Error ? error.message : error);
        process.exitCode = 1;
    },
);
