#!/usr/bin/env python3
"""Deploys one image tag to the ECS cluster of the CloudFormation stack.

The stack owns the infrastructure; this program owns what runs on it: the task
definitions (ecs/task-definitions/*.json), the services (ecs/services/*.json) and their
auto scaling (ecs/scaling.json). Nothing else defines them, so they cannot drift, and a
stack update never puts an old image back or resets the number of tasks.

Steps, each awaited, the first failure stopping the deploy before anything else changes:

1. Read the stack's outputs; they fill the ${VARS} of the definitions.
2. Refuse to start while a service's previous rollout is unfinished (two deploys would
   race, and a rollback of the older one would undo the newer).
3. Check both images exist in ECR for the tag (the workflow pushed them, or an earlier
   run of the same commit did).
4. Register the three task definitions with the new images.
5. Run the migration task (`was migrate` as the database owner) and wait for it to stop;
   its exit code must be 0. One that overruns --migration-timeout is stopped. Old
   replicas keep running meanwhile, so a migration must be compatible with the code
   already deployed (README: expand, then contract).
6. Update the WAS service (create it on the first deploy) and follow the deployment ECS
   returned, by its id, until its rollout COMPLETED. A circuit-breaker or alarm rollback
   ends the wait as a failure.
7. Check the release through the public URL: /api/ready must answer 200 with this tag,
   several times in a row (the database as the app role, Redis with AUTH and TLS, the
   schema at this release). If it does not, the service is rolled back to the revision
   it ran before, and the deploy fails.
   Once it is ready, the hourly reminder schedule (`was remind`, EventBridge Scheduler)
   is pointed at the WAS revision now running; a deploy that fails before this leaves
   it on the revision that ran before.
8. The same for web-proxy (it may call WAS endpoints of this commit), readiness again.
9. Register the services' scalable targets and target-tracking policies (idempotent), and
   tag both images `deployed-<tag>` (the ECR lifecycle never expires those first).

ECS reads are eventually consistent: a deployment, a task or a service may be missing
from the first reads after the write that made it. Those are polled again (with backoff)
rather than taken for an answer.

A re-run with the same tag registers identical revisions and rolls them out again: safe.

Usage: ecs/deploy.py --stack upbrella --image-tag <commit sha> [--region ap-northeast-2]
       [--architecture x86_64|arm64] [--ready-url https://DOMAIN/api/ready]
       [--endpoint-url http://127.0.0.1:PORT]   (an emulator, for the rehearsal)
"""

import argparse
import json
import pathlib
import re
import string
import sys
import time
import urllib.error
import urllib.request

import boto3

HERE = pathlib.Path(__file__).resolve().parent
# ECR allows 128 characters; `deployed-` goes in front of the tag.
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_.-]{1,119}$")
MIGRATE_TAG = {"key": "upbrella-task", "value": "migrate"}


class DeployError(Exception):
    pass


def log(message):
    print(message, flush=True)


def snake(name):
    """WasRepositoryUri -> WAS_REPOSITORY_URI: how outputs are named in the definitions."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


def aws_arguments(parser, timeout, poll, readiness=False):
    """The options every deploy program takes: the stack, where AWS is, how long to wait,
    and, for those that check the release, where and how long."""
    parser.add_argument("--stack", required=True, help="CloudFormation stack name")
    parser.add_argument("--region", default="ap-northeast-2")
    parser.add_argument("--endpoint-url", help="send every AWS call here (an emulator)")
    parser.add_argument("--timeout", type=float, default=timeout, help=f"seconds for each wait (default {timeout:g})")
    parser.add_argument("--poll", type=float, default=poll,
                        help=f"seconds before the first re-read (default {poll:g}; grows to 6×)")
    if readiness:
        parser.add_argument("--ready-url", help="the readiness URL (default: the stack's Url + api/ready)")
        parser.add_argument("--ready-timeout", type=float, default=180,
                            help="seconds for /api/ready to answer for the release (default 180)")


def aws_clients(args):
    """Makes clients for the region, sent to the emulator's endpoint when given."""
    session = boto3.session.Session(region_name=args.region)
    return lambda name: session.client(name, endpoint_url=args.endpoint_url)


