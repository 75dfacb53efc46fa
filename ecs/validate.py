#!/usr/bin/env python3
"""Validates what ecs/deploy.py deploys, offline.

1. Against the real AWS API models that botocore ships: the task definitions against
   ECS RegisterTaskDefinition, the services against CreateService, the auto scaling
   rules against Application Auto Scaling RegisterScalableTarget and PutScalingPolicy
   (keys, types, required members). botocore's validator does not check enum values or
   length/range limits, so this walks the shapes and checks those too.
2. Against the stack: every ${VAR} the definitions use is an output of the CloudFormation
   template (deploy.py fills them from the outputs), and every alarm a service rolls
   back on is an alarm the template creates.
3. Against our own rules: health checks, stopTimeout covering the graceful drain,
   secrets never in plain environment, read-only non-root containers, awslogs, and
   memory that fits a 2 GiB host (t3.small or t4g.small) during a 200 % rolling
   deployment.
4. The store photo bucket: nobody but the WAS task role may write to it, and that role
   only s3:PutObject under stores/; the public may only read stores/*; ACLs stay off;
   CORS admits the site; the WAS is given the bucket and web-proxy its origin.
5. The hourly reminder schedule (`was remind`): hourly in Asia/Seoul, a RunTask of the
   WAS family with the `remind` command, placed like the WAS service, retries bounded,
   and a role that may start only that and pass only the WAS's two roles.
"""

import json
import pathlib
import re
import string
import sys

import botocore.session
import botocore.validate

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from cfn import load_template  # noqa: E402
from deploy import snake  # noqa: E402

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


def mail_policy_rules(template):
    """The WAS task role may send mail only as the service: ses:SendEmail and nothing
    else, on the stack's own identity, from its one sender address."""
    errors = []
    policies = template["Resources"]["WasTaskRole"]["Properties"].get("Policies", [])
    statements = [st for p in policies for st in p["PolicyDocument"]["Statement"]
                  if any(str(a).startswith("ses:") for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]))]
    if len(statements) != 1:
        return [f"WasTaskRole: expected one statement about SES, found {len(statements)}"]
    st = statements[0]
    if st.get("Effect") != "Allow" or st.get("Action") != "ses:SendEmail":
        errors.append(f"WasTaskRole: SES statement must allow exactly ses:SendEmail, not {st.get('Action')}")
    resource = json.dumps(st.get("Resource"))
    if "identity/${DomainName}" not in resource or "*" in resource:
        errors.append(f"WasTaskRole: SES resource must be the stack's identity, not {resource}")
    condition = st.get("Condition", {})
    sender = condition.get("StringEquals", {}).get("ses:FromAddress")
    if list(condition) != ["StringEquals"] or sender != {"Fn::Sub": "no-reply@${DomainName}"}:
        errors.append("WasTaskRole: SES must be limited to the service's one sender (ses:FromAddress)")
    return errors


def canonical(value):
    return json.dumps(value, sort_keys=True)


def execution_role_rules(template, raw_tasks):
    """Each task family starts under its own execution role, and that role may read
    exactly the secrets the family's definition names: no more (web-proxy cannot decrypt
    the bank key), no fewer (the task would not start)."""
    errors = []
    resources, outputs = template["Resources"], template["Outputs"]
    by_var = {snake(name): output["Value"] for name, output in outputs.items()}
    roles = set()
    for family, text in raw_tasks.items():
        task = json.loads(text)
        role_var = re.fullmatch(r"\$\{([A-Z_]+)\}", task.get("executionRoleArn", ""))
        if not role_var or role_var.group(1) not in by_var:
            errors.append(f"{family}: executionRoleArn must be a stack output")
            continue
        value = by_var[role_var.group(1)]
        role = value.get("Fn::GetAtt", [None])[0] if isinstance(value, dict) else None
        if role in roles:
            errors.append(f"{family}: shares its execution role {role} with another family")
        roles.add(role)
        readable = {canonical(r) for p in resources[role]["Properties"].get("Policies", [])
                    for st in p["PolicyDocument"]["Statement"]
                    if "secretsmanager:GetSecretValue" in json.dumps(st["Action"])
                    for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])}
        named = set()
        for container in task["containerDefinitions"]:
            for secret in container.get("secrets", []):
                var = re.match(r"\$\{([A-Z_]+)\}", secret["valueFrom"])
                if var and var.group(1) in by_var:
                    named.add(canonical(by_var[var.group(1)]))
        if readable != named:
            errors.append(f"{family}: execution role {role} reads {len(readable - named)} secret(s) the family does "
                          f"not use and misses {len(named - readable)} it needs")
    return errors


