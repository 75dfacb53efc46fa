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

Each create also checks what the stack made: the store photo bucket and who may write
to it, the ALB access log bucket (lifecycle, public access, ELB's permission) and both
load balancers logging to it, the metric filters and the dashboard.

The parts: ecs/rehearse_support.py (checks, running the programs), ecs/rehearse_stack.py
(the stack in moto and its checks), ecs/rehearse_scenarios.py (the scenarios). The
emulator and its stand-ins for what moto lacks are in ecs/emulator.py and
ecs/emulator_observability.py; each is listed in the output.

What it cannot show is listed at the end of the output.
"""

import logging
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from moto.server import ThreadedMotoServer  # noqa: E402

from deploy import strategy_changed  # noqa: E402
from emulator import SUBSTITUTED, UNMANAGED  # noqa: E402
from rehearse_scenarios import Scenarios  # noqa: E402
from rehearse_stack import StackRehearsal  # noqa: E402
from rehearse_support import check, failures, free_port  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.ERROR)


class Rehearsal(Scenarios, StackRehearsal):
    """The whole rehearsal: the stack's helpers and checks, and the scenarios."""


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
