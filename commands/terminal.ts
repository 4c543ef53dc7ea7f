/** Small helpers for readable terminal output: aligned tables, and colour only on a TTY. */
import { stripVTControlCharacters, styleText } from "node:util";

type StyleFormat = Parameters<typeof styleText>[0];

export interface Style {
    bold(text: string): string;
    dim(text: string): string;
    green(text: string): string;
    yellow(text: string): string;
    red(text: string): string;
    cyan(text: string): string;
}

/**
 * Colours when `enabled` (stdout is a TTY and NO_COLOR is unset), plain text otherwise.
 *
 * @example
 * createStyle(true).green("InService"); // "\x1b[32mInService\x1b[39m"
 */
export function createStyle(enabled: boolean): Style {
    const paint = (format: StyleFormat) => (text: string) =>
        // colourWanted has decided already; styleText would judge stdout, not the stream written to.
        enabled ? styleText(format, text, { validateStream: false }) : text;
    return {
        bold: paint("bold"),
        dim: paint("dim"),
        green: paint("green"),
        yellow: paint("yellow"),
        red: paint("red"),
        cyan: paint("cyan"),
    };
}

export function colourWanted(stream: NodeJS.WriteStream): boolean {
    return stream.isTTY === true && process.env.NO_COLOR === undefined;
}

function visibleLength(text: string): number {
    return stripVTControlCharacters(text).length;
}

/**
 * Lays rows out in aligned columns under a header, indented by `indent` spaces.
 *
 * @example
 * table(["NAME", "STATE"], [["i-1", "InService"]]);
 * // "NAME  STATE\ni-1   InService"
 */
export function table(
    headers: readonly string[],
    rows: readonly (readonly string[])[],
    indent = 0,
): string {
    const widths = headers.map((header, column) =>
        Math.max(visibleLength(header), ...rows.map((row) => visibleLength(row[column] ?? ""))),
    );
    const line = (cells: readonly string[]) =>
        " ".repeat(indent) +
        cells
            .map((cell, column) =>
                column === cells.length - 1
                    ? cell
                    : cell + " ".repeat(widths[column] - visibleLength(cell)),
            )
            .join("  ")
            .trimEnd();
    return [line(headers), ...rows.map(line)].join("\n");
}

/**
 * A duration for people: milliseconds below a second, seconds with two decimals above.
 *
 * @example
 * duration(45.2); // "45 ms"
 * duration(1016); // "1.02 s"
 */
export function duration(ms: number): string {
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Indents every line of `text` by `spaces`. */
export function indent(text: string, spaces: number): string {
    return text
        .split("\n")
        .map((line) => (line === "" ? line : " ".repeat(spaces) + line))
        .join("\n");
}

/**
 * Aligned "key  value" lines, without a header: for the fields of one thing.
 *
 * @example
 * fields([["source", "aws.ec2"], ["instance", "i-1"]], 2);
 * // "  source    aws.ec2\n  instance  i-1"
 */
export function fields(rows: readonly (readonly [string, string])[], indentBy = 0): string {
    const width = Math.max(0, ...rows.map(([key]) => visibleLength(key)));
    return rows
        .map(([key, value]) =>
            `${" ".repeat(indentBy)}${key}${" ".repeat(width - visibleLength(key))}  ${value}`.trimEnd(),
        )
        .join("\n");
}

/**
 * Wraps plain text at word boundaries so that no line is longer than `width` (a longer word
 * keeps its own line).
 *
 * @example
 * wrap("one two three", 7); // ["one two", "three"]
 */
export function wrap(text: string, width: number): string[] {
    const lines: string[] = [];
    let line = "";
    for (const word of text.split(/\s+/).filter((w) => w !== "")) {
        if (line !== "" && line.length + 1 + word.length > width) {
            lines.push(line);
            line = word;
        } else {
            line = line === "" ? word : `${line} ${word}`;
        }
    }
    return line === "" ? lines : [...lines, line];
}

/**
 * A JSON value for people: lists joined with commas, objects as "key value" pairs, and an empty
 * list or object as "none".
 *
 * @example
 * humanValue({ stale: 2, duplicate: 1 }); // "stale 2, duplicate 1"
 */
export function humanValue(value: unknown): string {
    if (Array.isArray(value)) {
        return value.length === 0 ? "none" : value.map(humanValue).join(", ");
    }
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value);
        return entries.length === 0
            ? "none"
            : entries.map(([key, inner]) => `${key} ${humanValue(inner)}`).join(", ");
    }
    return String(value);
}
