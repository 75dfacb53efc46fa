#!/usr/bin/env python3
"""Deploys one image tag to the ECS cluster of the CloudFormation stack.

The stack owns the infrastructure; this program owns what runs on it: the task
definitions (ecs/task-definitions/*.json), the services (ecs/services/*.json) and their
auto scaling (ecs/scaling.json). Nothing else defines them, so they cannot drift, and a
stack update never puts an old image back or resets the number of tasks.

Steps, each awaited, the first failure stopping the deploy before anything else changes:

1. Read the stack's outputs; they fill the ${VARS} of the definitions.
2. Check both images exist in ECR for the tag (the workflow pushed them, or an earlier
   run of the same commit did).
3. Register the three task definitions with the new images.
4. Run the migration task (`was migrate` as the database owner) and wait for it to stop;
   its exit code must be 0. Old replicas keep running meanwhile, so a migration must be
   compatible with the code already deployed (README: expand, then contract).
5. Update the WAS service (create it on the first deploy), then wait until the new
   revision is the primary deployment and its rollout COMPLETED. A circuit-breaker or
   alarm rollback ends the wait as a failure.
6. The same for web-proxy (it may call WAS endpoints of this commit).
7. Register the services' scalable targets and target-tracking policies (idempotent).

A re-run with the same tag registers identical revisions and rolls them out again: safe.

Usage: ecs/deploy.py --stack upbrella --image-tag <commit sha> [--region ap-northeast-2]
       [--architecture x86_64|arm64]
       [--endpoint-url http://127.0.0.1:PORT]   (an emulator, for the rehearsal)
"""

import argparse
import json
import pathlib
import re
import string
import sys
import time

import boto3

HERE = pathlib.Path(__file__).resolve().parent
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class DeployError(Exception):
    pass


def log(message):
    print(message, flush=True)


def snake(name):
    """WasRepositoryUri -> WAS_REPOSITORY_URI: how outputs are named in the definitions."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


def stack_values(cfn, stack, region, tag):
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    values = {snake(o["OutputKey"]): o["OutputValue"] for o in described.get("Outputs", [])}
    for needed in ("CLUSTER_NAME", "WAS_REPOSITORY_URI", "WEB_PROXY_REPOSITORY_URI"):
        if needed not in values:
            raise DeployError(f"stack {stack} has no output {needed}; is it the upbrella template?")
    values["AWS_REGION"] = region
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


def register(ecs, definition):
    arn = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    log(f"    registered {arn}")
    return arn


def run_migration(ecs, cluster, arn, timeout, poll):
    started = ecs.run_task(cluster=cluster, taskDefinition=arn, count=1, startedBy="deploy-migrate")
    if started.get("failures") or not started.get("tasks"):
        raise DeployError(f"the migration task did not start: {started.get('failures')}")
    task_arn = started["tasks"][0]["taskArn"]
    log(f"    started {task_arn}")
    deadline = time.monotonic() + timeout
    while True:
        task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
        if task["lastStatus"] == "STOPPED":
            break
        if time.monotonic() > deadline:
            raise DeployError(f"the migration task did not stop within {timeout} s (it is {task['lastStatus']})")
        time.sleep(poll)
    container = task["containers"][0]
    code = container.get("exitCode")
    if code != 0:
        task_id = task_arn.rsplit("/", 1)[-1]
        raise DeployError(
            f"the migration failed (exit code {code}, {task.get('stoppedReason', 'no reason given')}); "
            f"its log is the stream migrate/migrate/{task_id}; no service was changed"
        )
    log("    migrations applied (exit code 0)")


def running_service(ecs, cluster, name):
    found = ecs.describe_services(cluster=cluster, services=[name])["services"]
    return found[0] if found and found[0]["status"] != "INACTIVE" else None


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


def roll_out(ecs, service, arn, min_tasks):
    cluster, name = service["cluster"], service["serviceName"]
    current = running_service(ecs, cluster, name)
    if current:
        changes = {k: service[k] for k in UPDATABLE if k in service}
        force = strategy_changed(current.get("capacityProviderStrategy"), service.get("capacityProviderStrategy"))
        ecs.update_service(cluster=cluster, service=name, taskDefinition=arn, forceNewDeployment=force, **changes)
        log(f"    {name}: updated to {arn.rsplit('/', 1)[-1]}")
    else:
        ecs.create_service(**dict(service, taskDefinition=arn, desiredCount=min_tasks))
        log(f"    {name}: created with {arn.rsplit('/', 1)[-1]} and {min_tasks} tasks")


def wait_for_rollout(ecs, cluster, name, arn, timeout, poll):
    """Until the primary deployment runs `arn` and its rollout COMPLETED. A rollback (the
    primary deployment going back to another revision) or FAILED ends it as a failure."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        svc = ecs.describe_services(cluster=cluster, services=[name])["services"][0]
        primary = next(d for d in svc["deployments"] if d["status"] == "PRIMARY")
        state = primary.get("rolloutState")
        if primary["taskDefinition"] != arn:
            latest = (svc.get("events") or [{}])[0].get("message", "no service event yet")
            raise DeployError(
                f"{name}: rolled back to {primary['taskDefinition'].rsplit('/', 1)[-1]} (latest event: {latest})"
            )
        if state == "FAILED":
            raise DeployError(f"{name}: the deployment failed: {primary.get('rolloutStateReason')}")
        if state == "COMPLETED":
            log(f"    {name}: {primary['runningCount']} tasks of {arn.rsplit('/', 1)[-1]} running, rollout completed")
            return
        if (state, primary.get("runningCount")) != last:
            last = (state, primary.get("runningCount"))
            log(f"    {name}: {state}, {primary.get('runningCount')}/{primary.get('desiredCount')} running")
        if time.monotonic() > deadline:
            raise DeployError(f"{name}: not complete after {timeout} s (still {state})")
        time.sleep(poll)


