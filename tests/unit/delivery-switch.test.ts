/**
 * Switching a running stack between queue and direct delivery, judged from the resource graph as
 * Pulumi's engine walks it: it creates and updates the new program's resources in dependency
 * order, and deletes the resources the program no longer declares only after all of those,
 * dependents before what they depend on.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { recorded } from "../../offline/pulumi-engine";
import { build, type Components, type Handler, mockedComponents } from "../support/handler-mocks";

/** One resource of the graph: its name, its exact inputs, and what it explicitly depends on. */
interface Node {
    readonly name: string;
    readonly inputs: string;
    readonly dependsOn: readonly string[];
}

type Step = `${"create" | "update" | "delete"} ${string}`;

/** Builds the component with this delivery and returns its children in registration order. */
async function graphOf(components: Components, delivery: "queue" | "direct"): Promise<Node[]> {
    const dependsOn = new Map<string, pulumi.Resource[]>();
    const handler: Handler = await build(
        () =>
            new components.SpotInterruptionHandler(
                "spot",
                { autoScalingGroupName: "web", delivery },
                {
                    transformations: [
                        ({ name, opts }) => {
                            dependsOn.set(name, [opts.dependsOn ?? []].flat() as pulumi.Resource[]);
                            return undefined;
                        },
                    ],
                },
            ),
    );
    // The component's public members name the resources that others depend on.
    const memberOf = new Map<pulumi.Resource, string>(
        Object.entries(handler)
            .filter((entry): entry is [string, pulumi.Resource] =>
                pulumi.Resource.isInstance(entry[1]),
            )
            .map(([member, resource]) => [resource, member]),
    );
    return recorded
        .filter((r) => r.name.startsWith("spot-"))
        .map((r) => ({
            name: r.name,
            inputs: JSON.stringify(r.inputs),
            dependsOn: (dependsOn.get(r.name) ?? []).map((d) => memberOf.get(d) ?? "unknown"),
        }));
}

/** The steps of `pulumi up` from a stack deployed as `from` to the program `to`. */
function stepsOf(from: Node[], to: Node[]): Step[] {
    const before = new Map(from.map((n) => [n.name, n]));
    const kept = new Set(to.map((n) => n.name));
    const steps: Step[] = [];
    for (const node of to) {
        const old = before.get(node.name);
        if (old === undefined) {
            steps.push(`create ${node.name}`);
        } else if (old.inputs !== node.inputs) {
            steps.push(`update ${node.name}`);
        }
    }
    // Registration order is a dependency order, so its reverse deletes dependents first.
    for (const node of [...from].reverse()) {
        if (!kept.has(node.name)) {
            steps.push(`delete ${node.name}`);
        }
    }
    return steps;
}

describe("switching delivery on a running stack", () => {
    let queued: Node[];
    let direct: Node[];

    before(async () => {
        const components = await mockedComponents();
        queued = await graphOf(components, "queue");
        direct = await graphOf(components, "direct");
    });

    const node = (graph: Node[], name: string): Node => {
        const found = graph.find((n) => n.name === name);
        assert.ok(found, `${name} is in the graph`);
        return found;
    };

    describe("given queue delivery", () => {
        it("lets the mapping depend on a drain policy of its own, which the switch deletes after it", () => {
            assert.deepEqual(node(queued, "spot-mapping").dependsOn, ["drainPolicy"]);
            assert.deepEqual(node(queued, "spot-target").dependsOn, [
                "queuePolicy",
                "eventSourceMapping",
            ]);
        });

        it("gives the function's own policy the same document as with direct delivery", () => {
            assert.equal(node(queued, "spot-policy").inputs, node(direct, "spot-policy").inputs);
            assert.doesNotMatch(node(queued, "spot-policy").inputs, /sqs:ReceiveMessage/);
            assert.match(node(queued, "spot-drain-policy").inputs, /sqs:ReceiveMessage/);
        });
    });

    describe("when a queued stack switches to direct delivery", () => {
        let steps: Step[];

        before(() => {
            steps = stepsOf(queued, direct);
        });

        it("moves the rule's target to the function before it takes anything from the queue's path", () => {
            const retarget = steps.indexOf("update spot-target");
            assert.ok(retarget >= 0, steps.join(", "));
            const firstDelete = steps.findIndex((step) => step.startsWith("delete "));
            assert.ok(retarget < firstDelete, steps.join(", "));
            assert.ok(!steps.includes("update spot-policy"), "the function keeps its permissions");
            assert.ok(!steps.includes("update spot-drain-policy"));
        });

        it("stops the mapping before its drain permission goes, and the queue last", () => {
            const deletes = steps.filter((step) => step.startsWith("delete "));
            const at = (name: string) => deletes.indexOf(`delete ${name}`);
            assert.ok(
                at("spot-mapping") >= 0 && at("spot-mapping") < at("spot-drain-policy"),
                deletes.join(", "),
            );
            assert.ok(at("spot-queue-policy") < at("spot-queue"), deletes.join(", "));
            assert.equal(deletes.at(-1), "delete spot-queue");
        });
    });

    describe("when a direct stack switches to queue delivery", () => {
        it("creates the queue, its policies and the mapping before the target moves to the queue", () => {
            const steps = stepsOf(direct, queued);
            const retarget = steps.indexOf("update spot-target");
            for (const created of [
                "spot-queue",
                "spot-queue-policy",
                "spot-drain-policy",
                "spot-mapping",
            ]) {
                const at = steps.indexOf(`create ${created}`);
                assert.ok(at >= 0 && at < retarget, steps.join(", "));
            }
            assert.ok(
                steps.indexOf("delete spot-permission") > retarget,
                "the function stays invocable by the rule until the target has moved",
            );
        });
    });
});
