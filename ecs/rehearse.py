#!/usr/bin/env python3
"""A deploy rehearsal against moto, a local AWS emulator (a stand-in for AWS: every figure
and outcome printed here is the emulator's).

It creates the stack from ecs/cloudformation/upbrella.yaml, then runs the real
ecs/deploy.py against it, as the deploy workflow does:

1. first deploy (v1): task definitions registered, the migration task run and awaited,
   both services created with the new images, auto scaling registered;
2. auto scaling moves the WAS to 3 tasks; a second deploy (v2) updates both services to
   new revisions with the new images and leaves the task count alone;
3. the same deploy again (a re-run of the workflow): succeeds;
4. a deploy whose migration exits 1: fails before any service changes;
5. a deploy the circuit breaker rolls back: fails, naming the service;
6. a deploy of a tag that was never pushed: fails before anything is registered;
7. a stack update (another parameter value): the services keep running what the last
   deploy put there.

moto's gaps, and what stands in for each (none of it touches the real template or
deploy.py; each is applied here and listed in the output):

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
  COMPLETED at once: the emulator is patched to start a new deployment that stays
  IN_PROGRESS for a few status reads, as ECS does, and to roll back (the primary
  deployment returning to the previous revision) an image tagged `rollback`; its tasks
  always exit 0: it is patched to report exit code 1 for the tag `broken`.

What it cannot show is listed at the end of the output.
"""

import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import logging  # noqa: E402

import boto3  # noqa: E402
from moto.ecs import models as ecs_models  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from cfn import load_template  # noqa: E402
from deploy import strategy_changed  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.ERROR)
REGION = "ap-northeast-2"
STACK = "upbrella"
# Services report their desired tasks as running (there is no ECS agent to run them).
os.environ["MOTO_ECS_SERVICE_RUNNING"] = "3"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal", "AWS_DEFAULT_REGION": REGION}
os.environ.update(CREDENTIALS)

SUBSTITUTED = []
failures = []


def check(condition, what):
    print(f"  {'ok  ' if condition else 'FAIL'} {what}", flush=True)
    if not condition:
        failures.append(what)


# ------------------------------------------------------------------ emulator patches
_update_service = ecs_models.EC2ContainerServiceBackend.update_service


# A new deployment stays IN_PROGRESS for this many status reads, as a real rollout does
# for minutes; deploy.py must keep polling through it.
ROLLOUT_READS = 3
rollouts = {}


def update_service_with_deployment(self, service_properties):
    new_revision = service_properties.get("task_definition")
    previous = self.services.get(f"{service_properties.get('cluster', 'default')}:{service_properties['service']}")
    previous = previous.task_definition if previous else None
    service = _update_service(self, service_properties)
    if new_revision and service.deployments:
        deployment = service.deployments[0]
        deployment.update(taskDefinition=service.task_definition, id=f"ecs-svc/rehearsal-{time.monotonic_ns()}",
                          desiredCount=service.desired_count, runningCount=0, rolloutState="IN_PROGRESS")
        rollouts[deployment["id"]] = [ROLLOUT_READS, previous]
    return service


_describe_services = ecs_models.EC2ContainerServiceBackend.describe_services


def describe_services_advancing(self, cluster_str, names):
    """Advances rollouts; one of an image tagged `rollback` is rolled back by the
    "circuit breaker": the primary deployment returns to the previous revision."""
    services, failures = _describe_services(self, cluster_str, names)
    for service in services:
        for deployment in service.deployments:
            state = rollouts.get(deployment["id"])
            if not state:
                continue
            state[0] -= 1
            if state[0] > 0:
                continue
            rollouts.pop(deployment["id"])
            image = self.describe_task_definition(deployment["taskDefinition"]).container_definitions[0]["image"]
            if image.endswith(":rollback"):
                service.task_definition = deployment["taskDefinition"] = state[1]
            deployment.update(rolloutState="COMPLETED", runningCount=service.desired_count)
    return services, failures


