"""Rules for the CloudFormation template: IAM (mail, execution roles, photo uploads, the
reminder schedule's role), deletion policies and the deploy role (ecs/validate.py runs
them)."""

import json
import re

from deploy import snake


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
    return errors + remind_role_rules(template, role_ref, was_task)


def remind_role_rules(template, role_ref, was_task):
    """The reminder schedule's role may start the WAS family's task in the stack's
    cluster and pass the WAS's two roles, nothing else; the deploy role may repoint the
    schedule and pass that role to Scheduler only."""
    resources = template["Resources"]
    role = resources.get(role_ref)
    if role is None or role["Type"] != "AWS::IAM::Role":
        return ["RemindSchedule: RoleArn must be a role of the stack"]
    errors = []
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

