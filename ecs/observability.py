#!/usr/bin/env python3
"""Observability as deployed, checked offline against what the binaries print.

ecs/observability/samples.jsonl holds lines the WAS and web-proxy printed (one object a
line: {"log_group": "/upbrella/was" | "/upbrella/web-proxy", "line": {...}}), written by
the binaries' own test (tests/observability.rs). This refuses the stack unless:

1. every metric filter's pattern matches at least one sample line of its log group (the
   patterns are evaluated as CloudWatch Logs evaluates JSON filter patterns,
   ecs/filter_pattern.py; a pattern it cannot evaluate is refused), and its metric value
   is a number in every line it matches;
2. every metric in the Upbrella namespace that an alarm or the dashboard reads is made
   by a metric filter of the stack, or printed in an EMF line of the samples, with the
   same name and the same dimensions (and the same Service value);
3. the EMF lines follow CloudWatch's embedded metric format: an `_aws` object with an
   integer Timestamp in milliseconds and a CloudWatchMetrics array of directives, each
   with a Namespace, Dimensions (sets of at most 30 names, each a string member of the
   line) and Metrics (at most 100, each a number member of the line, its Unit one of
   CloudWatch's).

The tasks log with the awslogs driver; CloudWatch Logs extracts EMF metrics from any log
event that is an EMF object, whatever sent it, so these lines become metrics as deployed.
It also holds the template rules about metric filters, alarm actions and the ALB access
logs that ecs/validate.py applies.
"""

import json
import pathlib
import re
import sys

import botocore.session

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import filter_pattern  # noqa: E402
from cfn import load_template  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SAMPLES = HERE / "observability" / "samples.jsonl"
NAMESPACE = "Upbrella"
TIERS = {"/upbrella/was": "was", "/upbrella/web-proxy": "web-proxy"}
ELB_SEOUL = "600734575887"


def cloudwatch_units():
    model = botocore.session.get_session().get_service_model("cloudwatch")
    return set(model.shape_for("StandardUnit").enum)


def load_samples(path=None):
    path = path or SAMPLES
    samples, errors = [], []
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if not text.strip():
            continue
        try:
            item = json.loads(text)
        except ValueError as e:
            errors.append(f"{path.name}:{number}: not JSON ({e})")
            continue
        if not isinstance(item, dict) or item.get("log_group") not in TIERS or not isinstance(item.get("line"), dict):
            errors.append(f"{path.name}:{number}: needs log_group (one of {sorted(TIERS)}) and line (an object)")
            continue
        samples.append((item["log_group"], item["line"], f"{path.name}:{number}"))
    return samples, errors


# ------------------------------------------------------------------ EMF
def emf_errors(line, where, units):
    """CloudWatch's embedded metric format specification, for one line."""
    aws = line.get("_aws")
    if not isinstance(aws, dict):
        return [f"{where}: no _aws object"]
    errors = []
    stamp = aws.get("Timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or not 10**12 <= stamp < 10**14:
        errors.append(f"{where}: _aws.Timestamp must be an integer of milliseconds since the epoch, not {stamp!r}")
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return errors + [f"{where}: _aws.CloudWatchMetrics must be a non-empty array"]
    for i, directive in enumerate(directives):
        errors += directive_errors(line, directive, f"{where}: CloudWatchMetrics[{i}]", units)
    return errors


def directive_errors(line, directive, where, units):
    if not isinstance(directive, dict):
        return [f"{where}: not an object"]
    errors = []
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
        errors.append(f"{where}: Namespace must be a string of 1 to 255 characters")
    dimensions = directive.get("Dimensions")
    if not isinstance(dimensions, list):
        errors.append(f"{where}: Dimensions must be an array of dimension sets")
        dimensions = []
    for j, names in enumerate(dimensions):
        if not isinstance(names, list) or len(names) > 30:
            errors.append(f"{where}: Dimensions[{j}] must be an array of at most 30 names")
            continue
        for name in names:
            if not isinstance(name, str) or not isinstance(line.get(name), str):
                errors.append(f"{where}: dimension {name!r} must be a string member of the line")
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list) or not 1 <= len(metrics) <= 100:
        return errors + [f"{where}: Metrics must be an array of 1 to 100 definitions"]
    seen = set()
    for metric in metrics:
        name = metric.get("Name") if isinstance(metric, dict) else None
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            errors.append(f"{where}: a metric needs a Name of 1 to 255 characters")
            continue
        if name in seen:
            errors.append(f"{where}: metric {name} defined twice")
        seen.add(name)
        value = line.get(name)
        numbers = value if isinstance(value, list) else [value]
        if not numbers or len(numbers) > 100 or not all(filter_pattern.is_number(v) for v in numbers):
            errors.append(f"{where}: metric {name} must be a number member of the line (or up to 100 numbers)")
        if "Unit" in metric and metric["Unit"] not in units:
            errors.append(f"{where}: metric {name}: unit {metric['Unit']!r} is not a CloudWatch unit")
        if metric.get("StorageResolution", 60) not in (1, 60):
            errors.append(f"{where}: metric {name}: StorageResolution is 1 or 60")
    return errors


