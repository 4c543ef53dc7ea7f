/** IAM policy documents as types, and the helpers both components build them with. */

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