ecs_models.EC2ContainerServiceBackend.update_service = update_service_with_deployment
ecs_models.EC2ContainerServiceBackend.describe_services = describe_services_advancing

_describe_tasks = ecs_models.EC2ContainerServiceBackend.describe_tasks


def describe_tasks_failing_broken(self, cluster_str, tasks):
    found = _describe_tasks(self, cluster_str, tasks)
    for task in found:
        image = self.describe_task_definition(task.task_definition_arn).container_definitions[0]["image"]
        if image.endswith(":broken"):
            task.last_status = "STOPPED"
            task.stopped_reason = "Essential container in task exited"
            for container in task.containers:
                container.exitCode = 1
    return found


ecs_models.EC2ContainerServiceBackend.describe_tasks = describe_tasks_failing_broken


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


def moto_template(values):
    template = load_template()
    resources = template["Resources"]
    for name, kind, value_of in [
        ("RedisAuthToken", "AWS::SecretsManager::Secret", lambda a: values["redis_secret"]),
        ("BankKey", "AWS::SecretsManager::Secret", lambda a: values["bank_secret"]),
        ("ProxySecret", "AWS::SecretsManager::Secret", lambda a: values["proxy_secret"]),
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
    return template


# ------------------------------------------------------------------ the rehearsal
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deploy(endpoint, tag, *extra):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(HERE / "deploy.py"), "--stack", STACK, "--image-tag", tag, "--region", REGION,
         "--endpoint-url", endpoint, "--poll", "0.05", "--timeout", "60", *extra],
        capture_output=True, text=True, env=dict(os.environ, **CREDENTIALS), timeout=300,
    )
    for line in (result.stdout + result.stderr).splitlines():
        print(f"    | {line}")
    return result.returncode, time.monotonic() - started, result.stdout + result.stderr


