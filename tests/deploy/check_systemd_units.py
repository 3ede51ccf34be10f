#!/usr/bin/env python3
"""Checks the shipped systemd units (deploy/systemd/*.service).

For each unit:
  * systemd-analyze verify accepts it without a single warning (with ExecStart pointed
    at the binary built here, since /usr/local/bin has none);
  * systemd-analyze security --offline rates its exposure at most EXPOSURE_LIMIT;
  * the hardening every unit must have is there (HARDENING), with a dedicated user;
  * every secret is a file: reference, each %d/NAME has its LoadCredential=NAME;
  * every --flag of ExecStart (and of the shipped *.env.example files' MOSDAT_ARGS) is
    one the built binary's --help lists.
The coordinator's unit keeps its SQLite store and results under its StateDirectory.
deploy/systemd/mosdat.sysusers creates every User= the units name (systemd-sysusers
--dry-run into an empty root).

Usage: check_systemd_units.py SOURCE_DIR BUILD_DIR. Prints every problem; exits 1 if any.
"""
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

BINARIES = {  # installed name -> path in the build directory
    "mosdat-coordinator": "coordinator/mosdat-coordinator",
    "mosdat-agent": "vnc-agent/mosdat-agent",
    "mosdat-vlm-gateway": "vlm-gateway/mosdat-vlm-gateway",
    "mosdat-proxmox-bridge": "proxmox-bridge/mosdat-proxmox-bridge",
}

# key -> required value (None: present, any value) in [Service] of every unit.
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "CapabilityBoundingSet": "",
    "SystemCallArchitectures": "native",
    "UMask": "0077",
    "Restart": "on-failure",
    "RestrictAddressFamilies": None,
}
ALLOWED_ADDRESS_FAMILIES = {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}

# Units whose processes may map writable memory executable (MemoryDenyWriteExecute
# stays off): the agent starts Xvnc (software GL compiles shaders) and Python for
# local VMs. Every other unit must set it.
WRITE_EXECUTE_NEEDED = {"mosdat-agent.service"}

# systemd-analyze security's exposure (0-10) a unit may have.
EXPOSURE_LIMIT = {"mosdat-agent.service": 3.5}
DEFAULT_EXPOSURE_LIMIT = 2.0

SECRET_FLAGS = {"--token", "--agent-token", "--coordinator-token", "--bridge-token",
                "--vlm-gateway-token", "--api-key", "--tls-key"}


def parse_unit(text):
    """{section: {key: [values]}}, with backslash-continued lines joined."""
    sections, section = {}, None
    text = re.sub(r"\\\n", " ", text)
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return sections


def flags_of(words):
    """(flag, value or None) for each --flag in a command line's words."""
    out = []
    for i, word in enumerate(words):
        if not word.startswith("--"):
            continue
        if "=" in word:
            flag, value = word.split("=", 1)
        else:
            flag = word
            value = words[i + 1] if i + 1 < len(words) and not words[i + 1].startswith("--") else None
        out.append((flag, value))
    return out


def help_flags(binary_path):
    result = subprocess.run([binary_path, "--help"], capture_output=True, text=True, timeout=60)
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", result.stdout))


