/** A storm as an SVG string (the same bytes for the same storm): instances out, then throttles, over time. */
import { INTERRUPTION_NOTICE_MS } from "../../contract";

/** One path's run, in seconds since the storm started. */
export interface PathSeries {
    readonly path: string;
    readonly outAtSeconds: readonly number[];
    /** When each Auto Scaling request was throttled by the budget. */
    readonly throttledAtSeconds: readonly number[];
    /** Warned instances still in the group when the path's run ended. */
    readonly neverLeft: number;
    /** The time axis covers the whole watch, so that a stalled path is seen to stall. */
    readonly watchedSeconds: number;
}

export interface StormChart {
    readonly title: string;
    /** The level every path's line should reach. */
    readonly warned: number;
    /** The goal: every warned instance out of the group within this many seconds. */
    readonly goalSeconds: number;
    readonly series: readonly PathSeries[];
}

const NOTICE_SECONDS = INTERRUPTION_NOTICE_MS / 1000;

type Point = { t: number; count: number };

/** Cumulative counts at each event, from 0 at 0 s: a step line's points. */
export function cumulative(timesSeconds: readonly number[]): Point[] {
    const sorted = [...timesSeconds].sort((a, b) => a - b);
    return [{ t: 0, count: 0 }, ...sorted.map((t, index) => ({ t, count: index + 1 }))];
}

/** Events per whole second, from 0 to the last event or `untilSeconds`: zero where none happened. */
export function perSecond(timesSeconds: readonly number[], untilSeconds = 0): Point[] {
    const last = Math.max(0, Math.floor(untilSeconds), ...timesSeconds.map(Math.floor));
    const counts = Array.from({ length: last + 1 }, () => 0);
    timesSeconds.forEach((t) => counts[Math.max(0, Math.floor(t))]++);
    return counts.map((count, t) => ({ t, count }));
}

const XML_ENTITIES: Record<string, string> = {
    "&": "amp",
    "<": "lt",
    ">": "gt",
    '"': "quot",
    "'": "apos",
};