def emf_produced(line):
    """(namespace, name, {dimension: value}) of every metric the line makes."""
    made = []
    for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
        for names in directive.get("Dimensions", []) or [[]]:
            for metric in directive.get("Metrics", []):
                made.append((directive.get("Namespace"), metric.get("Name"), {n: line.get(n) for n in names}))
    return made


# ------------------------------------------------------------------ the stack's metrics
def log_groups(template):
    return {name: r["Properties"].get("LogGroupName") for name, r in template["Resources"].items()
            if r["Type"] == "AWS::Logs::LogGroup"}


def metric_filters(template):
    groups = log_groups(template)
    found = []
    for name, r in template["Resources"].items():
        if r["Type"] != "AWS::Logs::MetricFilter":
            continue
        props = r["Properties"]
        ref = props.get("LogGroupName")
        group = groups.get(ref.get("Ref")) if isinstance(ref, dict) else ref
        found.append((name, group, props.get("FilterPattern", ""), props.get("MetricTransformations", [])))
    return found


def dashboard_rows(body):
    """(namespace, name, {dimension: value}) of each metric row of a dashboard body."""
    text = body.get("Fn::Sub") if isinstance(body, dict) else body
    text = text[0] if isinstance(text, list) else text
    parsed = json.loads(re.sub(r"\$\{[^}!][^}]*\}", "SUBSTITUTED", text))
    rows = []
    for widget in parsed.get("widgets", []):
        previous = []
        for row in widget.get("properties", {}).get("metrics", []) if widget.get("type") == "metric" else []:
            plain = [item for item in row if not isinstance(item, dict)]
            if not plain:
                continue  # an expression row ([{"expression": ...}])
            plain = [previous[i] if item == "." and i < len(previous) else item for i, item in enumerate(plain)]
            previous = plain
            rows.append((plain[0], plain[1], dict(zip(plain[2::2], plain[3::2]))))
    return rows


def consumers(template):
    """(where, namespace, name, {dimension: value}) of every metric an alarm or a
    dashboard reads."""
    found = []
    for name, r in template["Resources"].items():
        props = r.get("Properties", {})
        if r["Type"] == "AWS::CloudWatch::Alarm":
            if "MetricName" in props:
                found.append((name, props.get("Namespace"), props["MetricName"],
                              {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}))
            for query in props.get("Metrics", []):
                metric = query.get("MetricStat", {}).get("Metric")
                if metric:
                    found.append((f"{name}.{query.get('Id')}", metric.get("Namespace"), metric.get("MetricName"),
                                  {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}))
        elif r["Type"] == "AWS::CloudWatch::Dashboard":
            found += [(name, *row) for row in dashboard_rows(props["DashboardBody"])]
    return found


def filter_rules(template, samples):
    """Each metric filter against the sample lines of its log group; returns the errors
    and what the filters make."""
    errors, made = [], []
    for name, group, pattern, transformations in metric_filters(template):
        lines = [line for g, line, _ in samples if g == group]
        try:
            hits = [line for line in lines if filter_pattern.matches(pattern, line)]
        except filter_pattern.PatternError as e:
            errors.append(f"{name}: pattern refused: {e}")
            continue
        if not hits:
            errors.append(f"{name}: {pattern} matches no sample line of {group} ({len(lines)} lines)")
        for t in transformations:
            value = str(t.get("MetricValue", ""))
            try:
                missing = [line for line in hits if filter_pattern.metric_value(value, line) is None]
            except filter_pattern.PatternError as e:
                errors.append(f"{name}: {e}")
                continue
            if missing:
                errors.append(f"{name}: metric value {value} is not a number in {len(missing)} of the "
                              f"{len(hits)} lines it matches")
            made.append((t.get("MetricNamespace"), t.get("MetricName"),
                         {d: None for d in (t.get("Dimensions") or {})}))
    return errors, made


