/** What the tests need to start the project's commands in a child process, as npm's scripts do. */
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");

/** Node's first arguments for a `.ts` entry or `-e` code: the tools' TypeScript hook, as package.json uses. */
export const WITH_TYPESCRIPT: readonly string[] = [
    "-r",
    path.join(ROOT, "commands", "register.cjs"),
];
