/**
 * The package as an importer installs it: its peers are the importer's own Pulumi SDKs, and
 * installing it brings none of this repository's test tools.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../support/processes";

interface PackageJson {
    repository?: { type?: string; url?: string };
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
    peerDependencies?: Record<string, string>;
    devDependencies: Record<string, string>;
    files?: string[];
    main?: string;
    types?: string;
    exports: Record<string, Record<string, string>>;
}

const manifest = JSON.parse(
    fs.readFileSync(path.join(ROOT, "package.json"), "utf8"),
) as PackageJson;

/**
 * The scripts for which npm prepares a Git dependency by installing all its dependencies, dev
 * ones included, in a clone (npm's pacote, lib/git.js `#prepareDir`).
 */
/**
 * The source file that `npm run compile` (tsconfig.build.json, outDir bin/) turns into `packed`,
 * e.g. `./bin/components/index.d.ts` ← components/index.ts; undefined for a path outside bin/.
 */
function compiledFrom(packed: string): string | undefined {
    const match = /^(?:\.\/)?bin\/(.+?)(?:\.d\.ts|\.js)$/.exec(packed);
    return match === null ? undefined : `${match[1]}.ts`;
}

/** Every file path a condition of `exports` names, with its condition path for messages. */
function exportTargets(exports: PackageJson["exports"]): [string, string][] {
    return Object.entries(exports).flatMap(([subpath, conditions]) =>
        Object.entries(conditions).map(([condition, target]): [string, string] => [
            `exports["${subpath}"].${condition}`,
            target,
        ]),
    );
}

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
        assert.equal(manifest.exports["."].default, "./bin/components/index.js");
        assert.match(manifest.scripts["pack-library"], /npm run compile && npm pack/);
    });

    it("names, in main, types and every exports condition, only files the packed build contains", () => {
        const named: [string, string][] = [
            ["main", manifest.main ?? ""],
            ["types", manifest.types ?? ""],
            ...exportTargets(manifest.exports),
        ];
        const buildSources = ["components", "handler"];

        const missing = named.filter(([, target]) => {
            const source = compiledFrom(target);
            return (
                source === undefined ||
                !buildSources.some((folder) => source.startsWith(`${folder}/`)) ||
                !fs.existsSync(path.join(ROOT, source))
            );
        });

        assert.ok(named.length >= 4, "main, types and the entry's conditions");
        assert.deepEqual(missing, []);
    });
});
