#!/usr/bin/env bash
# A private CA for a mOSdat deployment and one certificate per host, with openssl.
# docs/multi-host.md ("Certificates") walks through it; tests/deploy/check_tls_recipe.sh
# checks what it makes.
#
#   mosdat-certs.sh ca DIR
#       DIR/ca.key (0600: keep it off the service hosts) and DIR/ca.crt (10 years)
#   mosdat-certs.sh host DIR NAME SAN [SAN...]
#       DIR/NAME.key (0600) and DIR/NAME.crt (397 days), signed by DIR/ca.*, valid for
#       every SAN given (DNS:coord.lab.example, IP:10.20.0.10): the names clients use
#       to reach NAME. Usable as server certificate (--tls-cert) and as client
#       certificate for mutual TLS. Run again to rotate: a new key and certificate.
set -euo pipefail
umask 077

usage() {
  sed -n '5,12p' "$0" >&2
  exit 2
}

command=${1:-}
dir=${2:-}
[ -n "$command" ] && [ -n "$dir" ] || usage
mkdir -p "$dir"

case "$command" in
  ca)
    [ $# -eq 2 ] || usage
    if [ -e "$dir/ca.key" ]; then
      echo "$dir/ca.key exists: a new CA would invalidate every certificate it signed" >&2
      exit 1
    fi
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 3650 -subj "/CN=mOSdat CA" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    chmod 0644 "$dir/ca.crt"
    echo "$dir/ca.crt: the CA every service and client trusts (--tls-ca, --tls-client-ca)"
    ;;
  host)
    name=${3:-}
    [ -n "$name" ] && [ $# -ge 4 ] || usage
    [ -f "$dir/ca.key" ] && [ -f "$dir/ca.crt" ] || {
      echo "no CA in $dir: run '$0 ca $dir' first" >&2
      exit 1
    }
    sans=$(IFS=,; echo "${*:4}")
    for san in "${@:4}"; do
      case "$san" in
        DNS:?* | IP:?*) ;;
        *) echo "subjectAltName \"$san\": write DNS:name or IP:address" >&2; exit 2 ;;
      esac
    done
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$name" 2>/dev/null
    extensions=$(mktemp)
    trap 'rm -f "$extensions"' EXIT
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth,clientAuth" \
      "subjectAltName=$sans" >"$extensions"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
      -CAcreateserial -days 397 -sha256 -extfile "$extensions" -out "$dir/$name.crt" 2>/dev/null
    rm -f "$dir/$name.csr"
    chmod 0644 "$dir/$name.crt"
    echo "$dir/$name.crt for $sans (key: $dir/$name.key)"
    ;;
  *) usage ;;
esac
