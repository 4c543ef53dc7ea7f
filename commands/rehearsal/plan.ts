/** The handler's plan under Pulumi mocks, as pulumi preview makes it, and its package to run. */
import type { PolicyDocument } from "../../components/shared/iam";
import type { ResolvedHandlerSettings } from "../../components/spot-interruption-handler/args";
import { resolveHandlerSettings } from "../../components/spot-interruption-handler/settings";
import { type FunctionCode, materializeHandlerArchive } from "../../offline/handler-archive";
import { type RecordedResource, runStackProgram } from "../../offline/pulumi-engine";
import { mergedProgramConfig } from "../../offline/pulumi-config-merge";

/** The two settings a rehearsal varies. */
export type HandlerMode = Pick<ResolvedHandlerSettings, "capacityOnInterruption" | "delivery">;

/** The handler's plan as the rehearsal shows it: its resources, their key properties, its policy. */
export type Plan = Awaited<ReturnType<typeof planHandler>>["plan"];

/** Resources that only the given delivery plans: a check that the program honoured it. */
const DELIVERY_PATH: Record<HandlerMode["delivery"], string> = {
    queue: "aws:lambda/eventSourceMapping:EventSourceMapping",
    direct: "aws:lambda/permission:Permission",
};

/** index.ts planned for an existing group (no web tier); queue is set with queue delivery only. */
export async function planHandler(
    { capacityOnInterruption, delivery }: HandlerMode,
    groupName: string,
    region: string,
) {
    const config = { autoScalingGroupName: groupName, capacityOnInterruption, delivery };
    // As `pulumi preview` runs it: Pulumi.yaml's defaults merged in first.
    const { resources } = await runStackProgram(
        mergedProgramConfig({ "aws:region": region, ...config }),
    );
    onlyOne(resources, DELIVERY_PATH[delivery]);
    // The recorded inputs are exactly what the Function was given: its code and environment.
    const archive = await materializeHandlerArchive(
        onlyOne(resources, "aws:lambda/function:Function").inputs as unknown as FunctionCode,
        `rehearsal-${delivery}-${capacityOnInterruption}`,
    );
    const stackConfig = Object.entries(config).map(([key, value]) => `${key}=${value}`);
    const plan = {
        // Exactly which plan this is, and how many resources it has.
        heading: `the handler for an existing group named ${groupName} (capacityOnInterruption ${capacityOnInterruption}, ${delivery} delivery): ${resources.length} resources, the component and its ${resources.length - 1} children`,
        // How the plan was made, and what it leaves out.
        provenance: `index.ts under Pulumi mocks with stack config ${stackConfig.join(", ")}, as pulumi preview plans it. Without autoScalingGroupName the dev stack would also plan the Spot web tier (VPC, load balancer, group); this rehearsal protects the seeded group instead.`,
        capacityOnInterruption,
        delivery,
        resources: resources.map(({ type, name, inputs }) => ({
            type,
            name,
            properties: KEY_PROPERTIES[type]?.(inputs as Inputs, archive.zippedBytes) ?? "",
        })),
        // The role's policies, read together: queue delivery adds the drain policy.
        policy: resources
            .filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy")
            .flatMap((r) => (JSON.parse(String(r.inputs.policy)) as PolicyDocument).Statement)
            .map((s) => ({
                sid: s.Sid ?? "",
                actions: [s.Action].flat(),
                resource: [s.Resource].flat().join(", "),
            })),
        archiveZippedBytes: archive.zippedBytes,
    };
    return { plan, archive, queue: resolveHandlerSettings(config).queue };
}

function onlyOne(resources: RecordedResource[], type: string): RecordedResource {
    const matches = resources.filter((r) => r.type === type);
    if (matches.length !== 1) {
        throw new Error(
            `The stack program planned ${matches.length} resources of type ${type}, not 1`,
        );
    }
    return matches[0];
}

