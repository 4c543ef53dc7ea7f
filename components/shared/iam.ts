/** IAM policy documents as types, and the helpers both components build them with. */
import * as pulumi from "@pulumi/pulumi";

export interface PolicyStatement {
    readonly Sid?: string;
    readonly Effect: "Allow" | "Deny";
    readonly Action: string | string[];
    readonly Resource?: string | string[];
    readonly Principal?: Record<string, string> | "*";
    readonly Condition?: Record<string, Record<string, string>>;
}

export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: PolicyStatement[];
}

/**
 * Escapes the characters IAM reads as wildcards or variables in a resource ARN, so that a group
 * named `web*` grants exactly `web*` and not `web-prod` or `webhooks`. In a condition's value the
 * same escapes read as the literal characters.
 */
export function escapeIamResourceText(text: string): string {
    return text.replace(/[*?$]/g, (special) => `\${${special}}`);
}

/** A trust policy that lets one AWS service, and nothing else, assume the role. */
export function serviceAssumeRolePolicy(
    service: "lambda.amazonaws.com" | "ec2.amazonaws.com",
): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
    };
}

// A customer-managed (account id) or AWS-managed ("aws") policy, in any partition.
const MANAGED_POLICY_ARN = /^arn:aws[a-z-]*:iam::(?:\d{12}|aws):policy\/[\w+=,.@/-]{1,512}$/;

/**
 * What is wrong with a plain permissions boundary, if anything: IAM takes only a managed policy's
 * ARN there. Unset is fine, and an Output or a promise is known only at deployment.
 */
export function permissionsBoundaryProblem(value: unknown): string | undefined {
    if (
        value === undefined ||
        pulumi.Output.isInstance(value) ||
        value instanceof Promise ||
        (typeof value === "string" && MANAGED_POLICY_ARN.test(value))
    ) {
        return undefined;
    }
    return `is ${JSON.stringify(value)}, not a managed policy's ARN: pass one like "arn:aws:iam::123456789012:policy/Boundary" (an inline policy or a policy name cannot be a boundary)`;
}
