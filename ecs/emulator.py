"""The AWS emulator the deploy rehearsal runs against (moto), and what it is made to do
differently. A stand-in for AWS: every figure and outcome it gives is the emulator's.

moto's gaps, and what stands in for each (none of it touches the real template or
the deploy programs; each is listed in the rehearsal's output):

- its YAML parser splits `!GetAtt A.B.C` on every dot: the template goes to moto as
  JSON, converted by ecs/cfn.py;
- types it does not create from a template (Secrets Manager secrets, ElastiCache, the
  ECS capacity provider and its association, the OIDC provider, CloudWatch alarms) and
  attributes it does not implement (the RDS-managed secret's ARN, DbiResourceId, the
  Redis endpoint) are replaced by fixed placeholder values or, where deploy.py needs
  them to exist, created through moto's own APIs;
- the HTTPS listener needs a certificate in ACM: one is requested in moto first;
- no ECS agent registers the instances: the Auto Scaling group's instances are
  registered as container instances here;
- no `docker push`: images are put into ECR with a small manifest;
- update_service keeps the old revision in the PRIMARY deployment it reports and says
  COMPLETED at once: the emulator is patched to start a new deployment (a new id) that
  stays IN_PROGRESS for a few status reads, as ECS does, and to roll back (a new primary
  deployment of the previous revision) an image tagged `rollback`; its tasks always exit
  0: it is patched to report exit code 1 for the tag `broken` and to keep running for
  `hang`; reads are made to lag when a scenario asks for it;
- the readiness URL is a local server answering for the release the WAS service runs
  (503 for the tag `notready`, or when the WAS holds a Redis token Redis would refuse);
- ElastiCache ignores AUTH token changes: rotate.py's requests are recorded, and the
  tokens Redis would accept are modelled from them;
- its CloudFormation makes S3 buckets without their CORS rules, public access block and
  ownership controls, and no bucket policies: those are applied through moto's S3 model
  from the resolved template, as CloudFormation would; likewise metric filters, the load
  balancers' attributes and the buckets' lifecycle rules (ecs/emulator_observability.py);
- its CloudFormation does not make EventBridge Scheduler schedules: the reminder
  schedule is made, updated and deleted through moto's Scheduler API as CloudFormation
  would (on create; on an update only when its resolved properties changed; with the
  stack).
"""

import copy
import http.server
import json
import re
import threading
import time

from moto.cloudformation import parsing as cfn_parsing
from moto.ecs import models as ecs_models
from moto.ecs.models import ecs_backends
from moto.elasticache.responses import ElastiCacheResponse
from moto.elbv2.models import elbv2_backends
from moto.core.common_models import CloudFormationModel
from moto.s3.models import FakeBucket, s3_backends
from moto.scheduler.models import scheduler_backends
from moto.secretsmanager.models import SecretsManagerBackend

from cfn import load_template
from emulator_observability import STAND_INS, apply_lifecycle

# Each stand-in, said once in the rehearsal's output.
SUBSTITUTED = []


# ------------------------------------------------------------------ emulator patches
# What the emulator is told to do differently, per scenario (see the docstring).
LAG = {"services": False, "tasks": False}
STUCK = {"rollouts": False}
stale_reads = {}
seen_tasks = set()
# The order in which credentials and services changed, for the rotation checks.
timeline = []
# The values written to the secrets, in order, for the proxy rotation's safety check.
secret_writes = []

_update_service = ecs_models.EC2ContainerServiceBackend.update_service


# A new deployment stays IN_PROGRESS for this many status reads, as a real rollout does
# for minutes; deploy.py must keep polling through it.
ROLLOUT_READS = 3
rollouts = {}


def update_service_with_deployment(self, service_properties):
    name = service_properties["service"]  # moto's update_service pops it
    key = f"{service_properties.get('cluster', 'default')}:{name}"
    before = self.services.get(key)
    previous = before.task_definition if before else None
    if before is not None and LAG["services"]:
        # The next read of this service answers what it was before this write.
        stale_reads[key] = (copy.deepcopy(before.deployments), before.task_definition)
    new_revision = service_properties.get("task_definition")
    forced = service_properties.get("force_new_deployment")
    service = _update_service(self, service_properties)
    if (new_revision or forced) and service.deployments:
        timeline.append(("roll", name))
        deployment = service.deployments[0]
        deployment.update(taskDefinition=service.task_definition, id=f"ecs-svc/rehearsal-{time.monotonic_ns()}",
                          desiredCount=service.desired_count, runningCount=0, rolloutState="IN_PROGRESS",
                          status="PRIMARY")
        rollouts[deployment["id"]] = [ROLLOUT_READS, previous]
    return service


