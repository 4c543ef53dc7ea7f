import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import {
    BENCH_COMMAND_LINE,
    type BenchOptions,
    DEFAULT_CHART_DIRECTORY,
    DEFAULT_STORMS,
    parseBenchFlags as parseFlags,
} from "../../commands/bench/flags";
import { helpText, UsageError } from "../../commands/cli";
import { ROOT, WITH_TYPESCRIPT } from "../support/processes";

const parse = (...argv: string[]): BenchOptions => {
    const options = parseFlags(argv);
    assert.notEqual(options, "help");
    return options as BenchOptions;
};

describe("the benchmark's flags", () => {
    it("run the single-group storms as before, and the default storms", () => {
        const options = parse();
        assert.deepEqual(
            options.storms,
            DEFAULT_STORMS.includes("single")
                ? [
                      { mode: "keep", size: 1000 },
                      { mode: "decrement", size: 500 },
                  ]
                : [],
        );
        assert.deepEqual(
            options.fleetConfigs,
            DEFAULT_STORMS.includes("many-groups") ? ["tag", "list", "per-group"] : [],
        );
        assert.deepEqual(options.paths, ["queue", "direct"]);
        assert.equal(options.budget, 10);
        // The component's own mapping settings, unless a flag says otherwise.
        assert.deepEqual(options.queueArgs, {
            batchSize: 1000,
            maximumBatchingWindowInSeconds: 4,
            maximumConcurrency: 2,
        });
    });

    it("take an Auto Scaling outage of 0 to 300 s, none by default", () => {
        assert.equal(parse().outageSeconds, 0);
        assert.equal(parse("--outage", "110").outageSeconds, 110);
        assert.throws(() => parseFlags(["--outage", "301"]), {
            message: '--outage takes a whole number from 0 to 300; not "301"',
        });
    });

    it("run the many-groups storm alone, in every configuration or those chosen", () => {
        assert.deepEqual(parse("--storm", "many-groups").storms, []);
        assert.deepEqual(parse("--storm", "many-groups").fleetConfigs, [
            "tag",
            "list",
            "per-group",
        ]);
        assert.deepEqual(
            parse("--storm", "many-groups", "--configs", "per-group,tag").fleetConfigs,
            ["tag", "per-group"],
        );
        const both = parse("--storm", "single,many-groups", "--mode", "keep");
        assert.deepEqual(both.storms, [{ mode: "keep", size: 1000 }]);
        assert.equal(both.fleetConfigs.length, 3);
        assert.deepEqual(parse("--storm", "single").fleetConfigs, []);
    });

    it("run the mixed storm alone, both runs of 10 groups of 100 unless told", () => {
        const mixed = parse("--storm", "mixed");
        assert.deepEqual([mixed.storms, mixed.fleetConfigs], [[], []]);
        assert.deepEqual(mixed.mixedConfigs, ["reacts", "silent"]);
        assert.equal(mixed.groupSize, 100);
        const silent = parse("--storm", "mixed", "--reactions", "silent", "--group-size", "20");
        assert.deepEqual([silent.mixedConfigs, silent.groupSize], [["silent"], 20]);
        assert.deepEqual(parse().mixedConfigs, []);
    });

    it("take the queue's settings for both storms", () => {
        const options = parse("--storm=many-groups", "--batch-size", "1000", "--window", "3");
        assert.equal(options.queueArgs.batchSize, 1000);
        assert.equal(options.queueArgs.maximumBatchingWindowInSeconds, 3);
    });

    for (const [argv, message] of [
        [["--storm", "many"], /--storm takes single, many-groups, mixed or several/],
        [["--reactions", "reacts"], /--reactions applies to the mixed storm/],
        [
            ["--storm", "mixed", "--group-size", "201"],
            /--group-size takes a whole number from 1 to 200/,
        ],
        [["--storm", "mixed", "--reactions", "late"], /--reactions takes reacts, silent or both/],
        [
            ["--storm", "many-groups", "--configs", "tags"],
            /--configs takes tag, list, per-group or several/,
        ],
        [
            ["--configs", "tag"],
            /--configs applies to the many-groups storm, which the default --storm single leaves out/,
        ],
        [["--budget", "10", "--budget", "20"], /--budget is given twice; give it once/],
        [["--storm", "single", "--storm", "many-groups"], /--storm is given twice/],
        [["--groups", "10"], /unknown flag --groups/],
        [["--storm", "many-groups", "--sizes", "100"], /--sizes applies to the single storm/],
        [["--storm", "many-groups", "--paths", "queue"], /--paths applies to the single storm/],
        [["--storm", "single", "--configs", "tag"], /--configs applies to the many-groups/],
        [["many-groups"], /unexpected argument "many-groups"/],
        [["--mode", "keep", "--mode", "decrement"], /^--mode is given twice; give it once$/],
        [["--sizes=100", "--sizes", "200"], /^--sizes is given twice; give it once$/],
        [["--json", "--json"], /^--json is given twice; give it once$/],
        [["--no-chart", "--no-chart"], /^--no-chart is given twice; give it once$/],
        [
            ["--sizes", "100,x"],
            /^--sizes takes comma-separated whole numbers from 1 to 3000; not "100,x"$/,
        ],
        [
            ["--paths", "queue,sqs"],
            /^--paths takes queue, direct or both as queue,direct; not "queue,sqs"$/,
        ],
        [["--out"], /^--out needs a value: --out DIR$/],
        [["--no-chart", "--out", "x"], /--out names the charts' folder, and --no-chart draws none/],
        [["--storm", "many-groups", "--out", "x"], /--out applies to the single storm/],
        [["--storm", "many-groups", "--outage", "10"], /--outage applies to the single storm/],
        [["--json=yes"], /^--json takes no value; write just --json$/],
    ] as const) {
        it(`refuse ${argv.join(" ")}`, () => {
            assert.throws(
                () => parseFlags(argv),
                (error: unknown) => {
                    assert.ok(error instanceof UsageError);
                    assert.match(error.message, message);
                    return true;
                },
            );
        });
    }

    it("write charts to the git-ignored .tmp/bench by default, to --out DIR, or nowhere", () => {
        assert.equal(DEFAULT_CHART_DIRECTORY, path.join(ROOT, ".tmp", "bench"));
        assert.equal(parse().chartDirectory, DEFAULT_CHART_DIRECTORY);
        assert.equal(parse("--out", "docs/bench").chartDirectory, path.resolve("docs/bench"));
        assert.equal(parse("--no-chart").chartDirectory, undefined);
        // The many-groups storm draws no chart.
        assert.equal(parse("--storm", "many-groups").chartDirectory, undefined);
        const ignored = spawnSync("git", ["check-ignore", "-q", ".tmp/bench/storm-1000-keep.svg"], {
            cwd: ROOT,
        });
        assert.equal(ignored.status, 0, "git ignores the default chart folder");
    });

    it("list --storm and --configs in --help", () => {
        assert.equal(parseFlags(["--help"]), "help");
        const help = helpText(BENCH_COMMAND_LINE);
        assert.match(help, /--storm single\|many-groups\|mixed\|single,many-groups,mixed/);
        assert.match(help, /--reactions reacts,silent/);
        assert.match(help, /--configs tag,list,per-group/);
        assert.match(help, /under 15 s/);
        assert.match(help, /--out DIR/);
        assert.match(help, /--no-chart/);
        assert.match(help, /Default: \.tmp\/bench, which git ignores\./);
    });

    it("exit with status 2 on a repeated flag, before any work", function () {
        this.timeout(60_000);
        const run = spawnSync(
            process.execPath,
            [...WITH_TYPESCRIPT, "commands/bench/main.ts", "--window", "1", "--window", "2"],
            { cwd: ROOT, encoding: "utf8", timeout: 50_000 },
        );
        assert.equal(run.status, 2, run.stderr);
        assert.match(run.stderr, /--window is given twice/);
    });

    it("stop quietly, with status 0, when the reader closes the pipe first (`| true`)", function () {
        this.timeout(60_000);
        const node = [process.execPath, ...WITH_TYPESCRIPT].map((arg) => `'${arg}'`).join(" ");
        // `true` exits before the help is written, so the write meets a closed pipe (EPIPE).
        const run = spawnSync(
            "bash",
            ["-c", `set -o pipefail; ${node} commands/bench/main.ts --help | true`],
            { cwd: ROOT, encoding: "utf8", timeout: 50_000 },
        );
        assert.equal(run.stderr, "");
        assert.equal(run.status, 0);
    });
});
