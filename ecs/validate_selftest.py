"""The checks of ecs/validate.py must be able to fail: each breaks a copy of what it
checks and expects the rule to say so."""

import json

from cfn import load_template
from validate_model import HERE, against_model, load, task_rules
from validate_stack import (
    PHOTO_OBJECTS,
    as_list,
    execution_role_rules,
    mail_policy_rules,
    photo_rules,
    remind_schedule_rules,
    statements,
    template_rules,
)


def definitions():
    was_task, was_service = (json.loads((HERE / d / "was.json").read_text()) for d in ("task-definitions", "services"))
    proxy_task = json.loads((HERE / "task-definitions" / "web-proxy.json").read_text())
    return was_task, was_service, proxy_task


def policy_and_template_cases(template):
    """The SES policy and the template rules."""
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


def photo_cases(template):
    """The store photo bucket, who may write to it, and the tasks' settings for it."""
    was_task, _, proxy_task = definitions()
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


def schedule_cases(template):
    """The hourly reminder schedule and its role."""
    was_task, was_service, _ = definitions()
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


def task_cases(template):
    """The execution roles and the task definitions' rules."""
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
        "one event a line": lambda t: t["containerDefinitions"][0]["logConfiguration"]["options"].update(
            {"awslogs-multiline-pattern": "^\\d{4}"}),
    }
    for expected, breakit in cases.items():
        broken = json.loads(json.dumps(good))
        breakit(broken)
        found = against_model(broken, "RegisterTaskDefinition", "self-test") + task_rules(broken, "self-test")
        if not any(expected in e for e in found):
            raise SystemExit(f"self-test: breaking {expected!r} went unnoticed: {found}")



def self_test():
    """The checks must be able to fail: break a copy of each rule and expect an error."""
    template = load_template()
    policy_and_template_cases(template)
    photo_cases(template)
    schedule_cases(template)
    task_cases(template)
