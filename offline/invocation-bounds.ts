/**
 * The two bounds on a local invocation: a counting semaphore for the mapping's
 * maximumConcurrency, and the function's timeout.
 */

/** A counting semaphore whose waiters can all be turned away at once. */
export class Slots {
    private used = 0;
    private readonly waiters: ((granted: boolean) => void)[] = [];
    private cancelled = false;

    constructor(private readonly limit: number) {}

    get inUse(): number {
        return this.used;
    }

    /** Resolves true with a slot taken, or false once cancelled. */
    acquire(): Promise<boolean> {
        if (this.cancelled) {
            return Promise.resolve(false);
        }
        if (this.used < this.limit) {
            this.used++;
            return Promise.resolve(true);
        }
        return new Promise((resolve) => this.waiters.push(resolve));
    }

    release(): void {
        const next = this.waiters.shift();
        if (next !== undefined) {
            // The slot passes straight to the next waiter.
            next(true);
        } else {
            this.used--;
        }
    }

    cancelWaiters(): void {
        this.cancelled = true;
        for (const waiter of this.waiters.splice(0)) {
            waiter(false);
        }
    }
}

/** Rejects as Lambda reports a function that ran past its timeout; the promise itself runs on. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
            () => reject(new Error(`Task timed out after ${timeoutMs / 1000} seconds`)),
            timeoutMs,
        );
    });
    try {
        return await Promise.race([promise, timedOut]);
    } finally {
        clearTimeout(timer);
    }
}
