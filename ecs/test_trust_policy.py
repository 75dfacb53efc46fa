#!/usr/bin/env python3
"""Checks who may assume the GitHub deploy role (DeployRole in upbrella.yaml), offline.

The role trusts GitHub Actions OIDC tokens. The repository customises its subject
template (PUT /repos/{owner}/{repo}/actions/oidc/customization/sub) to the claim keys
["repo", "context", "ref"], so a token's `sub` is `repo:<owner>/<repo>:<context>:ref:<ref>`,
or, for a repository with immutable subject claims (created after June 18, 2026, renamed
or transferred since, or opted in), `repo:<owner>@<owner id>/<repo>@<repo id>:...`. The
stack takes that first part as GitHub issues it (GitHubSubjectPrefix); both forms are
evaluated below, each against a stack configured for it and for the other.
with <context> `environment:<name>` for a job with an environment, `pull_request` for a
pull_request event, and `ref:<ref>` otherwise. The deploy job runs in the production
environment on a push to main: `repo:acme/upbrella:environment:production:ref:refs/heads/main`.
The default (uncustomised) subject of that job, `repo:acme/upbrella:environment:production`,
names no branch and must not match. The audience (`aud`) must be sts.amazonaws.com, the
value aws-actions/configure-aws-credentials requests.

The template is loaded with CloudFormation short tags, the trust policy's intrinsics are
resolved for sample parameters, and a small IAM evaluator decides each sample token:
explicit Deny wins, otherwise an Allow must match, otherwise deny. Anything it does not
implement (an intrinsic, a condition operator, NotAction, ...) is an error, so a later
change to the policy cannot pass unnoticed.

Usage: python ecs/test_trust_policy.py [TEMPLATE]  (default: ecs/cloudformation/upbrella.yaml)
"""

import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from cfn import load_template

HERE = pathlib.Path(__file__).resolve().parent
PARAMETERS = {"GitHubEnvironment": "production", "AWS::Partition": "aws", "AWS::AccountId": "123456789012"}
CLASSIC = "repo:acme/upbrella"
IMMUTABLE = "repo:acme@1001/upbrella@2002"
HOST = "token.actions.githubusercontent.com"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{HOST}"
ACTION = "sts:AssumeRoleWithWebIdentity"
STRING_OPERATORS = {"StringEquals", "StringNotEquals", "StringLike", "StringNotLike"}


class PolicyError(Exception):
    """The template or policy uses something this script does not implement."""

