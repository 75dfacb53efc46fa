"""The task and service definitions against botocore's AWS API models and our rules for
containers, services, auto scaling and host capacity (ecs/validate.py runs them)."""

import json
import pathlib
import re
import string

import botocore.session
import botocore.validate

from cfn import load_template
from deploy import snake

HERE = pathlib.Path(__file__).resolve().parent


# What the stack's outputs look like (ecs/deploy.py names them in UPPER_SNAKE case).
SAMPLE = {
    "AWS_REGION": "ap-northeast-2",
    "IMAGE_TAG": "0123456789abcdef0123456789abcdef01234567",
    "DOMAIN_NAME": "upbrella.example.com",
    "CLUSTER_NAME": "upbrella",
    "CAPACITY_PROVIDER_NAME": "upbrella-asg",
    "WAS_REPOSITORY_URI": "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/upbrella/was",
    "WEB_PROXY_REPOSITORY_URI": "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/upbrella/web-proxy",
    "DATABASE_HOST": "upbrella.abcdefghijkl.ap-northeast-2.rds.amazonaws.com",
    "DATABASE_PORT": "5432",
    "DATABASE_SECRET_ARN": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:rds!db-0123-AbCdEf",
    "REDIS_HOST": "master.upbrella.abcdef.apn2.cache.amazonaws.com",
    "REDIS_AUTH_SECRET_ARN": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:upbrella/redis-auth-AbCdEf",
    "BANK_KEY_SECRET_ARN": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:upbrella/bank-key-AbCdEf",
    "PROXY_SECRET_ARN": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:upbrella/proxy-secret-AbCdEf",
    "PROXY_SECRET_ROTATING_ARN": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:upbrella/proxy-secret-rotating-AbCdEf",
    "SERVER_KEY_SECRET_ARN": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:upbrella/server-hmac-key-AbCdEf",
    "MAIL_DKIM_RECORDS": "a._domainkey.upbrella.example.com=a.dkim.amazonses.com",
    "WAS_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/upbrella-task-execution",
    "WEB_PROXY_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/upbrella-web-proxy-execution",
    "MIGRATE_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/upbrella-migrate-execution",
    "ECS_CPU_ARCHITECTURE": "X86_64",
    "WAS_TASK_ROLE_ARN": "arn:aws:iam::123456789012:role/upbrella-was-task",
    "WAS_LOG_GROUP": "/upbrella/was",
    "WEB_PROXY_LOG_GROUP": "/upbrella/web-proxy",
    "INTERNAL_LOAD_BALANCER_DNS": "internal-upbrella-internal-123.ap-northeast-2.elb.amazonaws.com",
    "WAS_TARGET_GROUP_ARN": "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/upbrella-was/0123456789abcdef",
    "WEB_PROXY_TARGET_GROUP_ARN": "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/upbrella-web-proxy/0123456789abcdef",
    "WAS_SCALING_RESOURCE_LABEL": "app/upbrella-internal/0123456789abcdef/targetgroup/upbrella-was/0123456789abcdef",
    "PHOTO_BUCKET": "upbrella-photobucket-0123456789ab",
    "PHOTO_BUCKET_ORIGIN": "https://upbrella-photobucket-0123456789ab.s3.ap-northeast-2.amazonaws.com",
    "WEB_PROXY_SCALING_RESOURCE_LABEL": "app/upbrella-external/0123456789abcdef/targetgroup/upbrella-web-proxy/0123456789abcdef",
}
# Filled by deploy.py itself, not from the stack.
NOT_FROM_STACK = {"AWS_REGION", "IMAGE_TAG"}
# Tasks that run once and exit (no health check, no drain).
ONE_OFF = {"upbrella-migrate"}

# t3.small / t4g.small: 2 GiB, of which ECS registers about 1.9 GiB; keep headroom for the agent.
HOST_MEMORY_MIB = 1800
HOST_CPU_UNITS = 2048
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|KEY|DATABASE_URL|CREDENTIAL)", re.I)
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")


def load(path):
    text = string.Template(path.read_text()).substitute(SAMPLE)
    return json.loads(text)


def variables(path):
    return {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(path.read_text())
            if m.group("named") or m.group("braced")}


