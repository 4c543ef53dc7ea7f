/** Small helpers for readable terminal output: aligned tables, and colour only on a TTY. */
import { stripVTControlCharacters } from "node:util";

export interface Style {
    bold(text: string): string;
    dim(text: string): string;
    green(text: string): string;
    yellow(text: string): string;
    red(text: string): string;
    cyan(text: string): string;
}

const ANSI = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, cyan: 36 } as const;

/** Colours when `enabled` (stdout is a TTY and NO_COLOR is unset), plain text otherwise. */
export function createStyle(enabled: boolean): Style {
    const paint = (code: number) => (text: string) =>
        enabled ? `\x1b[${code}m${text}\x1b[0m` : text;
    return {
        bold: paint(ANSI.bold),
        dim: paint(ANSI.dim),
        green: paint(ANSI.green),
        yellow: paint(ANSI.yellow),
        red: paint(ANSI.red),
        cyan: paint(ANSI.cyan),
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
