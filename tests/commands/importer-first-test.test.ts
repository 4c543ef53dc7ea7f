/**
 * An importer's first test: the README's import example, verbatim, under exactly the mocks of
 * Pulumi's unit-testing guide (pulumi.com, "Unit testing Pulumi programs"), whose resources' state
 * is their inputs (so an auto-named group has no name) and whose calls return their inputs (so
 * aws.getAvailabilityZones lists no zones). The components must say once what the mock lacks,
 * never flood the process with unhandled rejections, and never hang.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import ts from "typescript";
import { installPulumiMocks } from "../../offline/pulumi-engine";
import { README } from "../support/readme";
import { ROOT } from "../support/processes";

/** The guide's mocks, exactly. */
const DOCUMENTED_MOCKS: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs) {
        return { id: args.name + "_id", state: args.inputs };
    },
    call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
    },
};

/** The same mocks, changed as the components' errors say. */
const FIXED_MOCKS: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs) {
        return {
            id: args.name + "_id",
            state: { ...args.inputs, name: args.inputs.name ?? args.name },
        };
    },
    call(args: pulumi.runtime.MockCallArgs) {
        return args.token === "aws:index/getAvailabilityZones:getAvailabilityZones"
            ? { names: ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
            : args.inputs;
    },
};

/** The README's TypeScript block that imports the package and protects `group.name`. */
function readmeImportExample(): string {
    const blocks = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
    const examples = blocks.filter((block) => block.includes("autoScalingGroupName: group.name"));
    assert.equal(examples.length, 1, "one README example passes group.name");
    return examples[0];
}

/** Runs TypeScript source as a module whose "spot-interruption-handler" is this package. */
function runAsImporter(source: string): Record<string, unknown> {
    const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    });
    const exports: Record<string, unknown> = {};
    const importerRequire = (id: string): unknown =>
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- the importer's own require
        require(id === "spot-interruption-handler" ? path.join(ROOT, "components") : id);
    new Function("require", "exports", outputText)(importerRequire, exports);
    return exports;
}

interface Run {
    /** Every unhandled rejection the process saw. */
    readonly rejections: unknown[];
    /** Every error the Pulumi SDK logged (with no engine, it writes them to console.error). */
    readonly errors: string[];
    readonly exports: Record<string, unknown>;
}

/** Runs `program` under `mocks` until every registration and apply has run, or fails at 30 s. */
async function runUnder(mocks: pulumi.runtime.Mocks, program: () => Record<string, unknown>) {
    const rejections: unknown[] = [];
    const errors: string[] = [];
    const collect = (reason: unknown) => rejections.push(reason);
    const consoleError = console.error;
    process.on("unhandledRejection", collect);
    console.error = (...args: unknown[]) => {
        errors.push(args.map(String).join(" "));
    };
    try {
        pulumi.runtime.setMocks(mocks, "project", "stack", false);
        const exports = program();
        let timer: NodeJS.Timeout | undefined;
        const finished = await Promise.race([
            pulumi.runtime.disconnect().then(() => true),
            new Promise<false>((resolve) => {
                timer = setTimeout(() => resolve(false), 30_000);
            }),
        ]);
        clearTimeout(timer);
        assert.ok(finished, "every registration settled: the program did not hang");
        await new Promise((resolve) => setImmediate(resolve));
        return { rejections, errors, exports } satisfies Run;
    } finally {
        console.error = consoleError;
        process.off("unhandledRejection", collect);
    }
}

describe("an importer's first test: the README's example under Pulumi's documented mocks", function () {
    this.timeout(90_000);

    after(() => installPulumiMocks());

    describe("given the mocks exactly as documented", () => {
        let run: Run;

        before(async () => {
            run = await runUnder(DOCUMENTED_MOCKS, () => runAsImporter(readmeImportExample()));
        });

        it("raises no unhandled rejection", () => {
            assert.deepEqual(run.rejections.map(String), []);
        });

        it("logs one error, naming autoScalingGroupName and how to make the mock return a name", () => {
            assert.equal(run.errors.length, 1, run.errors.join("\n"));
            assert.match(
                run.errors[0],
                /SpotInterruptionHandler: \[autoScalingGroupName\] resolved to undefined/,
            );
            assert.ok(
                run.errors[0].includes(
                    "Return state: { ...args.inputs, name: args.inputs.name ?? args.name } from the mocks' newResource",
                ),
                run.errors[0],
            );
        });
    });

    describe("given the mocks changed as that error says", () => {
        let run: Run;

        before(async () => {
            run = await runUnder(FIXED_MOCKS, () => runAsImporter(readmeImportExample()));
        });

        it("completes with no error and no rejection, exporting the dashboard's URL", () => {
            assert.deepEqual([run.rejections.map(String), run.errors], [[], []]);
            assert.ok(pulumi.Output.isInstance(run.exports.dashboardUrl));
        });

        it("hands the group's name to the function", async () => {
            pulumi.runtime.setMocks(FIXED_MOCKS, "project", "stack", false);
            const { SpotInterruptionHandler } = await import("../../components");
            const aws = await import("@pulumi/aws");
            const group = new aws.autoscaling.Group("web", { minSize: 2, maxSize: 12 });
            const handler = new SpotInterruptionHandler("spot", {
                autoScalingGroupName: group.name,
            });
            const variables = await new Promise<Record<string, string>>((resolve) =>
                handler.handlerFunction.environment.apply((environment) =>
                    resolve(environment?.variables ?? {}),
                ),
            );
            await pulumi.runtime.disconnect();
            assert.equal(variables.AUTO_SCALING_GROUP_NAMES, '["web"]');
        });
    });

    describe("given a SpotWebTier under the documented mocks, whose zone lookup lists no zones", () => {
        let run: Run;
        let SpotWebTier: typeof import("../../components").SpotWebTier;

        before(async () => {
            ({ SpotWebTier } = await import("../../components"));
            run = await runUnder(DOCUMENTED_MOCKS, () => {
                new SpotWebTier("web", {});
                return {};
            });
        });

        it("raises no unhandled rejection, and logs one error naming availabilityZoneCount and the call mock to fix", () => {
            assert.deepEqual(run.rejections.map(String), []);
            assert.equal(run.errors.length, 1, run.errors.join("\n"));
            assert.match(
                run.errors[0],
                /SpotWebTier: \[availabilityZoneCount\] needs 3 zones, but aws\.getAvailabilityZones returned no names.*aws:index\/getAvailabilityZones:getAvailabilityZones/,
            );
        });

        it("builds the tier without error once the call mock lists zones", async () => {
            const fixed = await runUnder(FIXED_MOCKS, () => {
                new SpotWebTier("web", {});
                return {};
            });
            assert.deepEqual([fixed.rejections.map(String), fixed.errors], [[], []]);
        });
    });
});
