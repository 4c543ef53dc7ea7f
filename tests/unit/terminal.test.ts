/** Colour in the commands' output: styleText's codes when the command wants colour, none otherwise. */
import * as assert from "node:assert/strict";
import { colourWanted, createStyle } from "../../commands/terminal";

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