def main():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    aws = lambda name: boto3.client(name, region_name=REGION, endpoint_url=endpoint)  # noqa: E731
    try:
        # moto does not keep a service's capacity provider strategy, so deploy.py's rule
        # for changing it (ECS wants a new deployment then) is checked on its own.
        print("==> deploy.py: when a new deployment must be forced")
        asg = {"capacityProvider": "upbrella-asg", "weight": 1, "base": 0}
        other = {"capacityProvider": "spot", "weight": 1, "base": 0}
        check(not strategy_changed([asg, other], [other, asg]), "the same strategy in another order: no")
        check(strategy_changed([asg], [dict(asg, weight=2)]), "another weight: yes")
        check(strategy_changed(None, [asg]), "none before, one now: yes")
        print(f"==> moto (AWS emulator, a stand-in) on {endpoint}")
        secrets = aws("secretsmanager")
        values = {
            "redis_secret": secrets.create_secret(Name="upbrella/redis-auth", SecretString="r" * 64)["ARN"],
            "bank_secret": secrets.create_secret(Name="upbrella/bank-key", SecretString="0" * 64)["ARN"],
            "proxy_secret": secrets.create_secret(Name="upbrella/proxy-secret", SecretString="p" * 48)["ARN"],
            "server_key_secret": secrets.create_secret(Name="upbrella/server-hmac-key", SecretString="1" * 64)["ARN"],
            "capacity_provider": "upbrella-asg",
        }
        certificate = aws("acm").request_certificate(DomainName="upbrella.example.com")["CertificateArn"]
        SUBSTITUTED.append("CertificateArn: a certificate requested in moto's ACM")

        print("==> create the stack (no image exists yet)")
        cfn = aws("cloudformation")
        parameters = [
            {"ParameterKey": "DomainName", "ParameterValue": "upbrella.example.com"},
            {"ParameterKey": "CertificateArn", "ParameterValue": certificate},
            {"ParameterKey": "GitHubRepository", "ParameterValue": "acme/upbrella"},
        ]
        body = json.dumps(moto_template(values))
        cfn.create_stack(StackName=STACK, TemplateBody=body, Parameters=parameters, Capabilities=["CAPABILITY_NAMED_IAM"])
        stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
        check(stack["StackStatus"] == "CREATE_COMPLETE", f"stack {stack['StackStatus']}")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        check(outputs.get("ClusterName") == "upbrella", "the cluster exists, with no services")
        ecs = aws("ecs")
        check(ecs.list_services(cluster="upbrella")["serviceArns"] == [], "no service before the first deploy")
        ecr = aws("ecr")
        repos = sorted(r["repositoryName"] for r in ecr.describe_repositories()["repositories"])
        check(repos == ["upbrella/was", "upbrella/web-proxy"], f"ECR repositories {repos}")
        role = aws("iam").get_role(RoleName="upbrella-github-deploy")["Role"]
        trust = json.dumps(role["AssumeRolePolicyDocument"])
        check("repo:acme/upbrella:environment:production:ref:refs/heads/main" in trust, "deploy role trusts main's production job")
        ecs.create_capacity_provider(name="upbrella-asg", autoScalingGroupProvider={
            "autoScalingGroupArn": "arn:aws:autoscaling:ap-northeast-2:123456789012:autoScalingGroup:rehearsal",
            "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
            "managedTerminationProtection": "DISABLED"})
        ecs.put_cluster_capacity_providers(cluster="upbrella", capacityProviders=["upbrella-asg"],
                                           defaultCapacityProviderStrategy=[{"capacityProvider": "upbrella-asg", "weight": 1}])
        instances = [i["InstanceId"] for g in aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
                     for i in g["Instances"]]
        ec2 = aws("ec2")
        for instance in ec2.describe_instances(InstanceIds=instances)["Reservations"][0]["Instances"] if instances else []:
            document = json.dumps({"instanceId": instance["InstanceId"], "region": REGION,
                                   "availabilityZone": instance["Placement"]["AvailabilityZone"]})
            ecs.register_container_instance(cluster="upbrella", instanceIdentityDocument=document)
        check(len(instances) >= 2, f"{len(instances)} container instances from the Auto Scaling group")

        def push(tag):
            manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                   "config": {"digest": f"sha256:{tag:0>64}"[:71], "size": 1, "mediaType": "application/vnd.oci.image.config.v1+json"},
                                   "layers": []})
            for repo in ("upbrella/was", "upbrella/web-proxy"):
                ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)

        def service(name):
            return ecs.describe_services(cluster="upbrella", services=[name])["services"][0]

        def image_of(svc):
            definition = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
            return definition["containerDefinitions"][0]["image"].rsplit(":", 1)[1]

        print("==> first deploy: v1")
        push("v1")
        code, took, _ = deploy(endpoint, "v1")
        check(code == 0, f"deploy v1 exits 0 ({took:.1f} s)")
        migrations = ecs.list_tasks(cluster="upbrella", startedBy="deploy-migrate")["taskArns"]
        check(len(migrations) == 1, "one migration task ran")
        for name in ("upbrella-was", "upbrella-web-proxy"):
            svc = service(name)
            check(image_of(svc) == "v1" and svc["desiredCount"] == 2, f"{name}: v1, {svc['desiredCount']} tasks")
        targets = aws("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
        check(sorted((t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets)
              == [("service/upbrella/upbrella-was", 2, 3), ("service/upbrella/upbrella-web-proxy", 2, 3)],
              "auto scaling: 2-3 tasks for each service")
        was_def = ecs.describe_task_definition(taskDefinition=service("upbrella-was")["taskDefinition"])["taskDefinition"]
        env = {e["name"]: e["value"] for e in was_def["containerDefinitions"][0]["environment"]}
        check(env.get("DATABASE_AUTH") == "rds-iam" and env.get("PGUSER") == "upbrella_app",
              "the WAS logs in as upbrella_app with IAM tokens")

        print("==> auto scaling sets the WAS to 3 tasks; second deploy: v2")
        ecs.update_service(cluster="upbrella", service="upbrella-was", desiredCount=3)
        push("v2")
        code, took, _ = deploy(endpoint, "v2")
        check(code == 0, f"deploy v2 exits 0 ({took:.1f} s)")
        check(_.count("IN_PROGRESS") >= 2, "it waited through the rollouts in progress")
        was = service("upbrella-was")
        check(image_of(was) == "v2" and was["taskDefinition"].endswith(":2"), f"upbrella-was: v2 at {was['taskDefinition'].rsplit('/', 1)[1]}")
        check(was["desiredCount"] == 3, f"upbrella-was keeps the 3 tasks auto scaling set (has {was['desiredCount']})")
        check(image_of(service("upbrella-web-proxy")) == "v2", "upbrella-web-proxy: v2")

        print("==> the same deploy again (a re-run)")
        code, took, _ = deploy(endpoint, "v2")
        check(code == 0 and image_of(service("upbrella-was")) == "v2", f"re-run of v2 exits 0 ({took:.1f} s)")

        print("==> a deploy whose migration fails")
        push("broken")
        before = service("upbrella-was")["taskDefinition"]
        code, _, out = deploy(endpoint, "broken")
        check(code == 1 and "the migration failed" in out, "deploy exits 1 naming the migration")
        check(service("upbrella-was")["taskDefinition"] == before and image_of(service("upbrella-web-proxy")) == "v2",
              "both services still run v2")

        print("==> a deploy the circuit breaker rolls back")
        push("rollback")
        code, _, out = deploy(endpoint, "rollback")
        check(code == 1 and "rolled back" in out, "deploy exits 1: the WAS was rolled back")
        check(image_of(service("upbrella-was")) == "v2" and image_of(service("upbrella-web-proxy")) == "v2",
              "the WAS runs v2 again and web-proxy was never touched")

        print("==> a deploy of a tag that was never pushed")
        registered = len(ecs.list_task_definitions()["taskDefinitionArns"])
        code, _, out = deploy(endpoint, "v3")
        check(code == 1 and "not in ECR" in out, "deploy exits 1: the image is not in ECR")
        check(len(ecs.list_task_definitions()["taskDefinitionArns"]) == registered, "nothing registered")

        print("==> images built for another architecture than the stack's instances")
        code, _, out = deploy(endpoint, "v2", "--architecture", "arm64")
        check(code == 1 and "the stack's instances x86_64" in out, "deploy exits 1: arm64 images, x86_64 instances")
        check(len(ecs.list_task_definitions()["taskDefinitionArns"]) == registered, "nothing registered")

        print("==> a stack update (MaxInstances 3 -> 4)")
        cfn.update_stack(StackName=STACK, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"],
                         Parameters=parameters + [{"ParameterKey": "MaxInstances", "ParameterValue": "4"}])
        status = cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]
        check(status == "UPDATE_COMPLETE", f"stack {status}")
        was = service("upbrella-was")
        check(image_of(was) == "v2" and was["desiredCount"] == 3, "the services still run v2 with their task counts")
    finally:
        server.stop()

    print("\nSubstitutions for the emulator's gaps (the real template and deploy.py are unchanged):")
    for s in SUBSTITUTED:
        print(f"  - {s}")
    print("""
What this rehearsal cannot show (moto does not model it): CloudFormation's ordering,
rollbacks and deletion policies; capacity providers placing tasks; the ALBs' health checks
and target registration; the circuit breaker and alarm rollbacks; secrets reaching the
containers; IAM enforcing any policy; a real exit code from the migration; image pulls on
the instances; instance refresh on a new AMI.""")
    if failures:
        print(f"\ndeploy rehearsal (moto emulator): {len(failures)} checks FAILED")
        return 1
    print("\ndeploy rehearsal (moto emulator): all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
