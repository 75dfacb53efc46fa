"""The rehearsal's scenarios: deploys that succeed and deploys that must fail, both
rotations, teardown and re-create (ecs/rehearse.py runs them on a StackRehearsal)."""


from emulator import LAG, ROLLOUT_READS, STUCK, redis_tokens, secret_writes, timeline
from rehearse_support import REGION, STACK, check, run


class Scenarios:
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

