#!/usr/bin/env python3
"""A deploy rehearsal against moto, a local AWS emulator (a stand-in for AWS: every figure
and outcome printed here is the emulator's).

It creates the stack from ecs/cloudformation/upbrella.yaml, then runs the real
ecs/deploy.py, ecs/rotate.py and ecs/teardown.py against it, as the workflow and an
operator do:

1. a first create that fails late, rolled back, then retried (nothing with a fixed name
   may survive the rollback);
2. the first deploy (v1): task definitions registered, the migration task run and
   awaited, both services created, the release checked through the readiness URL, the
   hourly reminder schedule pointed at the WAS revision deployed (and a RunTask made as
   Scheduler makes it runs `was remind` of that revision), auto scaling registered, the
   images tagged deployed-v1, a warning while the database is not deletion-protected;
   protection then turned on;
3. auto scaling moves the WAS to 3 tasks; a second deploy (v2) through lagging reads
   (every service read after a write answers the old state once, every new task is
   missing from its first read) updates both services and leaves the task count alone;
4. the same deploy again (a re-run of the workflow): succeeds;
5. deploys that must fail, each leaving the services (and the reminder schedule) as
   they were: a migration that exits 1; a migration that hangs (stopped at its timeout);
   a rollout the circuit breaker rolls back; a release whose /api/ready says not ready
   (rolled back by deploy.py); a deploy while another rollout is unfinished; a tag never
   pushed; images for another architecture;
6. both rotations (proxy secret, Redis AUTH token), checked step by step;
7. a stack update (another parameter value): the services keep what the last deploy put
   there, and so does the reminder schedule; an update that changes the schedule puts
   its family back, and the next deploy pins the revision again;
8. teardown (refused while the database is protected), then a re-create with the kept
   bank key and the immutable subject form, and a first deploy on it.

The emulator and its stand-ins for what moto lacks are in ecs/emulator.py; each is
listed in the output.

What it cannot show is listed at the end of the output.
"""

import ast
import json
import os
import pathlib
import socket
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import logging  # noqa: E402

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from deploy import strategy_changed  # noqa: E402
from emulator import (  # noqa: E402
    LAG,
    ROLLOUT_READS,
    STUCK,
    SUBSTITUTED,
    UNMANAGED,
    Readiness,
    apply_schedules,
    moto_template,
    redis_tokens,
    secret_writes,
    timeline,
)

logging.getLogger("werkzeug").setLevel(logging.ERROR)
REGION = "ap-northeast-2"
STACK = "upbrella"
# Services report their desired tasks as running (there is no ECS agent to run them).
os.environ["MOTO_ECS_SERVICE_RUNNING"] = "3"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal", "AWS_DEFAULT_REGION": REGION}
os.environ.update(CREDENTIALS)

failures = []


def check(condition, what):
    print(f"  {'ok  ' if condition else 'FAIL'} {what}", flush=True)
    if not condition:
        failures.append(what)


