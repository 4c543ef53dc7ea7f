/** The deployment package as `pulumi up` would upload it, written to disk and run: proof the upload works. */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { zipSync } from "fflate";
import type { InterruptionSummary, LambdaContext } from "../handler/entry";
import { unwrap } from "./pulumi-engine";

/** A folder inside the project, so that `require` in the archive finds the project's node_modules. */
const ARCHIVES_ROOT = path.resolve(__dirname, "..", ".tmp", "archives");
/** Lambda's default timeout, for a function that sets none. */
const DEFAULT_TIMEOUT_SECONDS = 3;

export type LambdaHandler = (event: unknown, context: LambdaContext) => Promise<unknown>;

export interface Invocations<Result = InterruptionSummary> {
    readonly results: PromiseSettledResult<Result>[];
    /** How long each invocation took, in milliseconds, in the order of the events. */
    readonly durationsMs: number[];
    /** What the handler wrote to the console and standard output: its JSON log and EMF lines. */
    readonly logLines: string[];
    /** When each log line was written (performance.now()). */
    readonly logTimesMs: number[];
}

/** Invokes the loaded handler once, with a Lambda context whose clock starts now. */
export type Invoke = (event: unknown) => Promise<unknown>;

export interface HandlerArchive {
    /** Where the archive's files were written. */
    readonly directory: string;
    /** Every path in the archive (files, and folders that came from packages). */
    readonly paths: readonly string[];
    /** The serialized `__index.js`. */
    readonly indexSource: string;
    /** The function's environment variables, as deployed. */
    readonly environment: Readonly<Record<string, string>>;
    /** The function's timeout, in milliseconds: each invocation's context counts down from it. */
    readonly timeoutMs: number;
    /** Size in bytes of the archive zipped with deflate, as Pulumi uploads it. */
    readonly zippedBytes: number;
    /** Invokes every event at once in one container, like concurrent invocations; settled results. */
    invoke<Result = InterruptionSummary>(
        events: readonly unknown[],
        extraEnvironment?: Readonly<Record<string, string>>,
    ): Promise<Invocations<Result>>;
    /** Runs `body` in a fresh container: loaded anew with the function's environment plus `extraEnvironment`. */
    withContainer<T>(
        extraEnvironment: Readonly<Record<string, string>>,
        body: (invoke: Invoke) => Promise<T>,
    ): Promise<{ value: T; logLines: string[]; logTimesMs: number[] }>;
    /** Deletes the folder. */
    remove(): void;
}

/** Writes every asset of the function's archive below `directory`; returns the archive's paths. */
async function writeAssets(code: FunctionCode["code"], directory: string): Promise<string[]> {
    const archive = (await unwrap(code)) as pulumi.asset.AssetArchive;
    const assets = await unwrap(archive.assets);
    for (const [archivePath, entry] of Object.entries(assets)) {
        const asset = entry as { text?: pulumi.Input<string>; path?: pulumi.Input<string> };
        const target = path.join(directory, archivePath);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        // Assets come back from the mock engine deserialized, so check their shape, not their class.
        if (asset.text !== undefined) {
            fs.writeFileSync(target, await unwrap(asset.text));
        } else if (asset.path !== undefined) {
            fs.cpSync(await unwrap(asset.path), target, { recursive: true });
        } else {
            throw new Error(`Unexpected asset at ${archivePath} in the function's archive`);
        }
    }
    return Object.keys(assets);
}

/** Zips every file below `directory`, as the deployment package would hold them. */
function zipDirectory(directory: string): Uint8Array {
    const files: Record<string, Uint8Array> = {};
    for (const entry of fs.readdirSync(directory, { recursive: true, withFileTypes: true })) {
        if (entry.isFile()) {
            const absolute = path.join(entry.parentPath, entry.name);
            files[path.relative(directory, absolute)] = fs.readFileSync(absolute);
        }
    }
    return zipSync(files, { level: 6 });
}

/** What the archive is made from: a Function, or the inputs an offline engine recorded for one. */
export interface FunctionCode {
    readonly code: pulumi.Input<pulumi.asset.Archive | undefined>;
    readonly timeout?: pulumi.Input<number | undefined>;
    readonly environment?: pulumi.Input<aws.types.input.lambda.FunctionEnvironment | undefined>;
}

