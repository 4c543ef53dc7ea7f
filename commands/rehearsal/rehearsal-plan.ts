/**
 * The plan `npm start` shows: the handler's resources as Pulumi registers them under mocks, with
 * their key properties and the role's policy, plus the deployment package to run locally.
 */
import type { Delivery, QueueSettings } from "../../components/spot-interruption-handler/args";
import { resolveHandlerSettings } from "../../components/spot-interruption-handler/settings";
import {
    type FunctionCode,
    type HandlerArchive,
    materializeHandlerArchive,
} from "../../offline/handler-archive";
import { type RecordedResource, runStackProgram } from "../../offline/pulumi-engine";
import { mergedProgramConfig } from "../../offline/pulumi-config-merge";
import { type CapacityOnInterruption } from "../../contract";

export interface PlannedResource {
    readonly type: string;
    readonly name: string;
    readonly properties: string;
}

export interface PolicyStatementRow {
    readonly sid: string;
    readonly actions: string[];
    readonly resource: string;
}

export interface Plan {
    /** Exactly which plan this is, and how many resources it has. */
    readonly heading: string;
    /** How the plan was made, and what it leaves out. */
    readonly provenance: string;
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly delivery: Delivery;
    readonly resources: PlannedResource[];
    readonly policy: PolicyStatementRow[];
    readonly archiveZippedBytes: number;
}

export interface PlannedHandler {
    readonly plan: Plan;
    /** The Function's deployment package, written to disk; remove() it when done. */
    readonly archive: HandlerArchive;
    /** The component's queue settings; undefined with direct delivery. */
    readonly queueSettings?: QueueSettings;
}

/** Resources that only the given delivery plans: a check that the program honoured it. */
const DELIVERY_PATH: Record<Delivery, string> = {
    queue: "aws:lambda/eventSourceMapping:EventSourceMapping",
    direct: "aws:lambda/permission:Permission",
};

/**
 * Plans the handler for an existing group as `pulumi preview` would: the stack program (index.ts)
 * under Pulumi mocks, with `autoScalingGroupName` set so that it plans no web tier.
 */