/** A resource's recorded inputs, read by key: each value is only printed. */
interface Inputs {
    readonly [key: string]: Inputs;
}

/** The properties worth a glance, per resource type; other types show none. */
const KEY_PROPERTIES: Partial<Record<string, (inputs: Inputs, zippedBytes: number) => string>> = {
    "aws:cloudwatch/eventRule:EventRule": (i) => `pattern ${i.eventPattern}`,
    "aws:cloudwatch/eventTarget:EventTarget": ({ arn, retryPolicy: retry, deadLetterConfig }) =>
        `→ ${arnName(arn)}; retry for ≤${retry.maximumEventAgeInSeconds} s (≤${retry.maximumRetryAttempts} attempts), then ${arnName(deadLetterConfig.arn)}`,
    "aws:lambda/function:Function": (i, zippedBytes) => {
        const environment = Object.entries(i.environment.variables).map(([k, v]) => `${k}=${v}`);
        return `${i.runtime}, ${i.timeout} s, ${i.memorySize} MB, archive ${(zippedBytes / 1024).toFixed(1)} KiB zipped, ${environment.join(" ")}`;
    },
    "aws:lambda/permission:Permission": (i) => `${i.action} for ${i.principal}, only from the rule`,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": (i) =>
        `${i.maximumRetryAttempts} retries within ${i.maximumEventAgeInSeconds} s, then ${arnName(i.destinationConfig?.onFailure.destination)}`,
    "aws:lambda/eventSourceMapping:EventSourceMapping": (i) =>
        `${arnName(i.eventSourceArn)} → function: batches of ≤${i.batchSize} gathered for ≤${i.maximumBatchingWindowInSeconds} s, ≤${i.scalingConfig.maximumConcurrency} concurrent, ${[i.functionResponseTypes].flat().join(", ")}`,
    "aws:sqs/queue:Queue": (i) => {
        const retention = `SSE-SQS, retention ${formatSeconds(Number(i.messageRetentionSeconds))}`;
        if (i.redrivePolicy === undefined) {
            return retention;
        }
        const redrive = JSON.parse(String(i.redrivePolicy)) as Inputs;
        return `${retention}, visibility ${i.visibilityTimeoutSeconds} s, after ${redrive.maxReceiveCount} receives → ${arnName(redrive.deadLetterTargetArn)}`;
    },
    // Who may send, read from the policy's Deny of every other sender.
    "aws:sqs/queuePolicy:QueuePolicy": (i) =>
        (JSON.parse(String(i.policy)) as PolicyDocument).Statement.some(
            (s) => s.Effect === "Deny" && "aws:PrincipalArn" in (s.Condition?.ArnNotEquals ?? {}),
        )
            ? "only this rule and the function's role may send; TLS only"
            : "only this rule may send; TLS only",
    "aws:cloudwatch/logGroup:LogGroup": (i) => `retention ${i.retentionInDays} days`,
    "aws:iam/role:Role": () => "assumed by lambda.amazonaws.com; its inline policies, below",
    "aws:iam/rolePolicy:RolePolicy": () => "least privilege, below",
};

/** The last part of an ARN: a queue's or function's physical name. */
const arnName = (arn: Inputs | undefined) => String(arn ?? "(none)").replace(/^.*:/, "");

const formatSeconds = (s: number) =>
    s % 86_400 === 0 ? `${s / 86_400} days` : s % 3600 === 0 ? `${s / 3600} h` : `${s} s`;

/** Rows of `next` that differ from `previous`, to show what a second plan changes. */
export function planChanges(previous: Plan, next: Plan): string[] {
    const rows = (plan: Plan) => [
        ...plan.resources.map((r) => `${r.type} ${r.name}: ${r.properties}`),
        ...plan.policy.map((p) => `${p.sid}: ${p.actions.join(", ")} on ${p.resource}`),
    ];
    const before = new Set(rows(previous));
    return rows(next).filter((row) => !before.has(row));
}
