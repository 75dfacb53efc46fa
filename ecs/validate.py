#!/usr/bin/env python3
"""Validates what ecs/deploy.py deploys, offline.

1. Against the real AWS API models that botocore ships: the task definitions against
   ECS RegisterTaskDefinition, the services against CreateService, the auto scaling
   rules against Application Auto Scaling RegisterScalableTarget and PutScalingPolicy
   (keys, types, required members). botocore's validator does not check enum values or
   length/range limits, so this walks the shapes and checks those too.
2. Against the stack: every ${VAR} the definitions use is an output of the CloudFormation
   template (deploy.py fills them from the outputs), and every alarm a service rolls
   back on is an alarm the template creates.
3. Against our own rules: health checks, stopTimeout covering the graceful drain,
   secrets never in plain environment, read-only non-root containers, awslogs, and
   memory that fits a 2 GiB host (t3.small or t4g.small) during a 200 % rolling
   deployment.
4. The store photo bucket: nobody but the WAS task role may write to it, and that role
   only s3:PutObject under stores/; the public may only read stores/*; ACLs stay off;
   CORS admits the site; the WAS is given the bucket and web-proxy its origin.
5. The hourly reminder schedule (`was remind`): hourly in Asia/Seoul, a RunTask of the
   WAS family with the `remind` command, placed like the WAS service, retries bounded,
   and a role that may start only that and pass only the WAS's two roles.
6. Observability: every metric filter has a pattern that can be evaluated, a value and
   the Upbrella namespace; every alarm notifies the alarm topic; both ALBs write access
   logs to a bucket that expires them (ecs/observability.py, which also checks the
   filters and the alarms' metrics against lines the binaries printed).

The rules are in ecs/validate_model.py (definitions against the API models),
ecs/validate_stack.py (the template) and ecs/observability.py; their self-tests in
ecs/validate_selftest.py.
"""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from cfn import load_template  # noqa: E402
from observability import observability_rules  # noqa: E402
from validate_model import (  # noqa: E402
    HERE,
    NOT_FROM_STACK,
    against_model,
    capacity,
    load,
    scaling_rules,
    service_rules,
    task_rules,
    template_facts,
    variables,
)
from validate_selftest import self_test  # noqa: E402
from validate_stack import (  # noqa: E402
    execution_role_rules,
    mail_policy_rules,
    photo_rules,
    remind_schedule_rules,
    template_rules,
)


def main():
    self_test()
    errors = []
    outputs, alarms = template_facts()
    template = load_template()
    errors += mail_policy_rules(template)
    errors += template_rules(template)
    errors += observability_rules(template)
    errors += execution_role_rules(
        template, {p.stem: p.read_text() for p in sorted((HERE / "task-definitions").glob("*.json"))})
    errors += remind_schedule_rules(template, *(json.loads((HERE / d / "was.json").read_text())
                                                for d in ("task-definitions", "services")))
    errors += photo_rules(template, *(json.loads((HERE / "task-definitions" / f).read_text())
                                      for f in ("was.json", "web-proxy.json")))
    for path in sorted(HERE.glob("*/*.json")) + [HERE / "scaling.json"]:
        for var in sorted(variables(path) - outputs - NOT_FROM_STACK):
            errors.append(f"{path.name}: ${{{var}}} is not an output of the stack")
    scaling = load(HERE / "scaling.json")
    tasks = {}
    for path in sorted((HERE / "task-definitions").glob("*.json")):
        task = load(path)
        tasks[task["family"]] = task
        errors += against_model(task, "RegisterTaskDefinition", path.name)
        errors += task_rules(task, path.name)
    services = []
    for path in sorted((HERE / "services").glob("*.json")):
        svc = load(path)
        services.append((svc, 0))
        errors += against_model(svc, "CreateService", path.name)
        errors += service_rules(svc, path.name, alarms)
        if svc["taskDefinition"] not in tasks:
            errors.append(f"{path.name}: no task definition {svc['taskDefinition']}")
        rules = scaling.get(svc["serviceName"])
        if rules is None:
            errors.append(f"scaling.json: no rules for {svc['serviceName']}")
            continue
        errors += scaling_rules(svc["serviceName"], rules, f"scaling.json:{svc['serviceName']}")
        services[-1] = (svc, rules["scalableTarget"]["MinCapacity"])
    cap_errors, mem, cpu = capacity(tasks, services, one_offs=[tasks["upbrella-was"]])
    errors += cap_errors
    for e in errors:
        print(f"error: {e}")
    print(f"{len(tasks)} task definitions, {len(services)} services and their scaling checked against the "
          f"API models and the stack's {len(outputs)} outputs and {len(alarms)} alarms; "
          f"peak per host during a deployment with a reminder run: {mem} MiB reserved, {cpu} CPU units; the "
          f"hourly reminder schedule and its role, the store photo bucket and who may write to it, the metric "
          f"filters, alarm actions and ALB access logs checked")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
