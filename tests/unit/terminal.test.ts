/** The commands' output: styleText's codes only when colour is wanted, and columns aligned by what shows. */
import * as assert from "node:assert/strict";
import {
    colourWanted,
    createStyle,
    fields,
    humanValue,
    table,
    wrap,
} from "../../commands/terminal";

describe("terminal colour", () => {
    describe("given colour wanted", () => {
        it("paints each style with its code, whatever stream the test's stdout is", () => {
            const style = createStyle(true);

            const painted = [
                style.bold("b"),
                style.dim("d"),
                style.green("g"),
                style.yellow("y"),
                style.red("r"),
                style.cyan("c"),
            ];

            assert.deepEqual(painted, [
                "\u001b[1mb\u001b[22m",
                "\u001b[2md\u001b[22m",
                "\u001b[32mg\u001b[39m",
                "\u001b[33my\u001b[39m",
                "\u001b[31mr\u001b[39m",
                "\u001b[36mc\u001b[39m",
            ]);
        });
    });

    describe("given colour not wanted", () => {
        it("leaves the text as it is", () => {
            const style = createStyle(false);

            assert.deepEqual([style.bold("b"), style.red("r")], ["b", "r"]);
        });
    });

    describe("colourWanted", () => {
        const saved = process.env.NO_COLOR;
        afterEach(() => {
            if (saved === undefined) {
                delete process.env.NO_COLOR;
            } else {
                process.env.NO_COLOR = saved;
            }
        });

        it("wants colour on a TTY only, and never with NO_COLOR set", () => {
            const tty = { isTTY: true } as NodeJS.WriteStream;
            const pipe = { isTTY: false } as NodeJS.WriteStream;

            delete process.env.NO_COLOR;
            const withoutNoColor = [colourWanted(tty), colourWanted(pipe)];
            process.env.NO_COLOR = "";
            const withNoColor = [colourWanted(tty), colourWanted(pipe)];

            assert.deepEqual(
                [withoutNoColor, withNoColor],
                [
                    [true, false],
                    [false, false],
                ],
            );
        });
    });
});

describe("terminal output", () => {
    it("aligns columns by visible width, ignoring colour codes", () => {
        const green = createStyle(true).green("i-1");

        assert.equal(
            table(
                ["ID", "STATE"],
                [
                    [green, "InService"],
                    ["i-22", "Pending"],
                ],
                2,
            ),
            ["  ID    STATE", `  ${green}   InService`, "  i-22  Pending"].join("\n"),
        );
    });

    it("aligns key-value fields, wraps text at word boundaries and spells out JSON values", () => {
        assert.equal(
            fields(
                [
                    ["source", "aws.ec2"],
                    ["instance", "i-1"],
                ],
                2,
            ),
            "  source    aws.ec2\n  instance  i-1",
        );
        assert.deepEqual(wrap("one two three", 7), ["one two", "three"]);
        assert.equal(humanValue({ stale: 2, duplicate: 1 }), "stale 2, duplicate 1");
        assert.equal(humanValue([]), "none");
    });
});