def template_facts():
    """The stack's output names (as deploy.py spells them) and its alarm names."""
    template = load_template()
    outputs = {snake(name) for name in template["Outputs"]}
    alarms = {r["Properties"]["AlarmName"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"}
    return outputs, alarms


def walk_limits(value, shape, where, errors):
    """Enum values and min/max limits, which botocore's ParamValidator leaves out."""
    if shape is None:
        return
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure" and isinstance(value, dict):
        for key, member in value.items():
            if key in shape.members:
                walk_limits(member, shape.members[key], f"{where}.{key}", errors)
    elif kind == "list" and isinstance(value, list):
        if "min" in meta and len(value) < meta["min"]:
            errors.append(f"{where}: at least {meta['min']} items")
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{where}: at most {meta['max']} items")
        for i, item in enumerate(value):
            walk_limits(item, shape.member, f"{where}[{i}]", errors)
    elif kind == "map" and isinstance(value, dict):
        for k, v in value.items():
            walk_limits(v, shape.value, f"{where}.{k}", errors)
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            errors.append(f"{where}: {value!r} is not one of {shape.enum}")
        if "min" in meta and len(value) < meta["min"]:
            errors.append(f"{where}: shorter than {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{where}: longer than {meta['max']}")
        if "pattern" in meta:
            try:
                pattern = re.compile(meta["pattern"])
            except re.error:
                pattern = None  # Java-only syntax (\p{...}); the service checks those.
            if pattern and not pattern.fullmatch(value):
                errors.append(f"{where}: does not match {meta['pattern']}")
    elif kind in ("integer", "long") and isinstance(value, int):
        if "min" in meta and value < meta["min"]:
            errors.append(f"{where}: below {meta['min']}")
        if "max" in meta and value > meta["max"]:
            errors.append(f"{where}: above {meta['max']}")


def against_model(params, operation, where, service="ecs"):
    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(operation).input_shape
    errors = []
    report = botocore.validate.ParamValidator().validate(params, shape)
    if report.has_errors():
        errors.append(report.generate_report())
    walk_limits(params, shape, where, errors)
    return errors


def seconds(text):
    m = DURATION.match(text.strip())
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    scale = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]
    return float(m.group(1)) * scale


def task_rules(task, where):
    errors = []
    one_off = task["family"] in ONE_OFF
    if task.get("runtimePlatform", {}).get("cpuArchitecture") != SAMPLE["ECS_CPU_ARCHITECTURE"]:
        errors.append(f"{where}: runtimePlatform.cpuArchitecture must be the stack's (${{ECS_CPU_ARCHITECTURE}}), "
                      "so a task for the other architecture is never placed")
    for c in task["containerDefinitions"]:
        name = f"{where}:{c['name']}"
        env = {e["name"]: e["value"] for e in c.get("environment", [])}
        hc = c.get("healthCheck")
        if not one_off and (not hc or not hc.get("command") or hc["command"][0] != "CMD"):
            errors.append(f"{name}: needs a healthCheck in exec form ['CMD', ...] (ECS ignores the image's HEALTHCHECK)")
        for e in env:
            if SECRET_NAME.search(e) and e not in ("WEB_PROXY_UPSTREAM_SECRET_HEADER",):
                errors.append(f"{name}: {e} looks secret; pass it in 'secrets', not 'environment'")
        drain = seconds(env.get("WEB_PROXY_DRAIN_PERIOD", "0s")) + seconds(
            env.get("WEB_PROXY_SHUTDOWN_GRACE", env.get("WAS_SHUTDOWN_GRACE", "0s"))
        )
        if not one_off and c.get("stopTimeout", 30) < drain:
            errors.append(f"{name}: stopTimeout {c.get('stopTimeout', 30)} s is shorter than the drain and grace ({drain:g} s)")
        if not c.get("readonlyRootFilesystem"):
            errors.append(f"{name}: readonlyRootFilesystem must be true")
        if str(c.get("user", "root")).split(":")[0] in ("0", "root"):
            errors.append(f"{name}: must run as a non-root user")
        # Proof of presence: the original stickers are accepted only in the dated
        # migration mode, never open-ended.
        if env.get("QR_LEGACY_CODES", "refuse") != "refuse" and not env.get("QR_LEGACY_UNTIL"):
            errors.append(f"{name}: QR_LEGACY_CODES={env['QR_LEGACY_CODES']} needs QR_LEGACY_UNTIL (an end date)")
        # The database's certificate is checked against the RDS CA bundle in the image:
        # with `require`, IAM tokens and passwords would go to whoever answers.
        if "PGHOST" in env and (env.get("PGSSLMODE") != "verify-full" or not env.get("PGSSLROOTCERT")):
            errors.append(f"{name}: PGSSLMODE must be verify-full, with PGSSLROOTCERT naming the RDS CA bundle")
        secret_names = {x["name"] for x in c.get("secrets", [])}
        if env.get("MAIL_TRANSPORT") == "ses" and not env.get("MAIL_FROM"):
            errors.append(f"{name}: MAIL_TRANSPORT=ses needs MAIL_FROM")
        if "BANK_ENCRYPTION_KEY" in secret_names and "SERVER_HMAC_KEY" not in secret_names:
            errors.append(f"{name}: the WAS needs SERVER_HMAC_KEY from a secret")
        if "WAS_PROXY_SECRET" in secret_names and "WAS_PROXY_SECRET_ROTATING" not in secret_names:
            errors.append(f"{name}: the WAS needs WAS_PROXY_SECRET_ROTATING too (rotation without a 403)")
        if "BANK_ENCRYPTION_KEY" in secret_names and env.get("UPBRELLA_RELEASE") != "${IMAGE_TAG}" \
                and env.get("UPBRELLA_RELEASE") != SAMPLE["IMAGE_TAG"]:
            errors.append(f"{name}: UPBRELLA_RELEASE must be the image tag (deploy.py checks /api/ready answers it)")
        if c.get("logConfiguration", {}).get("logDriver") != "awslogs":
            errors.append(f"{name}: logs go to awslogs")
        # The driver sends each line as an event with PutLogEvents, and CloudWatch Logs
        # extracts the metrics of an event that is an EMF object: lines joined into one
        # event would hide them (and the access lines from the metric filters).
        if {"awslogs-multiline-pattern", "awslogs-datetime-format"} & set(c.get("logConfiguration", {}).get("options", {})):
            errors.append(f"{name}: awslogs sends one event a line (no awslogs-multiline-pattern or "
                          "awslogs-datetime-format): an EMF line must be an event of its own")
        if not c.get("ulimits"):
            errors.append(f"{name}: set ulimits (nofile)")
        for s in c.get("secrets", []):
            if not s["valueFrom"].startswith(("arn:aws:secretsmanager:", "arn:aws:ssm:")):
                errors.append(f"{name}: secret {s['name']} must come from Secrets Manager or SSM")
    return errors


def service_rules(svc, where, alarms):
    errors = []
    dc = svc.get("deploymentConfiguration", {})
    cb = dc.get("deploymentCircuitBreaker", {})
    if not (cb.get("enable") and cb.get("rollback")):
        errors.append(f"{where}: the deployment circuit breaker must be on, with rollback")
    if dc.get("minimumHealthyPercent") != 100:
        errors.append(f"{where}: minimumHealthyPercent must be 100 (never below the desired count)")
    # Spread by instance would keep a task on every instance, so managed scaling could
    # never empty one and scale the cluster back in: zones first, then pack.
    strategy = [(p.get("type"), p.get("field")) for p in svc.get("placementStrategy", [])]
    if strategy != [("spread", "attribute:ecs.availability-zone"), ("binpack", "memory")]:
        errors.append(f"{where}: placement spreads across availability zones, then binpacks memory")
    if not 30 <= svc.get("healthCheckGracePeriodSeconds", 0) <= 60:
        errors.append(f"{where}: healthCheckGracePeriodSeconds belongs in 30..60")
    if "desiredCount" in svc:
        errors.append(f"{where}: no desiredCount (auto scaling owns it; deploy.py sets the minimum on creation)")
    rollback_on = dc.get("alarms", {})
    if not (rollback_on.get("enable") and rollback_on.get("rollback") and rollback_on.get("alarmNames")):
        errors.append(f"{where}: roll back on the tier's alarms (deploymentConfiguration.alarms)")
    for alarm in rollback_on.get("alarmNames", []):
        if alarm not in alarms:
            errors.append(f"{where}: alarm {alarm} is not created by the stack")
    return errors


def scaling_rules(name, rules, where):
    errors = against_model(rules["scalableTarget"], "RegisterScalableTarget", where, "application-autoscaling")
    errors += against_model(rules["scalingPolicy"], "PutScalingPolicy", where, "application-autoscaling")
    if rules["scalableTarget"]["MinCapacity"] < 2:
        errors.append(f"{where}: {name} needs at least 2 tasks (one per AZ)")
    if not rules["scalableTarget"]["ResourceId"].endswith(f"/{name}"):
        errors.append(f"{where}: {name}'s rules name another service")
    return errors


def capacity(tasks, services, one_offs=()):
    """During a deployment each service may run maximumPercent of its tasks; with tasks
    spread over the minimum two hosts, one host carries half of them. `one_offs` may land
    on that host at the same time (the hourly `was remind` task)."""
    mem = sum(c.get("memoryReservation", c.get("memory", 0)) for t in one_offs for c in t["containerDefinitions"])
    cpu = sum(c.get("cpu", 0) for t in one_offs for c in t["containerDefinitions"])
    for svc, tasks_wanted in services:
        task = tasks[svc["taskDefinition"]]
        peak = tasks_wanted * svc["deploymentConfiguration"]["maximumPercent"] // 100
        per_host = -(-peak // 2)
        mem += per_host * sum(c.get("memoryReservation", c.get("memory", 0)) for c in task["containerDefinitions"])
        cpu += per_host * sum(c.get("cpu", 0) for c in task["containerDefinitions"])
    errors = []
    if mem > HOST_MEMORY_MIB:
        errors.append(f"a deployment needs {mem} MiB reserved on one t3.small; {HOST_MEMORY_MIB} MiB are available")
    if cpu > HOST_CPU_UNITS:
        errors.append(f"a deployment needs {cpu} CPU units on one t3.small; {HOST_CPU_UNITS} exist")
    return errors, mem, cpu

