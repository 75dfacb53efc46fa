"""The rehearsal's stack in moto: creating, updating and deleting it, the helpers the
scenarios use, and the checks of what the stack makes (ecs/rehearse.py runs them)."""

import ast
import json

import boto3

from emulator import SUBSTITUTED, Readiness, apply_schedules, moto_template
from rehearse_support import REGION, STACK, check, run


class StackRehearsal:
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
        self.check_observability(outputs)
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

    def check_observability(self, outputs):
        """The ALB access log bucket and the load balancers' logging, the metric filters
        and the dashboard, as the stack made them."""
        s3, bucket = self.aws("s3"), outputs.get("AlbLogBucket", "")
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        check([(r["Status"], r["Expiration"]["Days"], r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
               for r in rules] == [("Enabled", 90, 1)],
              f"the ALB log bucket {bucket!r} expires logs after 90 days and aborts stale uploads")
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        check(all(block.values()) and len(block) == 4, "its public access is blocked")
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        writes = [(st["Principal"], st["Resource"]) for st in policy["Statement"] if st["Effect"] == "Allow"]
        check(writes == [({"AWS": "arn:aws:iam::600734575887:root"},
                          [f"arn:aws:s3:::{bucket}/{p}/AWSLogs/123456789012/*" for p in ("external", "internal")])],
              "its policy lets ap-northeast-2's ELB account write the two prefixes' logs, nobody else")
        elb = self.aws("elbv2")
        logging = {}
        for balancer in elb.describe_load_balancers()["LoadBalancers"]:
            attributes = {a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(
                LoadBalancerArn=balancer["LoadBalancerArn"])["Attributes"]}
            logging[balancer["Scheme"]] = (attributes.get("access_logs.s3.enabled"),
                                           attributes.get("access_logs.s3.bucket"),
                                           attributes.get("access_logs.s3.prefix"))
        check(logging == {"internet-facing": ("true", bucket, "external"), "internal": ("true", bucket, "internal")},
              f"both load balancers log to it, each under its prefix: {logging}")
        filters = self.aws("logs").describe_metric_filters()["metricFilters"]
        made = sorted((f["logGroupName"], t["metricNamespace"], t["metricName"])
                      for f in filters for t in f["metricTransformations"])
        check(len(made) == 6 and {m[1] for m in made} == {"Upbrella"},
              f"{len(made)} metric filters, all in the Upbrella namespace: {[m[2] for m in made]}")
        body = json.loads(self.aws("cloudwatch").get_dashboard(DashboardName=outputs.get("DashboardName", ""))
                          ["DashboardBody"])
        check(len(body["widgets"]) >= 10, f"the dashboard {outputs.get('DashboardName')!r} has "
              f"{len(body['widgets'])} widgets")
