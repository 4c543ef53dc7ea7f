/** commands/cli.ts: the flags every command reads, their errors, --help, and value flags. */
import * as assert from "node:assert/strict";
import {
    choiceList,
    type CommandLine,
    type FlagSpec,
    helpText,
    parseFlags,
    UsageError,
    wholeNumber,
    wholeNumbers,
} from "../../commands/cli";

const refusal = (message: string) => (error: unknown) =>
    error instanceof UsageError && error.message === message;
const INSTANCE = "i-0aaaaaaaaaaaaaaa1";

describe("the shared flag parser", () => {
    const cli = {
        command: "npm run example --",
        summary: "",
        flags: {
            size: { value: "N", description: "", defaultText: "" },
            mode: { choices: ["keep", "decrement"], description: "", defaultText: "" },
            json: { description: "" },
        },
    } satisfies CommandLine<Record<string, FlagSpec>>;

    for (const argv of [
        ["--size", "1", "--size", "2"],
        ["--size=1", "--size", "1"],
        ["--size", "1", "--json", "--size=2"],
    ]) {
        it(`refuses a free-value flag given twice: ${argv.join(" ")}`, () => {
            assert.throws(
                () => parseFlags(cli, argv),
                refusal("--size is given twice; give it once"),
            );
        });
    }

    it("refuses a choice given twice, even the same choice", () => {
        assert.throws(
            () => parseFlags(cli, ["--mode", "keep", "--mode", "keep"]),
            refusal("--mode is given twice; give it once"),
        );
    });

    it("reads each flag once", () => {
        assert.deepEqual(parseFlags(cli, ["--size=3", "--mode", "keep"]), {
            size: "3",
            mode: "keep",
            json: false,
        });
    });
});

describe("the shared value readers", () => {
    it("read a whole number within its range, or name the flag and the range", () => {
        assert.equal(wholeNumber("outage", "0", { min: 0, max: 300 }), 0);
        assert.equal(wholeNumber("outage", "300", { min: 0, max: 300 }), 300);
        for (const text of ["301", "-1", "1.5", "", "ten"]) {
            assert.throws(
                () => wholeNumber("outage", text, { min: 0, max: 300 }),
                refusal(`--outage takes a whole number from 0 to 300; not "${text}"`),
            );
        }
    });

    it("read comma-separated whole numbers, quoting the whole list when one is wrong", () => {
        assert.deepEqual(wholeNumbers("sizes", "100,200", { min: 1, max: 3000 }), [100, 200]);
        assert.throws(
            () => wholeNumbers("sizes", "100,0", { min: 1, max: 3000 }),
            refusal('--sizes takes comma-separated whole numbers from 1 to 3000; not "100,0"'),
        );
        assert.throws(
            () => wholeNumbers("sizes", "100,", { min: 1, max: 3000 }),
            refusal('--sizes takes comma-separated whole numbers from 1 to 3000; not "100,"'),
        );
    });

    it("read comma-separated choices in their own order, or the defaults", () => {
        const allowed = ["tag", "list", "per-group"] as const;
        assert.deepEqual(choiceList("configs", "per-group,tag", allowed), ["tag", "per-group"]);
        assert.deepEqual(choiceList("configs", undefined, allowed), ["tag", "list", "per-group"]);
        assert.deepEqual(choiceList("configs", undefined, allowed, ["list"]), ["list"]);
        assert.throws(
            () => choiceList("paths", "queue,", ["queue", "direct"]),
            refusal('--paths takes queue, direct or both as queue,direct; not "queue,"'),
        );
    });
});

describe("the shared flag parser, as npm start uses it", () => {
    const cli = {
        command: "npm start --",
        summary: "",
        flags: {
            capacity: { choices: ["keep", "decrement"], description: "", defaultText: "" },
            json: { description: "" },
        },
    } satisfies CommandLine<Record<string, FlagSpec>>;

    it("reads choices and switches, and asks for help on -h", () => {
        assert.deepEqual(parseFlags(cli, ["--capacity", "keep", "--json"]), {
            capacity: "keep",
            json: true,
        });
        assert.deepEqual(parseFlags(cli, []), { capacity: undefined, json: false });
        assert.equal(parseFlags(cli, ["-h"]), "help");
    });

    for (const [argv, message] of [
        [
            ["--capacity", "shrink"],
            '--capacity "shrink" is not allowed; use --capacity keep or --capacity decrement',
        ],
        [["--capacity"], "--capacity needs a value; use --capacity keep or --capacity decrement"],
        [
            ["--capacity", "--json"],
            "--capacity needs a value; use --capacity keep or --capacity decrement",
        ],
        [
            ["--colour"],
            "unknown flag --colour; the flags are --capacity keep|decrement, --json, --help",
        ],
        [
            ["--constructor"],
            "unknown flag --constructor; the flags are --capacity keep|decrement, --json, --help",
        ],
        [["--json=yes"], "--json takes no value; write just --json"],
        [["--json", "--json"], "--json is given twice; give it once"],
        [
            ["direct"],
            `unexpected argument "direct"; the flags are --capacity keep|decrement, --json, --help, and they go after npm's "--", e.g. npm start -- --help`,
        ],
    ] as const) {
        it(`refuses ${argv.join(" ")} with a message naming the flag`, () => {
            assert.throws(
                () => parseFlags(cli, argv),
                (error: unknown) => error instanceof UsageError && error.message === message,
            );
        });
    }
});

describe("commands/cli.ts: value flags, as npm run simulate uses them", () => {
    const cli = {
        command: "npm run simulate --",
        summary: "Simulates.",
        flags: {
            instance: {
                value: "ID",
                description: "The instance.",
                defaultText: "the first InService one",
                check: (v: string) => (v.startsWith("i-") ? undefined : "is not an instance id"),
            },
            fis: { description: "Use FIS." },
        },
    };

    it("parses a value flag and a switch", () => {
        assert.deepEqual(parseFlags(cli, ["--instance", INSTANCE, "--fis"]), {
            instance: INSTANCE,
            fis: true,
        });
        assert.deepEqual(parseFlags(cli, [`--instance=${INSTANCE}`]), {
            instance: INSTANCE,
            fis: false,
        });
    });

    const refusals: [string[], string][] = [
        [["--instance"], "--instance needs a value: --instance ID"],
        [["--instance", "web"], '--instance "web" is not an instance id'],
        [["--fis=yes"], "--fis takes no value; write just --fis"],
        [["--nope"], "unknown flag --nope; the flags are --instance ID, --fis, --help"],
        [
            ["fis"],
            'unexpected argument "fis"; the flags are --instance ID, --fis, --help, and they go after npm\'s "--", e.g. npm run simulate -- --help',
        ],
        [["--fis", "--fis"], "--fis is given twice; give it once"],
    ];
    for (const [argv, message] of refusals) {
        it(`refuses ${argv.join(" ")}`, () => {
            assert.throws(
                () => parseFlags(cli, argv),
                (error: unknown) => {
                    assert.ok(error instanceof UsageError);
                    assert.equal(error.message, message);
                    return true;
                },
            );
        });
    }

    it("documents every flag, value flags with their value's name and default", () => {
        assert.equal(
            helpText(cli),
            [
                "Usage: npm run simulate -- [--instance ID] [--fis]",
                "",
                "Simulates.",
                "",
                "Flags:",
                "  --instance ID",
                "      The instance. Default: the first InService one.",
                "  --fis",
                "      Use FIS.",
                "  -h, --help",
                "      Show this help and exit.",
                "",
            ].join("\n"),
        );
    });
});
