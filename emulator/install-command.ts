/**
 * `npm run emulator:install`: installs moto into .venv now, if the pins changed, rather than on
 * the first emulator a test starts; npm test runs it beside the checks and the suite, whose tests
 * that need moto wait for it.
 */
import { ensureVirtualEnvironment } from "./install";
import { PYTHON_ENVIRONMENT_VARIABLE } from "./server";

ensureVirtualEnvironment(process.env[PYTHON_ENVIRONMENT_VARIABLE] ?? "python3", console.log).then(
    (python) => console.log(`The emulator's Python is ready: ${python}`),
    (error: unknown) => {
        console.error(error instanceof Error ? error.message : error);
        process.exitCode = 1;
    },
);
