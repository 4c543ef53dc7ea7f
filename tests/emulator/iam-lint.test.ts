import { strict as assert } from "node:assert";
import { ensureVirtualEnvironment } from "../../emulator/install";
import { type Finding, type IamDocument, lintIamPolicies } from "../support/iam-lint";
import {
    faultInjectionRolePolicyDocument,
    faultInjectionTrustPolicy,
} from "../../components/spot-interruption-handler/fault-injection";
import {
    autoScalingGroupArn,
    deadLetterQueuePolicyDocument,
    drainEventsQueuePolicyDocument,
    eventsQueuePolicyDocument,
    handlerPolicyDocument,
    type HandlerPolicyInputs,
    notificationKeyPolicyDocument,
    notificationTopicPolicyDocument,
} from "../../components/spot-interruption-handler/policies";
import { type GroupSelection } from "../../contract";
import { FIRST_RUN_BOOTSTRAP_TIMEOUT_MS } from "../support/tier-emulator";
import { serviceAssumeRolePolicy } from "../../components/shared/iam";

const PARTITION = "aws";
const REGION = "eu-west-1";
const ACCOUNT = "123456789012";
const arn = (service: string, resource: string) =>
    `arn:${PARTITION}:${service}:${REGION}:${ACCOUNT}:${resource}`;

// Names as Pulumi auto-names them: the logical name and a random suffix.
const GROUP_NAME = "web-asg-3f9c1a7";
const LOG_GROUP_ARN = arn("logs", "log-group:spot-handler-logs-8d2e4b1");
const DEAD_LETTER_QUEUE_ARN = arn("sqs", "spot-handler-dlq-5a7c9e2");
const EVENTS_QUEUE_ARN = arn("sqs", "spot-handler-queue-1b3d5f7");
const EVENT_RULE_ARN = arn("events", "rule/spot-handler-rule-9e8d7c6");
const FUNCTION_ROLE_ARN = `arn:${PARTITION}:iam::${ACCOUNT}:role/spot-handler-role-2c4e6a8`;
const TOPIC_ARN = arn("sns", "spot-handler-notifications-7f1a3c5");
const KEY_ARN = arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab");

function handlerPolicy(
    overrides: Partial<HandlerPolicyInputs> & { groupName?: string; groups?: GroupSelection } = {},
): object {
    const { groupName = GROUP_NAME, groups, ...inputs } = overrides;
    return handlerPolicyDocument({
        groups: groups ?? { kind: "names", names: [groupName] },
        account: { partition: PARTITION, region: REGION, accountId: ACCOUNT },
        logGroupArn: LOG_GROUP_ARN,
        deadLetterQueueArn: DEAD_LETTER_QUEUE_ARN,
        capacityOnInterruption: "keep",
        interruptionAction: "auto",
        ...inputs,
    });
}

const notification = { topicArn: TOPIC_ARN, keyArn: KEY_ARN };