def samples_rules(template, samples, units):
    """The checks of the module docstring; returns the errors and a summary."""
    errors, made = filter_rules(template, samples)
    emf_lines = 0
    for group, line, where in samples:
        if "_aws" not in line:
            continue
        emf_lines += 1
        errors += emf_errors(line, where, units)
        if line.get("Service") != TIERS[group]:
            errors.append(f"{where}: an EMF line in {group} says Service {line.get('Service')!r}")
        made += emf_produced(line)
    read = [c for c in consumers(template) if c[1] == NAMESPACE]
    for where, namespace, name, dimensions in read:
        if not any(m[0] == namespace and m[1] == name and set(m[2]) == set(dimensions)
                   and all(m[2][k] is None or m[2][k] == v for k, v in dimensions.items()) for m in made):
            errors.append(f"{where}: reads {namespace}/{name} {dimensions or '(no dimensions)'}, which nothing "
                          f"produces (no metric filter of the stack, no EMF line of the samples)")
    summary = (f"{len(metric_filters(template))} metric filters matched against {len(samples)} sample lines "
               f"({emf_lines} EMF lines checked against the EMF specification); {len(read)} alarm and dashboard "
               f"metrics in {NAMESPACE} each produced by a filter or an EMF line")
    return errors, summary


# ------------------------------------------------------------------ template rules
def as_list(value):
    return value if isinstance(value, list) else [value]


def metric_filter_rules(template, units):
    """Every metric filter reads a log group of the stack with a pattern that can be
    evaluated, and makes a metric with a value in the Upbrella namespace."""
    errors = []
    groups = log_groups(template)
    for name, r in template["Resources"].items():
        if r["Type"] != "AWS::Logs::MetricFilter":
            continue
        props = r["Properties"]
        ref = props.get("LogGroupName")
        if not (isinstance(ref, dict) and ref.get("Ref") in groups):
            errors.append(f"{name}: LogGroupName must be a log group of the stack (!Ref)")
        try:
            filter_pattern.parse(props.get("FilterPattern", ""))
        except filter_pattern.PatternError as e:
            errors.append(f"{name}: {e}")
        transformations = props.get("MetricTransformations", [])
        if not transformations:
            errors.append(f"{name}: no MetricTransformations")
        for t in transformations:
            if not t.get("MetricValue"):
                errors.append(f"{name}: every metric filter needs a MetricValue")
            if t.get("MetricNamespace") != NAMESPACE:
                errors.append(f"{name}: metric filters write to the {NAMESPACE} namespace, not {t.get('MetricNamespace')!r}")
            if "Unit" in t and t["Unit"] not in units:
                errors.append(f"{name}: unit {t['Unit']!r} is not a CloudWatch unit")
            if str(t.get("MetricValue", "")).startswith("$") and "DefaultValue" in t:
                errors.append(f"{name}: a measured value ({t['MetricValue']}) has no DefaultValue "
                              "(zeros for the other lines would skew its percentiles)")
            if t.get("Dimensions") and "DefaultValue" in t:
                errors.append(f"{name}: CloudWatch refuses DefaultValue with Dimensions")
    return errors


def alarm_action_rules(template):
    errors = []
    for name, r in template["Resources"].items():
        if r["Type"] == "AWS::CloudWatch::Alarm":
            if {"Ref": "AlarmTopic"} not in as_list(r["Properties"].get("AlarmActions", [])):
                errors.append(f"{name}: an alarm notifies the stack's alarm topic (AlarmActions: AlarmTopic)")
    return errors


