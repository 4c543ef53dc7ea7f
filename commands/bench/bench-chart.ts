/**
 * A storm as a picture: instances out of the group over time, and Auto Scaling throttles over
 * time, for the queued and the direct path side by side. Vega-Lite renders it to SVG with no
 * browser.
 */

/** One path's run, in seconds since the storm started. */
export interface PathSeries {
    readonly path: string;
    /** When each instance left the group. */
    readonly outAtSeconds: readonly number[];
    /** When each Auto Scaling request was throttled by the budget. */
    readonly throttledAtSeconds: readonly number[];
}

type VegaModule = typeof import("vega");
/** The one vega-lite call used (its typings resolve only under node16 module resolution). */
interface VegaLiteModule {
    compile(spec: unknown): { spec: import("vega").Spec };
}

// vega and vega-lite are ES modules with top-level await, which require() cannot load; this
// keeps a real import() where TypeScript would compile one to require().
const importEsm = new Function("specifier", "return import(specifier)") as <T>(
    specifier: string,
) => Promise<T>;

/** Cumulative counts at each event, starting from 0 at 0 s: a step line's points. */
export function cumulative(timesSeconds: readonly number[]): { t: number; count: number }[] {
    const sorted = [...timesSeconds].sort((a, b) => a - b);
    return [{ t: 0, count: 0 }, ...sorted.map((t, index) => ({ t, count: index + 1 }))];
}

/** Events per whole second, every second from 0 to the last one: a rate's points. */
export function perSecond(timesSeconds: readonly number[]): { t: number; count: number }[] {
    const last = Math.max(0, ...timesSeconds.map(Math.floor));
    const counts = Array.from({ length: last + 1 }, () => 0);
    for (const t of timesSeconds) {
        counts[Math.max(0, Math.floor(t))]++;
    }
    return counts.map((count, t) => ({ t, count }));
}

/** The Vega-Lite specification: two panels sharing the time axis. */
export function stormChartSpec(title: string, series: readonly PathSeries[]) {
    const out = series.flatMap((s) =>
        cumulative(s.outAtSeconds).map((p) => ({ ...p, path: s.path })),
    );
    const throttles = series.flatMap((s) =>
        perSecond(s.throttledAtSeconds).map((p) => ({ ...p, path: s.path })),
    );
    const time = {
        field: "t",
        type: "quantitative" as const,
        title: "seconds since the storm began",
    };
    const path = { field: "path", type: "nominal" as const, title: "delivery" };
    return {
        title,
        width: 560,
        height: 200,
        vconcat: [
            {
                data: { values: out },
                mark: { type: "line" as const, interpolate: "step-after" as const },
                encoding: {
                    x: time,
                    y: {
                        field: "count",
                        type: "quantitative" as const,
                        title: "instances out of the group",
                    },
                    color: path,
                },
            },
            {
                data: { values: throttles },
                mark: { type: "line" as const },
                encoding: {
                    x: time,
                    y: {
                        field: "count",
                        type: "quantitative" as const,
                        title: "throttled requests per second",
                    },
                    color: path,
                },
            },
        ],
    };
}

/** Renders the storm's chart as a standalone SVG document. */
export async function stormChartSvg(title: string, series: readonly PathSeries[]): Promise<string> {
    const vega = await importEsm<VegaModule>("vega");
    const vegaLite = await importEsm<VegaLiteModule>("vega-lite");
    const { spec } = vegaLite.compile(stormChartSpec(title, series));
    const view = new vega.View(vega.parse(spec), { renderer: "none" });
    try {
        return await view.toSVG();
    } finally {
        view.finalize();
    }
}
