/**
 * The Node.js that `npm test` runs on is the one the function runs on by default, so the archive
 * is proven on its runtime; and `engines` admits every runtime the function may be given.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    HANDLER_RUNTIMES,
    resolveHandlerSettings,
} from "../../components/spot-interruption-handler";
import { ROOT } from "../support/processes";

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    engines: { node: string };
    devDependencies: { node: string };
};

/** 24 from "nodejs24.x". */
function runtimeMajor(runtime: string): number {
    const major = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
    assert.ok(major !== undefined, `${runtime} is not a nodejsNN.x runtime`);
    return Number(major);
}

describe("the Node.js the tests run on", () => {
    const defaultRuntime = resolveHandlerSettings({ autoScalingGroupName: "web" }).runtime;

    it("is the major of the function's default runtime, pinned as the node devDependency", () => {
        const major = runtimeMajor(defaultRuntime);
        assert.equal(Number(process.versions.node.split(".")[0]), major);
        assert.equal(Number(manifest.devDependencies.node.split(".")[0]), major);
    });

    it("is admitted by engines, as is every runtime the function may be given", () => {
        const minimum = /^>=(\d+)$/.exec(manifest.engines.node)?.[1];
        assert.ok(minimum !== undefined, `engines.node ${manifest.engines.node} is not ">=N"`);
        for (const runtime of HANDLER_RUNTIMES) {
            assert.ok(runtimeMajor(runtime) >= Number(minimum), `${runtime} below engines`);
        }
        assert.equal(Math.min(...HANDLER_RUNTIMES.map(runtimeMajor)), Number(minimum));
    });
});
