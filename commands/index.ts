/**
 * The commands people run, each in its folder: `npm start` (rehearsal/, the workshop's console
 * test offline), `npm run bench` (bench/, interruption storms against an API budget) and
 * `npm run simulate` (simulate/, the same test and real interruptions on an AWS account). They
 * share cli.ts (flags, help, exit codes) and terminal.ts (tables and colour).
 */
export * from "./cli";
export * from "./terminal";
