import * as assert from "node:assert/strict";
import {
    cumulative,
    escapeXml,
    niceTicks,
    perSecond,
    spreadLabels,
    type StormChart,
    stormChartSvg,
} from "../../commands/bench/chart";

/** An element's attributes and text, found by tag name and class in one panel or the whole SVG. */
interface Element {
    readonly attributes: Record<string, string>;
    readonly text: string;
}

function elements(svg: string, tag: string, className: string): Element[] {
    const pattern = new RegExp(`<${tag} ([^>]*?)/?>(?:([^<]*)</${tag}>)?`, "g");
    return [...svg.matchAll(pattern)]
        .map((match) => ({
            attributes: Object.fromEntries(
                [...match[1].matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]),
            ),
            text: match[2] ?? "",
        }))
        .filter((element) => element.attributes.class === className);
}

function panel(svg: string, id: string): string {
    const match = new RegExp(`<g class="panel" id="panel-${id}">([\\s\\S]*?)</g>\\n`).exec(svg);
    assert.ok(match, `the chart has a ${id} panel`);
    return match[1];
}

/** Every y coordinate a path's d attribute visits (M x y, H x, V y commands only). */
function pathYs(d: string): number[] {
    const ys: number[] = [];
    for (const [, command, numbers] of d.matchAll(/([MHV])([^MHV]+)/g)) {
        const values = numbers.trim().split(" ").map(Number);
        if (command === "M") {
            ys.push(values[1]);
        } else if (command === "V") {
            ys.push(values[0]);
        }
    }
    return ys;
}

const tickXs = (svg: string): { label: string; x: string }[] =>
    elements(svg, "text", "x-tick").map((tick) => ({ label: tick.text, x: tick.attributes.x }));

