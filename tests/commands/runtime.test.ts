import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

describe("the Node.js the tests run on", () => {
    it("is the major of the function's default runtime, nodejs24.x, pinned as a devDependency", async () => {
        const { HandlerRuntime } = await import("../../components");
        const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"))
            .devDependencies.node as string;

        assert.equal(process.versions.node.split(".")[0], "24");
        assert.equal(HandlerRuntime.Nodejs24, "nodejs24.x");
        assert.equal(pinned.split(".")[0], "24");
    });
});
