/**
 * The package as an importer installs it: its peers are the importer's own Pulumi SDKs, and
 * installing it brings none of this repository's test tools.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

interface PackageJson {
    repository?: { type?: string; url?: string };
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
    peerDependencies?: Record<string, string>;
    devDependencies: Record<string, string>;
    files?: string[];
    exports: Record<string, Record<string, string>>;
}

const ROOT = path.resolve(__dirname, "..", "..");
const manifest = JSON.parse(
    fs.readFileSync(path.join(ROOT, "package.json"), "utf8"),
) as PackageJson;

/**
 * The scripts for which npm prepares a Git dependency by installing all its dependencies, dev
 * ones included, in a clone (npm's pacote, lib/git.js `#prepareDir`).
 */
const GIT_PREPARE_SCRIPTS = ["preinstall", "install", "postinstall", "build", "prepack", "prepare"];

describe("the package, as an importer installs it", () => {
    it("names its repository", () => {
        assert.equal(manifest.repository?.type, "git");
        assert.match(
            manifest.repository?.url ?? "",
            /^git\+https:\/\/github\.com\/.+\/spot-interruption-handler\.git$/,
        );
    });

    it("takes @pulumi/pulumi and @pulumi/aws from the importer, with the same ranges for its own tests", () => {
        for (const sdk of ["@pulumi/pulumi", "@pulumi/aws"]) {
            assert.ok(manifest.peerDependencies?.[sdk], `${sdk} is a peer dependency`);
            assert.equal(manifest.devDependencies[sdk], manifest.peerDependencies?.[sdk], sdk);
            assert.equal(manifest.dependencies[sdk], undefined, `${sdk} is not a dependency`);
        }
    });

    it("has no script that makes npm install its devDependencies on a Git install", () => {
        assert.deepEqual(
            GIT_PREPARE_SCRIPTS.filter((script) => manifest.scripts[script] !== undefined),
            [],
        );
        for (const tool of ["node", "eslint", "mocha", "typescript"]) {
            assert.ok(manifest.devDependencies[tool], `${tool} stays a devDependency`);
            assert.equal(manifest.dependencies[tool], undefined, `${tool} is not a dependency`);
        }
    });

    it("packs only the compiled library, and resolves its entry there", () => {
        assert.deepEqual(manifest.files, ["bin/"]);
        assert.equal(manifest.exports["."].node, "./bin/components/index.js");
        assert.match(manifest.scripts["pack-library"], /npm run compile && npm pack/);
    });
});