def scale(autoscaling, rules):
    autoscaling.register_scalable_target(**rules["scalableTarget"])
    autoscaling.put_scaling_policy(**rules["scalingPolicy"])
    target = rules["scalableTarget"]
    log(f"    {target['ResourceId']}: {target['MinCapacity']}-{target['MaxCapacity']} tasks, "
        f"target {rules['scalingPolicy']['TargetTrackingScalingPolicyConfiguration']['TargetValue']:g}")


def deploy(args):
    session = boto3.session.Session(region_name=args.region)
    client = lambda name: session.client(name, endpoint_url=args.endpoint_url)  # noqa: E731
    cfn, ecr, ecs, autoscaling = client("cloudformation"), client("ecr"), client("ecs"), client("application-autoscaling")

    log(f"==> stack {args.stack}: outputs")
    values = stack_values(cfn, args.stack, args.region, args.image_tag)
    cluster = values["CLUSTER_NAME"]

    if args.architecture and values.get("ARCHITECTURE", "x86_64") != args.architecture:
        raise DeployError(f"the images are {args.architecture}, the stack's instances {values.get('ARCHITECTURE')}")

    log(f"==> images {args.image_tag}")
    check_images(ecr, values, args.image_tag)

    log("==> task definitions")
    tasks = {name: render(HERE / "task-definitions" / f"{name}.json", values) for name in ("migrate", "was", "web-proxy")}
    arns = {name: register(ecs, definition) for name, definition in tasks.items()}

    log("==> migrations (one-off task, the new image)")
    run_migration(ecs, cluster, arns["migrate"], args.timeout, args.poll)

    scaling = render(HERE / "scaling.json", values)
    for name in ("was", "web-proxy"):
        service = render(HERE / "services" / f"{name}.json", values)
        rules = scaling[service["serviceName"]]
        log(f"==> {service['serviceName']}")
        roll_out(ecs, service, arns[name], rules["scalableTarget"]["MinCapacity"])
        wait_for_rollout(ecs, cluster, service["serviceName"], arns[name], args.timeout, args.poll)
        scale(autoscaling, rules)
    log(f"deployed {args.image_tag}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="CloudFormation stack name")
    parser.add_argument("--image-tag", required=True, help="the tag both images were pushed with (the commit SHA)")
    parser.add_argument("--region", default="ap-northeast-2")
    parser.add_argument("--architecture", choices=["x86_64", "arm64"],
                        help="what the images were built for; must match the stack's Architecture")
    parser.add_argument("--endpoint-url", help="send every AWS call here (an emulator)")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds to wait for each step (default 1200)")
    parser.add_argument("--poll", type=float, default=10, help="seconds between status checks (default 10)")
    args = parser.parse_args()
    if not IMAGE_TAG.match(args.image_tag):
        parser.error(f"--image-tag {args.image_tag!r} is not a valid image tag")
    try:
        deploy(args)
    except DeployError as e:
        print(f"::error::deploy failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