def resolve(value, params):
    """Resolves Ref and Fn::Sub against params; any other intrinsic is an error."""
    if isinstance(value, list):
        return [resolve(item, params) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            if arg not in params:
                raise PolicyError(f"Ref {arg!r}: not a parameter with a value")
            return params[arg]
        if key == "Fn::Sub":
            return substitute(arg, params)
        if key.startswith("Fn::") or key == "Condition":
            raise PolicyError(f"unhandled intrinsic {key}: {arg!r}")
    return {key: resolve(item, params) for key, item in value.items()}


def substitute(arg, params):
    text, variables = (arg, {}) if isinstance(arg, str) else arg
    variables = {name: resolve(item, params) for name, item in variables.items()}

    def replace(match):
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        for source in (variables, params):
            if name in source and isinstance(source[name], str):
                return source[name]
        raise PolicyError(f"Fn::Sub {text!r}: cannot resolve ${{{name}}}")

    return re.sub(r"\$\{([^}]*)\}", replace, text)


def as_list(value):
    return value if isinstance(value, list) else [value]


def like(pattern, value, ignore_case=False):
    """IAM wildcard match: * is any run of characters, ? is exactly one."""
    if "${" in pattern:
        raise PolicyError(f"policy variables are not implemented: {pattern!r}")
    regex = "".join({"*": ".*", "?": "."}.get(c, re.escape(c)) for c in pattern)
    return re.fullmatch(regex, value, re.S | (re.I if ignore_case else 0)) is not None


def condition_holds(operator, key, expected, context):
    if operator not in STRING_OPERATORS:
        raise PolicyError(f"condition operator {operator!r} is not implemented")
    patterns = as_list(expected)
    if not all(isinstance(p, str) for p in patterns):
        raise PolicyError(f"{operator} {key}: non-string value {expected!r}")
    actual = context.get(key.lower())  # condition key names are case-insensitive
    negated = "Not" in operator
    if actual is None:
        return negated  # a missing key fails the positive operators only
    if operator.endswith("Like"):
        matched = any(like(p, actual) for p in patterns)
    else:
        matched = actual in patterns
    return matched != negated


def statement_matches(statement, provider, claims):
    for unsupported in ("NotAction", "NotPrincipal", "NotResource"):
        if unsupported in statement:
            raise PolicyError(f"{unsupported} is not implemented")
    principal = statement.get("Principal")
    if principal != "*":
        if not isinstance(principal, dict) or set(principal) - {"Federated", "AWS", "Service"}:
            raise PolicyError(f"unexpected Principal {principal!r}")
        if provider not in as_list(principal.get("Federated", [])):
            return False
    if not any(like(a, ACTION, ignore_case=True) for a in as_list(statement["Action"])):
        return False
    context = {f"{HOST}:{claim}".lower(): v for claim, v in claims.items()}
    return all(
        condition_holds(operator, key, expected, context)
        for operator, block in statement.get("Condition", {}).items()
        for key, expected in block.items()
    )


def evaluate(policy, provider, claims):
    """'allowed' or 'denied' for an AssumeRoleWithWebIdentity request with these claims."""
    allowed = False
    for statement in as_list(policy["Statement"]):
        if statement["Effect"] not in ("Allow", "Deny"):
            raise PolicyError(f"unexpected Effect {statement['Effect']!r}")
        if statement_matches(statement, provider, claims):
            if statement["Effect"] == "Deny":
                return "denied"
            allowed = True
    return "allowed" if allowed else "denied"


def trust_policy(path, prefix):
    template = load_template(path)
    given = dict(PARAMETERS, GitHubSubjectPrefix=prefix)
    params = {k: v for k, v in given.items() if k.startswith("AWS::")}
    for name, spec in template["Parameters"].items():
        value = given.get(name, spec.get("Default"))
        if value is not None:
            params[name] = str(value)
            if not re.fullmatch(spec.get("AllowedPattern", ".*"), params[name]):
                raise PolicyError(f"sample value {value!r} breaks {name}'s AllowedPattern")
    role = template["Resources"]["DeployRole"]["Properties"]
    return resolve(role["AssumeRolePolicyDocument"], params)


def token(sub, aud="sts.amazonaws.com", provider=PROVIDER):
    return provider, {"aud": aud, "sub": sub}


def cases_for(prefix, other):
    """What a stack configured with `prefix` must allow and deny; `other` is the same
    repository's subject in the other form."""
    main = "ref:refs/heads/main"
    prod = f"{prefix}:environment:production"
    owner, name = prefix[len("repo:"):].split("/")
    return [
        ("allowed", "deploy job: push to main, environment production", token(f"{prod}:{main}")),
        ("denied", "the same job in the other subject form", token(f"{other}:environment:production:{main}")),
        ("denied", "pull request", token(f"{prefix}:pull_request:ref:refs/pull/7/merge")),
        ("denied", "other branch, same environment", token(f"{prod}:ref:refs/heads/feature")),
        ("denied", "tag", token(f"{prod}:ref:refs/tags/v1")),
        ("denied", "other repository", token(f"repo:evil/upbrella:environment:production:{main}")),
        ("denied", "repository name with the same prefix",
         token(f"repo:{owner}/{name}-fork:environment:production:{main}")),
        ("denied", "the names again, other ids (a recycled name)",
         token(f"repo:acme@9999/upbrella@2002:environment:production:{main}")),
        ("denied", "other environment", token(f"{prefix}:environment:staging:{main}")),
        ("denied", "push job without environment", token(f"{prefix}:{main}:{main}")),
        ("denied", "default (uncustomised) subject", token(prod)),
        ("denied", "wrong audience", token(f"{prod}:{main}", aud="https://github.com/acme")),
        ("denied", "other OIDC provider",
         token(f"{prod}:{main}", provider=PROVIDER.replace(HOST, "oidc.example.com"))),
    ]


def main():
    path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "cloudformation/upbrella.yaml"
    self_test = {"Statement": [
        {"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:Assume*",
         "Condition": {"StringLike": {f"{HOST}:sub": "repo:acme/*"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "*",
         "Condition": {"StringEquals": {f"{HOST}:sub": ["repo:acme/no"]}}},
    ]}
    cases = []
    for prefix, other in ((CLASSIC, IMMUTABLE), (IMMUTABLE, CLASSIC)):
        try:
            deploy = trust_policy(path, prefix)
        except PolicyError as error:
            sys.exit(f"{path}: {error}")
        cases += [(expected, f"[{prefix}] {name}", deploy, request)
                  for expected, name, request in cases_for(prefix, other)]
    for bad in ("acme/upbrella", "repo:acme@x/upbrella", "repo:acme/upbrella:environment:production"):
        try:
            trust_policy(path, bad)
            sys.exit(f"GitHubSubjectPrefix accepted {bad!r}")
        except PolicyError:
            print(f"refused  GitHubSubjectPrefix {bad!r} (AllowedPattern)")
    cases += [
        ("allowed", "self-test: StringLike repo:acme/* matches", self_test, token("repo:acme/x")),
        ("denied", "self-test: StringLike repo:acme/* rejects", self_test, token("repo:other/x")),
        ("denied", "self-test: explicit Deny wins over Allow", self_test, token("repo:acme/no")),
    ]
    failures = []
    for expected, name, policy, (provider, claims) in cases:
        try:
            outcome = evaluate(policy, provider, claims)
        except PolicyError as error:
            outcome = f"error ({error})"
        print(f"{outcome:8} {name}")
        if outcome != expected:
            failures.append(f"{name}: expected {expected}, got {outcome}")
    if failures:
        sys.exit("trust policy: unexpected outcomes:\n  " + "\n  ".join(failures))
    print(f"trust policy: {len(cases)} cases as expected")


if __name__ == "__main__":
    main()