export async function planHandler(options: {
    readonly capacityOnInterruption: CapacityOnInterruption;
    readonly delivery: Delivery;
    readonly groupName: string;
    readonly region: string;
}): Promise<PlannedHandler> {
    const { capacityOnInterruption, delivery, groupName } = options;
    const settings = resolveHandlerSettings({
        autoScalingGroupName: groupName,
        capacityOnInterruption,
        delivery,
    });
    const config = { autoScalingGroupName: groupName, capacityOnInterruption, delivery };
    // As `pulumi preview` runs it: Pulumi.yaml's defaults merged in first.
    const { resources } = await runStackProgram(
        mergedProgramConfig({ "aws:region": options.region, ...config }),
    );
    onlyOne(resources, DELIVERY_PATH[delivery]);
    const fn = onlyOne(resources, "aws:lambda/function:Function");
    // The recorded inputs are exactly what the Function was given: its code and environment.
    const archive = await materializeHandlerArchive(
        fn.inputs as unknown as FunctionCode,
        `rehearsal-${delivery}-${capacityOnInterruption}`,
    );
    const stackConfig = Object.entries(config)
        .map(([key, value]) => `${key}=${value}`)
        .join(", ");
    return {
        plan: {
            heading: `the handler for an existing group named ${groupName} (capacityOnInterruption ${capacityOnInterruption}, ${delivery} delivery): ${resources.length} resources, the component and its ${resources.length - 1} children`,
            provenance: `index.ts under Pulumi mocks with stack config ${stackConfig}, as pulumi preview plans it. Without autoScalingGroupName the dev stack would also plan the Spot web tier (VPC, load balancer, group); this rehearsal protects the seeded group instead.`,
            capacityOnInterruption,
            delivery,
            resources: resources.map((r) => ({
                type: r.type,
                name: r.name,
                properties: keyProperties(r, archive.zippedBytes),
            })),
            // The role's policies, read together: queue delivery adds the drain policy.
            policy: resources
                .filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy")
                .flatMap((r) => policyRows(r.inputs.policy)),
            archiveZippedBytes: archive.zippedBytes,
        },
        archive,
        ...(settings.queue === undefined ? {} : { queueSettings: settings.queue }),
    };
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

function keyProperties(resource: RecordedResource, archiveBytes: number): string {
    const inputs = resource.inputs as Record<string, never>;
    switch (resource.type) {
        case "aws:cloudwatch/eventRule:EventRule":
            return `pattern ${inputs.eventPattern}`;
        case "aws:cloudwatch/eventTarget:EventTarget": {
            const retry = inputs.retryPolicy as {
                maximumEventAgeInSeconds: number;
                maximumRetryAttempts: number;
            };
            const deadLetter = (inputs.deadLetterConfig as { arn: string }).arn;
            return `→ ${arnName(inputs.arn)}; retry for ≤${retry.maximumEventAgeInSeconds} s (≤${retry.maximumRetryAttempts} attempts), then ${arnName(deadLetter)}`;
        }
        case "aws:lambda/function:Function": {
            const variables = (inputs.environment as { variables: Record<string, string> })
                .variables;
            const env = Object.entries(variables)
                .map(([k, v]) => `${k}=${v}`)
                .join(" ");
            return `${inputs.runtime}, ${inputs.timeout} s, ${inputs.memorySize} MB, archive ${formatBytes(archiveBytes)} zipped, ${env}`;
        }
        case "aws:lambda/permission:Permission":
            return `${inputs.action} for ${inputs.principal}, only from the rule`;
        case "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": {
            const onFailure = (
                inputs.destinationConfig as { onFailure: { destination: string } } | undefined
            )?.onFailure.destination;
            return `${inputs.maximumRetryAttempts} retries within ${inputs.maximumEventAgeInSeconds} s, then ${arnName(onFailure)}`;
        }
        case "aws:lambda/eventSourceMapping:EventSourceMapping": {
            const scaling = inputs.scalingConfig as { maximumConcurrency: number };
            return `${arnName(inputs.eventSourceArn)} → function: batches of ≤${inputs.batchSize} gathered for ≤${inputs.maximumBatchingWindowInSeconds} s, ≤${scaling.maximumConcurrency} concurrent, ${[inputs.functionResponseTypes].flat().join(", ")}`;
        }
        case "aws:sqs/queue:Queue": {
            const retention = `SSE-SQS, retention ${formatSeconds(inputs.messageRetentionSeconds)}`;
            if (inputs.redrivePolicy === undefined) {
                return retention;
            }
            const redrive = JSON.parse(inputs.redrivePolicy) as {
                deadLetterTargetArn: string;
                maxReceiveCount: number;
            };
            return `${retention}, visibility ${inputs.visibilityTimeoutSeconds} s, after ${redrive.maxReceiveCount} receives → ${arnName(redrive.deadLetterTargetArn)}`;
        }
        case "aws:sqs/queuePolicy:QueuePolicy":
            return queuePolicySummary(inputs.policy);
        case "aws:cloudwatch/logGroup:LogGroup":
            return `retention ${inputs.retentionInDays} days`;
        case "aws:iam/role:Role":
            return "assumed by lambda.amazonaws.com; its inline policies, below";
        case "aws:iam/rolePolicy:RolePolicy":
            return "least privilege, below";
        default:
            return "";
    }
}

/** Who may send, read from the policy's Deny of every other sender. */
function queuePolicySummary(policy: string): string {
    const document = JSON.parse(policy) as {
        Statement: { Effect: string; Condition?: { ArnNotEquals?: Record<string, string> } }[];
    };
    const exempt = document.Statement.flatMap((s) =>
        s.Effect === "Deny" ? Object.keys(s.Condition?.ArnNotEquals ?? {}) : [],
    );
    const senders = exempt.includes("aws:PrincipalArn")
        ? "this rule and the function's role"
        : "this rule";
    return `only ${senders} may send; TLS only`;
}

function policyRows(policy: unknown): PolicyStatementRow[] {
    const document = JSON.parse(String(policy)) as {
        Statement: { Sid?: string; Action: string | string[]; Resource: string | string[] }[];
    };
    return document.Statement.map((s) => ({
        sid: s.Sid ?? "",
        actions: [s.Action].flat(),
        resource: [s.Resource].flat().join(", "),
    }));
}

/** The last part of an ARN: a queue's or function's physical name. */
function arnName(arn: string | undefined): string {
    return arn?.split(":").pop() ?? "(none)";
}

function formatBytes(bytes: number): string {
    return `${(bytes / 1024).toFixed(1)} KiB`;
}

function formatSeconds(seconds: number): string {
    if (seconds % 86_400 === 0) {
        return `${seconds / 86_400} days`;
    }
    return seconds % 3600 === 0 ? `${seconds / 3600} h` : `${seconds} s`;
}

/** Rows of `next` that differ from `previous`, to show what a second plan changes. */
export function planChanges(previous: Plan, next: Plan): string[] {
    const rows = (plan: Plan) => [
        ...plan.resources.map((r) => `${r.type} ${r.name}: ${r.properties}`),
        ...plan.policy.map((p) => `${p.sid}: ${p.actions.join(", ")} on ${p.resource}`),
    ];
    const before = new Set(rows(previous));
    return rows(next).filter((row) => !before.has(row));
}
