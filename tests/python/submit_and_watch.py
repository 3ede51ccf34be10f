#!/usr/bin/env python3
"""Submits a mOSdat run to a coordinator over gRPC and follows it to the end, without
the mosdat CLI: an example of the API for other services (docs/api.md).

    protoc -I protos --python_out=stubs --grpc_python_out=stubs \\
        --plugin=protoc-gen-grpc_python=$(which grpc_python_plugin) \\
        mosdat/v1/common.proto mosdat/v1/coordinator.proto
    submit_and_watch.py --coordinator coord.lab:50151 --token file:~/.config/mosdat/user.token \\
        --tls-ca /etc/mosdat/tls/ca.crt --config suite.toml --test smoke --stubs stubs

It reads the config, the scenario of each selected [[test]] and the files the scenarios
name (imports, reference images and their .json sidecars: any string in a scenario that
names an existing file beside it; add others with --file), sends them inline with
SubmitMatrix, then reads WatchRun until the Run update arrives and prints the verdict.
Exit status as mosdat's: 0 pass, 1 test failed, 3 config error, 4 infrastructure error
(and when the coordinator cannot be reached), 2 bad arguments.

Needs Debian's python3-grpcio and python3-protobuf (python3-yaml to find a scenario's
files). The token is read from env:NAME or file:PATH, never given literally.
"""
import argparse
import json
import os
import sys
import tomllib

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_CONFIG, EXIT_INFRA = 0, 1, 2, 3, 4
FILE_SUFFIXES = (".yaml", ".yml", ".png", ".json")


def resolve_secret(reference):
    """The value of an env:NAME or file:PATH reference (as mosdat's --token takes)."""
    if reference.startswith("env:"):
        value = os.environ.get(reference[4:], "")
        if not value:
            raise ValueError(f"environment variable {reference[4:]} is not set")
        return value
    if reference.startswith("file:"):
        with open(os.path.expanduser(reference[5:]), encoding="utf-8") as file:
            value = file.read().rstrip("\r\n")
        if not value:
            raise ValueError(f"secret file {reference[5:]} is empty")
        return value
    raise ValueError('must be "env:NAME" or "file:PATH" (a literal token would land in shell history)')


def resolve_path(base_dir, path):
    """A config's path as mosdat resolves it: ~ is the home, others relative to base_dir."""
    path = os.path.expanduser(path)
    return os.path.normpath(os.path.join(base_dir, path))


def scenario_files(scenario_path, found):
    """Adds the scenario and, recursively, every existing file a string in it names
    (relative to the scenario's directory), keyed by normalised absolute path."""
    if scenario_path in found or not os.path.isfile(scenario_path):
        return
    with open(scenario_path, "rb") as file:
        found[scenario_path] = file.read()
    try:
        import yaml
    except ImportError:
        return  # the scenario alone; name its other files with --file
    try:
        document = yaml.safe_load(found[scenario_path])
    except yaml.YAMLError:
        return  # the coordinator reports the error with its position
    base = os.path.dirname(scenario_path)

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and node.endswith(FILE_SUFFIXES) and "\n" not in node:
            path = resolve_path(base, node)
            if not os.path.isfile(path):
                return
            if path.endswith((".yaml", ".yml")):
                scenario_files(path, found)
            elif path not in found:
                with open(path, "rb") as file:
                    found[path] = file.read()
                sidecar = os.path.splitext(path)[0] + ".json"  # a reference's exclude areas
                if path.endswith(".png") and os.path.isfile(sidecar) and sidecar not in found:
                    with open(sidecar, "rb") as file:
                        found[sidecar] = file.read()

    walk(document)


def gather_files(config_path, tests, extra):
    """{path: bytes}: the config, the selected tests' scenarios and what they name."""
    files = {}
    with open(config_path, "rb") as file:
        files[config_path] = file.read()
    config = tomllib.loads(files[config_path].decode("utf-8"))
    base = os.path.dirname(config_path)
    for test in config.get("test", []):
        if tests and test.get("name") not in tests:
            continue
        if "scenario" in test:
            scenario_files(resolve_path(base, test["scenario"]), files)
    for path in extra:
        path = os.path.abspath(path)
        with open(path, "rb") as file:
            files[path] = file.read()
    return files


def channel_for(args, grpc):
    if not args.tls_ca:
        return grpc.insecure_channel(args.coordinator)
    with open(args.tls_ca, "rb") as file:
        root = file.read()
    key = cert = None
    if args.tls_cert:  # mutual TLS: this client's certificate
        with open(args.tls_key, "rb") as file:
            key = file.read()
        with open(args.tls_cert, "rb") as file:
            cert = file.read()
    return grpc.secure_channel(args.coordinator, grpc.ssl_channel_credentials(root, key, cert))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--coordinator", required=True, help="HOST:PORT")
    parser.add_argument("--token", required=True, help="the users' token: env:NAME or file:PATH")
    parser.add_argument("--config", required=True, help="the mOSdat TOML config")
    parser.add_argument("--test", action="append", default=[], help="a [[test]] name (repeatable; default all)")
    parser.add_argument("--vm", action="append", default=[], help="a [[vm]] name (repeatable; default each test's)")
    parser.add_argument("--var", action="append", default=[], help="NAME=VALUE (a string)")
    parser.add_argument("--file", action="append", default=[], help="another file to send (repeatable)")
    parser.add_argument("--label", default="submit_and_watch.py")
    parser.add_argument("--stubs", help="directory of the generated mosdat/v1/*_pb2*.py")
    parser.add_argument("--tls-ca", help="PEM CA that signed the coordinator's certificate (TLS)")
    parser.add_argument("--tls-cert", help="this client's certificate, for mutual TLS")
    parser.add_argument("--tls-key", help="this client's private key, for mutual TLS")
    parser.add_argument("--events-out", help="write one JSON line per update received here")
    return parser.parse_args()


