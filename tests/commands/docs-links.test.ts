/**
 * The README is the front page of docs/: every page it links exists, and every page under docs/
 * is linked from it. The pages' own links must resolve too.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../support/processes";
import { longLines, README, readPage, relativeLinks } from "../support/readme";

const docsPages = (): string[] =>
    fs
        .readdirSync(path.join(ROOT, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`)
        .sort();

const exists = (page: string) => fs.existsSync(path.join(ROOT, page));

describe("the README and the pages under docs/", () => {
    it("links only pages that exist", () => {
        const missing = relativeLinks(README).filter((target) => !exists(path.normalize(target)));
        assert.deepEqual(missing, []);
    });

    it("links every page under docs/ from the README", () => {
        const linked = new Set(relativeLinks(README).map((target) => path.normalize(target)));
        assert.deepEqual(
            docsPages().filter((page) => !linked.has(page)),
            [],
        );
    });

    it("gives every page links that resolve", () => {
        for (const page of docsPages()) {
            const missing = relativeLinks(readPage(page))
                .map((target) => path.normalize(path.join("docs", target)))
                .filter((target) => !exists(target));
            assert.deepEqual(missing, [], `${page}'s links`);
        }
    });

    it("keeps every page's lines outside code blocks to 110 characters", () => {
        for (const page of docsPages()) {
            assert.deepEqual(longLines(readPage(page), 110), [], page);
        }
    });
});