/** Writes the function's archive to `.tmp/archives/<label>-<n>/` and loads its handler. */
export async function materializeHandlerArchive(
    fn: FunctionCode,
    label = "handler",
): Promise<HandlerArchive> {
    const variables = Object.entries((await unwrap(fn.environment))?.variables ?? {});
    const values = await Promise.all(variables.map(([, value]) => unwrap(value)));
    const environment = Object.fromEntries(variables.map(([key], i) => [key, String(values[i])]));
    const timeoutMs = ((await unwrap(fn.timeout)) ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
    fs.mkdirSync(ARCHIVES_ROOT, { recursive: true });
    const directory = fs.mkdtempSync(path.join(ARCHIVES_ROOT, `${label}-`));
    const paths = await writeAssets(fn.code, directory);
    const withContainer = containers(path.join(directory, "__index.js"), environment, timeoutMs);
    return {
        directory,
        paths,
        indexSource: fs.readFileSync(path.join(directory, "__index.js"), "utf8"),
        environment,
        timeoutMs,
        zippedBytes: zipDirectory(directory).byteLength,
        withContainer,
        invoke: (events, extraEnvironment = {}) =>
            invokeAll(withContainer, events, extraEnvironment),
        remove: () => fs.rmSync(directory, { recursive: true, force: true }),
    };
}

/** Runs a body with a fresh container of the archive: its module loaded anew, as a cold start. */
function containers(
    indexPath: string,
    environment: Readonly<Record<string, string>>,
    timeoutMs: number,
): HandlerArchive["withContainer"] {
    return async (extraEnvironment, body) => {
        const restoreEnvironment = setEnvironment({ ...environment, ...extraEnvironment });
        const logLines: string[] = [];
        const logTimesMs: number[] = [];
        const restoreConsole = captureConsole(logLines, logTimesMs);
        try {
            // The factory builds its clients from the environment it sees when loaded.
            Reflect.deleteProperty(require.cache, indexPath);
            // eslint-disable-next-line @typescript-eslint/no-require-imports -- the archive is plain CommonJS, loaded as Lambda would
            const { handler } = require(indexPath) as { handler: LambdaHandler };
            const invoke: Invoke = (event) => {
                const deadline = performance.now() + timeoutMs;
                return handler(event, {
                    getRemainingTimeInMillis: () => Math.max(0, deadline - performance.now()),
                });
            };
            return { value: await body(invoke), logLines, logTimesMs };
        } finally {
            restoreConsole();
            restoreEnvironment();
        }
    };
}

/** Every event invoked at once in one container, each timed. */
async function invokeAll<Result>(
    withContainer: HandlerArchive["withContainer"],
    events: readonly unknown[],
    extraEnvironment: Readonly<Record<string, string>>,
): Promise<Invocations<Result>> {
    const durationsMs: number[] = [];
    const timed = (invoke: Invoke) => async (event: unknown, index: number) => {
        const startedAt = performance.now();
        try {
            return (await invoke(event)) as Result;
        } finally {
            durationsMs[index] = performance.now() - startedAt;
        }
    };
    const { value, logLines, logTimesMs } = await withContainer(extraEnvironment, (invoke) =>
        Promise.allSettled(events.map(timed(invoke))),
    );
    return { results: value, durationsMs, logLines, logTimesMs };
}

function setEnvironment(values: Record<string, string>): () => void {
    const previous = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
    Object.assign(process.env, values);
    return () => {
        for (const [key, value] of Object.entries(previous)) {
            if (value === undefined) {
                Reflect.deleteProperty(process.env, key);
            } else {
                process.env[key] = value;
            }
        }
    };
}

/** Captures console and raw stdout lines (EMF metrics are written raw), and when each was written. */
function captureConsole(lines: string[], timesMs: number[]): () => void {
    const { info, warn, error, log } = console;
    const keep = (line: string): void => {
        lines.push(line);
        timesMs.push(performance.now());
    };
    const capture = (...args: unknown[]) => keep(args.map(String).join(" "));
    Object.assign(console, { info: capture, warn: capture, error: capture, log: capture });
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => {
        String(chunk).split("\n").filter(Boolean).forEach(keep);
        return true;
    }) as typeof process.stdout.write;
    return () => {
        Object.assign(console, { info, warn, error, log });
        process.stdout.write = write;
    };
}
