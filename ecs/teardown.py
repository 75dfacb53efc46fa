#!/usr/bin/env python3
"""Takes a live stack down to nothing, in the order AWS needs, so it can be created again.

The services, their auto scaling and the task definitions belong to deploy.py, not to the
stack, so deleting the stack alone fails on a cluster that still has services (and the
capacity provider they use). This program:

1. refuses while the database is deletion-protected (turn DatabaseDeletionProtection off
   with a stack update first: deleting the data is a decision, not a side effect);
2. removes the services' scalable targets (their target-tracking policies and alarms go
   with them), so nothing scales a service back up;
3. sets both services to 0 tasks and waits until none runs (connections drain through
   the load balancers' deregistration delay), then deletes the services and stops any
   migration task still running;
4. deletes the stack and waits (the database leaves a final snapshot);
5. removes what the stack keeps on purpose, unless told to keep it: the ECR repositories
   (the images are rebuilt by the deploy workflow) with --delete-images, and the bank-key
   secret only with --delete-bank-key (without it, every snapshot's bank account numbers
   are unreadable: keep it to restore one);
6. prints what is left and how the next create reuses it (ExistingBankKeyArn); the store
   photo bucket is always kept (a restored database links to its photos).

Usage: ecs/teardown.py --stack upbrella --yes [--delete-images] [--delete-bank-key]
       [--region ap-northeast-2] [--endpoint-url URL]
"""

import argparse
import sys

from deploy import DeployError, Poll, aws_arguments, aws_clients, log, running_service, stack_values

SERVICES = ("upbrella-web-proxy", "upbrella-was")


def teardown(args):
    client = aws_clients(args)
    cfn, ecs, ecr = client("cloudformation"), client("ecs"), client("ecr")
    autoscaling, secrets = client("application-autoscaling"), client("secretsmanager")

    values = stack_values(cfn, args.stack, args.region)
    cluster = values["CLUSTER_NAME"]
    if values.get("DATABASE_DELETION_PROTECTION") != "false":
        raise DeployError(
            "the database is deletion-protected; if the data may go (a final snapshot is kept), run "
            f"aws cloudformation update-stack --stack-name {args.stack} --use-previous-template "
            "--capabilities CAPABILITY_NAMED_IAM --parameters ParameterKey=DatabaseDeletionProtection,ParameterValue=false "
            "(UsePreviousValue=true for the others), then this again"
        )

    log("==> auto scaling: scalable targets removed")
    for name in SERVICES:
        resource = f"service/{cluster}/{name}"
        found = autoscaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"]
        if found:
            autoscaling.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=resource,
                                                   ScalableDimension="ecs:service:DesiredCount")
            log(f"    {resource}")

    log("==> services drained and deleted")
    for name in SERVICES:
        if running_service(ecs, cluster, name):
            ecs.update_service(cluster=cluster, service=name, desiredCount=0)
    waiting = Poll(args.poll, args.timeout)
    while True:
        running = {name: svc["runningCount"] for name in SERVICES if (svc := running_service(ecs, cluster, name))}
        if not any(running.values()):
            break
        if waiting.expired():
            raise DeployError(f"tasks still running after {args.timeout:g} s: {running}")
        waiting.wait()
    for name in SERVICES:
        if running_service(ecs, cluster, name):
            ecs.delete_service(cluster=cluster, service=name, force=True)
            log(f"    {name}: deleted")
    for task in ecs.list_tasks(cluster=cluster, startedBy="deploy-migrate", desiredStatus="RUNNING")["taskArns"]:
        ecs.stop_task(cluster=cluster, task=task, reason="teardown")
        log(f"    migration task {task.rsplit('/', 1)[-1]}: stopped")

    log(f"==> stack {args.stack}: deleting (the database leaves a final snapshot)")
    cfn.delete_stack(StackName=args.stack)
    waiting = Poll(args.poll, args.timeout)
    while True:
        stacks = cfn.describe_stacks()["Stacks"]
        status = next((s["StackStatus"] for s in stacks if s["StackName"] == args.stack), "DELETE_COMPLETE")
        if status == "DELETE_COMPLETE":
            break
        if status == "DELETE_FAILED":
            raise DeployError(f"stack {args.stack}: DELETE_FAILED; its events say which resource, fix and run again")
        if waiting.expired():
            raise DeployError(f"stack {args.stack}: still {status} after {args.timeout:g} s")
        waiting.wait()
    log("    deleted")

    log("==> kept on purpose")
    for output in ("WAS_REPOSITORY_URI", "WEB_PROXY_REPOSITORY_URI"):
        repository = values[output].split("/", 1)[1]
        if args.delete_images:
            try:
                ecr.delete_repository(repositoryName=repository, force=True)
                log(f"    {repository}: deleted with its images")
            except ecr.exceptions.RepositoryNotFoundException:
                pass
        else:
            log(f"    {repository}: kept (a re-create fails on it; delete it with --delete-images)")
    bank_key = values["BANK_KEY_SECRET_ARN"]
    if args.delete_bank_key:
        secrets.delete_secret(SecretId=bank_key, ForceDeleteWithoutRecovery=True)
        log(f"    {bank_key}: deleted; the snapshots' bank account numbers are now unreadable")
    else:
        log(f"    bank key kept: create the stack again with ExistingBankKeyArn={bank_key}")
    if "PHOTO_BUCKET" in values:
        # The stack names it, so a re-create makes a new one beside it; the kept one still
        # serves the photos a database restored from a snapshot links to.
        log(f"    s3://{values['PHOTO_BUCKET']}: kept with the store photos and their public read; "
            "delete it (aws s3 rb --force) once no database links to them")
    if "ALB_LOG_BUCKET" in values:
        log(f"    s3://{values['ALB_LOG_BUCKET']}: kept with the load balancers' access logs (its lifecycle rule "
            "deletes each after 90 days); delete it (aws s3 rb --force) when they are no longer wanted")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    aws_arguments(parser, timeout=1800, poll=10)
    parser.add_argument("--yes", action="store_true", help="really take the service down")
    parser.add_argument("--delete-images", action="store_true", help="delete the ECR repositories and their images")
    parser.add_argument("--delete-bank-key", action="store_true",
                        help="delete the bank-account key at once (no recovery window); snapshots become unreadable")
    args = parser.parse_args()
    if not args.yes:
        parser.error("this deletes the service and its database (a final snapshot is kept): add --yes")
    try:
        teardown(args)
    except DeployError as e:
        print(f"::error::teardown stopped: {e}", file=sys.stderr)
        return 1
    log(f"stack {args.stack} torn down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
