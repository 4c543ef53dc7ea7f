/** The few figures every storm's report takes from its samples. Pure. */

/** The p-th percentile of values sorted ascending (nearest rank); 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** The total of a set of counts. */
export function sum(counts: Record<string, number>): number {
    return Object.values(counts).reduce((a, b) => a + b, 0);
}