def alb_log_rules(template):
    """Both ALBs log to a bucket of the stack, which expires the logs, blocks public
    access, uses SSE-S3 (the only encryption ALB log delivery takes) and lets ELB write;
    the load balancers wait for that permission."""
    errors, resources = [], template["Resources"]
    prefixes = {}
    for name, r in resources.items():
        if r["Type"] != "AWS::ElasticLoadBalancingV2::LoadBalancer":
            continue
        attributes = {a["Key"]: a["Value"] for a in r["Properties"].get("LoadBalancerAttributes", [])}
        if attributes.get("access_logs.s3.enabled") != "true":
            errors.append(f"{name}: access logs must be on (access_logs.s3.enabled)")
            continue
        bucket = attributes.get("access_logs.s3.bucket")
        bucket = bucket.get("Ref") if isinstance(bucket, dict) else None
        if resources.get(bucket, {}).get("Type") != "AWS::S3::Bucket":
            errors.append(f"{name}: access_logs.s3.bucket must be a bucket of the stack (!Ref)")
            continue
        prefix = attributes.get("access_logs.s3.prefix", "")
        if not prefix or prefix in prefixes.get(bucket, set()):
            errors.append(f"{name}: each load balancer logs under its own access_logs.s3.prefix")
        prefixes.setdefault(bucket, set()).add(prefix)
        policies = [n for n, p in resources.items() if p["Type"] == "AWS::S3::BucketPolicy"
                    and p["Properties"].get("Bucket") == {"Ref": bucket}]
        if not policies or not set(policies) & set(as_list(r.get("DependsOn", []))):
            errors.append(f"{name}: DependsOn the log bucket's policy (ELB checks it may write when logging is "
                          "switched on)")
    for bucket, wanted in prefixes.items():
        errors += log_bucket_rules(template, bucket, wanted)
    return errors


def log_bucket_rules(template, bucket, prefixes):
    resources = template["Resources"]
    props = resources[bucket].get("Properties", {})
    errors = []
    rules = [rule for rule in props.get("LifecycleConfiguration", {}).get("Rules", []) if rule.get("Status") == "Enabled"]
    if not any(rule.get("ExpirationInDays") for rule in rules):
        errors.append(f"{bucket}: needs a lifecycle rule that expires the logs (ExpirationInDays)")
    if not any(rule.get("AbortIncompleteMultipartUpload") for rule in rules):
        errors.append(f"{bucket}: its lifecycle must abort incomplete multipart uploads")
    block = props.get("PublicAccessBlockConfiguration", {})
    if not all(block.get(k) is True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                               "RestrictPublicBuckets")):
        errors.append(f"{bucket}: public access must be blocked (all four settings)")
    sse = [c.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
           for c in props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])]
    if sse != ["AES256"]:
        errors.append(f"{bucket}: SSE-S3 (AES256) encryption: ALB log delivery takes no other")
    grants = [st for r in resources.values() if r["Type"] == "AWS::S3::BucketPolicy"
              and r["Properties"].get("Bucket") == {"Ref": bucket}
              for st in as_list(r["Properties"]["PolicyDocument"]["Statement"])
              if st.get("Effect") == "Allow" and "s3:PutObject" in as_list(st.get("Action"))]
    principal = json.dumps([st.get("Principal") for st in grants])
    if not grants or "logdelivery.elasticloadbalancing.amazonaws.com" not in principal or "ElbLogAccount" not in principal:
        errors.append(f"{bucket}: its policy lets ELB put the logs (the region's ELB account from ElbLogAccount, "
                      "or logdelivery.elasticloadbalancing.amazonaws.com)")
    resource = json.dumps([st.get("Resource") for st in grants])
    for prefix in prefixes:
        if f"/{prefix}/AWSLogs/${{AWS::AccountId}}/*" not in resource:
            errors.append(f"{bucket}: its policy must let ELB write {prefix}/AWSLogs/<account>/*")
    seoul = template.get("Mappings", {}).get("ElbLogAccount", {}).get("ap-northeast-2", {}).get("Account")
    if seoul != ELB_SEOUL:
        errors.append(f"ElbLogAccount: ap-northeast-2's ELB account is {ELB_SEOUL}, not {seoul!r}")
    return errors


def observability_rules(template, units=None):
    units = units or cloudwatch_units()
    errors = metric_filter_rules(template, units) + alarm_action_rules(template) + alb_log_rules(template)
    if not any(r["Type"] == "AWS::CloudWatch::Dashboard" for r in template["Resources"].values()):
        errors.append("the stack has no CloudWatch dashboard")
    return errors


def main(argv=None):
    import argparse

    import observability_selftest  # noqa: PLC0415 (it imports this module)

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=pathlib.Path, default=SAMPLES, help="the sample lines (JSON lines)")
    args = parser.parse_args(argv)
    template, units = load_template(), cloudwatch_units()
    samples, errors = load_samples(args.samples)
    filter_pattern.self_test()
    observability_selftest.self_test(template, samples, units)
    errors += observability_rules(template, units)
    found, summary = samples_rules(template, samples, units)
    errors += found
    for e in errors:
        print(f"error: {e}")
    print(f"{summary}; the filter pattern evaluator, the EMF rules and these checks self-tested")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