class Checker:
    def __init__(self, source_dir, build_dir):
        self.source_dir = source_dir
        self.build_dir = build_dir
        self.problems = []
        self.notes = set()
        self.help = {}
        self.users = {}  # User= -> unit

    def problem(self, text):
        self.problems.append(text)

    def accepted_flags(self, binary):
        if binary not in self.help:
            path = self.build_dir / BINARIES[binary]
            self.help[binary] = help_flags(str(path)) if path.exists() else None
            if self.help[binary] is None:
                self.problem(f"{path} is not built: cannot check {binary}'s flags")
        return self.help[binary]

    def check_flags(self, where, binary, flags):
        accepted = self.accepted_flags(binary)
        if accepted is None:
            return
        for flag, _ in flags:
            if flag in accepted:
                continue
            self.problem(f"{where}: {binary} has no flag {flag} (see {binary} --help)")

    def check_unit(self, path):
        name = path.name
        unit = parse_unit(path.read_text())
        service = unit.get("Service", {})
        get = lambda key: service.get(key, [None])[-1]  # noqa: E731 (the last setting wins)

        for key, wanted in HARDENING.items():
            if key not in service:
                self.problem(f"{name}: [Service] lacks {key}=")
            elif wanted is not None and get(key) != wanted:
                self.problem(f"{name}: {key}={get(key)}, expected {key}={wanted}")
        families = set(" ".join(service.get("RestrictAddressFamilies", [])).split())
        if families - ALLOWED_ADDRESS_FAMILIES:
            self.problem(f"{name}: RestrictAddressFamilies allows {sorted(families - ALLOWED_ADDRESS_FAMILIES)}")
        if get("DynamicUser") != "yes" and get("User") in (None, "", "root"):
            self.problem(f"{name}: runs as root: set User= (a dedicated user) or DynamicUser=yes")
        if get("DynamicUser") != "yes" and get("User"):
            self.users[get("User")] = name
        if name in WRITE_EXECUTE_NEEDED:
            if get("MemoryDenyWriteExecute") == "yes":
                self.problem(f"{name}: MemoryDenyWriteExecute=yes breaks what it starts (see the unit)")
        elif get("MemoryDenyWriteExecute") != "yes":
            self.problem(f"{name}: MemoryDenyWriteExecute=yes is missing")

        exec_start = service.get("ExecStart", [])
        if len(exec_start) != 1:
            self.problem(f"{name}: needs exactly one ExecStart=")
            return
        words = shlex.split(exec_start[0])
        binary = pathlib.PurePath(words[0]).name
        if binary not in BINARIES:
            self.problem(f"{name}: ExecStart runs {words[0]}, not a mOSdat service binary")
            return
        flags = flags_of(words[1:])
        self.check_flags(f"{name} ExecStart", binary, flags)

        credentials = {value.split(":", 1)[0] for value in service.get("LoadCredential", [])}
        for used in re.findall(r"%d/([A-Za-z0-9._-]+)", exec_start[0]):
            if used not in credentials:
                self.problem(f"{name}: ExecStart reads %d/{used} but no LoadCredential={used}:...")
        for flag, value in flags:
            if flag in SECRET_FLAGS and flag != "--tls-key":
                if value is None or not value.startswith("file:"):
                    self.problem(f"{name}: {flag} must be a file: reference, got {value}")
            if flag == "--tls-key" and (value is None or not value.startswith("%d/")):
                self.problem(f"{name}: --tls-key must come through LoadCredential (%d/...)")

        if name == "mosdat-coordinator.service":
            values = dict(flags)
            if get("StateDirectory") != "mosdat":
                self.problem(f"{name}: StateDirectory=mosdat is missing (the SQLite store)")
            if values.get("--state-dir") != "/var/lib/mosdat":
                self.problem(f"{name}: --state-dir must be /var/lib/mosdat (its StateDirectory)")
            if values.get("--results-dir") != "/var/lib/mosdat/results":
                self.problem(f"{name}: --results-dir must be /var/lib/mosdat/results")
        return binary

    def check_env_example(self, path, binary):
        for line in path.read_text().splitlines():
            if line.startswith("MOSDAT_ARGS="):
                self.check_flags(path.name, binary, flags_of(shlex.split(line.split("=", 1)[1])))

    def sysusers(self, path):
        """The sysusers.d file creates every User= the units name."""
        if shutil.which("systemd-sysusers") is None:
            self.problem("systemd-sysusers not found (Debian package systemd)")
            return
        with tempfile.TemporaryDirectory() as root:
            (pathlib.Path(root) / "etc").mkdir()
            result = subprocess.run(["systemd-sysusers", f"--root={root}", "--dry-run",
                                     str(path.resolve())], capture_output=True, text=True, timeout=60)
        created = set(re.findall(r"Creating user '([^']+)'", result.stdout + result.stderr))
        if result.returncode != 0:
            self.problem(f"{path.name}: systemd-sysusers refuses it: {result.stdout}{result.stderr}")
        for user, unit in sorted(self.users.items()):
            if user not in created:
                self.problem(f"{unit}: User={user}, which {path.name} does not create")

    def systemd_analyze(self, units):
        if shutil.which("systemd-analyze") is None:
            self.problem("systemd-analyze not found (Debian package systemd)")
            return
        with tempfile.TemporaryDirectory() as tmp:
            for path in units:
                text = path.read_text()
                for installed, built in BINARIES.items():
                    text = text.replace(f"/usr/local/bin/{installed}", str(self.build_dir / built))
                copy = pathlib.Path(tmp) / path.name
                copy.write_text(text)
                verify = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)],
                                        capture_output=True, text=True, timeout=60)
                if verify.returncode != 0 or verify.stdout.strip() or verify.stderr.strip():
                    self.problem(f"{path.name}: systemd-analyze verify: {verify.stdout}{verify.stderr}")
                limit = EXPOSURE_LIMIT.get(path.name, DEFAULT_EXPOSURE_LIMIT)
                security = subprocess.run(
                    ["systemd-analyze", "security", "--offline=yes", f"--threshold={round(limit * 10)}",
                     str(copy)], capture_output=True, text=True, timeout=60)
                rating = re.search(r"Overall exposure level for \S+: ([0-9.]+)", security.stdout)
                if security.returncode != 0:
                    self.problem(f"{path.name}: exposure {rating.group(1) if rating else '?'} is above "
                                 f"{limit} (systemd-analyze security --offline=yes {path.name})")
                elif rating:
                    print(f"{path.name}: exposure {rating.group(1)} (limit {limit})")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_systemd_units.py SOURCE_DIR BUILD_DIR")
    source_dir, build_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    checker = Checker(source_dir, build_dir)
    units = sorted((source_dir / "deploy/systemd").glob("*.service"))
    names = {path.stem for path in units}
    for binary in BINARIES:
        if binary not in names:
            checker.problem(f"deploy/systemd has no {binary}.service")
    for path in units:
        binary = checker.check_unit(path)
        example = path.with_suffix(".env.example")
        if binary and example.exists():
            checker.check_env_example(example, binary)
    checker.sysusers(source_dir / "deploy/systemd/mosdat.sysusers")
    checker.systemd_analyze(units)
    for note in sorted(checker.notes):
        print(note)
    for problem in checker.problems:
        print(problem, file=sys.stderr)
    if checker.problems:
        sys.exit(1)
    print(f"{len(units)} units: verified, hardened, flags known to their binaries")


if __name__ == "__main__":
    main()