_describe_services = ecs_models.EC2ContainerServiceBackend.describe_services


def describe_services_advancing(self, cluster_str, names):
    """Advances rollouts; one of an image tagged `rollback` is rolled back by the
    "circuit breaker": a new primary deployment of the previous revision replaces it."""
    services, failures = _describe_services(self, cluster_str, names)
    answered = []
    for service in services:
        key = f"{service.cluster_name}:{service.name}"
        if key in stale_reads:
            deployments, task_definition = stale_reads.pop(key)
            stale = copy.copy(service)
            stale.deployments, stale.task_definition = deployments, task_definition
            answered.append(stale)
            continue
        answered.append(service)
        for deployment in list(service.deployments):
            state = rollouts.get(deployment["id"])
            if not state or STUCK["rollouts"]:
                continue
            state[0] -= 1
            if state[0] > 0:
                continue
            rollouts.pop(deployment["id"])
            image = self.describe_task_definition(deployment["taskDefinition"]).container_definitions[0]["image"]
            if image.endswith(":rollback"):
                service.task_definition = state[1]
                service.deployments[:] = [dict(deployment, id=f"ecs-svc/rehearsal-{time.monotonic_ns()}",
                                               taskDefinition=state[1], rolloutState="COMPLETED",
                                               runningCount=service.desired_count)]
                continue
            deployment.update(rolloutState="COMPLETED", runningCount=service.desired_count)
    return answered, failures


ecs_models.EC2ContainerServiceBackend.update_service = update_service_with_deployment
ecs_models.EC2ContainerServiceBackend.describe_services = describe_services_advancing

_describe_tasks = ecs_models.EC2ContainerServiceBackend.describe_tasks


def describe_tasks_as_tagged(self, cluster_str, tasks):
    """Tasks of an image tagged `broken` exit 1; of `hang`, run until stopped; with
    lagging reads, a task is missing from the first read after it started."""
    found = _describe_tasks(self, cluster_str, tasks)
    answered = []
    for task in found:
        image = self.describe_task_definition(task.task_definition_arn).container_definitions[0]["image"]
        if image.endswith(":broken"):
            task.last_status = "STOPPED"
            task.stopped_reason = "Essential container in task exited"
            for container in task.containers:
                container.exitCode = 1
        elif image.endswith(":hang") and task.desired_status != "STOPPED":
            task.last_status = "RUNNING"
        if LAG["tasks"] and task.task_arn not in seen_tasks:
            seen_tasks.add(task.task_arn)
            continue
        answered.append(task)
    return answered


ecs_models.EC2ContainerServiceBackend.describe_tasks = describe_tasks_as_tagged

# moto's CloudFormation cannot delete target groups or ECS clusters (it drops them from
# the stack and leaves them), and keeps route tables with routes, so their VPC: deleted
# here as CloudFormation would, the VPC left (it has no fixed name).
_delete_resources = cfn_parsing.ResourceMap.delete


def delete_as_cloudformation(self):
    kept = [(r["Type"], self._parsed_resources.get(name)) for name, r in self._resource_json_map.items()
            if r["Type"] in ("AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::ECS::Cluster")
            and r.get("DeletionPolicy") != "Retain"]
    try:
        _delete_resources(self)
    except Exception as e:  # noqa: BLE001 (moto raises its own exception types)
        if "vpc" not in str(e) or "has dependencies" not in str(e):
            raise
    # The schedules made for the stack through the Scheduler API (see apply_schedules).
    backend = scheduler_backends[self._account_id][self._region_name]
    for properties in UNMANAGED.values():
        try:
            backend.delete_schedule(None, properties["Name"])
        except Exception:  # noqa: BLE001 (moto's ScheduleNotFound: a failed create never made it)
            pass
    applied.clear()
    for kind, resource in kept:
        if resource is None or isinstance(resource, str):
            continue
        if kind == "AWS::ElasticLoadBalancingV2::TargetGroup":
            elbv2_backends[self._account_id][self._region_name].delete_target_group(resource.arn)
        else:
            ecs_backends[self._account_id][self._region_name].delete_cluster(resource.name)


cfn_parsing.ResourceMap.delete = delete_as_cloudformation
SUBSTITUTED.append("stack deletion: target groups and the cluster deleted as CloudFormation does (moto leaves "
                   "them), the VPC kept (moto keeps its route tables; it has no fixed name)")

