"""The observability checks must be able to fail: each is given a broken copy of the
template, the samples or an EMF line, and must refuse it (run by ecs/observability.py)."""

import copy

from observability import emf_errors, observability_rules, samples_rules


def expect(found, baseline, expected, what):
    """A new error (not one the unbroken input already has) must say `expected`."""
    new = [e for e in found if e not in baseline]
    if not any(expected in e for e in new):
        raise SystemExit(f"self-test: {what} went unnoticed (wanted {expected!r}, got {new})")


def filter_cases():
    """Broken templates the samples check must refuse."""
    def add_filter(r, pattern, value="1", name="NothingMetric"):
        r["Resources"][name] = {"Type": "AWS::Logs::MetricFilter", "Properties": {
            "LogGroupName": {"Ref": "WasLogGroup"}, "FilterPattern": pattern,
            "MetricTransformations": [{"MetricNamespace": "Upbrella", "MetricName": name, "MetricValue": value}]}}

    def add_alarm(r, name, dimensions):
        r["Resources"]["NothingAlarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmDescription": "x", "Namespace": "Upbrella", "MetricName": name, "Dimensions": dimensions,
            "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}]}}

    def dashboard(r, old, new):
        body = r["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
        assert old in body["Fn::Sub"], old
        body["Fn::Sub"] = body["Fn::Sub"].replace(old, new, 1)

    return {
        "matches no sample line": lambda r: add_filter(r, '{ $.target = "access" && $.status >= 600 }'),
        "pattern refused": lambda r: add_filter(r, '{ $.status >= 500 && $.a = 1 || $.b = 2 }'),
        "is not a number": lambda r: add_filter(r, '{ $.target = "access" }', "$.route"),
        "Upbrella/NotPrinted": lambda r: add_alarm(r, "NotPrinted", [{"Name": "Service", "Value": "was"}]),
        "reads Upbrella/Requests {'Service': 'www'}": lambda r: add_alarm(
            r, "Requests", [{"Name": "Service", "Value": "www"}]),
        "reads Upbrella/Requests (no dimensions)": lambda r: add_alarm(r, "Requests", []),
        "reads Upbrella/WasAccessLog5xx {'Service': 'was'}": lambda r: add_alarm(
            r, "WasAccessLog5xx", [{"Name": "Service", "Value": "was"}]),
        "Dashboard: reads Upbrella/Shed": lambda r: dashboard(
            r, '["Upbrella", "Shed", "Service", "web-proxy"]', '["Upbrella", "Shed", "Service", "was"]'),
        "DbPoolSaturatedAlarm.size": lambda r: r["Resources"]["DbPoolSaturatedAlarm"]["Properties"]["Metrics"][1]
            ["MetricStat"]["Metric"].update(MetricName="DbPoolSize"),
    }


def emf_cases():
    """Broken EMF lines the EMF rules must refuse."""
    def metrics(line):
        return line["_aws"]["CloudWatchMetrics"][0]

    def first_metric(line):
        return metrics(line)["Metrics"][0]["Name"]

    return {
        "no _aws object": lambda line: line.pop("_aws"),
        "integer of milliseconds": lambda line: line["_aws"].update(Timestamp=line["_aws"]["Timestamp"] // 1000),
        "Timestamp must be": lambda line: line["_aws"].update(Timestamp=str(line["_aws"]["Timestamp"])),
        "non-empty array": lambda line: line["_aws"].update(CloudWatchMetrics=[]),
        "Namespace must be": lambda line: metrics(line).pop("Namespace"),
        "must be a string member": lambda line: line.pop("Service"),
        "at most 30 names": lambda line: metrics(line).update(
            Dimensions=[[f"D{i}" for i in range(31)]]) or line.update({f"D{i}": "x" for i in range(31)}),
        "must be a number member": lambda line: line.update({first_metric(line): "12"}),
        "not a CloudWatch unit": lambda line: metrics(line)["Metrics"][0].update(Unit="Requests"),
        "defined twice": lambda line: metrics(line)["Metrics"].append(dict(metrics(line)["Metrics"][0])),
        "Metrics must be": lambda line: metrics(line).update(Metrics=[]),
        "Dimensions must be": lambda line: metrics(line).update(Dimensions="Service"),
    }


def template_cases():
    """Broken templates the template rules must refuse."""
    def attributes(r, name):
        return r[name]["Properties"]["LoadBalancerAttributes"]

    def transformation(r, name):
        return r[name]["Properties"]["MetricTransformations"][0]

    return {
        "MetricValue": lambda r: transformation(r, "WasAccess5xxMetric").pop("MetricValue"),
        "the Upbrella namespace": lambda r: transformation(r, "WasAccess5xxMetric").update(MetricNamespace="upbrella"),
        "skew its percentiles": lambda r: transformation(r, "WasAccessLatencyMetric").update(DefaultValue=0),
        "only JSON patterns": lambda r: r["WasAccess5xxMetric"]["Properties"].update(FilterPattern="ERROR"),
        "not a CloudWatch unit": lambda r: transformation(r, "WasAccessLatencyMetric").update(Unit="ms"),
        "AlarmActions: AlarmTopic": lambda r: r["WebProxySheddingAlarm"]["Properties"].update(AlarmActions=[]),
        "access logs must be on": lambda r: [a.update(Value="false") for a in attributes(r, "InternalLoadBalancer")
                                             if a["Key"] == "access_logs.s3.enabled"],
        "its own access_logs.s3.prefix": lambda r: [a.update(Value="external") for a in
                                                    attributes(r, "InternalLoadBalancer")
                                                    if a["Key"] == "access_logs.s3.prefix"],
        "DependsOn the log bucket's policy": lambda r: r["InternalLoadBalancer"].pop("DependsOn"),
        "expires the logs": lambda r: r["AlbLogBucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0]
            .pop("ExpirationInDays"),
        "abort incomplete": lambda r: r["AlbLogBucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0]
            .pop("AbortIncompleteMultipartUpload"),
        "public access must be blocked": lambda r: r["AlbLogBucket"]["Properties"]
            ["PublicAccessBlockConfiguration"].update(BlockPublicPolicy=False),
        "SSE-S3": lambda r: r["AlbLogBucket"]["Properties"]["BucketEncryption"]
            ["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"].update(SSEAlgorithm="aws:kms"),
        "lets ELB put the logs": lambda r: r["AlbLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
            .update(Principal={"AWS": "arn:aws:iam::123456789012:root"}),
        "internal/AWSLogs": lambda r: r["AlbLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
            .update(Resource=r["AlbLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Resource"][:1]),
        "no CloudWatch dashboard": lambda r: r.pop("Dashboard"),
    }


def self_test(template, samples, units):
    """Runs every case; the real run reports what the unbroken input breaks."""
    baseline = samples_rules(template, samples, units)[0]
    for expected, breakit in filter_cases().items():
        broken = copy.deepcopy(template)
        breakit(broken)
        expect(samples_rules(broken, samples, units)[0], baseline, expected,
               f"breaking the stack's metrics ({expected!r})")
    emf = next((line for _, line, _ in samples if "_aws" in line), None)
    if emf is None:
        raise SystemExit("self-test: the samples hold no EMF line")
    emf_baseline = emf_errors(emf, "self-test", units)
    for expected, breakit in emf_cases().items():
        line = copy.deepcopy(emf)
        breakit(line)
        expect(emf_errors(line, "self-test", units), emf_baseline, expected, f"breaking an EMF line ({expected!r})")
    wrong_tier = copy.deepcopy(samples)
    for group, line, _ in wrong_tier:
        if "_aws" in line:
            line["Service"] = "web-proxy" if group == "/upbrella/was" else "was"
    expect(samples_rules(template, wrong_tier, units)[0], baseline, "an EMF line in",
           "an EMF line in the other tier's group")
    template_baseline = observability_rules(template, units)
    for expected, breakit in template_cases().items():
        broken = copy.deepcopy(template)
        breakit(broken["Resources"])
        expect(observability_rules(broken, units), template_baseline, expected, f"breaking the template ({expected!r})")