describe("the benchmark's storm chart", () => {
    // Given a storm of 10 warned instances: the queue path gets every one out by 18 s with no
    // throttle, the direct path only 7 of them, throttled, and is watched until 35 s.
    const storm: StormChart = {
        title: "10 warned instances, keep mode, 10 Auto Scaling requests/s",
        warned: 10,
        goalSeconds: 20,
        series: [
            {
                path: "queue",
                outAtSeconds: [2, 3, 4, 5, 6, 7, 8, 9, 10, 18],
                throttledAtSeconds: [],
                neverLeft: 0,
                watchedSeconds: 19,
            },
            {
                path: "direct",
                outAtSeconds: [1, 1.5, 2, 12, 13, 20, 30],
                throttledAtSeconds: [0.2, 0.4, 0.9, 1.1, 5.5, 5.6],
                neverLeft: 3,
                watchedSeconds: 35,
            },
        ],
    };
    const svg = stormChartSvg(storm);

    it("counts instances out cumulatively and throttles per second, up to the watch's end", () => {
        assert.deepEqual(cumulative([2.5, 1]), [
            { t: 0, count: 0 },
            { t: 1, count: 1 },
            { t: 2.5, count: 2 },
        ]);
        assert.deepEqual(perSecond([0.2, 0.7, 2.1]), [
            { t: 0, count: 2 },
            { t: 1, count: 0 },
            { t: 2, count: 1 },
        ]);
        assert.deepEqual(perSecond([], 2.5), [
            { t: 0, count: 0 },
            { t: 1, count: 0 },
            { t: 2, count: 0 },
        ]);
    });

    it("spaces ticks by 1, 2 or 5 times a power of ten, covering the maximum", () => {
        assert.deepEqual(niceTicks(35), [0, 10, 20, 30, 40]);
        assert.deepEqual(niceTicks(1000, 5), [0, 200, 400, 600, 800, 1000]);
        assert.deepEqual(niceTicks(0.3), [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]);
        assert.deepEqual(niceTicks(0, 4), [0, 0.5, 1]);
    });

    it("renders a standalone SVG document, the same bytes every time", () => {
        assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
        assert.match(svg, /<\/svg>\n$/);
        assert.equal(stormChartSvg(storm), svg);
        for (const text of [
            storm.title,
            "instances out of the group",
            "throttled requests/s",
            "seconds since the storm began",
        ]) {
            assert.ok(svg.includes(text), `the chart shows "${text}"`);
        }
        assert.deepEqual(
            elements(svg, "g", "legend-item").length,
            2,
            "a legend entry per delivery path",
        );
    });

    it("draws both panels on the same time axis, with the same ticks at the same places", () => {
        const out = tickXs(panel(svg, "out"));
        const throttled = tickXs(panel(svg, "throttled"));

        assert.deepEqual(
            out.map((tick) => tick.label),
            ["0", "10", "20", "30", "40"],
        );
        assert.deepEqual(throttled, out);
    });

    it("lifts the throttle panel's zero above the time axis, so the unthrottled queue line shows", () => {
        const throttled = panel(svg, "throttled");
        const [axis] = elements(throttled, "line", "x-axis");
        const queue = elements(throttled, "path", "series").find(
            (line) => line.attributes["data-path"] === "queue",
        );
        assert.ok(queue, "the queue path has a throttle line");

        const ys = pathYs(queue.attributes.d);
        assert.ok(ys.length > 0);
        for (const y of ys) {
            assert.ok(y < Number(axis.attributes.y1), `queue line at y ${y} is above the axis`);
        }
        assert.ok(
            elements(throttled, "text", "throttled-total").some(
                (label) => label.text === "queue: 0 throttled",
            ),
        );
    });

    it("draws the goal as a labelled dashed line at 20 s on both panels", () => {
        for (const id of ["out", "throttled"]) {
            const content = panel(svg, id);
            const twenty = tickXs(content).find((tick) => tick.label === "20");
            const [goal] = elements(content, "line", "goal");
            assert.ok(twenty && goal, `the ${id} panel has a goal line and a 20 s tick`);

            assert.equal(goal.attributes.x1, twenty.x);
            assert.equal(goal.attributes.x2, twenty.x);
            assert.ok(goal.attributes["stroke-dasharray"]);
        }
        assert.deepEqual(
            elements(svg, "text", "goal-label").map((label) => label.text),
            ["goal: all out by 20 s"],
        );
        assert.deepEqual(
            elements(svg, "text", "goal-level-label").map((label) => label.text),
            ["all 10 warned"],
        );
    });

    it("marks the notice's end only when the time axis reaches 120 s", () => {
        assert.equal(elements(svg, "line", "notice").length, 0);

        const outage = stormChartSvg({
            ...storm,
            series: [{ ...storm.series[0], outAtSeconds: [117.5], watchedSeconds: 118 }],
        });
        const notice = elements(panel(outage, "out"), "line", "notice");
        const tick = tickXs(panel(outage, "out")).find((t) => t.label === "120");
        assert.ok(tick);
        assert.deepEqual(
            notice.map((line) => line.attributes.x1),
            [tick.x],
        );
        assert.ok(outage.includes("120 s notice ends"));
    });

    it("shows what never left, with its count, beside what did", () => {
        const labels = elements(panel(svg, "out"), "text", "never-left");

        assert.deepEqual(
            labels.map((label) => label.text),
            ["queue: all out at 18.0 s", "direct: 3 never left"],
        );
        const [gap] = elements(svg, "line", "never-left-gap");
        assert.equal(gap.attributes["data-path"], "direct");
        assert.notEqual(gap.attributes.y1, gap.attributes.y2, "the gap spans the 3 missing");
    });

    it("escapes the text it draws", () => {
        const chart = stormChartSvg({
            ...storm,
            title: `queue & direct <"10">`,
            series: [{ ...storm.series[0], path: "a<b" }],
        });

        assert.ok(chart.includes("queue &amp; direct &lt;&quot;10&quot;&gt;"));
        assert.ok(chart.includes('data-path="a&lt;b"'));
        assert.ok(!chart.includes("a<b"));
        assert.equal(escapeXml(`'&'`), "&apos;&amp;&apos;");
    });
});

describe("the chart's end labels", () => {
    it("stay apart and inside the panel, even when both lines end at the bottom", () => {
        assert.deepEqual(spreadLabels([200, 200], 10, 200), [186, 200]);
        assert.deepEqual(spreadLabels([50, 52, 150], 10, 200), [50, 64, 150]);
        assert.deepEqual(spreadLabels([0], 10, 200), [10]);
    });
});

describe("the chart's drawing order", () => {
    it("draws the first path last, on top, where both lines lie on each other", () => {
        const svg = stormChartSvg({
            title: "both unthrottled",
            warned: 1,
            goalSeconds: 20,
            series: ["queue", "direct"].map((path) => ({
                path,
                outAtSeconds: [1],
                throttledAtSeconds: [],
                neverLeft: 0,
                watchedSeconds: 5,
            })),
        });
        const order = [...svg.matchAll(/class="series" data-panel="throttled" data-path="(\w+)"/g)];

        assert.deepEqual(
            order.map((match) => match[1]),
            ["direct", "queue"],
        );
    });
});
