#!/bin/sh
# A throwaway CA and a server certificate for the host name `redis`, made once into /tls
# (the compose stack's shared volume): the local stand-in for ElastiCache's certificate.
# The CA's key is deleted at once: nothing else can ever be signed with it.
set -eu
cd /tls
[ -s server.crt ] && [ -s ca.crt ] && { echo "redis TLS: certificate already in /tls"; exit 0; }
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
# shellcheck disable=SC2086
openssl req -x509 $ec -keyout ca.key -out ca.crt -days 825 -subj "/CN=upbrella local Redis CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
# shellcheck disable=SC2086
openssl req $ec -keyout server.key -out server.csr -subj /CN=redis 2>/dev/null
printf 'subjectAltName=DNS:redis\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 825 \
  -extfile server.ext 2>/dev/null
rm -f ca.key ca.srl server.csr server.ext
chmod 0600 server.key
chmod 0644 ca.crt server.crt
echo "redis TLS: certificate for redis made in /tls"