def main():
    args = parse_args()
    if args.stubs:
        sys.path.insert(0, args.stubs)
    try:
        import grpc
        from mosdat.v1 import common_pb2, coordinator_pb2, coordinator_pb2_grpc
    except ImportError as error:
        print(f"submit_and_watch.py: {error}: install python3-grpcio and python3-protobuf, and "
              "generate the stubs (--stubs DIR)", file=sys.stderr)
        return EXIT_USAGE
    try:
        token = resolve_secret(args.token)
    except (ValueError, OSError) as error:
        print(f"submit_and_watch.py: --token: {error}", file=sys.stderr)
        return EXIT_USAGE
    if bool(args.tls_cert) != bool(args.tls_key):
        print("submit_and_watch.py: --tls-cert and --tls-key go together", file=sys.stderr)
        return EXIT_USAGE
    config_path = os.path.abspath(args.config)
    try:
        files = gather_files(config_path, args.test, args.file)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        print(f"submit_and_watch.py: {error}", file=sys.stderr)
        return EXIT_CONFIG

    request = coordinator_pb2.SubmitMatrixRequest(
        config_path=config_path, files=files, tests=args.test, vms=args.vm, label=args.label)
    for assignment in args.var:
        name, _, value = assignment.partition("=")
        request.vars[name] = json.dumps(value)  # values travel JSON-encoded
    metadata = [("authorization", f"Bearer {token}")]
    stub = coordinator_pb2_grpc.CoordinatorStub(channel_for(args, grpc))
    try:
        submitted = stub.SubmitMatrix(request, metadata=metadata, timeout=60)
    except grpc.RpcError as error:
        print(f"submit_and_watch.py: SubmitMatrix: {error.code().name}: {error.details()}", file=sys.stderr)
        return EXIT_CONFIG if error.code() in (grpc.StatusCode.INVALID_ARGUMENT,
                                               grpc.StatusCode.NOT_FOUND) else EXIT_INFRA
    print(f"run {submitted.run_id}: {len(submitted.jobs)} job(s), {len(files)} file(s) sent")
    vm_of = {job.job_id: job.vm.name for job in submitted.jobs}

    events_out = open(args.events_out, "w", encoding="utf-8") if args.events_out else None
    run = None
    try:
        # after_seq = 0: every update from the start; a client that reconnects passes the
        # last run_seq it handled and gets only newer ones.
        updates = stub.WatchRun(coordinator_pb2.WatchRunRequest(run_id=submitted.run_id),
                                metadata=metadata)
        for update in updates:
            kind = update.WhichOneof("kind")
            line = {"run_seq": update.run_seq, "kind": kind}
            if kind == "event":
                event = update.event
                line.update(job_id=event.job_id, seq=event.seq, attempt=event.job_attempt,
                            event=event.WhichOneof("kind"))
                if event.HasField("step_finished"):
                    step = event.step_finished
                    print(f"[{vm_of.get(event.job_id, event.job_id)}] {step.index:2d} "
                          f"{common_pb2.StepStatus.Name(step.status)[12:].lower():8s} "
                          f"{step.kind} {step.label or step.description}")
                elif event.HasField("job_finished"):
                    line["verdict"] = common_pb2.Verdict.Name(event.job_finished.verdict)
            elif kind == "run":
                run = update.run
            if events_out:
                events_out.write(json.dumps(line) + "\n")
            if run is not None:
                break
    except grpc.RpcError as error:
        print(f"submit_and_watch.py: WatchRun: {error.code().name}: {error.details()}", file=sys.stderr)
        return EXIT_INFRA
    finally:
        if events_out:
            events_out.close()
    if run is None:
        print("submit_and_watch.py: WatchRun ended before the run finished", file=sys.stderr)
        return EXIT_INFRA

    # The stored run, as GetRun returns it to anyone later.
    stored = stub.GetRun(coordinator_pb2.GetRunRequest(run_id=run.run_id), metadata=metadata, timeout=30)
    for job in stored.jobs:
        print(f"  {common_pb2.Verdict.Name(job.verdict)[8:].lower():12s} {job.test} on {job.vm.name}"
              f"  {job.results_dir}" + (f"  ({job.reason})" if job.reason else ""))
    verdict = common_pb2.Verdict.Name(run.verdict)
    print(f"verdict: {verdict[8:].lower()}")
    return {"VERDICT_PASS": EXIT_PASS, "VERDICT_FAIL": EXIT_FAIL,
            "VERDICT_CONFIG_ERROR": EXIT_CONFIG}.get(verdict, EXIT_INFRA)


if __name__ == "__main__":
    sys.exit(main())