/** Every IAM document the component writes, in every variant. */
const COMPONENT_DOCUMENTS: IamDocument[] = [
    { name: "handler policy, keep", kind: "identity", document: handlerPolicy() },
    {
        name: "handler policy, decrement",
        kind: "identity",
        document: handlerPolicy({ capacityOnInterruption: "decrement" }),
    },
    {
        name: "handler policy, dry run",
        kind: "identity",
        document: handlerPolicy({ dryRun: true }),
    },
    {
        name: "handler policy, always detach",
        kind: "identity",
        document: handlerPolicy({ interruptionAction: "detach" }),
    },
    {
        name: "handler policy, always terminate, decrement",
        kind: "identity",
        document: handlerPolicy({
            interruptionAction: "terminate",
            capacityOnInterruption: "decrement",
        }),
    },
    {
        name: "handler policy, always terminate, groups by tag",
        kind: "identity",
        document: handlerPolicy({
            interruptionAction: "terminate",
            groups: { kind: "tag", key: "spot-interruption-handler", value: "enabled" },
        }),
    },
    {
        name: "handler policy, always detach, dry run",
        kind: "identity",
        document: handlerPolicy({ interruptionAction: "detach", dryRun: true }),
    },
    {
        name: "handler policy, keep, with notification",
        kind: "identity",
        document: handlerPolicy({ notification }),
    },
    {
        name: "handler policy, decrement, with notification",
        kind: "identity",
        document: handlerPolicy({ capacityOnInterruption: "decrement", notification }),
    },
    {
        name: "handler policy, dry run, with notification",
        kind: "identity",
        document: handlerPolicy({ dryRun: true, notification }),
    },
    {
        name: "handler policy, group name with IAM wildcard characters",
        kind: "identity",
        document: handlerPolicy({ groupName: "web*?$" }),
    },
    {
        name: "handler policy, a list of groups",
        kind: "identity",
        document: handlerPolicy({
            groups: { kind: "names", names: ["web-blue", "web-green", GROUP_NAME] },
        }),
    },
    {
        name: "handler policy, groups by tag and value",
        kind: "identity",
        document: handlerPolicy({
            groups: { kind: "tag", key: "spot-interruption-handler", value: "enabled" },
        }),
    },
    {
        name: "handler policy, groups by tag key, decrement",
        kind: "identity",
        document: handlerPolicy({
            groups: { kind: "tag", key: "spot-interruption-handler" },
            capacityOnInterruption: "decrement",
        }),
    },
    {
        name: "queue drain policy",
        kind: "identity",
        document: drainEventsQueuePolicyDocument(EVENTS_QUEUE_ARN),
    },
    {
        name: "handler role trust policy",
        kind: "trust",
        document: serviceAssumeRolePolicy("lambda.amazonaws.com"),
    },
    {
        name: "web tier instance role trust policy",
        kind: "trust",
        document: serviceAssumeRolePolicy("ec2.amazonaws.com"),
    },
    {
        name: "FIS role trust policy",
        kind: "trust",
        document: faultInjectionTrustPolicy(PARTITION, REGION, ACCOUNT),
    },
    {
        name: "FIS role policy",
        kind: "identity",
        document: faultInjectionRolePolicyDocument({
            partition: PARTITION,
            region: REGION,
            accountId: ACCOUNT,
            autoScalingGroupName: GROUP_NAME,
        }),
    },
    {
        name: "FIS role policy, group name with IAM wildcard characters",
        kind: "identity",
        document: faultInjectionRolePolicyDocument({
            partition: PARTITION,
            region: REGION,
            accountId: ACCOUNT,
            autoScalingGroupName: "web*?$",
        }),
    },
    {
        name: "dead-letter queue policy",
        kind: "resource",
        document: deadLetterQueuePolicyDocument(
            DEAD_LETTER_QUEUE_ARN,
            EVENT_RULE_ARN,
            FUNCTION_ROLE_ARN,
        ),
    },
    {
        name: "events queue policy",
        kind: "resource",
        document: eventsQueuePolicyDocument(EVENTS_QUEUE_ARN, EVENT_RULE_ARN),
    },
    {
        name: "notification topic policy",
        kind: "resource",
        document: notificationTopicPolicyDocument(TOPIC_ARN, ACCOUNT),
    },
    {
        name: "notification key policy",
        kind: "resource",
        document: notificationKeyPolicyDocument(PARTITION, ACCOUNT),
    },
];

/**
 * Findings judged false positives, by document and issue, each with its reason. Anything else
 * parliament reports on a component document fails the test.
 */
const FALSE_POSITIVES: readonly { document: string; issue: string; reason: string }[] = [
    {
        document: "notification key policy",
        issue: "RESOURCE_STAR",
        reason: 'in a KMS key policy Resource "*" means "this key", the form KMS documents for key policies',
    },
];