# moto's ElastiCache ignores AuthToken and AuthTokenUpdateStrategy: what rotate.py asks
# for is recorded here (and the tokens Redis would accept are modelled from it).
redis_tokens = set()
_modify_replication_group = ElastiCacheResponse.modify_replication_group


def modify_replication_group_recording(self):
    token, strategy = self._get_param("AuthToken"), self._get_param("AuthTokenUpdateStrategy")
    if token:
        timeline.append(("redis", strategy))
        if strategy == "SET":
            redis_tokens.clear()
        redis_tokens.add(token)
    return _modify_replication_group(self)


ElastiCacheResponse.modify_replication_group = modify_replication_group_recording

_put_secret_value = SecretsManagerBackend.put_secret_value


def put_secret_value_recording(self, secret_id, secret_string, *args, **kwargs):
    name = secret_id.rsplit(":", 1)[-1].rsplit("-", 1)[0]
    timeline.append(("secret", name))
    secret_writes.append((name, secret_string))
    return _put_secret_value(self, secret_id, secret_string, *args, **kwargs)


SecretsManagerBackend.put_secret_value = put_secret_value_recording


# moto's CloudFormation makes a bucket with its encryption and tags only, and knows no
# AWS::S3::BucketPolicy: the rest of the photo bucket is applied through moto's S3 model
# from the resolved properties, as CloudFormation would.
_create_bucket = FakeBucket.create_from_cloudformation_json.__func__


def s3_backend(account_id):
    return s3_backends[account_id]["aws"]


