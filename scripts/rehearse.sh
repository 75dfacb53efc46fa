#!/usr/bin/env bash
# The deploy, rehearsed offline: who may assume the deploy role (the trust policy
# evaluated against the claims GitHub sends), then the stack created in moto, a local
# AWS emulator, and ecs/deploy.py run against it (first deploy, second deploy, re-run,
# failing migration, rollback, missing image, stack update). Tools from the pinned venv.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools-venv.sh

echo "==> trust policy of the deploy role"
"$venv/bin/python" ecs/test_trust_policy.py
echo "==> deploy rehearsal (moto, a stand-in for AWS)"
"$venv/bin/python" ecs/rehearse.py
