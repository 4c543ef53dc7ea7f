import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import {
    AutoScalingClient,
    DescribeAutoScalingGroupsCommand,
    DetachInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { type HandlerArchive } from "../../offline/handler-archive";
import { installPulumiMocks, recorded, registrationsSettled } from "../../offline/pulumi-engine";
import { loadEvent } from "../support/events";
import { groupLookupAnswer } from "../support/fake-auto-scaling";
import { ROOT } from "../support/processes";

const INSTANCE = "i-0a1b2c3d4e5f60718";

/**
 * Another Pulumi program that installed this package: the library is compiled into
 * `<importer>/node_modules/spot-interruption-handler`, as `npm install` (prepare) leaves it.
 */
describe("the package, imported by another Pulumi program", function () {
    this.timeout(120_000);

    let importerRoot: string;
    let library: typeof import("../../components");
    let archive: HandlerArchive;
    let autoScaling: AwsClientStub<AutoScalingClient>;
    let registeredByImport: number;

    before(async () => {
        autoScaling = mockClient(AutoScalingClient);
        installPulumiMocks();
        fs.mkdirSync(path.join(ROOT, ".tmp"), { recursive: true });
        importerRoot = fs.mkdtempSync(path.join(ROOT, ".tmp", "importer-"));
        const installed = path.join(importerRoot, "node_modules", "spot-interruption-handler");
        await promisify(execFile)(
            process.execPath,
            [
                require.resolve("typescript/bin/tsc"),
                "-p",
                "tsconfig.build.json",
                "--outDir",
                path.join(installed, "bin"),
            ],
            { cwd: ROOT, timeout: 90_000 },
        );
        fs.copyFileSync(path.join(ROOT, "package.json"), path.join(installed, "package.json"));
        // The importer's own dependencies, installed: CallbackFunction used to pack every one of
        // them (typescript alone is over 20 MB) from the working directory's package.json.
        fs.writeFileSync(
            path.join(importerRoot, "package.json"),
            JSON.stringify({
                name: "consumer",
                dependencies: { "spot-interruption-handler": "*", typescript: "*", fflate: "*" },
            }),
        );
        for (const dependency of ["typescript", "fflate"]) {
            fs.symlinkSync(
                path.join(ROOT, "node_modules", dependency),
                path.join(importerRoot, "node_modules", dependency),
            );
        }

        const workingDirectory = process.cwd();
        process.chdir(importerRoot);
        try {
            await registrationsSettled();
            const before = recorded.length;
            // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the installed copy, as an importer's require would
            library = require(path.join(installed, "bin", "components", "index.js"));
            // Registrations reach the mocks asynchronously: count them once they have settled.
            await registrationsSettled();
            registeredByImport = recorded.length - before;

            const { materializeHandlerArchive } = await import("../../offline/handler-archive");
            archive = await materializeHandlerArchive(
                new library.SpotInterruptionHandler("imported", { autoScalingGroupName: "web" })
                    .handlerFunction,
                "imported",
            );
        } finally {
            process.chdir(workingDirectory);
        }
    });
    after(() => {
        autoScaling.restore();
        archive?.remove();
        fs.rmSync(importerRoot, { recursive: true, force: true });
    });

    it("registers nothing on import: the stack program does not run", () => {
        assert.equal(registeredByImport, 0);
    });

    it("uploads a self-contained archive of a few KiB, without the importer's dependencies or the package itself", () => {
        assert.deepEqual(archive.paths, ["__index.js"]);
        assert.doesNotMatch(archive.indexSource, /require\("[^"]*spot-interruption-handler/);
        assert.ok(archive.zippedBytes < 24 * 1024, `${archive.zippedBytes} bytes`);
    });

    it("publishes types whose every imported package is a dependency or a peer, so consumers compile without skipLibCheck", () => {
        const installed = path.join(importerRoot, "node_modules", "spot-interruption-handler");
        const manifest = JSON.parse(
            fs.readFileSync(path.join(installed, "package.json"), "utf8"),
        ) as { dependencies: Record<string, string>; peerDependencies: Record<string, string> };
        // Peers are the importer's own @pulumi/pulumi and @pulumi/aws.
        const dependencies = { ...manifest.dependencies, ...manifest.peerDependencies };
        const declarations = fs
            .readdirSync(path.join(installed, "bin"), { recursive: true, encoding: "utf8" })
            .filter((file) => file.endsWith(".d.ts"));
        const imported = new Set<string>();
        for (const file of declarations) {
            const text = fs.readFileSync(path.join(installed, "bin", file), "utf8");
            for (const [, specifier] of text.matchAll(
                /^(?:import|export) .* from "([^".][^"]*)";$/gm,
            )) {
                const [scope, name] = specifier.split("/");
                imported.add(scope.startsWith("@") ? `${scope}/${name}` : scope);
            }
        }

        const missing = [...imported].filter(
            (name) =>
                !name.startsWith("node:") &&
                dependencies[name] === undefined &&
                dependencies[`@types/${name}`] === undefined,
        );

        assert.ok(imported.has("aws-lambda"), "the handler's event types are published");
        assert.deepEqual(missing, []);
    });

    it("detaches an interrupted instance with that archive", async () => {
        autoScaling
            .on(DescribeAutoScalingGroupsCommand)
            .resolves(groupLookupAnswer("web", { members: [[INSTANCE, "InService"]] }));
        autoScaling.on(DetachInstancesCommand).resolves({});

        const { results } = await archive.invoke([loadEvent("seed-sample-event", INSTANCE)], {
            AWS_REGION: "eu-west-1",
        });

        assert.equal(results[0].status, "fulfilled");
        assert.deepEqual(
            autoScaling
                .commandCalls(DetachInstancesCommand)
                .map((c) => c.args[0].input.InstanceIds),
            [[INSTANCE]],
        );
    });
});
