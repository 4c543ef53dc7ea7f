import * as assert from "node:assert/strict";
import { cumulative, perSecond, stormChartSvg } from "../../commands/bench/bench-chart";

describe("the benchmark's storm chart", () => {
    it("counts instances out cumulatively and throttles per second", () => {
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
    });

    it("renders both paths as a standalone SVG, without a browser", async () => {
        const svg = await stormChartSvg("1000 warnings, keep", [
            { path: "queue", outAtSeconds: [1, 2, 3], throttledAtSeconds: [] },
            { path: "direct", outAtSeconds: [5], throttledAtSeconds: [0.5, 0.6, 1.2] },
        ]);

        assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
        for (const text of [
            "1000 warnings, keep",
            "queue",
            "direct",
            "instances out of the group",
        ]) {
            assert.ok(svg.includes(text), `the chart shows "${text}"`);
        }
    });
});