/** Documents parliament must flag, each with exactly the issues expected: proof the lint runs. */
const BAD_DOCUMENTS: readonly (IamDocument & { expectedIssues: string[] })[] = [
    {
        // The handler's action is DetachInstances; the singular does not exist.
        name: "bad identity policy: an action that does not exist",
        kind: "identity",
        document: policyOf({
            Effect: "Allow",
            Action: "autoscaling:DetachInstance",
            Resource: autoScalingGroupArn(PARTITION, REGION, ACCOUNT, GROUP_NAME),
        }),
        expectedIssues: ["UNKNOWN_ACTION"],
    },
    {
        // Shows that parliament analyses a trust policy, rather than refusing it as MALFORMED.
        name: "bad trust policy: a principal that is neither an account nor an ARN",
        kind: "trust",
        document: policyOf({
            Effect: "Allow",
            Principal: { AWS: "spot-handler" },
            Action: "sts:AssumeRole",
        }),
        expectedIssues: ["UNKNOWN_PRINCIPAL"],
    },
    {
        name: "bad trust policy: a Resource element",
        kind: "trust",
        document: policyOf({
            Effect: "Allow",
            Principal: { Service: "lambda.amazonaws.com" },
            Action: "sts:AssumeRole",
            Resource: FUNCTION_ROLE_ARN,
        }),
        expectedIssues: ["RESOURCE_IN_TRUST_POLICY"],
    },
    {
        name: "bad resource policy: a statement without a Principal",
        kind: "resource",
        document: policyOf({
            Effect: "Allow",
            Action: "sqs:SendMessage",
            Resource: EVENTS_QUEUE_ARN,
        }),
        expectedIssues: ["MISSING_PRINCIPAL"],
    },
    {
        name: "bad identity policy: a Principal element",
        kind: "identity",
        document: policyOf({
            Effect: "Allow",
            Principal: { AWS: FUNCTION_ROLE_ARN },
            Action: "sqs:SendMessage",
            Resource: DEAD_LETTER_QUEUE_ARN,
        }),
        expectedIssues: ["PRINCIPAL_IN_IDENTITY_POLICY"],
    },
];

function policyOf(statement: object): object {
    return { Version: "2012-10-17", Statement: [statement] };
}

const isFalsePositive = (finding: Finding) =>
    FALSE_POSITIVES.some(
        (allowed) => allowed.document === finding.document && allowed.issue === finding.issue,
    );

const summary = (finding: Finding) =>
    `${finding.document}: ${finding.issue} (${finding.severity}, ${finding.title}) ` +
    `${JSON.stringify(finding.detail)} at ${JSON.stringify(finding.location)}`;

describe("IAM lint (parliament)", function () {
    let findings: Finding[];

    before(async function () {
        // A fresh clone installs .venv, parliament with moto, on first use.
        this.timeout(FIRST_RUN_BOOTSTRAP_TIMEOUT_MS);
        await ensureVirtualEnvironment((message) => console.log(`      ${message}`));
    });

    before(async function () {
        // One parliament process for every document; it takes about a second.
        this.timeout(15_000);
        findings = await lintIamPolicies([...COMPONENT_DOCUMENTS, ...BAD_DOCUMENTS]);
    });

    it("reports no finding on any document the component writes, but the listed false positives", function () {
        const componentDocuments = new Set(COMPONENT_DOCUMENTS.map((entry) => entry.name));
        const unexpected = findings.filter(
            (finding) => componentDocuments.has(finding.document) && !isFalsePositive(finding),
        );
        assert.deepEqual(unexpected.map(summary), []);
    });

    it("still sees every listed false positive, so that none outlives its cause", function () {
        for (const allowed of FALSE_POSITIVES) {
            assert.ok(
                findings.some(
                    (finding) =>
                        finding.document === allowed.document && finding.issue === allowed.issue,
                ),
                `${allowed.document}: ${allowed.issue} is no longer reported; remove it from FALSE_POSITIVES`,
            );
        }
    });

    for (const bad of BAD_DOCUMENTS) {
        it(`flags the ${bad.name}`, function () {
            const issues = findings
                .filter((finding) => finding.document === bad.name)
                .map((finding) => finding.issue);
            assert.deepEqual(issues, bad.expectedIssues);
        });
    }
});