class Poll:
    """Sleeps between reads, each wait half again as long as the last, up to 6 × the
    first: fast while a step is quick, gentle on the API while it takes minutes."""

    def __init__(self, first, timeout):
        self.delay, self.cap = first, first * 6
        self.deadline = time.monotonic() + timeout

    def expired(self):
        return time.monotonic() > self.deadline

    def wait(self):
        time.sleep(self.delay)
        self.delay = min(self.delay * 1.5, self.cap)


def stack_values(cfn, stack, region, tag=None):
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    values = {snake(o["OutputKey"]): o["OutputValue"] for o in described.get("Outputs", [])}
    for needed in ("CLUSTER_NAME", "WAS_REPOSITORY_URI", "WEB_PROXY_REPOSITORY_URI"):
        if needed not in values:
            raise DeployError(f"stack {stack} has no output {needed}; is it the upbrella template?")
    values["AWS_REGION"] = region
    if tag is not None:
        values["IMAGE_TAG"] = tag
    return values


def render(path, values):
    try:
        return json.loads(string.Template(path.read_text()).substitute(values))
    except KeyError as missing:
        raise DeployError(f"{path.name} uses ${{{missing.args[0]}}}, which the stack does not output")


def check_images(ecr, values, tag):
    for output in ("WAS_REPOSITORY_URI", "WEB_PROXY_REPOSITORY_URI"):
        repository = values[output].split("/", 1)[1]
        try:
            ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
        except ecr.exceptions.ImageNotFoundException:
            raise DeployError(f"{repository}:{tag} is not in ECR; push it first") from None
        log(f"    {repository}:{tag} is in ECR")


def mark_deployed(ecr, values, tag):
    """Adds the tag `deployed-<tag>` to both images (tags are immutable; a re-run finds
    it there already)."""
    for output in ("WAS_REPOSITORY_URI", "WEB_PROXY_REPOSITORY_URI"):
        repository = values[output].split("/", 1)[1]
        image = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])["images"][0]
        try:
            ecr.put_image(repositoryName=repository, imageManifest=image["imageManifest"], imageTag=f"deployed-{tag}")
        except ecr.exceptions.ImageAlreadyExistsException:
            pass
    log(f"    both images tagged deployed-{tag}")


def register(ecs, definition):
    arn = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    log(f"    registered {arn}")
    return arn


def short(arn):
    return arn.rsplit("/", 1)[-1]


def run_migration(ecs, cluster, arn, timeout, poll):
    started = ecs.run_task(cluster=cluster, taskDefinition=arn, count=1, startedBy="deploy-migrate", tags=[MIGRATE_TAG])
    if started.get("failures") or not started.get("tasks"):
        raise DeployError(f"the migration task did not start: {started.get('failures')}")
    task_arn = started["tasks"][0]["taskArn"]
    log(f"    started {task_arn}")
    waiting = Poll(poll, timeout)
    status = None
    while True:
        found = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])
        task = (found.get("tasks") or [None])[0]
        if task is None:
            # Not visible yet (a failure with reason MISSING): read again.
            status = status or "not visible yet"
        elif task["lastStatus"] == "STOPPED":
            break
        else:
            status = task["lastStatus"]
        if waiting.expired():
            ecs.stop_task(cluster=cluster, task=task_arn, reason=f"deploy: the migration overran its {timeout:g} s")
            raise DeployError(
                f"the migration task did not finish within {timeout:g} s (it was {status}) and was stopped; "
                f"its log is the stream migrate/migrate/{short(task_arn)}; no service was changed. A lock "
                "held by another session, or a long-running statement, are the usual causes"
            )
        waiting.wait()
    container = task["containers"][0]
    code = container.get("exitCode")
    if code != 0:
        raise DeployError(
            f"the migration failed (exit code {code}, {task.get('stoppedReason', 'no reason given')}); "
            f"its log is the stream migrate/migrate/{short(task_arn)}; no service was changed"
        )
    log("    migrations applied (exit code 0)")


