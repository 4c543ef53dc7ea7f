/**
 * docs/arguments.md against the components' source: every argument of both args interfaces in its
 * table, and every public member of both classes in its list.
 */
import * as assert from "node:assert/strict";
import ts from "typescript";
import { ARGUMENTS_PAGE, pageSection, readPage, sectionTables } from "../support/readme";

/** The names `pick` selects among the members of `container` in `file`. */
function memberNames(file: string, container: string, pick: (m: ts.Node) => boolean): string[] {
    const source = ts.createSourceFile(file, readPage(file), ts.ScriptTarget.ES2022, true);
    const names: string[] = [];
    const visit = (node: ts.Node) => {
        if (
            (ts.isInterfaceDeclaration(node) || ts.isClassDeclaration(node)) &&
            node.name?.text === container
        ) {
            for (const member of node.members) {
                if (pick(member) && member.name !== undefined && ts.isIdentifier(member.name)) {
                    names.push(member.name.text);
                }
            }
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    assert.ok(names.length > 0, `${container} in ${file}`);
    return names.sort();
}

const isPublicReadonly = (m: ts.Node) =>
    ts.isPropertyDeclaration(m) &&
    (ts.getCombinedModifierFlags(m) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) ===
        0 &&
    (ts.getCombinedModifierFlags(m) & ts.ModifierFlags.Readonly) !== 0;

const firstColumn = (heading: string) =>
    sectionTables(ARGUMENTS_PAGE, heading)[0]
        .rows.map((row) => row[0].text.replace(/`/g, ""))
        .sort();

/** The code spans of the paragraph that starts with `` `<component>`: ``. */
function listedMembers(component: string): string[] {
    const paragraph = pageSection(ARGUMENTS_PAGE, "Public members").find(
        (t) => t.type === "paragraph" && t.raw.startsWith(`\`${component}\`:`),
    );
    assert.ok(paragraph, `a list of ${component}'s members`);
    const spans = [...paragraph.raw.matchAll(/`([A-Za-z.]+)`/g)].map((m) => m[1]);
    return [...new Set(spans.filter((s) => s !== component && !s.includes(".")))].sort();
}

describe(`the arguments and members in ${ARGUMENTS_PAGE}`, () => {
    const argumentTypes = [
        ["SpotInterruptionHandler", "components/spot-interruption-handler/args.ts"],
        ["SpotWebTier", "components/spot-web-tier/args.ts"],
    ];
    for (const [component, file] of argumentTypes) {
        it(`lists every ${component} argument, and no other`, () => {
            const args = memberNames(file, `${component}Args`, ts.isPropertySignature);
            assert.deepEqual(firstColumn(`\`${component}\` arguments`), args);
        });
    }

    it("lists every public member of both components", () => {
        const handler = memberNames(
            "components/spot-interruption-handler/component.ts",
            "SpotInterruptionHandler",
            isPublicReadonly,
        );
        const webTier = memberNames(
            "components/spot-web-tier/component.ts",
            "SpotWebTier",
            isPublicReadonly,
        );
        // Arguments the list names as conditions ("with `faultInjection`"), not members.
        const notMembers = ["monitoring", "notificationEmail", "faultInjection"];
        const listed = (component: string, members: string[]) =>
            listedMembers(component).filter(
                (name) => members.includes(name) || !notMembers.includes(name),
            );
        assert.deepEqual(listed("SpotInterruptionHandler", handler), handler);
        assert.deepEqual(listed("SpotWebTier", webTier), webTier);
    });
});
