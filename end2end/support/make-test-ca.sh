#!/bin/sh
# Makes a throwaway certificate authority and a server certificate it signs
# for 127.0.0.1 and localhost, in DIR (ca.pem, server.pem, server-key.pem):
# the single sign-on journey's identity provider serves HTTPS with them, and
# Gridlink trusts the CA (SSL_CERT_FILE), so the discovery document is read
# over verified TLS as in production. Valid two days; made anew every run.
set -eu
dir=$1
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=Gridlink end-to-end test CA" -keyout ca-key.pem -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=127.0.0.1" -keyout server-key.pem -out server.csr 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
  -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl ca-key.pem