def template_rules(template):
    """What a create, a failed create, a teardown and an operator need of the stack."""
    errors = []
    resources = template["Resources"]
    for name, resource in resources.items():
        # Retain under a fixed name survives a failed create, and the retry then meets
        # "already exists": keep things only once the stack has existed.
        if resource.get("DeletionPolicy") == "Retain":
            errors.append(f"{name}: DeletionPolicy Retain (use RetainExceptOnCreate: a failed create must clean up)")
        kind = resource["Type"]
        public = (kind == "AWS::ElasticLoadBalancingV2::LoadBalancer"
                  and resource["Properties"].get("Scheme") == "internet-facing") or kind == "AWS::AutoScaling::AutoScalingGroup"
        depends = resource.get("DependsOn", [])
        if public and "GatewayAttachment" not in (depends if isinstance(depends, list) else [depends]):
            errors.append(f"{name}: has public addresses, so it DependsOn GatewayAttachment")
        if kind == "AWS::CloudWatch::Alarm":
            props = resource["Properties"]
            if not props.get("AlarmDescription"):
                errors.append(f"{name}: an alarm says what it means (AlarmDescription)")
            if props.get("TreatMissingData") not in ("notBreaching", "missing"):
                errors.append(f"{name}: missing data must not page (TreatMissingData {props.get('TreatMissingData')})")
    version = str(resources["Database"]["Properties"].get("EngineVersion", ""))
    if not re.fullmatch(r"\d+", version):
        errors.append(f"Database: EngineVersion {version!r}: the major version only (a named minor retires)")
    protection = resources["Database"]["Properties"].get("DeletionProtection")
    if protection is True:
        errors.append("Database: DeletionProtection true at creation blocks a failed create's rollback "
                      "(a parameter, turned on after the first deploy)")
    deploy = json.dumps(resources["DeployRole"]["Properties"]["Policies"])
    if re.search(r"alarm:\*", deploy):
        errors.append("DeployRole: alarm actions scoped to target tracking's alarms, not alarm:*")
    trust = json.dumps(resources["DeployRole"]["Properties"]["AssumeRolePolicyDocument"])
    if "${GitHubSubjectPrefix}" not in trust:
        errors.append("DeployRole: trusts the subject prefix GitHub reports (GitHubSubjectPrefix)")
    for repo in ("WasRepository", "WebProxyRepository"):
        rules = json.loads(resources[repo]["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        first = min(rules, key=lambda r: r["rulePriority"])["selection"]
        if first.get("tagPrefixList") != ["deployed-"]:
            errors.append(f"{repo}: the first lifecycle rule keeps deployed images, so the running one never expires")
    return errors


PHOTO_OBJECTS = {"Fn::Sub": "${PhotoBucket.Arn}/stores/*"}
PHOTO_ORIGIN = {"Fn::Sub": "https://${PhotoBucket}.s3.${AWS::Region}.amazonaws.com"}


def grants(action, granted):
    """Whether an IAM action pattern (s3:*, s3:Put*, *) covers `action`."""
    return any(re.fullmatch(re.escape(g).replace(r"\*", ".*").replace(r"\?", "."), action, re.I)
               for g in as_list(granted))


def photo_rules(template, was_task, proxy_task):
    """The photo bucket is public to read under stores/ only and writable by the WAS task
    role only, under stores/ only; the WAS and web-proxy are pointed at it."""
    errors = []
    resources, outputs = template["Resources"], template["Outputs"]
    bucket = resources.get("PhotoBucket")
    if not bucket or bucket["Type"] != "AWS::S3::Bucket":
        return ["PhotoBucket: the store photo bucket is missing"]
    props = bucket.get("Properties", {})
    block = props.get("PublicAccessBlockConfiguration", {})
    if block.get("BlockPublicAcls") is not True or block.get("IgnorePublicAcls") is not True:
        errors.append("PhotoBucket: ACLs must stay blocked (BlockPublicAcls, IgnorePublicAcls): public only by policy")
    if props.get("OwnershipControls", {}).get("Rules") != [{"ObjectOwnership": "BucketOwnerEnforced"}]:
        errors.append("PhotoBucket: ACLs disabled (ObjectOwnership BucketOwnerEnforced)")
    rules = props.get("CorsConfiguration", {}).get("CorsRules", [])
    if not any(r.get("AllowedOrigins") == [{"Fn::Sub": "https://${DomainName}"}] and "PUT" in r.get("AllowedMethods", [])
               and "Content-Type" in r.get("AllowedHeaders", []) for r in rules):
        errors.append("PhotoBucket: CORS must allow PUT with Content-Type from https://${DomainName}")
    if any("*" in json.dumps(r.get("AllowedOrigins")) for r in rules):
        errors.append("PhotoBucket: CORS from any origin (*)")
    policies = [r for r in resources.values() if r["Type"] == "AWS::S3::BucketPolicy"
                and r["Properties"].get("Bucket") == {"Ref": "PhotoBucket"}]
    for policy in policies:
        for st in as_list(policy["Properties"]["PolicyDocument"]["Statement"]):
            if st.get("Effect") != "Allow":
                continue
            public = st.get("Principal") in ("*", {"AWS": "*"}) or "*" in json.dumps(st.get("Principal"))
            if not public:
                errors.append(f"PhotoBucketPolicy: grants {st.get('Action')} to {st.get('Principal')}: "
                              "write access goes through IAM roles, not the bucket policy")
            elif as_list(st.get("Action")) != ["s3:GetObject"] or as_list(st.get("Resource")) != [PHOTO_OBJECTS]:
                errors.append(f"PhotoBucketPolicy: the public may only read stores/* (s3:GetObject), "
                              f"not {st.get('Action')} on {st.get('Resource')}: world-writable")
    # Every identity policy in the template: who may put objects anywhere.
    for name, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Role":
            docs = [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            docs = [resource["Properties"]["PolicyDocument"]]
        else:
            continue
        for doc in docs:
            for st in as_list(doc["Statement"]):
                if st.get("Effect") != "Allow" or not grants("s3:PutObject", st.get("Action", [])):
                    continue
                if name != "WasTaskRole":
                    errors.append(f"{name}: may s3:PutObject; only the WAS task role uploads photos")
                elif as_list(st.get("Action")) != ["s3:PutObject"] or as_list(st.get("Resource")) != [PHOTO_OBJECTS]:
                    errors.append(f"WasTaskRole: s3:PutObject only, on the stores/ prefix of the photo bucket "
                                  f"(not {st.get('Action')} on {st.get('Resource')})")
    if outputs.get("PhotoBucket", {}).get("Value") != {"Ref": "PhotoBucket"}:
        errors.append("Outputs: PhotoBucket must be the photo bucket's name")
    if outputs.get("PhotoBucketOrigin", {}).get("Value") != PHOTO_ORIGIN:
        errors.append("Outputs: PhotoBucketOrigin must be the bucket's virtual-hosted origin, as the WAS builds it")

    def env(task):
        return {e["name"]: e["value"] for c in task["containerDefinitions"] for e in c.get("environment", [])}

    was, proxy = env(was_task), env(proxy_task)
    if was.get("PHOTO_BUCKET") != "${PHOTO_BUCKET}":
        errors.append("was.json: PHOTO_BUCKET must be the stack's ${PHOTO_BUCKET}")
    if "PHOTO_S3_ENDPOINT" in was or "PHOTO_PUBLIC_BASE_URL" in was:
        errors.append("was.json: PHOTO_S3_ENDPOINT/PHOTO_PUBLIC_BASE_URL set: the upload origin web-proxy "
                      "allows is the bucket's own")
    if proxy.get("WEB_PROXY_UPLOAD_ORIGINS") != "${PHOTO_BUCKET_ORIGIN}":
        errors.append(f"web-proxy.json: WEB_PROXY_UPLOAD_ORIGINS must be the photo bucket's origin "
                      f"(${{PHOTO_BUCKET_ORIGIN}}), not {proxy.get('WEB_PROXY_UPLOAD_ORIGINS')!r}")
    return errors


def statements(role):
    return [st for p in role["Properties"].get("Policies", []) for st in p["PolicyDocument"]["Statement"]]


def as_list(value):
    return value if isinstance(value, list) else [value]


def remind_schedule_rules(template, was_task, was_service):
    """`was remind` once an hour, Korean time, as a one-off task of the WAS family (the
    task definition deploy.py registers, so only its family is named: deploy.py pins the
    revision), under a role that can do nothing else. `was_task` and `was_service` are
    the definitions as written (their ${VARS} name the stack's outputs)."""
    resources = template["Resources"]
    schedules = {n: r for n, r in resources.items() if r["Type"] == "AWS::Scheduler::Schedule"}
    if list(schedules) != ["RemindSchedule"]:
        return [f"the stack needs one reminder schedule, RemindSchedule (found {sorted(schedules)})"]
    props = schedules["RemindSchedule"]["Properties"]
    errors = []
    if props.get("ScheduleExpressionTimezone") != "Asia/Seoul":
        errors.append(f"RemindSchedule: timezone must be Asia/Seoul, not {props.get('ScheduleExpressionTimezone')}")
    if props.get("ScheduleExpression") not in ("cron(0 * * * ? *)", "rate(1 hour)"):
        errors.append(f"RemindSchedule: must run hourly, not {props.get('ScheduleExpression')}")
    if props.get("FlexibleTimeWindow") != {"Mode": "OFF"}:
        errors.append("RemindSchedule: FlexibleTimeWindow OFF (on the hour, not somewhere in a window)")
    if props.get("State", "ENABLED") != "ENABLED":
        errors.append("RemindSchedule: must be ENABLED")
    target = props.get("Target", {})
    retry = target.get("RetryPolicy", {})
    if not (0 <= retry.get("MaximumRetryAttempts", 185) <= 5 and 60 <= retry.get("MaximumEventAgeInSeconds", 86400) <= 3600):
        errors.append(f"RemindSchedule: retries must be bounded (at most 5, within the hour), not {retry}")
    if target.get("Arn") != {"Fn::GetAtt": ["Cluster", "Arn"]}:
        errors.append("RemindSchedule: the target is the stack's cluster")
    ecs = target.get("EcsParameters", {})
    family_arn = {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/"
                             + was_task["family"]}
    if ecs.get("TaskDefinitionArn") != family_arn:
        errors.append(f"RemindSchedule: TaskDefinitionArn must be the {was_task['family']} family's ARN without a "
                      f"revision (deploy.py pins the revision it deployed), not {ecs.get('TaskDefinitionArn')}")
    if ecs.get("TaskCount", 1) != 1:
        errors.append("RemindSchedule: one task per run")
    if was_task.get("networkMode") != "awsvpc" and "NetworkConfiguration" in ecs:
        errors.append("RemindSchedule: the WAS task is not awsvpc; RunTask refuses a NetworkConfiguration")
    strategy = [{k[0].lower() + k[1:]: v for k, v in item.items()} for item in ecs.get("CapacityProviderStrategy", [])]
    wanted = [{**item, "capacityProvider": {"Ref": "CapacityProvider"}} for item in was_service["capacityProviderStrategy"]]
    if strategy != wanted or "LaunchType" in ecs:
        errors.append("RemindSchedule: placed by the WAS service's capacity provider strategy")
    container = was_task["containerDefinitions"][0]["name"]
    try:
        overrides = json.loads(target.get("Input", "{}")).get("containerOverrides", [])
    except ValueError:
        overrides = []
    if overrides != [{"name": container, "command": ["remind"]}]:
        errors.append(f"RemindSchedule: Input must override the {container!r} container's command with "
                      f"[\"remind\"] (the image's entrypoint is the was binary)")

    role_ref = target.get("RoleArn", {}).get("Fn::GetAtt", [None])[0] if isinstance(target.get("RoleArn"), dict) else None
    role = resources.get(role_ref)
    if role is None or role["Type"] != "AWS::IAM::Role":
        return errors + ["RemindSchedule: RoleArn must be a role of the stack"]
    if role.get("Properties", {}).get("ManagedPolicyArns"):
        errors.append(f"{role_ref}: no managed policies (only its own two statements)")
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    if [st.get("Principal") for st in trust] != [{"Service": "scheduler.amazonaws.com"}] \
            or "aws:SourceAccount" not in json.dumps(trust[0].get("Condition", {})):
        errors.append(f"{role_ref}: trusted by scheduler.amazonaws.com only, for this account (aws:SourceAccount)")
    outputs = {snake(n): o["Value"] for n, o in template["Outputs"].items()}

    def role_of(field):
        var = re.fullmatch(r"\$\{([A-Z_]+)\}", was_task.get(field, ""))
        return outputs.get(var.group(1)) if var else None

    was_roles = sorted(canonical(r) for r in (role_of("executionRoleArn"), role_of("taskRoleArn")) if r)
    run_task = {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/"
                           + was_task["family"] + ":*"}
    seen = set()
    for st in statements(role):
        actions = as_list(st.get("Action"))
        if st.get("Effect") != "Allow" or len(actions) != 1:
            errors.append(f"{role_ref}: one action per statement, allowed: {actions}")
            continue
        action = actions[0]
        seen.add(action)
        condition = st.get("Condition", {})
        if action == "ecs:RunTask":
            if as_list(st.get("Resource")) != [run_task]:
                errors.append(f"{role_ref}: ecs:RunTask only on task-definition/{was_task['family']}:*, "
                              f"not {st.get('Resource')}")
            if condition != {"ArnEquals": {"ecs:cluster": {"Fn::GetAtt": ["Cluster", "Arn"]}}}:
                errors.append(f"{role_ref}: ecs:RunTask only in the stack's cluster (ArnEquals ecs:cluster)")
        elif action == "iam:PassRole":
            if sorted(canonical(r) for r in as_list(st.get("Resource"))) != was_roles:
                errors.append(f"{role_ref}: iam:PassRole only for the WAS's execution and task roles")
            if condition != {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}:
                errors.append(f"{role_ref}: iam:PassRole only to ecs-tasks.amazonaws.com (iam:PassedToService)")
        else:
            errors.append(f"{role_ref}: may only run the task and pass its roles, not {action}")
    if seen != {"ecs:RunTask", "iam:PassRole"}:
        errors.append(f"{role_ref}: needs ecs:RunTask and iam:PassRole (has {sorted(seen)})")

    # deploy.py repoints the schedule: exactly it, and passing exactly its role.
    for st in statements(resources["DeployRole"]):
        actions = [a for a in as_list(st.get("Action")) if a.startswith("scheduler:")]
        if actions and ("*" in json.dumps(st.get("Resource")) or sorted(actions) != ["scheduler:GetSchedule",
                                                                                      "scheduler:UpdateSchedule"]):
            errors.append(f"DeployRole: scheduler:GetSchedule and UpdateSchedule on the reminder schedule only, "
                          f"not {actions} on {st.get('Resource')}")
        if "iam:PassRole" in as_list(st.get("Action")) and {"Fn::GetAtt": [role_ref, "Arn"]} in as_list(st.get("Resource")):
            if as_list(st.get("Resource")) != [{"Fn::GetAtt": [role_ref, "Arn"]}] or st.get("Condition") != {
                    "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}:
                errors.append(f"DeployRole: passes {role_ref} alone, and only to scheduler.amazonaws.com")
    return errors


def self_test():
    """The checks must be able to fail: break a copy of each rule and expect an error."""
    template = load_template()
    for expected, breakit in {
        "exactly ses:SendEmail": lambda st: st.update(Action=["ses:SendEmail", "ses:SendRawEmail"]),
        "the stack's identity": lambda st: st.update(Resource="*"),
        "sender": lambda st: st.pop("Condition"),
        "one sender": lambda st: st["Condition"]["StringEquals"].update(
            {"ses:FromAddress": ["no-reply@x", "attacker@x"]}),
    }.items():
        broken = json.loads(json.dumps(template))
        for p in broken["Resources"]["WasTaskRole"]["Properties"]["Policies"]:
            for st in p["PolicyDocument"]["Statement"]:
                if "ses:" in json.dumps(st.get("Action")):
                    breakit(st)
        if not any(expected in e for e in mail_policy_rules(broken)):
            raise SystemExit(f"self-test: breaking the SES policy ({expected!r}) went unnoticed")
    for expected, breakit in {
        "RetainExceptOnCreate": lambda r: r["WasRepository"].update(DeletionPolicy="Retain"),
        "GatewayAttachment": lambda r: r["ExternalLoadBalancer"].pop("DependsOn"),
        "AlarmDescription": lambda r: r["WasMemoryAlarm"]["Properties"].pop("AlarmDescription"),
        "missing data": lambda r: r["DatabaseStorageAlarm"]["Properties"].update(TreatMissingData="breaching"),
        "major version": lambda r: r["Database"]["Properties"].update(EngineVersion="16.11"),
        "rollback": lambda r: r["Database"]["Properties"].update(DeletionProtection=True),
        "alarm:*": lambda r: r["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Action": "cloudwatch:DeleteAlarms", "Resource": "arn:aws:cloudwatch:r:1:alarm:*"}),
        "GitHubSubjectPrefix": lambda r: r["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
            ["Condition"]["StringEquals"].update({"token.actions.githubusercontent.com:sub": "repo:acme/x:*"}),
        "never expires": lambda r: r["WasRepository"]["Properties"]["LifecyclePolicy"].update(
            LifecyclePolicyText='{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any"}}]}'),
    }.items():
        broken = json.loads(json.dumps(template))
        breakit(broken["Resources"])
        if not any(expected in e for e in template_rules(broken)):
            raise SystemExit(f"self-test: breaking the template ({expected!r}) went unnoticed")
    was_task, was_service = (json.loads((HERE / d / "was.json").read_text()) for d in ("task-definitions", "services"))
    proxy_task = json.loads((HERE / "task-definitions" / "web-proxy.json").read_text())
    if photo_rules(template, was_task, proxy_task):
        raise SystemExit(f"self-test: the template breaks the photo rules: {photo_rules(template, was_task, proxy_task)}")

    def photo_policy(r):
        return r["PhotoBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]

    def photo_put(r):
        return next(p for p in r["WasTaskRole"]["Properties"]["Policies"] if p["PolicyName"] == "upload-store-photos")

    for expected, breakit in {
        "world-writable": lambda r: photo_policy(r)[0].update(Action=["s3:GetObject", "s3:PutObject"]),
        "only read stores/*": lambda r: photo_policy(r)[0].update(Resource={"Fn::Sub": "${PhotoBucket.Arn}/*"}),
        "not the bucket policy": lambda r: photo_policy(r).append(
            {"Effect": "Allow", "Principal": {"AWS": {"Fn::GetAtt": ["DeployRole", "Arn"]}}, "Action": "s3:PutObject",
             "Resource": {"Fn::Sub": "${PhotoBucket.Arn}/*"}}),
        "ACLs must stay blocked": lambda r: r["PhotoBucket"]["Properties"]["PublicAccessBlockConfiguration"].update(
            BlockPublicAcls=False),
        "BucketOwnerEnforced": lambda r: r["PhotoBucket"]["Properties"].pop("OwnershipControls"),
        "CORS must allow PUT": lambda r: r["PhotoBucket"]["Properties"]["CorsConfiguration"]["CorsRules"][0].update(
            AllowedMethods=["GET"]),
        "any origin": lambda r: r["PhotoBucket"]["Properties"]["CorsConfiguration"]["CorsRules"][0].update(
            AllowedOrigins=["*"]),
        "stores/ prefix": lambda r: photo_put(r)["PolicyDocument"]["Statement"][0].update(
            Resource={"Fn::Sub": "${PhotoBucket.Arn}/*"}),
        "s3:PutObject only": lambda r: photo_put(r)["PolicyDocument"]["Statement"][0].update(Action="s3:Put*"),
        "TaskExecutionRole: may s3:PutObject": lambda r: r["TaskExecutionRole"]["Properties"]["Policies"].append(
            {"PolicyName": "x", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": PHOTO_OBJECTS}]}}),
        "DeployRole: may s3:PutObject": lambda r: r["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"].append({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    }.items():
        broken = json.loads(json.dumps(template))
        breakit(broken["Resources"])
        if not any(expected in e for e in photo_rules(broken, was_task, proxy_task)):
            raise SystemExit(f"self-test: breaking the photo bucket ({expected!r}) went unnoticed")

    def set_env(task, name, value):
        env = task["containerDefinitions"][0]["environment"]
        env[:] = [e for e in env if e["name"] != name] + ([{"name": name, "value": value}] if value else [])

    for expected, breakit in {
        "WEB_PROXY_UPLOAD_ORIGINS": lambda w, p: set_env(p, "WEB_PROXY_UPLOAD_ORIGINS", "https://photos.example"),
        "must be the stack's ${PHOTO_BUCKET}": lambda w, p: set_env(w, "PHOTO_BUCKET", None),
        "PHOTO_S3_ENDPOINT": lambda w, p: set_env(w, "PHOTO_S3_ENDPOINT", "https://s3.example"),
    }.items():
        broken_was, broken_proxy = json.loads(json.dumps(was_task)), json.loads(json.dumps(proxy_task))
        breakit(broken_was, broken_proxy)
        if not any(expected in e for e in photo_rules(template, broken_was, broken_proxy)):
            raise SystemExit(f"self-test: breaking the photo settings ({expected!r}) went unnoticed")
    broken = json.loads(json.dumps(template))
    broken["Outputs"]["PhotoBucketOrigin"]["Value"] = {"Fn::Sub": "https://${PhotoBucket}.s3.amazonaws.com"}
    if not any("virtual-hosted origin" in e for e in photo_rules(broken, was_task, proxy_task)):
        raise SystemExit("self-test: breaking the photo bucket's origin output went unnoticed")
    if remind_schedule_rules(template, was_task, was_service):
        raise SystemExit(f"self-test: the template breaks the schedule rules: {remind_schedule_rules(template, was_task, was_service)}")

    def remind_role(r):
        return statements(r["RemindSchedulerRole"])

    def deploy_statement(r, action):
        return next(st for st in statements(r["DeployRole"]) if action in as_list(st["Action"]))

    for expected, breakit in {
        "one reminder schedule": lambda r: r.pop("RemindSchedule"),
        "Asia/Seoul": lambda r: r["RemindSchedule"]["Properties"].update(ScheduleExpressionTimezone="UTC"),
        "hourly": lambda r: r["RemindSchedule"]["Properties"].update(ScheduleExpression="rate(1 day)"),
        "FlexibleTimeWindow": lambda r: r["RemindSchedule"]["Properties"].update(
            FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 30}),
        "bounded": lambda r: r["RemindSchedule"]["Properties"]["Target"].pop("RetryPolicy"),
        "without a revision": lambda r: r["RemindSchedule"]["Properties"]["Target"]["EcsParameters"].update(
            TaskDefinitionArn={"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:"
                                          "task-definition/upbrella-was:7"}),
        "NetworkConfiguration": lambda r: r["RemindSchedule"]["Properties"]["Target"]["EcsParameters"].update(
            NetworkConfiguration={"AwsvpcConfiguration": {"Subnets": [{"Ref": "PublicSubnetA"}]}}),
        "capacity provider": lambda r: r["RemindSchedule"]["Properties"]["Target"]["EcsParameters"].update(
            LaunchType="EC2"),
        '["remind"]': lambda r: r["RemindSchedule"]["Properties"]["Target"].update(
            Input='{"containerOverrides": [{"name": "was", "command": ["serve"]}]}'),
        "trusted by scheduler": lambda r: r["RemindSchedulerRole"]["Properties"]["AssumeRolePolicyDocument"]
            ["Statement"][0].pop("Condition"),
        "ecs:RunTask only on": lambda r: remind_role(r)[0].update(Resource="*"),
        "only in the stack's cluster": lambda r: remind_role(r)[0].pop("Condition"),
        "execution and task roles": lambda r: remind_role(r)[1]["Resource"].append(
            {"Fn::GetAtt": ["MigrateExecutionRole", "Arn"]}),
        "ecs-tasks.amazonaws.com": lambda r: remind_role(r)[1].pop("Condition"),
        "may only run the task": lambda r: r["RemindSchedulerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"].append({"Effect": "Allow", "Action": "ecs:StopTask", "Resource": "*"}),
        "on the reminder schedule only": lambda r: deploy_statement(r, "scheduler:UpdateSchedule").update(
            Resource="*"),
        "only to scheduler.amazonaws.com": lambda r: next(
            st for st in statements(r["DeployRole"]) if {"Fn::GetAtt": ["RemindSchedulerRole", "Arn"]}
            in as_list(st.get("Resource"))).pop("Condition"),
    }.items():
        broken = json.loads(json.dumps(template))
        breakit(broken["Resources"])
        if not any(expected in e for e in remind_schedule_rules(broken, was_task, was_service)):
            raise SystemExit(f"self-test: breaking the reminder schedule ({expected!r}) went unnoticed")
    raw = {f: (HERE / "task-definitions" / f"{f}.json").read_text() for f in ("migrate", "was", "web-proxy")}
    for expected, breakit in {
        "does not use": lambda r: r["WebProxyExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"][0].update(Resource=[{"Ref": "ProxySecret"}, {"Ref": "ServerKey"}]),
        "shares": lambda r: r.update(MigrateExecutionRole=r["TaskExecutionRole"]),
    }.items():
        broken = json.loads(json.dumps(template))
        breakit(broken["Resources"])
        if expected == "shares":
            broken["Outputs"]["MigrateExecutionRoleArn"]["Value"] = {"Fn::GetAtt": ["TaskExecutionRole", "Arn"]}
        if not any(expected in e for e in execution_role_rules(broken, raw)):
            raise SystemExit(f"self-test: breaking the execution roles ({expected!r}) went unnoticed")
    was = load(HERE / "task-definitions" / "was.json")
    for expected, breakit in {
        "verify-full": lambda c: [e.update(value="require") for e in c["environment"] if e["name"] == "PGSSLMODE"],
        "SERVER_HMAC_KEY": lambda c: c.update(secrets=[x for x in c["secrets"] if x["name"] != "SERVER_HMAC_KEY"]),
        "WAS_PROXY_SECRET_ROTATING": lambda c: c.update(
            secrets=[x for x in c["secrets"] if x["name"] != "WAS_PROXY_SECRET_ROTATING"]),
        "UPBRELLA_RELEASE": lambda c: c.update(environment=[e for e in c["environment"] if e["name"] != "UPBRELLA_RELEASE"]),
    }.items():
        broken = json.loads(json.dumps(was))
        breakit(broken["containerDefinitions"][0])
        if not any(expected in e for e in task_rules(broken, "self-test")):
            raise SystemExit(f"self-test: breaking {expected!r} went unnoticed")
    good = load(HERE / "task-definitions" / "web-proxy.json")
    cases = {
        "networkMode": lambda t: t.update(networkMode="bridged"),
        "healthCheck": lambda t: t["containerDefinitions"][0].pop("healthCheck"),
        "looks secret": lambda t: t["containerDefinitions"][0]["environment"].append({"name": "DB_PASSWORD", "value": "x"}),
        "stopTimeout": lambda t: t["containerDefinitions"][0].update(stopTimeout=5),
        "non-root": lambda t: t["containerDefinitions"][0].update(user="0"),
        "cpu": lambda t: t["containerDefinitions"][0].update(cpu="many"),
        "runtimePlatform": lambda t: t.pop("runtimePlatform"),
        "QR_LEGACY_UNTIL": lambda t: t["containerDefinitions"][0]["environment"].append({"name": "QR_LEGACY_CODES", "value": "accept"}),
    }
    for expected, breakit in cases.items():
        broken = json.loads(json.dumps(good))
        breakit(broken)
        found = against_model(broken, "RegisterTaskDefinition", "self-test") + task_rules(broken, "self-test")
        if not any(expected in e for e in found):
            raise SystemExit(f"self-test: breaking {expected!r} went unnoticed: {found}")


def main():
    self_test()
    errors = []
    outputs, alarms = template_facts()
    template = load_template()
    errors += mail_policy_rules(template)
    errors += template_rules(template)
    errors += execution_role_rules(
        template, {p.stem: p.read_text() for p in sorted((HERE / "task-definitions").glob("*.json"))})
    errors += remind_schedule_rules(template, *(json.loads((HERE / d / "was.json").read_text())
                                                for d in ("task-definitions", "services")))
    errors += photo_rules(template, *(json.loads((HERE / "task-definitions" / f).read_text())
                                      for f in ("was.json", "web-proxy.json")))
    for path in sorted(HERE.glob("*/*.json")) + [HERE / "scaling.json"]:
        for var in sorted(variables(path) - outputs - NOT_FROM_STACK):
            errors.append(f"{path.name}: ${{{var}}} is not an output of the stack")
    scaling = load(HERE / "scaling.json")
    tasks = {}
    for path in sorted((HERE / "task-definitions").glob("*.json")):
        task = load(path)
        tasks[task["family"]] = task
        errors += against_model(task, "RegisterTaskDefinition", path.name)
        errors += task_rules(task, path.name)
    services = []
    for path in sorted((HERE / "services").glob("*.json")):
        svc = load(path)
        services.append((svc, 0))
        errors += against_model(svc, "CreateService", path.name)
        errors += service_rules(svc, path.name, alarms)
        if svc["taskDefinition"] not in tasks:
            errors.append(f"{path.name}: no task definition {svc['taskDefinition']}")
        rules = scaling.get(svc["serviceName"])
        if rules is None:
            errors.append(f"scaling.json: no rules for {svc['serviceName']}")
            continue
        errors += scaling_rules(svc["serviceName"], rules, f"scaling.json:{svc['serviceName']}")
        services[-1] = (svc, rules["scalableTarget"]["MinCapacity"])
    cap_errors, mem, cpu = capacity(tasks, services, one_offs=[tasks["upbrella-was"]])
    errors += cap_errors
    for e in errors:
        print(f"error: {e}")
    print(f"{len(tasks)} task definitions, {len(services)} services and their scaling checked against the "
          f"API models and the stack's {len(outputs)} outputs and {len(alarms)} alarms; "
          f"peak per host during a deployment with a reminder run: {mem} MiB reserved, {cpu} CPU units; the "
          f"hourly reminder schedule and its role, the store photo bucket and who may write to it checked")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
