#!/usr/bin/env bash
# Fails when a service's primary deployment is not the task definition just deployed
# (the deployment circuit breaker rolled it back) or did not complete.
# Usage: scripts/check-deployment.sh CLUSTER SERVICE TASK_DEF_ARN [SERVICE TASK_DEF_ARN ...]
set -euo pipefail
cluster=${1:?cluster}
shift
status=0
while [ $# -ge 2 ]; do
  service=$1 expected=$2
  shift 2
  read -r running state < <(aws ecs describe-services --cluster "$cluster" --services "$service" \
    --query 'services[0].deployments[?status==`PRIMARY`] | [0].[taskDefinition, rolloutState]' --output text)
  if [ "$running" != "$expected" ] || [ "$state" != "COMPLETED" ]; then
    echo "::error::$service runs $running ($state), not $expected: the deployment was rolled back or did not finish"
    status=1
  else
    echo "$service runs $expected"
  fi
done
exit "$status"
