/** A lock across processes, so that two commands never rebuild .venv at once (pip would trip over pip). */
import * as fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface ProcessLockOptions {
    /** How long to wait for another process's hold before giving up with an error. */
    readonly waitMs: number;
    /** How often to look again while another process holds the lock. Default: 250 ms. */
    readonly pollMs?: number;
    /** Told once, when another process holds the lock and this one starts to wait. */
    readonly onWait?: (holderPid: number) => void;
}

/** Runs work while holding lockPath; a lock whose holder has died is taken over. */
export async function withProcessLock<T>(
    lockPath: string,
    work: () => Promise<T>,
    { waitMs, pollMs = 250, onWait }: ProcessLockOptions,
): Promise<T> {
    const deadline = Date.now() + waitMs;
    for (let toldOfWait = false; !tryCreate(lockPath);) {
        const holder = readHolder(lockPath);
        if (holder === "gone") continue;
        if (holder === undefined || !isAlive(holder)) {
            // Re-read before removing, so a lock another waiter just took is left alone.
            if (readHolder(lockPath) === holder) fs.rmSync(lockPath, { force: true });
            continue;
        }
        if (Date.now() >= deadline) {
            throw new Error(
                `${lockPath} is still held by process ${holder} after ${Math.round(waitMs / 1000)} s. ` +
                    `Wait for that process to finish, or stop it and delete ${lockPath}.`,
            );
        }
        if (!toldOfWait) onWait?.(holder);
        toldOfWait = true;
        await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
    }
    try {
        return await work();
    } finally {
        if (readHolder(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
    }
}

/** Links a complete pid file into place, so no reader ever sees a lock that is half written. */
function tryCreate(lockPath: string): boolean {
    const draft = `${lockPath}.${process.pid}`;
    fs.writeFileSync(draft, String(process.pid));
    try {
        fs.linkSync(draft, lockPath);
        return true;
    } catch (error) {
        if (isErrno(error, "EEXIST")) return false;
        throw error;
    } finally {
        fs.rmSync(draft, { force: true });
    }
}

/** The holder's pid, "gone" once released, undefined for a file that holds no pid. */
function readHolder(lockPath: string): number | "gone" | undefined {
    try {
        const pid = Number(fs.readFileSync(lockPath, "utf8").trim());
        return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
    } catch (error) {
        if (isErrno(error, "ENOENT")) return "gone";
        throw error;
    }
}

function isAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        // EPERM: the process exists but belongs to another user.
        return !isErrno(error, "ESRCH");
    }
}

export function isErrno(error: unknown, code: string): boolean {
    return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