def running_service(ecs, cluster, name):
    found = ecs.describe_services(cluster=cluster, services=[name])["services"]
    return found[0] if found and found[0]["status"] != "INACTIVE" else None


def unfinished_rollout(service):
    """The deployment still rolling out, if any: ECS keeps the old deployment ACTIVE and
    the new one IN_PROGRESS until the rollout ends."""
    for deployment in service.get("deployments", []):
        if deployment.get("rolloutState") == "IN_PROGRESS" or deployment["status"] == "ACTIVE":
            return deployment
    return None


def refuse_concurrent(ecs, cluster, names):
    for name in names:
        service = running_service(ecs, cluster, name)
        busy = service and unfinished_rollout(service)
        if busy:
            raise DeployError(
                f"{name}: a rollout is still in progress (deployment {busy['id']}, {short(busy['taskDefinition'])}, "
                f"{busy.get('rolloutState', busy['status'])}); wait until it completes or rolls back, then deploy again"
            )


# What a deploy may change on an existing service. Never desiredCount: auto scaling owns it.
UPDATABLE = (
    "capacityProviderStrategy",
    "deploymentConfiguration",
    "loadBalancers",
    "healthCheckGracePeriodSeconds",
    "placementStrategy",
    "enableECSManagedTags",
    "propagateTags",
)


def strategy_changed(current, wanted):
    """ECS accepts another capacity provider strategy only with a new deployment."""
    key = lambda items: sorted((i["capacityProvider"], i.get("weight", 0), i.get("base", 0)) for i in items or [])  # noqa: E731
    return key(current) != key(wanted)


def primary_id(service):
    return next(d["id"] for d in service["deployments"] if d["status"] == "PRIMARY")


def roll_out(ecs, service, arn, min_tasks):
    """Starts the rollout; returns the id of the deployment ECS made for it and the
    revision the service ran before (None on creation)."""
    cluster, name = service["cluster"], service["serviceName"]
    current = running_service(ecs, cluster, name)
    if current:
        changes = {k: service[k] for k in UPDATABLE if k in service}
        force = strategy_changed(current.get("capacityProviderStrategy"), service.get("capacityProviderStrategy"))
        updated = ecs.update_service(cluster=cluster, service=name, taskDefinition=arn, forceNewDeployment=force, **changes)
        log(f"    {name}: updated to {short(arn)}")
        return primary_id(updated["service"]), current["taskDefinition"]
    created = ecs.create_service(**dict(service, taskDefinition=arn, desiredCount=min_tasks))
    log(f"    {name}: created with {short(arn)} and {min_tasks} tasks")
    return primary_id(created["service"]), None


def wait_for_rollout(ecs, cluster, name, deployment_id, arn, timeout, poll):
    """Until deployment `deployment_id` has COMPLETED. It failing, or another deployment
    becoming primary (a circuit-breaker or alarm rollback), ends the wait as a failure;
    not being visible yet is waited out."""
    waiting = Poll(poll, timeout)
    seen, last = False, None
    while True:
        svc = ecs.describe_services(cluster=cluster, services=[name])["services"][0]
        ours = next((d for d in svc["deployments"] if d["id"] == deployment_id), None)
        primary = next((d for d in svc["deployments"] if d["status"] == "PRIMARY"), None)
        now_runs = short(primary["taskDefinition"]) if primary else "no revision"
        latest = (svc.get("events") or [{}])[0].get("message", "no service event yet")
        if ours is not None:
            seen = True
            state = ours.get("rolloutState")
            if state == "FAILED":
                raise DeployError(f"{name}: the deployment failed: {ours.get('rolloutStateReason')}")
            if ours["status"] != "PRIMARY":
                raise DeployError(f"{name}: rolled back to {now_runs} (latest event: {latest})")
            if state == "COMPLETED":
                log(f"    {name}: {ours['runningCount']} tasks of {short(arn)} running, rollout completed")
                return
            if (state, ours.get("runningCount")) != last:
                last = (state, ours.get("runningCount"))
                log(f"    {name}: {state}, {ours.get('runningCount')}/{ours.get('desiredCount')} running")
        elif seen:
            # Gone after it was seen: ECS replaced it, i.e. rolled it back.
            raise DeployError(f"{name}: rolled back to {now_runs} (latest event: {latest})")
        elif last is None:
            last = ("not visible yet", None)
            log(f"    {name}: deployment {deployment_id} not visible yet")
        if waiting.expired():
            raise DeployError(f"{name}: deployment {deployment_id} not complete after {timeout:g} s (last: {last})")
        waiting.wait()


