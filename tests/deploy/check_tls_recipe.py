#!/usr/bin/env python3
"""The certificate recipe of docs/multi-host.md (deploy/tls/mosdat-certs.sh) makes what
gRPC needs: a CA and host certificates whose keys are private (0600), valid for the
names given and no others, that a real gRPC TLS handshake (grpc core, through
python3-grpcio) accepts, with and without mutual TLS, and that it refuses for a client
without a certificate when the server asks for one, or for a name the certificate lacks.

Usage: check_tls_recipe.py SOURCE_DIR. Exits 1 on the first failed check.
"""
import os
import pathlib
import stat
import subprocess
import sys
import tempfile
from concurrent import futures

import grpc

ECHO = "/mosdat.test.Echo/Echo"


def run(*argv, expect_ok=True):
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    if (result.returncode == 0) != expect_ok:
        sys.exit(f"{' '.join(argv)}: exit {result.returncode}, expected "
                 f"{'success' if expect_ok else 'failure'}\n{result.stdout}{result.stderr}")
    return result


def read(path):
    return pathlib.Path(path).read_bytes()


def echo_server(pki, require_client_auth):
    server = grpc.server(futures.ThreadPoolExecutor(2))
    handler = grpc.method_handlers_generic_handler(
        "mosdat.test.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(lambda request, _: request)})
    server.add_generic_rpc_handlers((handler,))
    credentials = grpc.ssl_server_credentials(
        [(read(pki / "coord.key"), read(pki / "coord.crt"))], root_certificates=read(pki / "ca.crt"),
        require_client_auth=require_client_auth)
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    return server, port


def call(pki, port, client_cert, target_name):
    """Echo over TLS to 127.0.0.1:port as if reaching `target_name`; the error or None."""
    key = cert = None
    if client_cert:
        key, cert = read(pki / f"{client_cert}.key"), read(pki / f"{client_cert}.crt")
    credentials = grpc.ssl_channel_credentials(read(pki / "ca.crt"), key, cert)
    options = [("grpc.ssl_target_name_override", target_name)]
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials, options) as channel:
        try:
            answer = channel.unary_unary(ECHO)(b"ping", timeout=10)
        except grpc.RpcError as error:
            return f"{error.code().name}: {error.details()}"
    return None if answer == b"ping" else f"unexpected answer {answer!r}"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_tls_recipe.py SOURCE_DIR")
    script = pathlib.Path(sys.argv[1]) / "deploy/tls/mosdat-certs.sh"
    with tempfile.TemporaryDirectory() as tmp:
        pki = pathlib.Path(tmp) / "pki"
        run("bash", str(script), "ca", str(pki))
        run("bash", str(script), "ca", str(pki), expect_ok=False)  # never replaces a CA
        run("bash", str(script), "host", str(pki), "coord", "DNS:coord.test", "IP:127.0.0.1")
        run("bash", str(script), "host", str(pki), "agent", "DNS:agent.test")
        run("bash", str(script), "host", str(pki), "bad", "coord.test", expect_ok=False)
        for key in ("ca.key", "coord.key", "agent.key"):
            mode = stat.S_IMODE(os.stat(pki / key).st_mode)
            if mode != 0o600:
                sys.exit(f"{key} has mode {mode:o}, expected 600")

        ca = str(pki / "ca.crt")
        run("openssl", "verify", "-CAfile", ca, "-purpose", "sslserver", "-verify_hostname",
            "coord.test", str(pki / "coord.crt"))
        run("openssl", "verify", "-CAfile", ca, "-verify_ip", "127.0.0.1", str(pki / "coord.crt"))
        run("openssl", "verify", "-CAfile", ca, "-verify_hostname", "other.test",
            str(pki / "coord.crt"), expect_ok=False)
        run("openssl", "verify", "-CAfile", ca, "-purpose", "sslclient", str(pki / "agent.crt"))

        server, port = echo_server(pki, require_client_auth=False)
        try:
            for name in ("coord.test", "127.0.0.1"):
                if (error := call(pki, port, None, name)) is not None:
                    sys.exit(f"TLS to {name}: {error}")
            if call(pki, port, None, "other.test") is None:
                sys.exit("TLS to other.test succeeded with a certificate for coord.test")
        finally:
            server.stop(None)

        server, port = echo_server(pki, require_client_auth=True)
        try:
            if (error := call(pki, port, "agent", "coord.test")) is not None:
                sys.exit(f"mutual TLS with the agent's certificate: {error}")
            if call(pki, port, None, "coord.test") is None:
                sys.exit("mutual TLS: a client without a certificate was let in")
        finally:
            server.stop(None)

        # Rotation: a new key and certificate for the same host, still trusted.
        old_key = read(pki / "coord.key")
        run("bash", str(script), "host", str(pki), "coord", "DNS:coord.test", "IP:127.0.0.1")
        if read(pki / "coord.key") == old_key:
            sys.exit("rotating coord did not make a new key")
        run("openssl", "verify", "-CAfile", ca, "-verify_hostname", "coord.test", str(pki / "coord.crt"))
    print("CA and host certificates: private keys, names, purposes and gRPC TLS handshakes as documented")


if __name__ == "__main__":
    main()