# ------------------------------------------------------------------ the rehearsal
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(script, *args):
    """Runs one of the deploy programs as the workflow or an operator would."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(HERE / script), *args],
        capture_output=True, text=True, env=dict(os.environ, **CREDENTIALS), timeout=300,
    )
    for line in (result.stdout + result.stderr).splitlines():
        print(f"    | {line}")
    return result.returncode, time.monotonic() - started, result.stdout + result.stderr


class Rehearsal:
    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.aws = lambda name: boto3.client(name, region_name=REGION, endpoint_url=endpoint)  # noqa: E731
        self.cfn, self.ecs, self.ecr = self.aws("cloudformation"), self.aws("ecs"), self.aws("ecr")
        self.secrets = self.aws("secretsmanager")
        self.readiness = Readiness(self.ecs, self.secrets)

    # ---------------------------------------------------------------- helpers
    def deploy(self, tag, *extra):
        return run("deploy.py", "--stack", STACK, "--image-tag", tag, "--region", REGION, "--endpoint-url",
                   self.endpoint, "--ready-url", self.readiness.url, "--poll", "0.02", "--timeout", "60",
                   "--migration-timeout", "3", "--ready-timeout", "2", *extra)

    def service(self, name):
        return self.ecs.describe_services(cluster="upbrella", services=[name])["services"][0]

    def image_of(self, svc):
        definition = self.ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        return definition["containerDefinitions"][0]["image"].rsplit(":", 1)[1]

    def push(self, tag):
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"digest": f"sha256:{tag:0>64}"[:71], "size": 1,
                                          "mediaType": "application/vnd.oci.image.config.v1+json"},
                               "layers": []})
        for repo in ("upbrella/was", "upbrella/web-proxy"):
            self.ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)

    def registered(self):
        return len(self.ecs.list_task_definitions()["taskDefinitionArns"])

    def parameters(self, prefix="repo:acme/upbrella", **more):
        values = {"DomainName": "upbrella.example.com", "CertificateArn": self.certificate,
                  "GitHubSubjectPrefix": prefix, **more}
        return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]

    def create_stack(self, parameters, created=True, existing_bank_key=None):
        body = json.dumps(moto_template(self.values, created=created))
        if existing_bank_key:
            parameters = parameters + [{"ParameterKey": "ExistingBankKeyArn", "ParameterValue": existing_bank_key}]
        self.cfn.create_stack(StackName=STACK, TemplateBody=body, Parameters=parameters,
                              Capabilities=["CAPABILITY_NAMED_IAM"])
        self.body, self.stack_parameters = body, parameters
        stack = self.cfn.describe_stacks(StackName=STACK)["Stacks"][0]
        if stack["StackStatus"] == "CREATE_COMPLETE":
            apply_schedules(self.aws, STACK, REGION)
        return stack

    def delete_stack(self):
        self.release_instances()
        self.cfn.delete_stack(StackName=STACK)

    def release_instances(self):
        """As CloudFormation deletes: the Auto Scaling group's instances are terminated and
        their network interfaces released before the subnets and the VPC go (moto keeps
        the interfaces of terminated instances, and then refuses to delete the VPC)."""
        ec2 = self.aws("ec2")
        groups = self.aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
        instances = [i["InstanceId"] for g in groups for i in g["Instances"]]
        if instances:
            ec2.terminate_instances(InstanceIds=instances)
        stack_vpcs = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
        for eni in ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": stack_vpcs}])["NetworkInterfaces"]:
            ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
        SUBSTITUTED.append("stack deletion: the instances' network interfaces are released first, as AWS does "
                           "when it terminates them (moto keeps them and refuses to delete the VPC)")

    def update_stack(self, **changes):
        parameters = [p for p in self.stack_parameters if p["ParameterKey"] not in changes]
        parameters += [{"ParameterKey": k, "ParameterValue": v} for k, v in changes.items()]
        self.cfn.update_stack(StackName=STACK, TemplateBody=self.body, Capabilities=["CAPABILITY_NAMED_IAM"],
                              Parameters=parameters)
        self.stack_parameters = parameters
        status = self.cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]
        if status == "UPDATE_COMPLETE":
            apply_schedules(self.aws, STACK, REGION)
        return status

    def schedule(self):
        return self.aws("scheduler").get_schedule(Name="upbrella-remind")

    def schedule_runs(self):
        """The task definition the reminder schedule starts."""
        return self.schedule()["Target"]["EcsParameters"]["TaskDefinitionArn"]

    def check_schedule_pinned(self, when):
        was, runs = self.service("upbrella-was")["taskDefinition"], self.schedule_runs()
        check(runs == was, f"{when}: the reminder schedule runs {runs.rsplit('/', 1)[1]}, the WAS service's "
              f"revision ({was.rsplit('/', 1)[1]})")

    def scheduled_run(self):
        """The RunTask EventBridge Scheduler makes from the schedule (its ECS parameters,
        its input as the task overrides)."""
        target = self.schedule()["Target"]
        ecs = target["EcsParameters"]
        started = self.ecs.run_task(cluster=target["Arn"], taskDefinition=ecs["TaskDefinitionArn"],
                                    count=ecs.get("TaskCount", 1), group=ecs.get("Group"),
                                    capacityProviderStrategy=ecs["CapacityProviderStrategy"],
                                    placementStrategy=ecs.get("PlacementStrategy", []),
                                    overrides=json.loads(target["Input"]))
        return started["tasks"][0]

    def attach_instances(self):
        """What the ECS agent and the capacity provider do in AWS."""
        if not self.ecs.describe_capacity_providers(capacityProviders=["upbrella-asg"])["capacityProviders"]:
            self.ecs.create_capacity_provider(name="upbrella-asg", autoScalingGroupProvider={
                "autoScalingGroupArn": "arn:aws:autoscaling:ap-northeast-2:123456789012:autoScalingGroup:rehearsal",
                "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
                "managedTerminationProtection": "DISABLED"})
        self.ecs.put_cluster_capacity_providers(cluster="upbrella", capacityProviders=["upbrella-asg"],
                                                defaultCapacityProviderStrategy=[{"capacityProvider": "upbrella-asg", "weight": 1}])
        groups = self.aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
        instances = [i["InstanceId"] for g in groups for i in g["Instances"]]
        reservations = self.aws("ec2").describe_instances(InstanceIds=instances)["Reservations"] if instances else []
        for instance in (i for r in reservations for i in r["Instances"]):
            document = json.dumps({"instanceId": instance["InstanceId"], "region": REGION,
                                   "availabilityZone": instance["Placement"]["AvailabilityZone"]})
            self.ecs.register_container_instance(cluster="upbrella", instanceIdentityDocument=document)
        return instances

    # ---------------------------------------------------------------- scenarios
    def setup(self):
        secrets = self.secrets
        self.values = {
            "redis_secret": secrets.create_secret(Name="upbrella/redis-auth", SecretString="r" * 64)["ARN"],
            "bank_secret": secrets.create_secret(Name="upbrella/bank-key", SecretString="0" * 64)["ARN"],
            "proxy_secret": secrets.create_secret(Name="upbrella/proxy-secret", SecretString="p" * 48)["ARN"],
            "proxy_secret_rotating": secrets.create_secret(Name="upbrella/proxy-secret-rotating",
                                                           SecretString="q" * 48)["ARN"],
            "server_key_secret": secrets.create_secret(Name="upbrella/server-hmac-key", SecretString="1" * 64)["ARN"],
            "capacity_provider": "upbrella-asg",
        }
        self.certificate = self.aws("acm").request_certificate(DomainName="upbrella.example.com")["CertificateArn"]
        SUBSTITUTED.append("CertificateArn: a certificate requested in moto's ACM")
        self.aws("elasticache").create_replication_group(
            ReplicationGroupId="upbrella-sessions", ReplicationGroupDescription="rehearsal", Engine="redis",
            CacheNodeType="cache.t4g.micro", NumCacheClusters=2, AutomaticFailoverEnabled=True)
        SUBSTITUTED.append("SessionStore: a replication group made through moto's ElastiCache API, whose AUTH "
                           "token changes are recorded (moto ignores them)")

    def failed_create_then_retry(self):
        print("==> a first create that fails late, then a retry")
        stack = self.create_stack(self.parameters(), created=False)
        check(stack["StackStatus"] == "CREATE_COMPLETE", "every resource created before the failure")
        # The rollback: CloudFormation deletes what the create made, keeping only
        # DeletionPolicy Retain; RetainExceptOnCreate resources go too.
        self.delete_stack()
        repos = [r["repositoryName"] for r in self.ecr.describe_repositories()["repositories"]]
        databases = self.aws("rds").describe_db_instances()["DBInstances"]
        check(repos == [] and databases == [], f"the rollback left nothing with a fixed name (ECR {repos}, "
              f"{len(databases)} databases)")
        stack = self.create_stack(self.parameters(), created=False)
        check(stack["StackStatus"] == "CREATE_COMPLETE", "the retry creates the stack")
        # moto deletes a deletion-protected database through CloudFormation all the same, so
        # that rollback failure is held off by validate.py (no protection at creation).
        self.delete_stack()

    def create(self, prefix="repo:acme/upbrella", existing_bank_key=None):
        print(f"==> create the stack ({prefix}; no image exists yet)")
        stack = self.create_stack(self.parameters(prefix), existing_bank_key=existing_bank_key)
        check(stack["StackStatus"] == "CREATE_COMPLETE", f"stack {stack['StackStatus']}")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        check(outputs.get("ClusterName") == "upbrella", "the cluster exists, with no services")
        listed = self.ecs.list_services(cluster="upbrella")["serviceArns"]
        active = [s for s in self.ecs.describe_services(cluster="upbrella", services=listed)["services"]
                  if s["status"] == "ACTIVE"] if listed else []
        check(active == [], "no service before the first deploy")
        repos = sorted(r["repositoryName"] for r in self.ecr.describe_repositories()["repositories"])
        check(repos == ["upbrella/was", "upbrella/web-proxy"], f"ECR repositories {repos}")
        role = self.aws("iam").get_role(RoleName="upbrella-github-deploy")["Role"]
        trust = json.dumps(role["AssumeRolePolicyDocument"])
        check(f"{prefix}:environment:production:ref:refs/heads/main" in trust,
              "deploy role trusts main's production job, in the subject form given")
        instances = self.attach_instances()
        check(len(instances) >= 2, f"{len(instances)} container instances from the Auto Scaling group")
        schedule = self.schedule()
        target = schedule["Target"]
        check((schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"], schedule["FlexibleTimeWindow"])
              == ("cron(0 * * * ? *)", "Asia/Seoul", {"Mode": "OFF"}),
              "the reminder schedule: on the hour, Asia/Seoul, no flexible window")
        cluster = self.ecs.describe_clusters(clusters=["upbrella"])["clusters"][0]["clusterArn"]
        role = self.aws("iam").get_role(RoleName="upbrella-remind-scheduler")["Role"]["Arn"]
        check(target["Arn"] == cluster and target["RoleArn"] == role, "it starts tasks in the cluster, as its own role")
        check(target["EcsParameters"]["TaskDefinitionArn"].endswith(":task-definition/upbrella-was"),
              "before any deploy it names the WAS family only (there is no revision yet)")
        check(json.loads(target["Input"]) == {"containerOverrides": [{"name": "was", "command": ["remind"]}]},
              "its task runs `was remind` (the WAS container's command overridden)")
        check(outputs.get("RemindScheduleName") == "upbrella-remind", "the stack outputs the schedule's name")
        self.check_photo_bucket(outputs)
        return outputs

    def check_photo_bucket(self, outputs):
        """The store photo bucket: CORS for the site, public read of stores/* only, ACLs
        blocked; only the WAS task role may put objects, under stores/."""
        s3 = self.aws("s3")
        bucket = self.photo_bucket = outputs.get("PhotoBucket", "")
        check(bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]], f"the photo bucket {bucket!r} exists")
        check(outputs.get("PhotoBucketOrigin") == f"https://{bucket}.s3.ap-northeast-2.amazonaws.com",
              "its origin output is the virtual-hosted URL the WAS builds by default")
        rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
        check([(r["AllowedOrigins"], sorted(r["AllowedMethods"]), r.get("AllowedHeaders")) for r in rules]
              == [(["https://upbrella.example.com"], ["GET", "PUT"], ["Content-Type"])],
              "its CORS rule lets the site PUT (with Content-Type) and GET, from its own origin only")
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        public = [st for st in policy["Statement"] if st["Effect"] == "Allow"]
        check([(st["Principal"], st["Action"], st["Resource"]) for st in public]
              == [("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/stores/*")],
              "its policy lets anyone read stores/* and nothing else")
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        check(block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
                        "RestrictPublicBuckets": False}, f"ACLs blocked, the policy allowed to be public: {block}")
        iam = self.aws("iam")
        puts = {}
        for role in iam.list_roles()["Roles"]:
            for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
                document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
                if isinstance(document, str):
                    # moto returns a template's inline policies as Python's repr of the dict.
                    document = ast.literal_eval(document)
                listed = document["Statement"]
                for st in listed if isinstance(listed, list) else [listed]:
                    actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                    if any(a in ("s3:PutObject", "s3:*", "*") for a in actions):
                        puts[role["RoleName"]] = st["Resource"]
        check(puts == {"upbrella-was-task": f"arn:aws:s3:::{bucket}/stores/*"},
              f"only the WAS task role may put objects, under stores/ of the bucket: {puts}")

    def first_and_second_deploy(self):
        print("==> first deploy: v1")
        self.push("v1")
        before = self.schedule()
        code, took, out = self.deploy("v1")
        check(code == 0, f"deploy v1 exits 0 ({took:.1f} s)")
        check("ready, release v1" in out, "readiness through the public URL answered for v1")
        self.check_schedule_pinned("after v1")
        after = self.schedule()
        unchanged = ("ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "State", "Description")
        check(all(before.get(k) == after.get(k) for k in unchanged)
              and {k: v for k, v in after["Target"].items() if k != "EcsParameters"}
              == {k: v for k, v in before["Target"].items() if k != "EcsParameters"}
              and {k: v for k, v in after["Target"]["EcsParameters"].items() if k != "TaskDefinitionArn"}
              == {k: v for k, v in before["Target"]["EcsParameters"].items() if k != "TaskDefinitionArn"},
              "the deploy changed the schedule's revision and nothing else")
        task = self.scheduled_run()
        check(task["taskDefinitionArn"] == self.service("upbrella-was")["taskDefinition"]
              and task["overrides"]["containerOverrides"][0].get("command") == ["remind"],
              "a run as Scheduler starts it: `was remind` of the deployed WAS revision")
        check("::warning::the database is not protected" in out, "it warns that deletion protection is off")
        migrations = self.ecs.list_tasks(cluster="upbrella", startedBy="deploy-migrate")["taskArns"]
        check(len(migrations) == 1, "one migration task ran")
        for name in ("upbrella-was", "upbrella-web-proxy"):
            svc = self.service(name)
            check(self.image_of(svc) == "v1" and svc["desiredCount"] == 2, f"{name}: v1, {svc['desiredCount']} tasks")
        targets = self.aws("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
        check(sorted((t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets)
              == [("service/upbrella/upbrella-was", 2, 3), ("service/upbrella/upbrella-web-proxy", 2, 3)],
              "auto scaling: 2-3 tasks for each service")
        tags = {t.get("imageTag") for t in self.ecr.list_images(repositoryName="upbrella/was")["imageIds"]}
        check("deployed-v1" in tags, "the deployed image is tagged deployed-v1 (the lifecycle keeps it)")
        was_def = self.ecs.describe_task_definition(taskDefinition=self.service("upbrella-was")["taskDefinition"])
        container = was_def["taskDefinition"]["containerDefinitions"][0]
        env = {e["name"]: e["value"] for e in container["environment"]}
        check(env.get("DATABASE_AUTH") == "rds-iam" and env.get("PGUSER") == "upbrella_app",
              "the WAS logs in as upbrella_app with IAM tokens")
        check(env.get("UPBRELLA_RELEASE") == "v1", "the WAS reports its release (the image tag)")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in self.cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]}
        proxy_def = self.ecs.describe_task_definition(taskDefinition=self.service("upbrella-web-proxy")["taskDefinition"])
        proxy_env = {e["name"]: e["value"] for e in proxy_def["taskDefinition"]["containerDefinitions"][0]["environment"]}
        check(env.get("PHOTO_BUCKET") == outputs["PhotoBucket"]
              and proxy_env.get("WEB_PROXY_UPLOAD_ORIGINS") == outputs["PhotoBucketOrigin"],
              "the WAS uploads to the photo bucket, and web-proxy's CSP admits that bucket's origin")
        roles = {name: self.ecs.describe_task_definition(taskDefinition=f"upbrella-{name}")["taskDefinition"]
                 ["executionRoleArn"].rsplit("/", 1)[1] for name in ("was", "web-proxy", "migrate")}
        check(len(set(roles.values())) == 3, f"one execution role per family: {roles}")

        print("==> protection turned on after the first deploy (README, step 6)")
        check(self.update_stack(DatabaseDeletionProtection="true") == "UPDATE_COMPLETE", "stack updated")

        print("==> auto scaling sets the WAS to 3 tasks; second deploy: v2, with lagging reads")
        self.ecs.update_service(cluster="upbrella", service="upbrella-was", desiredCount=3)
        for _ in range(ROLLOUT_READS):
            self.service("upbrella-was")
        self.push("v2")
        LAG.update(services=True, tasks=True)
        code, took, out = self.deploy("v2")
        LAG.update(services=False, tasks=False)
        check(code == 0, f"deploy v2 exits 0 through stale reads ({took:.1f} s)")
        check("not visible yet" in out and out.count("IN_PROGRESS") >= 2,
              "it waited out the stale reads and the rollouts in progress")
        check("::warning::the database" not in out, "no warning once the database is protected")
        was = self.service("upbrella-was")
        check(self.image_of(was) == "v2", f"upbrella-was: v2 at {was['taskDefinition'].rsplit('/', 1)[1]}")
        check(was["desiredCount"] == 3, f"upbrella-was keeps the 3 tasks auto scaling set (has {was['desiredCount']})")
        check(self.image_of(self.service("upbrella-web-proxy")) == "v2", "upbrella-web-proxy: v2")
        self.check_schedule_pinned("after v2")

        print("==> the same deploy again (a re-run)")
        code, took, _ = self.deploy("v2")
        check(code == 0 and self.image_of(self.service("upbrella-was")) == "v2", f"re-run of v2 exits 0 ({took:.1f} s)")

    def failing_deploys(self):
        print("==> a deploy whose migration fails")
        self.push("broken")
        before = self.service("upbrella-was")["taskDefinition"]
        code, _, out = self.deploy("broken")
        check(code == 1 and "the migration failed" in out, "deploy exits 1 naming the migration")
        check(self.service("upbrella-was")["taskDefinition"] == before
              and self.image_of(self.service("upbrella-web-proxy")) == "v2", "both services still run v2")

        print("==> a deploy whose migration hangs")
        self.push("hang")
        code, _, out = self.deploy("hang")
        check(code == 1 and "did not finish within 3 s" in out and "was stopped" in out,
              "deploy exits 1 after the migration timeout")
        hung = self.ecs.list_tasks(cluster="upbrella", startedBy="deploy-migrate", desiredStatus="STOPPED")["taskArns"]
        reasons = [t.get("stoppedReason", "") for t in self.ecs.describe_tasks(cluster="upbrella", tasks=hung)["tasks"]]
        check(any("overran" in r for r in reasons), "the hung migration task was stopped, with the reason")
        described = self.ecs.describe_tasks(cluster="upbrella", tasks=hung, include=["TAGS"])["tasks"]
        check(any({"key": "upbrella-task", "value": "migrate"} in t.get("tags", []) for t in described),
              "the migration task carries the tag the deploy role's StopTask is limited to")
        check(self.image_of(self.service("upbrella-was")) == "v2", "the WAS still runs v2")

        print("==> a deploy the circuit breaker rolls back")
        self.push("rollback")
        code, _, out = self.deploy("rollback")
        check(code == 1 and "rolled back" in out, "deploy exits 1: the WAS was rolled back")
        check(self.image_of(self.service("upbrella-was")) == "v2" and self.image_of(self.service("upbrella-web-proxy")) == "v2",
              "the WAS runs v2 again and web-proxy was never touched")

        print("==> a deploy whose release is not ready (its tasks pass their health checks)")
        self.push("notready")
        code, _, out = self.deploy("notready")
        check(code == 1 and "not ready through" in out and "세션 저장소" in out,
              "deploy exits 1 quoting /api/ready's message")
        check(self.image_of(self.service("upbrella-was")) == "v2", "the WAS was rolled back to v2")
        check(self.image_of(self.service("upbrella-web-proxy")) == "v2", "web-proxy was never touched")

        print("==> a deploy while another rollout is unfinished")
        STUCK["rollouts"] = True
        self.ecs.update_service(cluster="upbrella", service="upbrella-web-proxy", forceNewDeployment=True)
        registered = self.registered()
        code, _, out = self.deploy("v2")
        check(code == 1 and "still in progress" in out, "deploy exits 1: a rollout is in progress")
        check(self.registered() == registered, "nothing registered")
        STUCK["rollouts"] = False
        for _ in range(ROLLOUT_READS):
            self.service("upbrella-web-proxy")

        print("==> a deploy of a tag that was never pushed")
        code, _, out = self.deploy("v3")
        check(code == 1 and "not in ECR" in out, "deploy exits 1: the image is not in ECR")
        check(self.registered() == registered, "nothing registered")

        print("==> images built for another architecture than the stack's instances")
        code, _, out = self.deploy("v2", "--architecture", "arm64")
        check(code == 1 and "the stack's instances x86_64" in out, "deploy exits 1: arm64 images, x86_64 instances")
        check(self.registered() == registered, "nothing registered")
        definition = self.ecs.describe_task_definition(taskDefinition="upbrella-was")["taskDefinition"]
        check(definition.get("runtimePlatform", {}).get("cpuArchitecture") == "X86_64",
              "task definitions name the stack's CPU architecture (a mismatch fails placement, not the tasks)")
        latest = self.ecs.describe_task_definition(taskDefinition="upbrella-was")["taskDefinition"]["taskDefinitionArn"]
        self.check_schedule_pinned("after the failed deploys")
        check(self.schedule_runs() != latest, f"the latest registered revision ({latest.rsplit('/', 1)[1]}, of a "
              "failed deploy) does not run reminders")

    @staticmethod
    def proxy_rotation_refusals(current, rotating):
        """Replays the rotation's writes and rolls: after each, would a WAS task starting
        now refuse what some web-proxy task sends (or a running WAS task refuse what a
        web-proxy starting now sends)? Returns each such moment."""
        stored = {"upbrella/proxy-secret": current, "upbrella/proxy-secret-rotating": rotating}
        was_accepts, proxies_send = {current, rotating}, {current}
        writes = iter(secret_writes)
        refusals = []
        for kind, name in timeline:
            if kind == "secret":
                written, value = next(writes)
                stored[written] = value
            elif name == "upbrella-was":
                was_accepts = set(stored.values())
            elif name == "upbrella-web-proxy":
                proxies_send = {stored["upbrella/proxy-secret"]}
            starting_was = set(stored.values())
            sent = proxies_send | {stored["upbrella/proxy-secret"]}
            if not sent <= starting_was or not sent <= was_accepts:
                refusals.append(f"after {kind} {name}")
        return refusals

    def rotations(self):
        print("==> rotation: the proxy secret")
        timeline.clear()
        secret_writes.clear()
        old = self.secrets.get_secret_value(SecretId="upbrella/proxy-secret")["SecretString"]
        old_rotating = self.secrets.get_secret_value(SecretId="upbrella/proxy-secret-rotating")["SecretString"]
        code, _, out = run("rotate.py", "proxy-secret", "--stack", STACK, "--region", REGION, "--endpoint-url",
                           self.endpoint, "--ready-url", self.readiness.url, "--poll", "0.02", "--timeout", "60",
                           "--ready-timeout", "2")
        check(code == 0, "rotate.py proxy-secret exits 0")
        steps = [t for t in timeline if t[0] in ("secret", "roll")]
        check(steps == [("secret", "upbrella/proxy-secret-rotating"), ("roll", "upbrella-was"),
                        ("secret", "upbrella/proxy-secret-rotating"), ("secret", "upbrella/proxy-secret"),
                        ("roll", "upbrella-web-proxy"),
                        ("secret", "upbrella/proxy-secret-rotating"), ("roll", "upbrella-was")],
              "accept the new (roll WAS), send the new (roll web-proxy), drop the old (roll WAS)")
        refusals = self.proxy_rotation_refusals(old, old_rotating)
        check(refusals == [], f"at no moment does a starting or running task refuse another's secret {refusals}")
        # The check can fail: the same writes with step 2's two writes swapped.
        swapped = list(secret_writes)
        swapped[1], swapped[2] = swapped[2], swapped[1]
        kept, secret_writes[:] = list(secret_writes), swapped
        check(self.proxy_rotation_refusals(old, old_rotating) != [],
              "(self-test) writing the new proxy secret before the old moves is caught")
        secret_writes[:] = kept
        new = self.secrets.get_secret_value(SecretId="upbrella/proxy-secret")["SecretString"]
        rotating = self.secrets.get_secret_value(SecretId="upbrella/proxy-secret-rotating")["SecretString"]
        check(new != old and rotating not in (old, new), "the proxy secret changed; the old one is accepted no more")

        print("==> rotation: the Redis AUTH token")
        timeline.clear()
        redis_tokens.clear()
        redis_tokens.add(self.secrets.get_secret_value(SecretId="upbrella/redis-auth")["SecretString"])
        code, _, out = run("rotate.py", "redis-auth", "--stack", STACK, "--region", REGION, "--endpoint-url",
                           self.endpoint, "--ready-url", self.readiness.url, "--poll", "0.02", "--timeout", "60",
                           "--ready-timeout", "2")
        check(code == 0, "rotate.py redis-auth exits 0")
        check(timeline == [("redis", "ROTATE"), ("secret", "upbrella/redis-auth"), ("roll", "upbrella-was"),
                           ("redis", "SET")],
              "ROTATE (both tokens work), the secret, the WAS rolled, then SET (the old token refused)")
        token = self.secrets.get_secret_value(SecretId="upbrella/redis-auth")["SecretString"]
        check(redis_tokens == {token}, "Redis accepts exactly the token the WAS now holds")
        # Done the other way round (the secret first), the WAS would hold a token Redis refuses.
        redis_tokens.clear()
        redis_tokens.add("only-the-old-token")
        status, body = self.readiness.answer()
        check(status == 503, "a WAS holding a token Redis refuses is not ready (the deploy and rotation checks fail)")
        redis_tokens.clear()

    def teardown_and_recreate(self):
        print("==> teardown: from a live stack to nothing")
        code, _, out = run("teardown.py", "--stack", STACK, "--yes", "--delete-images", "--region", REGION,
                           "--endpoint-url", self.endpoint, "--poll", "0.02", "--timeout", "30")
        check(code == 1 and "deletion-protected" in out, "refused while the database is protected")
        check(self.update_stack(DatabaseDeletionProtection="false") == "UPDATE_COMPLETE", "protection turned off")
        self.release_instances()
        code, _, out = run("teardown.py", "--stack", STACK, "--yes", "--delete-images", "--region", REGION,
                           "--endpoint-url", self.endpoint, "--poll", "0.02", "--timeout", "30")
        check(code == 0, "teardown.py exits 0")
        stacks = [s for s in self.cfn.describe_stacks()["Stacks"] if s["StackName"] == STACK
                  and s["StackStatus"] != "DELETE_COMPLETE"]
        check(stacks == [], "the stack is gone")
        targets = self.aws("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
        check(targets == [], "no scalable target left")
        check(self.ecr.describe_repositories()["repositories"] == [], "the ECR repositories were deleted")
        kept = [b["Name"] for b in self.aws("s3").list_buckets()["Buckets"]]
        check(self.photo_bucket in kept and f"s3://{self.photo_bucket}: kept" in out
              and "stores/*" in self.aws("s3").get_bucket_policy(Bucket=self.photo_bucket)["Policy"],
              "the photo bucket is kept with its public read (a restored database links to its photos)")
        bank = self.secrets.describe_secret(SecretId="upbrella/bank-key")
        check("DeletedDate" not in bank and f"ExistingBankKeyArn={bank['ARN']}" in out,
              "the bank key is kept, and the next create is told how to reuse it")

        print("==> re-create with the kept key, the immutable subject form, and deploy")
        self.create(prefix="repo:acme@1001/upbrella@2002", existing_bank_key=bank["ARN"])
        self.push("v2")
        code, took, out = self.deploy("v2")
        check(code == 0, f"the first deploy of the new stack exits 0 ({took:.1f} s)")
        was_def = self.ecs.describe_task_definition(taskDefinition="upbrella-was")["taskDefinition"]
        secrets = {s["name"]: s["valueFrom"] for s in was_def["containerDefinitions"][0]["secrets"]}
        check(secrets["BANK_ENCRYPTION_KEY"] == bank["ARN"], "the WAS reads the kept bank key")


def main():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
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
        rehearsal = Rehearsal(endpoint)
        rehearsal.setup()
        rehearsal.failed_create_then_retry()
        rehearsal.create()
        rehearsal.first_and_second_deploy()
        rehearsal.failing_deploys()
        rehearsal.rotations()

        print("==> a stack update (MaxInstances 3 -> 4)")
        check(rehearsal.update_stack(MaxInstances="4") == "UPDATE_COMPLETE", "stack updated")
        was = rehearsal.service("upbrella-was")
        check(rehearsal.image_of(was) == "v2" and was["desiredCount"] == 3, "the services still run v2 with their task counts")
        rehearsal.check_schedule_pinned("after the stack update")

        print("==> a stack update that changes the reminder schedule, then a deploy")
        UNMANAGED["RemindSchedule"]["Description"] += " (changed)"
        check(rehearsal.update_stack() == "UPDATE_COMPLETE", "stack updated")
        check(rehearsal.schedule_runs().endswith(":task-definition/upbrella-was"),
              "the update put the family back (the latest revision runs until the next deploy)")
        code, _, out = rehearsal.deploy("v2")
        check(code == 0, "deploy v2 again exits 0")
        rehearsal.check_schedule_pinned("after that deploy")
        UNMANAGED["RemindSchedule"]["Description"] = UNMANAGED["RemindSchedule"]["Description"][:-len(" (changed)")]

        rehearsal.teardown_and_recreate()
    finally:
        server.stop()

    print("\nSubstitutions for the emulator's gaps (the real template and the programs are unchanged):")
    for s in dict.fromkeys(SUBSTITUTED):
        print(f"  - {s}")
    print("""
What this rehearsal cannot show (moto does not model it): CloudFormation's ordering and
real rollbacks (a failed create is modelled as a deletion under the create-rollback
policies); capacity providers placing tasks; the ALBs' health checks and target
registration; the circuit breaker and alarm rollbacks; secrets reaching the containers;
IAM enforcing any policy (the scoped StopTask and alarm actions, the reminder schedule's
role, among them); a real exit code from the migration; EventBridge Scheduler firing on
the hour and turning its input into RunTask's overrides (the rehearsal makes that
RunTask itself); ElastiCache applying ROTATE and SET; image pulls on the instances;
instance refresh on a new AMI; an availability zone failing.""")
    if failures:
        print(f"\ndeploy rehearsal (moto emulator): {len(failures)} checks FAILED")
        return 1
    print("\ndeploy rehearsal (moto emulator): all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