@classmethod
def create_bucket_as_cloudformation(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    bucket = _create_bucket(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json.get("Properties", {})
    backend = s3_backend(account_id)
    rules = properties.get("CorsConfiguration", {}).get("CorsRules", [])
    if rules:
        backend.put_bucket_cors(bucket.name, [
            {"AllowedMethod": r["AllowedMethods"], "AllowedOrigin": r["AllowedOrigins"],
             "AllowedHeader": r.get("AllowedHeaders", []), "MaxAgeSeconds": str(r.get("MaxAge", 0))} for r in rules])
    block = properties.get("PublicAccessBlockConfiguration")
    if block:
        backend.put_public_access_block(bucket.name, {k: str(v).lower() for k, v in block.items()})
    ownership = properties.get("OwnershipControls", {}).get("Rules")
    if ownership:
        backend.put_bucket_ownership_controls(bucket.name, ownership[0]["ObjectOwnership"])
    apply_lifecycle(bucket, properties, account_id)
    return bucket


FakeBucket.create_from_cloudformation_json = create_bucket_as_cloudformation


class BucketPolicy(CloudFormationModel):
    """AWS::S3::BucketPolicy, put on (and deleted from) its bucket in moto's S3 model."""

    # moto files every model under the service its module names.
    __module__ = "moto.s3.bucket_policy_stand_in"

    def __init__(self, bucket):
        self.bucket = bucket

    @property
    def physical_resource_id(self):
        return self.bucket

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::S3::BucketPolicy"

    @classmethod
    def has_cfn_attr(cls, attr):
        return False

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        s3_backend(account_id).put_bucket_policy(properties["Bucket"], json.dumps(properties["PolicyDocument"]).encode())
        return cls(properties["Bucket"])

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        try:
            s3_backend(account_id).delete_bucket_policy(cloudformation_json["Properties"]["Bucket"])
        except Exception:  # noqa: BLE001 (moto's NoSuchBucket: the bucket went first)
            pass


cfn_parsing.get_model_map.cache_clear()
cfn_parsing.get_name_type_map.cache_clear()
SUBSTITUTED.append("the buckets' CORS rule, public access block, ownership controls and bucket policies: "
                   "applied through moto's S3 model from the resolved template (moto's CloudFormation skips them)")
SUBSTITUTED.extend(STAND_INS)


# ------------------------------------------------------------------ template
def walk(node, fn):
    node = fn(node)
    if isinstance(node, dict):
        return {k: walk(v, fn) for k, v in node.items()}
    if isinstance(node, list):
        return [walk(v, fn) for v in node]
    return node


def replace_references(template, resource, value_of):
    """Every Ref/GetAtt of `resource` (also inside Fn::Sub strings) becomes a literal."""

    def fn(node):
        if isinstance(node, dict):
            if node.get("Ref") == resource:
                return value_of(None)
            getatt = node.get("Fn::GetAtt")
            if isinstance(getatt, list) and getatt[0] == resource:
                return value_of(getatt[1])
            sub = node.get("Fn::Sub")
            if isinstance(sub, str) and "${" + resource in sub:
                # ${Resource} or ${Resource.Any.Attribute}, but not ${ResourceLonger}.
                reference = re.compile(r"\$\{" + re.escape(resource) + r"(?:\.([A-Za-z0-9.]+))?\}")
                return {"Fn::Sub": reference.sub(lambda m: str(value_of(m.group(1))), sub)}
        return node

    return walk(template, fn)


def moto_template(values, created=True):
    """The template as moto can take it. `created`: the stack is deleted after a create
    that succeeded, where CloudFormation keeps RetainExceptOnCreate resources (moto knows
    only Retain); otherwise the deletion is a failed create's rollback, where it deletes
    them (moto's default for any other policy)."""
    template = load_template()
    resources = template["Resources"]
    for resource in resources.values():
        if resource.get("DeletionPolicy") == "RetainExceptOnCreate":
            resource["DeletionPolicy"] = "Retain" if created else "Delete"
    SUBSTITUTED.append("DeletionPolicy RetainExceptOnCreate: given to moto as Retain for a stack that was created, "
                       "as Delete for a failed create's rollback (moto knows neither rollbacks nor that policy)")
    for name, kind, value_of in [
        ("RedisAuthToken", "AWS::SecretsManager::Secret", lambda a: values["redis_secret"]),
        ("BankKey", "AWS::SecretsManager::Secret", lambda a: values["bank_secret"]),
        ("ProxySecret", "AWS::SecretsManager::Secret", lambda a: values["proxy_secret"]),
        ("ProxySecretRotating", "AWS::SecretsManager::Secret", lambda a: values["proxy_secret_rotating"]),
        ("ServerKey", "AWS::SecretsManager::Secret", lambda a: values["server_key_secret"]),
        ("MailIdentity", "AWS::SES::EmailIdentity",
         lambda a: f"rehearsal-{a.lower()}" if a else "upbrella.example.com"),
        ("SessionStore", "AWS::ElastiCache::ReplicationGroup",
         lambda a: "master.upbrella.rehearsal.apn2.cache.amazonaws.com" if a else "upbrella-sessions"),
        ("CacheSubnetGroup", "AWS::ElastiCache::SubnetGroup", lambda a: "upbrella-cache"),
        ("CapacityProvider", "AWS::ECS::CapacityProvider", lambda a: values["capacity_provider"]),
        ("ClusterCapacityProviders", "AWS::ECS::ClusterCapacityProviderAssociations", lambda a: "upbrella"),
        ("GitHubOidcProvider", "AWS::IAM::OIDCProvider", lambda a: "oidc"),
    ]:
        assert resources[name]["Type"] == kind, f"{name} is no longer a {kind}; update the rehearsal"
        resources.pop(name)
        template = replace_references(template, name, value_of)
        resources = template["Resources"]
        SUBSTITUTED.append(f"{name} ({kind}): not created by moto's CloudFormation; placeholder or API-created")
    for name in [n for n, r in resources.items() if r["Type"] in ("AWS::CloudWatch::Alarm", "AWS::SNS::Subscription")]:
        resources.pop(name)
    SUBSTITUTED.append("CloudWatch alarms and the e-mail subscription: left out (moto's CloudFormation skips alarms)")
    secret = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:rds!db-rehearsal-AbCdEf"

    def database(attribute):
        return {"MasterUserSecret.SecretArn": secret, "DbiResourceId": "db-REHEARSAL"}.get(attribute) or {"Fn::GetAtt": ["Database", attribute]}

    def fn(node):
        if isinstance(node, dict):
            getatt = node.get("Fn::GetAtt")
            if getatt in (["Database", "MasterUserSecret.SecretArn"], ["Database", "DbiResourceId"]):
                return database(getatt[1])
            if isinstance(getatt, list) and getatt[1] == "TargetGroupFullName":
                return f"targetgroup/{getatt[0]}/rehearsal"
            sub = node.get("Fn::Sub")
            if isinstance(sub, str):
                sub = sub.replace("${Database.DbiResourceId}", "db-REHEARSAL")
                for group in ("WasTargetGroup", "WebProxyTargetGroup"):
                    sub = sub.replace("${%s.TargetGroupFullName}" % group, f"targetgroup/{group}/rehearsal")
                return {"Fn::Sub": sub}
        return node

    template = walk(template, fn)
    SUBSTITUTED.append("Database.MasterUserSecret.SecretArn, Database.DbiResourceId, the target groups' "
                       "TargetGroupFullName: placeholders (moto lacks the attributes)")
    for name in [n for n, r in template["Resources"].items() if r["Type"] == "AWS::Scheduler::Schedule"]:
        properties = template["Resources"].pop(name)["Properties"]
        template = replace_references(template, name, lambda a, p=properties: p["Name"])
        UNMANAGED[name] = properties
        SUBSTITUTED.append(f"{name} (AWS::Scheduler::Schedule): made through moto's Scheduler API as "
                           "CloudFormation would (moto's CloudFormation skips the type)")
    return template


# Schedules taken out of the template (their properties, references to the other
# resources still in them) and what was last applied of each.
UNMANAGED = {}
applied = {}
# Lists whose items the Scheduler API spells in camelCase (CloudFormation: PascalCase).
CAMEL_CASE_ITEMS = ("CapacityProviderStrategy", "PlacementStrategy")


def camel(item):
    return {k[0].lower() + k[1:]: v for k, v in item.items()}


def resolve(node, stack_resources, region, account):
    """The schedule's Ref/GetAtt/Sub, as CloudFormation resolves them for this stack."""

    def fn(value):
        if isinstance(value, dict) and "Fn::Sub" in value:
            text = value["Fn::Sub"]
            for pseudo, literal in (("AWS::Partition", "aws"), ("AWS::Region", region), ("AWS::AccountId", account)):
                text = text.replace("${%s}" % pseudo, literal)
            return text
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            return stack_resources(resource, attribute)
        return value

    resolved = walk(node, fn)

    def api(value):
        if isinstance(value, dict):
            return {k: [camel(i) for i in v] if k in CAMEL_CASE_ITEMS else api(v) for k, v in value.items()}
        return value

    return api(resolved)


def apply_schedules(aws, stack, region, account="123456789012"):
    """Creates or updates the stack's schedules as CloudFormation would: an update only
    when the template's resolved properties changed (CloudFormation compares templates,
    not the live schedule, which deploy.py changes)."""
    cfn, scheduler = aws("cloudformation"), aws("scheduler")

    def stack_resources(resource, attribute):
        found = next(r for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]
                     if r.get("LogicalResourceId") == resource)
        physical, kind = found["PhysicalResourceId"], found["ResourceType"]
        if attribute != "Arn":
            raise ValueError(f"the rehearsal resolves only Arn, not {resource}.{attribute}")
        if physical.startswith("arn:"):
            return physical
        if kind == "AWS::IAM::Role":
            return aws("iam").get_role(RoleName=physical)["Role"]["Arn"]
        if kind == "AWS::ECS::Cluster":
            return aws("ecs").describe_clusters(clusters=[physical])["clusters"][0]["clusterArn"]
        raise ValueError(f"the rehearsal cannot resolve {kind} {resource}.Arn")

    for name, properties in UNMANAGED.items():
        wanted = resolve(properties, stack_resources, region, account)
        if applied.get(name) == wanted:
            continue
        if name in applied:
            scheduler.update_schedule(**wanted)
        else:
            scheduler.create_schedule(**wanted)
        applied[name] = wanted



class Readiness(http.server.ThreadingHTTPServer):
    """Stands in for https://DOMAIN/api/ready: answers for the release the WAS service
    runs in the emulator, 503 for an image tagged `notready` (its Redis refuses the
    token, say), or while the Redis token the WAS holds is not one Redis accepts."""

    def __init__(self, ecs, secrets):
        self.ecs, self.secrets = ecs, secrets
        super().__init__(("127.0.0.1", 0), ReadinessHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/api/ready"

    def answer(self):
        service = self.ecs.describe_services(cluster="upbrella", services=["upbrella-was"])["services"]
        if not service:
            return 502, {"message": "no WAS"}
        definition = self.ecs.describe_task_definition(taskDefinition=service[0]["taskDefinition"])["taskDefinition"]
        container = definition["containerDefinitions"][0]
        release = container["image"].rsplit(":", 1)[1]
        token_arn = next(s["valueFrom"] for s in container["secrets"] if s["name"] == "REDIS_PASSWORD")
        token = self.secrets.get_secret_value(SecretId=token_arn)["SecretString"]
        if release == "notready" or (redis_tokens and token not in redis_tokens):
            return 503, {"status": "unavailable", "release": release,
                         "message": "서비스가 준비되지 않았습니다 (not ready): 세션 저장소 (Redis)"}
        return 200, {"status": "ready", "release": release}


class ReadinessHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the standard library's name)
        status, body = self.server.answer()
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass
