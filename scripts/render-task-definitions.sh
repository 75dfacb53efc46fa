#!/usr/bin/env bash
# Fills ecs/task-definitions/*.json with the CloudFormation stack's outputs (account,
# region, database and Redis hosts, the internal ALB) and writes them to OUT_DIR.
# Usage: scripts/render-task-definitions.sh STACK_NAME OUT_DIR
set -euo pipefail
stack=${1:?stack name}
out=${2:?output directory}
output() {
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
AWS_ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text)
AWS_REGION=${AWS_REGION:?AWS_REGION is required}
DOMAIN_NAME=$(output Url | sed -e 's#^https://##' -e 's#/$##')
DATABASE_HOST=$(output DatabaseHost)
DATABASE_SECRET_ARN=$(output DatabaseSecretArn)
REDIS_HOST=$(output RedisHost)
INTERNAL_ALB_DNS=$(output InternalLoadBalancerDns)
export AWS_ACCOUNT_ID AWS_REGION DOMAIN_NAME DATABASE_HOST DATABASE_SECRET_ARN REDIS_HOST INTERNAL_ALB_DNS
mkdir -p "$out"
vars='$AWS_ACCOUNT_ID $AWS_REGION $DOMAIN_NAME $DATABASE_HOST $DATABASE_SECRET_ARN $REDIS_HOST $INTERNAL_ALB_DNS'
for f in ecs/task-definitions/*.json; do
  envsubst "$vars" < "$f" > "$out/$(basename "$f")"
done
echo "rendered $(ls "$out" | tr '\n' ' ')into $out"
