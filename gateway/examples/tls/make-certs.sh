#!/usr/bin/env bash
# Self-signed certificates for trying Tollgate's TLS listeners (gateway/examples/protocols.yaml):
# a local CA, a default certificate for localhost and 127.0.0.1, and a wildcard one for *.example.test.
# Usage: bash gateway/examples/tls/make-certs.sh [DIR]   (default: certs/ beside protocols.yaml)
# Trust DIR/ca.pem in the client (curl --cacert, grpcurl -cacert). Never use these in production.
set -euo pipefail
dir="${1:-$(dirname "$0")/../certs}"
mkdir -p "$dir"
cd "$dir"
days=825

if [[ ! -f ca.pem ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj '/CN=Tollgate example CA' -keyout ca-key.pem -out ca.pem 2>/dev/null
fi

# issue NAME CN SAN: NAME.pem (the certificate) and NAME-key.pem, signed by the CA.
issue() {
  local name="$1" cn="$2" san="$3"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=$cn" -keyout "$name-key.pem" -out "$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
    -days "$days" -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
  echo "$dir/$name.pem ($san)"
}

issue default localhost 'DNS:localhost,IP:127.0.0.1'
issue wildcard.example.test '*.example.test' 'DNS:*.example.test,DNS:example.test'
echo "CA to trust: $dir/ca.pem"
