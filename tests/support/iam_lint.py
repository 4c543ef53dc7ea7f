"""Lints IAM documents with parliament in one process; iam-lint.ts runs it with .venv's python.

stdin: a JSON list of {"name", "kind", "document"}, kind being "identity", "resource" or "trust".
stdout: a JSON list of {"name", "findings": [{"issue", "severity", "title", "detail", "location"}]}.
"""

import copy
import json
import sys
import warnings

# parliament 1.6.4's deprecation and escape warnings only add noise to the stderr quoted on failure.
warnings.simplefilter("ignore")

import parliament  # noqa: E402
from parliament.finding import Finding  # noqa: E402

# parliament has no trust-policy mode and refuses a statement without Resource: the role stands in.
TRUST_POLICY_RESOURCE = "arn:aws:iam::123456789012:role/trust-policy-under-lint"


def statements_of(document):
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else statements


OWN_ISSUES = {
    "PRINCIPAL_IN_IDENTITY_POLICY": "iam-lint: an identity policy may not name a Principal",
    "MISSING_PRINCIPAL": "iam-lint: a resource or trust policy statement needs a Principal",
    "RESOURCE_IN_TRUST_POLICY": "iam-lint: a trust policy may not name a Resource",
}


def kind_findings(kind, document):
    """What IAM itself refuses for a document of this kind, which parliament does not check."""
    findings = []
    for index, statement in enumerate(statements_of(document)):
        if not isinstance(statement, dict):
            continue  # parliament fails on it, and lint() reports that
        has_principal = "Principal" in statement or "NotPrincipal" in statement
        has_resource = "Resource" in statement or "NotResource" in statement
        broken = {
            "PRINCIPAL_IN_IDENTITY_POLICY": kind == "identity" and has_principal,
            "MISSING_PRINCIPAL": kind in ("resource", "trust") and not has_principal,
            "RESOURCE_IN_TRUST_POLICY": kind == "trust" and has_resource,
        }
        location = {"statement": index, "sid": statement.get("Sid")}
        findings += [
            {"issue": issue, "severity": "HIGH", "title": title, "detail": "", "location": location}
            for issue, title in OWN_ISSUES.items()
            if broken[issue]
        ]
    return findings


def lint(kind, document):
    analysed = copy.deepcopy(document)
    if kind == "trust":
        for statement in statements_of(analysed):
            if isinstance(statement, dict):
                statement.setdefault("Resource", TRUST_POLICY_RESOURCE)
    # Community auditors rate the access granted, which the key policy's kms:* grants by design.
    try:
        policy = parliament.analyze_policy_string(
            json.dumps(analysed),
            ignore_private_auditors=True,
            include_community_auditors=False,
        )
        raw = policy.findings
    except Exception as error:  # e.g. a statement that is not an object: one finding, not a crash
        raw = [Finding("EXCEPTION", "{}: {}".format(type(error).__name__, error), {})]
    return kind_findings(kind, document) + [as_json(parliament.enhance_finding(f)) for f in raw]


def as_json(finding):
    return {
        "issue": finding.issue,
        "severity": finding.severity,
        "title": finding.title,
        "detail": finding.detail,
        # parliament adds "filepath", always None here: the documents come as strings.
        "location": {k: v for k, v in finding.location.items() if k != "filepath"},
    }


def main():
    results = [
        {"name": entry["name"], "findings": lint(entry["kind"], entry["document"])}
        for entry in json.load(sys.stdin)
    ]
    json.dump(results, sys.stdout, default=str)


if __name__ == "__main__":
    main()
