/** Readable terminal output: aligned columns, durations, and colour only where it is wanted. */
import { stripVTControlCharacters, styleText } from "node:util";

const STYLES = ["bold", "dim", "green", "yellow", "red", "cyan"] as const;

export type Style = Record<(typeof STYLES)[number], (text: string) => string>;

/** Colours when `enabled` (see colourWanted), plain text otherwise. */
export function createStyle(enabled: boolean): Style {
    const paint = (format: (typeof STYLES)[number]) => (text: string) =>
        // colourWanted has decided; styleText would judge stdout, not the stream written to.
        enabled ? styleText(format, text, { validateStream: false }) : text;
    return Object.fromEntries(STYLES.map((format) => [format, paint(format)])) as Style;
}

/** Colour on a TTY, unless NO_COLOR is set. */
export function colourWanted(stream: NodeJS.WriteStream): boolean {
    return stream.isTTY === true && process.env.NO_COLOR === undefined;
}

type Rows = readonly (readonly string[])[];

/** Rows in columns as wide as their widest visible cell; colour codes take no room. */
export function fields(rows: Rows, indentBy = 0): string {
    if (rows.length === 0) {
        return "";
    }
    const width = (text: string) => stripVTControlCharacters(text).length;
    const widths = rows[0].map((_, column) => Math.max(...rows.map((r) => width(r[column] ?? ""))));
    const pad = (cell: string, c: number) => cell.padEnd(widths[c] + cell.length - width(cell));
    const line = (cells: readonly string[]) =>
        cells.map((cell, c) => (c < cells.length - 1 ? pad(cell, c) : cell)).join("  ");
    return rows.map((cells) => (" ".repeat(indentBy) + line(cells)).trimEnd()).join("\n");
}

/** Rows in aligned columns under a header, indented by `indent` spaces. */
export function table(headers: readonly string[], rows: Rows, indent = 0): string {
    return fields([headers, ...rows], indent);
}

/** A duration for people: "45 ms" below a second, "1.02 s" above. */
export function duration(ms: number): string {
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Text wrapped at word boundaries to lines of at most `width` (a longer word keeps its own). */
export function wrap(text: string, width: number): string[] {
    const lines: string[] = [];
    for (const word of text.split(/\s+/).filter((w) => w !== "")) {
        const last = lines.length - 1;
        if (last >= 0 && lines[last].length + 1 + word.length <= width) {
            lines[last] += ` ${word}`;
        } else {
            lines.push(word);
        }
    }
    return lines;
}

/** A JSON value for people: e.g. "stale 2, duplicate 1" for an object, "none" for an empty one. */
export function humanValue(value: unknown): string {
    const parts = Array.isArray(value)
        ? value.map(humanValue)
        : value !== null && typeof value === "object"
          ? Object.entries(value).map(([key, inner]) => `${key} ${humanValue(inner)}`)
          : undefined;
    return parts === undefined ? String(value) : parts.length === 0 ? "none" : parts.join(", ");
}