/** Text safe inside an XML element or a double-quoted attribute. */
export function escapeXml(text: string): string {
    return text.replace(/[&<>"']/g, (c) => `&${XML_ENTITIES[c]};`);
}

/** About `target` round ticks from 0 to at least `max`, 1, 2 or 5 times a power of ten, to read at a glance. */
export function niceTicks(max: number, target = 6): number[] {
    const span = max > 0 ? max : 1;
    const rough = span / target;
    const power = 10 ** Math.floor(Math.log10(rough));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
    const count = Math.ceil(span / step - 1e-9);
    return Array.from({ length: count + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"] as const;
const [WIDTH, LEFT, TOP, BOTTOM, PANEL_HEIGHT] = [760, 70, 70, 50, 190];
/** Room on the right for each line's end label: what never left, what was throttled. */
const PLOT_WIDTH = WIDTH - LEFT - 190;
/** Between the panels: the first one's tick labels and axis title. */
const PANEL_GAP = 70;
/** A rate's zero sits above the time axis: the rarely throttled queue's line would vanish into it. */
const ZERO_LIFT = 8;
/** End labels closer than this are pushed apart, so that two paths' labels stay legible. */
const LABEL_SPACING = 14;

/** A coordinate with one decimal: enough for a screen, and the same text every run. */
const px = (value: number) => String(Math.round(value * 10) / 10);
const tickLabel = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));

/** A step line through `points` (each value holds until the next point), deduplicated per pixel. */
function stepPath(points: readonly { x: number; y: number }[]): string {
    if (points.length === 0) {
        return "";
    }
    let [x, y] = [px(points[0].x), px(points[0].y)];
    let d = `M${x} ${y}`;
    for (const point of points.slice(1)) {
        const [nextX, nextY] = [px(point.x), px(point.y)];
        d += (nextX === x ? "" : `H${nextX}`) + (nextY === y ? "" : `V${nextY}`);
        [x, y] = [nextX, nextY];
    }
    return d;
}

/** Label heights nudged apart, at least LABEL_SPACING, and kept within [top, bottom]. */
export function spreadLabels(ys: readonly number[], top: number, bottom: number): number[] {
    const order = ys.map((y, i) => ({ y, i })).sort((a, b) => a.y - b.y || a.i - b.i);
    const placed = order.map(({ y }) => Math.min(bottom, Math.max(top, y)));
    for (let rank = 1; rank < placed.length; rank++) {
        placed[rank] = Math.max(placed[rank], placed[rank - 1] + LABEL_SPACING);
    }
    // Labels pushed past the bottom come back up, pushing their neighbours up in turn.
    for (let rank = placed.length - 1; rank >= 0; rank--) {
        const below = rank === placed.length - 1 ? bottom : placed[rank + 1] - LABEL_SPACING;
        placed[rank] = Math.max(top, Math.min(placed[rank], below));
    }
    const result = ys.map(() => top);
    order.forEach(({ i }, rank) => (result[i] = placed[rank]));
    return result;
}

type Panel = ReturnType<typeof panel>;

/** A panel whose counts rise from `lift` above its time axis to its top tick. */
function panel(id: string, top: number, yTitle: string, yTicks: number[], lift = 0) {
    const most = yTicks[yTicks.length - 1];
    const y = (count: number) => top + PANEL_HEIGHT - lift - (count / most) * (PANEL_HEIGHT - lift);
    return { id, top, yTitle, yTicks, y };
}

/** Axes, grid, tick labels and titles of one panel; the time axis is the same for both. */
function axes(panel: Panel, xTicks: readonly number[], x: (t: number) => number): string[] {
    const bottom = panel.top + PANEL_HEIGHT;
    const right = LEFT + PLOT_WIDTH;
    return [
        ...panel.yTicks.map(
            (tick) =>
                `<line class="grid" x1="${LEFT}" x2="${right}" y1="${px(panel.y(tick))}" y2="${px(panel.y(tick))}" stroke="#e5e5e5"/>` +
                `<text class="y-tick" x="${LEFT - 6}" y="${px(panel.y(tick) + 4)}" text-anchor="end">${tickLabel(tick)}</text>`,
        ),
        `<line class="x-axis" x1="${LEFT}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`,
        `<line class="y-axis" x1="${LEFT}" x2="${LEFT}" y1="${panel.top}" y2="${bottom}" stroke="#333"/>`,
        ...xTicks.map(
            (tick) =>
                `<line class="x-tick-mark" x1="${px(x(tick))}" x2="${px(x(tick))}" y1="${bottom}" y2="${bottom + 4}" stroke="#333"/>` +
                `<text class="x-tick" x="${px(x(tick))}" y="${bottom + 16}" text-anchor="middle">${tickLabel(tick)}</text>`,
        ),
        `<text class="x-title" x="${LEFT + PLOT_WIDTH / 2}" y="${bottom + 34}" text-anchor="middle">seconds since the storm began</text>`,
        `<text class="y-title" transform="translate(${LEFT - 44} ${panel.top + PANEL_HEIGHT / 2}) rotate(-90)" text-anchor="middle">${escapeXml(panel.yTitle)}</text>`,
    ];
}

/** Instances out (a step line per path, what never left marked) above throttles/s, on one time axis. */
export function stormChartSvg(chart: StormChart): string {
    const { series, warned, goalSeconds } = chart;
    const end = Math.max(
        goalSeconds,
        ...series.flatMap((s) => [s.watchedSeconds, ...s.outAtSeconds, ...s.throttledAtSeconds]),
    );
    const xTicks = niceTicks(end);
    const xMax = xTicks[xTicks.length - 1];
    const x = (t: number) => LEFT + (Math.min(t, xMax) / xMax) * PLOT_WIDTH;
    const colour = (index: number) => PALETTE[index % PALETTE.length];
    const out = panel("out", TOP, "instances out of the group", niceTicks(warned, 5));
    const rates = series.map((s) => perSecond(s.throttledAtSeconds, s.watchedSeconds));
    const rateTicks = niceTicks(Math.max(1, ...rates.flat().map((p) => p.count)), 4);
    const rateTop = TOP + PANEL_HEIGHT + PANEL_GAP;
    const throttled = panel("throttled", rateTop, "throttled requests/s", rateTicks, ZERO_LIFT);
    const height = throttled.top + PANEL_HEIGHT + BOTTOM;
    const labelX = LEFT + PLOT_WIDTH + 8;
    const endLabels = (p: Panel, lines: readonly { last: number }[]) =>
        spreadLabels(
            lines.map(({ last }) => p.y(last) + 4),
            p.top + 10,
            p.top + PANEL_HEIGHT,
        );
    const dataPath = (s: PathSeries) => `data-path="${escapeXml(s.path)}"`;

    const outLines = series.map((s, i) => {
        const points = cumulative(s.outAtSeconds).map((p) => ({ x: x(p.t), y: out.y(p.count) }));
        // Held flat to the end of the watch, so that a path that stalled is seen to stall.
        points.push({ x: x(s.watchedSeconds), y: out.y(s.outAtSeconds.length) });
        return { s, i, d: stepPath(points), last: s.outAtSeconds.length };
    });
    const outLabelYs = endLabels(out, outLines);
    const neverLeft = outLines.map(({ s, i, last }, rank) => {
        const text =
            s.neverLeft > 0
                ? `${s.path}: ${s.neverLeft} never left`
                : `${s.path}: all out at ${Math.max(0, ...s.outAtSeconds).toFixed(1)} s`;
        const xEnd = px(x(s.watchedSeconds));
        // What never left, as a bracket from the line's end up to where it should have reached.
        const bracket =
            s.neverLeft > 0
                ? `<line class="never-left-gap" ${dataPath(s)} x1="${xEnd}" x2="${xEnd}" y1="${px(out.y(last))}" y2="${px(out.y(last + s.neverLeft))}" stroke="${colour(i)}" stroke-width="3" stroke-dasharray="2 2"/>`
                : "";
        return `${bracket}<text class="never-left" ${dataPath(s)} x="${labelX}" y="${px(outLabelYs[rank])}" fill="${colour(i)}">${escapeXml(text)}</text>`;
    });

    const rateLines = series.map((s, i) => ({
        s,
        i,
        d: stepPath(
            rates[i].flatMap((p) => [
                { x: x(p.t), y: throttled.y(p.count) },
                { x: x(Math.min(p.t + 1, s.watchedSeconds)), y: throttled.y(p.count) },
            ]),
        ),
        last: rates[i][rates[i].length - 1]?.count ?? 0,
    }));
    const rateLabelYs = endLabels(throttled, rateLines);

    // The first path (the queue) is drawn last, on top: where both lines sit at zero, it shows.
    const lines = (panelLines: readonly { s: PathSeries; i: number; d: string }[], p: Panel) =>
        [...panelLines]
            .reverse()
            .map(
                ({ s, i, d }) =>
                    `<path class="series" data-panel="${p.id}" ${dataPath(s)} d="${d}" fill="none" stroke="${colour(i)}" stroke-width="2"/>`,
            );
    // The goal on both panels, and the notice's end when the axis reaches it; labelled on the first.
    const times: [string, number, string, string][] = [
        ["goal", goalSeconds, `goal: all out by ${goalSeconds} s`, "#2a7d2a"],
        ["notice", NOTICE_SECONDS, `${NOTICE_SECONDS} s notice ends`, "#b00"],
    ];
    const markers = (p: Panel, labelled: boolean) =>
        times
            .filter(([kind, t]) => kind === "goal" || t <= xMax)
            .map(([kind, t, label, c]) => {
                // Right of the line in the plot's left half, left of it in the right half: inside the plot.
                const [at, leftHalf] = [x(t), x(t) < LEFT + PLOT_WIDTH / 2];
                const text = `<text class="${kind}-label" x="${px(leftHalf ? at + 4 : at - 4)}" y="${p.top + 12}" text-anchor="${leftHalf ? "start" : "end"}" fill="${c}">${escapeXml(label)}</text>`;
                return `<line class="${kind}" x1="${px(at)}" x2="${px(at)}" y1="${p.top}" y2="${p.top + PANEL_HEIGHT}" stroke="${c}" stroke-dasharray="6 4"/>${labelled ? text : ""}`;
            });
    const legend = series.map(
        (s, i) =>
            `<g class="legend-item" transform="translate(${LEFT + i * 150} ${TOP - 22})"><line x1="0" x2="22" y1="0" y2="0" stroke="${colour(i)}" stroke-width="2"/><text x="28" y="4">${escapeXml(s.path)}</text></g>`,
    );

    return [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
        `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
        `<text class="title" x="${LEFT}" y="24" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
        `<g class="legend">${legend.join("")}</g>`,
        `<g class="panel" id="panel-out">`,
        ...axes(out, xTicks, x),
        `<line class="goal-level" x1="${LEFT}" x2="${LEFT + PLOT_WIDTH}" y1="${px(out.y(warned))}" y2="${px(out.y(warned))}" stroke="#2a7d2a" stroke-dasharray="2 3"/>`,
        `<text class="goal-level-label" x="${LEFT + 4}" y="${px(out.y(warned) - 4)}" fill="#2a7d2a">${escapeXml(`all ${warned} warned`)}</text>`,
        ...markers(out, true),
        ...lines(outLines, out),
        ...neverLeft,
        `</g>`,
        `<g class="panel" id="panel-throttled">`,
        ...axes(throttled, xTicks, x),
        ...markers(throttled, false),
        ...lines(rateLines, throttled),
        ...rateLines.map(
            ({ s, i }, rank) =>
                `<text class="throttled-total" ${dataPath(s)} x="${labelX}" y="${px(rateLabelYs[rank])}" fill="${colour(i)}">${escapeXml(`${s.path}: ${s.throttledAtSeconds.length} throttled`)}</text>`,
        ),
        `</g>`,
        `</svg>`,
        "",
    ].join("\n");
}
