/**
 * `npm run emulator:install`: installs moto into .venv now, if the pins changed, rather than on
 * the first emulator a test starts; npm test runs it beside the type check and lint, on the core
 * they leave idle.
 */
import { ensureVirtualEnvironment } from "./emulator-install";
import { PYTHON_ENVIRONMENT_VARIABLE } from "./emulator";

ensureVirtualEnvironment(process.env[PYTHON_ENVIRONMENT_VARIABLE] ?? "python3", console.log).then(
    (python) => console.log(`The emulator's Python is ready: ${python}`),
    (error: unknown) => {
        console.error(error instanceof Error ? error.message : error);
        process.exitCode = 1;
    },
);
