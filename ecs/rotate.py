#!/usr/bin/env python3
"""Rotates a credential of the running service without an outage, step by step, each
step awaited and checked through the public readiness URL before the next.

proxy-secret   web-proxy's shared secret with the WAS. The WAS accepts two secrets
               (upbrella/proxy-secret and upbrella/proxy-secret-rotating), web-proxy
               sends the first. 1: the new value goes into the rotating secret, the WAS
               rolls (it now accepts old and new; every web-proxy still sends the old).
               2: the old value becomes the rotating secret, then the new one the proxy
               secret, web-proxy rolls (each replica switches to the new; WAS replicas
               started meanwhile accept both). 3: the rotating secret gets a random value
               nobody sends, the WAS rolls: the old value is refused from then on.
redis-auth     ElastiCache's AUTH token. 1: the new token is added beside the old one
               (AuthTokenUpdateStrategy ROTATE: both work). 2: the secret gets the new
               token, the WAS rolls (readiness shows Redis accepts it). 3: the old token
               is removed (SET).

At no point does a replica that starts, restarts or scales out read a secret the other
tier or Redis refuses. The database owner's password rotates by itself (RDS-managed; only
the migration task reads it, at its start) and the WAS's database login is an IAM token
(nothing to rotate): README, "Rotating credentials".

Run it with an operator's credentials (it reads and writes the secrets, and ElastiCache
for redis-auth); not from CI.

Usage: ecs/rotate.py --stack upbrella proxy-secret|redis-auth [--region ap-northeast-2]
       [--ready-url https://DOMAIN/api/ready] [--endpoint-url URL]
"""

import argparse
import secrets
import string
import sys

from deploy import (
    DeployError,
    Poll,
    aws_arguments,
    aws_clients,
    check_ready,
    log,
    primary_id,
    refuse_concurrent,
    stack_values,
    wait_for_rollout,
)

ALPHABET = string.ascii_letters + string.digits


def random_secret(length):
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


class Rotation:
    def __init__(self, args):
        client = aws_clients(args)
        self.cfn, self.ecs, self.secrets = client("cloudformation"), client("ecs"), client("secretsmanager")
        self.elasticache = client("elasticache")
        self.args = args
        self.values = stack_values(self.cfn, args.stack, args.region)
        self.cluster = self.values["CLUSTER_NAME"]
        self.ready_url = args.ready_url or self.values.get("URL", "").rstrip("/") + "/api/ready"

    def put(self, output, value):
        self.secrets.put_secret_value(SecretId=self.values[output], SecretString=value)
        log(f"    {self.values[output].rsplit(':', 1)[-1]}: new value stored")

    def get(self, output):
        return self.secrets.get_secret_value(SecretId=self.values[output])["SecretString"]

    def roll(self, service):
        """New tasks for `service` (same revision: they read the secrets again)."""
        updated = self.ecs.update_service(cluster=self.cluster, service=service, forceNewDeployment=True)
        current = updated["service"]["taskDefinition"]
        log(f"    {service}: new tasks of {current.rsplit('/', 1)[-1]}")
        wait_for_rollout(self.ecs, self.cluster, service, primary_id(updated["service"]), current,
                         self.args.timeout, self.args.poll)
        self.ready()

    def ready(self):
        check_ready(self.ready_url, self.running_release(), self.args.ready_timeout, self.args.poll)

    def running_release(self):
        service = self.ecs.describe_services(cluster=self.cluster, services=["upbrella-was"])["services"][0]
        definition = self.ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        env = {e["name"]: e["value"] for e in definition["containerDefinitions"][0].get("environment", [])}
        return env.get("UPBRELLA_RELEASE", "dev")

    def proxy_secret(self):
        old, new = self.get("PROXY_SECRET_ARN"), random_secret(48)
        log("==> 1/3: the WAS accepts the new secret too")
        self.put("PROXY_SECRET_ROTATING_ARN", new)
        self.roll("upbrella-was")
        log("==> 2/3: web-proxy sends the new secret (the WAS still accepts the old)")
        # The old value moves first: a WAS task starting between the two writes then
        # accepts the old one twice (what every web-proxy still sends), never the new
        # one twice.
        self.put("PROXY_SECRET_ROTATING_ARN", old)
        self.put("PROXY_SECRET_ARN", new)
        self.roll("upbrella-web-proxy")
        log("==> 3/3: the old secret is refused")
        self.put("PROXY_SECRET_ROTATING_ARN", random_secret(48))
        self.roll("upbrella-was")

    def modify_token(self, token, strategy):
        group = self.values["REDIS_REPLICATION_GROUP_ID"]
        self.elasticache.modify_replication_group(ReplicationGroupId=group, AuthToken=token,
                                                  AuthTokenUpdateStrategy=strategy, ApplyImmediately=True)
        waiting = Poll(self.args.poll, self.args.timeout)
        while True:
            status = self.elasticache.describe_replication_groups(ReplicationGroupId=group)["ReplicationGroups"][0]["Status"]
            if status == "available":
                log(f"    {group}: AUTH token {strategy}, available")
                return
            if waiting.expired():
                raise DeployError(f"{group}: still {status} after {self.args.timeout:g} s ({strategy})")
            waiting.wait()

    def redis_auth(self):
        new = random_secret(64)
        log("==> 1/3: ElastiCache accepts the new token beside the old (ROTATE)")
        self.modify_token(new, "ROTATE")
        log("==> 2/3: the WAS uses the new token")
        self.put("REDIS_AUTH_SECRET_ARN", new)
        self.roll("upbrella-was")
        log("==> 3/3: the old token stops working (SET)")
        self.modify_token(new, "SET")
        self.ready()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("credential", choices=["proxy-secret", "redis-auth"])
    aws_arguments(parser, timeout=1200, poll=5, readiness=True)
    args = parser.parse_args()
    try:
        rotation = Rotation(args)
        refuse_concurrent(rotation.ecs, rotation.cluster, ["upbrella-was", "upbrella-web-proxy"])
        {"proxy-secret": rotation.proxy_secret, "redis-auth": rotation.redis_auth}[args.credential]()
    except DeployError as e:
        print(f"::error::rotation failed: {e}", file=sys.stderr)
        return 1
    log(f"rotated {args.credential}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