def read_ready(url, timeout=5):
    """(status, body) of one GET of the readiness URL; (None, reason) when unreachable."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "upbrella-deploy"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"{}")
        except ValueError:
            return e.code, {"message": "not JSON (the load balancer's own page?)"}
    except (urllib.error.URLError, OSError, ValueError) as e:
        return None, {"message": str(e)}


def check_ready(url, tag, timeout, poll, needed=3):
    """/api/ready through the public URL answers 200 from this release `needed` times in
    a row (answers come from any replica behind both load balancers)."""
    waiting = Poll(poll, timeout)
    streak, last = 0, None
    while True:
        status, body = read_ready(url)
        if status == 200 and body.get("release") == tag:
            streak += 1
            if streak >= needed:
                log(f"    {url}: ready, release {tag} ({needed} answers in a row)")
                return
        else:
            streak = 0
            last = f"{status or 'no answer'}: {body.get('message') or 'release ' + str(body.get('release'))}"
        if waiting.expired():
            raise DeployError(f"not ready through {url} within {timeout:g} s (last answer {last})")
        waiting.wait()


def revert(ecs, cluster, name, previous, timeout, poll):
    updated = ecs.update_service(cluster=cluster, service=name, taskDefinition=previous)
    log(f"    {name}: rolling back to {short(previous)}")
    wait_for_rollout(ecs, cluster, name, primary_id(updated["service"]), previous, timeout, poll)


def pin_schedule(scheduler, name, arn):
    """Points the schedule's ECS target at task definition `arn`, changing nothing else.
    UpdateSchedule replaces the whole schedule (an omitted field goes back to its
    default), so it is sent everything GetSchedule read, in the shape UpdateSchedule
    takes."""
    current = scheduler.get_schedule(Name=name)
    target = current["Target"]
    if "EcsParameters" not in target:
        raise DeployError(f"schedule {name} does not start an ECS task; is it the upbrella template's?")
    if target["EcsParameters"]["TaskDefinitionArn"] == arn:
        log(f"    schedule {name}: already runs {short(arn)}")
        return
    accepted = scheduler.meta.service_model.operation_model("UpdateSchedule").input_shape.members
    update = {k: v for k, v in current.items() if k in accepted and v is not None}
    update["Target"] = dict(target, EcsParameters=dict(target["EcsParameters"], TaskDefinitionArn=arn))
    scheduler.update_schedule(**update)
    log(f"    schedule {name}: runs {short(arn)} from now on")


def scale(autoscaling, rules):
    autoscaling.register_scalable_target(**rules["scalableTarget"])
    autoscaling.put_scaling_policy(**rules["scalingPolicy"])
    target = rules["scalableTarget"]
    log(f"    {target['ResourceId']}: {target['MinCapacity']}-{target['MaxCapacity']} tasks, "
        f"target {rules['scalingPolicy']['TargetTrackingScalingPolicyConfiguration']['TargetValue']:g}")


def deploy(args):
    client = aws_clients(args)
    cfn, ecr, ecs, autoscaling = client("cloudformation"), client("ecr"), client("ecs"), client("application-autoscaling")

    log(f"==> stack {args.stack}: outputs")
    values = stack_values(cfn, args.stack, args.region, args.image_tag)
    cluster = values["CLUSTER_NAME"]
    ready_url = args.ready_url or values.get("URL", "").rstrip("/") + "/api/ready"

    if args.architecture and values.get("ARCHITECTURE", "x86_64") != args.architecture:
        raise DeployError(f"the images are {args.architecture}, the stack's instances {values.get('ARCHITECTURE')}")

    services = [render(HERE / "services" / f"{name}.json", values) for name in ("was", "web-proxy")]
    log("==> no rollout in progress")
    refuse_concurrent(ecs, cluster, [s["serviceName"] for s in services])

    log(f"==> images {args.image_tag}")
    check_images(ecr, values, args.image_tag)

    log("==> task definitions")
    tasks = {name: render(HERE / "task-definitions" / f"{name}.json", values) for name in ("migrate", "was", "web-proxy")}
    arns = {name: register(ecs, definition) for name, definition in tasks.items()}

    log("==> migrations (one-off task, the new image)")
    run_migration(ecs, cluster, arns["migrate"], args.migration_timeout, args.poll)

    scaling = render(HERE / "scaling.json", values)
    for name, service in zip(("was", "web-proxy"), services):
        rules = scaling[service["serviceName"]]
        log(f"==> {service['serviceName']}")
        deployment, previous = roll_out(ecs, service, arns[name], rules["scalableTarget"]["MinCapacity"])
        wait_for_rollout(ecs, cluster, service["serviceName"], deployment, arns[name], args.timeout, args.poll)
        try:
            check_ready(ready_url, args.image_tag, args.ready_timeout, args.poll)
        except DeployError as not_ready:
            if previous is None:
                raise DeployError(f"{service['serviceName']}: {not_ready}; first deploy, nothing to roll back to") from None
            revert(ecs, cluster, service["serviceName"], previous, args.timeout, args.poll)
            raise DeployError(f"{service['serviceName']}: {not_ready}; rolled back to {short(previous)}") from None
        if name == "was":
            schedule = values.get("REMIND_SCHEDULE_NAME")
            if schedule:
                pin_schedule(client("scheduler"), schedule, arns["was"])
            else:
                print(f"::warning::stack {args.stack} has no reminder schedule (RemindScheduleName); update the "
                      "stack from this template to run was remind every hour", flush=True)
        scale(autoscaling, rules)
    mark_deployed(ecr, values, args.image_tag)
    if values.get("DATABASE_DELETION_PROTECTION") == "false":
        print(
            "::warning::the database is not protected from deletion; now that the stack has deployed once, run "
            f"aws cloudformation update-stack --stack-name {args.stack} --use-previous-template "
            "--capabilities CAPABILITY_NAMED_IAM --parameters ParameterKey=DatabaseDeletionProtection,ParameterValue=true "
            "(and UsePreviousValue=true for every other parameter; README, step 6)",
            flush=True,
        )
    log(f"deployed {args.image_tag}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    aws_arguments(parser, timeout=1200, poll=5, readiness=True)
    parser.add_argument("--image-tag", required=True, help="the tag both images were pushed with (the commit SHA)")
    parser.add_argument("--architecture", choices=["x86_64", "arm64"],
                        help="what the images were built for; must match the stack's Architecture")
    parser.add_argument("--migration-timeout", type=float, default=900,
                        help="seconds the migration task may run before it is stopped (default 900)")
    args = parser.parse_args()
    if not IMAGE_TAG.match(args.image_tag):
        parser.error(f"--image-tag {args.image_tag!r} is not a valid image tag (at most 119 of A-Z a-z 0-9 _ . -)")
    try:
        deploy(args)
    except DeployError as e:
        print(f"::error::deploy failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
