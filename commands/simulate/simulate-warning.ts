/**
 * The console test's warning: the instance it is for, the seed's sample event for it, what the
 * function is invoked with, and the synchronous invoke the Lambda console's Test button makes.
 */
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { asSqsRecord, freshSampleEvent } from "../../offline/sample-event";
import type { GroupMember, GroupSnapshot } from "./simulate-aws";
import { awsCall, SimulationError } from "./simulate-errors";
import type { Invoker } from "./simulate-run";
import { type SimulationClients } from "./simulate-clients";

/** The instance to interrupt: `requested` if it is an InService member, else the first one. */
export function pickInstance(group: GroupSnapshot, requested?: string): GroupMember {
    if (requested !== undefined) {
        const member = group.instances.find((i) => i.instanceId === requested);
        if (member === undefined) {
            throw new SimulationError(
                "instance-not-in-group",
                `Instance ${requested} is not in group ${group.name}${group.instances.length > 0 ? ` (its members: ${group.instances.map((i) => i.instanceId).join(", ")})` : ""}: pass one of its InService instances, or leave out --instance.`,
            );
        }
        if (member.lifecycleState !== "InService") {
            throw new SimulationError(
                "instance-not-in-group",
                `Instance ${requested} is ${member.lifecycleState} in group ${group.name}, not InService: the handler would ignore its warning. Pass an InService instance, or leave out --instance.`,
            );
        }
        return member;
    }
    const first = group.instances.find((i) => i.lifecycleState === "InService");
    if (first === undefined) {
        throw new SimulationError(
            "group-empty",
            `Group ${group.name} has no InService instance to interrupt (${group.instances.length} instances, desired capacity ${group.desiredCapacity}): scale it up, e.g. aws autoscaling set-desired-capacity --auto-scaling-group-name ${group.name} --desired-capacity ${Math.max(1, group.minSize)}, and wait for an instance to be InService.`,
        );
    }
    return first;
}

/**
 * The seed's sample warning for `instanceId`, sent now by this account and region: the seed's
 * shape, with the instance's zone in its resource ARN as EC2 writes it.
 */
export function buildWarningEvent(
    member: GroupMember,
    facts: { account: string; region: string; partition: string; eventId: string; sentAt: Date },
): Record<string, unknown> {
    const zone = member.availabilityZone ?? facts.region;
    return {
        ...freshSampleEvent(member.instanceId, facts.sentAt),
        id: facts.eventId,
        account: facts.account,
        region: facts.region,
        resources: [`arn:${facts.partition}:ec2:${zone}:instance/${member.instanceId}`],
    };
}

/** What the console test invokes the function with: one SQS record (queue), or the bare event. */
export function invokePayload(
    event: Record<string, unknown>,
    queue: { queueArn: string; messageId: string } | undefined,
): unknown {
    return queue === undefined
        ? event
        : {
              Records: [
                  asSqsRecord(event, { messageId: queue.messageId, queueArn: queue.queueArn }),
              ],
          };
}

/** Lambda's synchronous invoke, as the console's Test button makes it. */
export function lambdaInvoker(clients: SimulationClients): Invoker {
    return async (functionName, payload, timeoutMs) => {
        const response = await awsCall(
            "lambda:InvokeFunction",
            (abortSignal) =>
                clients.lambda.send(
                    new InvokeCommand({
                        FunctionName: functionName,
                        InvocationType: "RequestResponse",
                        Payload: new TextEncoder().encode(JSON.stringify(payload)),
                    }),
                    { abortSignal },
                ),
            { timeoutMs },
        );
        const text =
            response.Payload === undefined ? "" : new TextDecoder().decode(response.Payload);
        let parsed: unknown = text;
        try {
            parsed = text === "" ? null : JSON.parse(text);
        } catch {
            // Kept as text: the function answered something that is not JSON.
        }
        return {
            payload: parsed,
            ...(response.FunctionError === undefined
                ? {}
                : { functionError: response.FunctionError }),
            ...(response.$metadata?.requestId === undefined
                ? {}
                : { requestId: response.$metadata.requestId }),
        };
    };
}
