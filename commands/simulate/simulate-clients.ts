/**
 * The SDK clients `npm run simulate` uses, made in one place and passed in, so that tests stub
 * them with aws-sdk-client-mock and the emulator test points them at moto; and the two things
 * every run asks of the chain they read: who is calling, and in which region.
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { FisClient } from "@aws-sdk/client-fis";
import { IAMClient } from "@aws-sdk/client-iam";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SQSClient } from "@aws-sdk/client-sqs";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { awsCall, explainAwsError, SimulationError } from "./simulate-errors";

/** Every client the simulation uses; all read region and credentials from the standard chain. */
export interface SimulationClients {
    readonly sts: STSClient;
    readonly lambda: LambdaClient;
    readonly logs: CloudWatchLogsClient;
    readonly autoScaling: AutoScalingClient;
    readonly elbv2: ElasticLoadBalancingV2Client;
    readonly ec2: EC2Client;
    readonly sqs: SQSClient;
    readonly fis: FisClient;
    readonly iam: IAMClient;
}

/** Settings every client takes; none given, the standard chain decides. */
export interface ClientSettings {
    readonly region?: string;
    readonly endpoint?: string;
    readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * Clients from the standard AWS chain (AWS_REGION, AWS_PROFILE, SSO, instance roles...), or
 * from `settings`, e.g. the emulator's endpoint.
 */
export function createClients(settings: ClientSettings = {}): SimulationClients {
    return {
        sts: new STSClient(settings),
        lambda: new LambdaClient(settings),
        logs: new CloudWatchLogsClient(settings),
        autoScaling: new AutoScalingClient(settings),
        elbv2: new ElasticLoadBalancingV2Client(settings),
        ec2: new EC2Client(settings),
        sqs: new SQSClient(settings),
        fis: new FisClient(settings),
        iam: new IAMClient(settings),
    };
}

export function destroyClients(clients: SimulationClients): void {
    for (const client of Object.values(clients)) {
        client.destroy();
    }
}

/** Who is calling: the event's account, the policy simulator's principal, the ARNs' partition. */
export interface CallerIdentity {
    readonly account: string;
    readonly arn: string;
    readonly partition: string;
}

export async function callerIdentity(clients: SimulationClients): Promise<CallerIdentity> {
    const identity = await awsCall("sts:GetCallerIdentity", (abortSignal) =>
        clients.sts.send(new GetCallerIdentityCommand({}), { abortSignal }),
    );
    if (identity.Account === undefined || identity.Arn === undefined) {
        throw new SimulationError("aws-error", "sts:GetCallerIdentity returned no account");
    }
    return {
        account: identity.Account,
        arn: identity.Arn,
        partition: identity.Arn.split(":")[1] ?? "aws",
    };
}

/** The region every client uses, from the standard chain. */
export async function clientRegion(clients: SimulationClients): Promise<string> {
    try {
        return await clients.sts.config.region();
    } catch (error) {
        throw explainAwsError(error, "region");
    }
}
