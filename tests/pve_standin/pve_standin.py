#!/usr/bin/python3
"""A STAND-IN for the Proxmox VE REST API (/api2/json) for mOSdat's tests.

HTTPS on 127.0.0.1, PVE's auth (API tokens, tickets + CSRF), PVE's error shapes,
a hand-written endpoint table validating every request, UPID tasks, and a real VM
side (qemu-system-x86_64 + QMP, qemu-ga, a VNC websocket in front of a real VNC
server). Test-only controls live under /_standin/. See README.md.
"""

import os
import sys

try:
    import aiohttp  # noqa: F401  (Debian's python3-aiohttp lives in /usr/bin/python3)
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

import argparse
import asyncio
import base64
import datetime
import hashlib
import hmac
import json
import random
import secrets
import signal
import string as stringlib
import time
import urllib.parse

from aiohttp import web

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import endpoints  # noqa: E402
import qemu  # noqa: E402
import vnc  # noqa: E402

ROOT = "root@pam"
TOKEN_RE = r"^([^\s:/]+@[A-Za-z][A-Za-z0-9\.\-_]+)!([A-Za-z][A-Za-z0-9\.\-_]+)=(\S+)$"
FAST_PLUG = {"name", "description", "onboot", "protection", "tags", "startup",
             "hookscript", "lock", "vmstatestorage", "agent"}
VNC_TICKET_LIFETIME = 40
VNC_CONNECT_TIMEOUT = 10


class ApiError(Exception):
    """An error reply: status, message (with PVE's trailing newline), per-param errors."""

    def __init__(self, status, message, errors=None, body=True):
        super().__init__(message)
        self.status, self.message, self.errors, self.body = status, message, errors, body


class TaskError(Exception):
    pass


def die(message):
    """Perl's die "...\\n" inside an API handler: HTTP 500 with that message."""
    return ApiError(500, message if message.endswith("\n") else message + "\n")


def param_exc(errors):
    return ApiError(400, "Parameter verification failed.\n", errors)


def perm_exc(what):
    return ApiError(403, f"Permission check failed ({what})\n")


# --- versions ------------------------------------------------------------------

VERSIONS = {"8.4": (8, 4, 0), "9.1": (9, 1, 3)}


def parse_version(text):
    if text in VERSIONS:
        return VERSIONS[text]
    parts = tuple(int(p) for p in text.split("."))
    return (parts + (0, 0))[:3]


# --- certificate -----------------------------------------------------------------

def make_cert(state_dir, node):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    import ipaddress

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, f"{node}.standin"),
                      x509.NameAttribute(x509.oid.NameOID.ORGANIZATION_NAME,
                                         "PVE Cluster Node (stand-in)")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.DNSName(node),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file = os.path.join(state_dir, "pve-ssl.pem")
    key_file = os.path.join(state_dir, "pve-ssl.key")
    with open(key_file, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    with open(cert_file, "wb") as f:
        f.write(pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    fp = hashlib.sha256(der).hexdigest().upper()
    fingerprint = ":".join(fp[i:i + 2] for i in range(0, len(fp), 2))
    return cert_file, key_file, fingerprint, pem.decode()


def write_json_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


# --- auth ------------------------------------------------------------------------

class Auth:
    """Users, API tokens, tickets and CSRF tokens."""

    def __init__(self, config, lifetime):
        self.users = config.get("users", {ROOT: {"password": "root", "privileges": "all"}})
        self.tokens = config.get("tokens", {})
        self.secret = secrets.token_bytes(32)
        self.lifetime = lifetime

    def _sign(self, text, n=256):
        out = b""
        i = 0
        while len(out) < n:
            out += hmac.new(self.secret, f"{i}:{text}".encode(), hashlib.sha512).digest()
            i += 1
        return base64.b64encode(out[:n]).decode()

    def make_ticket(self, user):
        plain = f"PVE:{user}:{int(time.time()):08X}"
        return plain + "::" + self._sign(plain)

    def check_ticket(self, ticket):
        """-> user or None (bad signature, expired, or rotated secret)."""
        parts = ticket.split("::", 1)
        if len(parts) != 2 or not hmac.compare_digest(parts[1], self._sign(parts[0])):
            return None
        fields = parts[0].split(":")
        if len(fields) != 3 or fields[0] != "PVE":
            return None
        age = time.time() - int(fields[2], 16)
        if not (-300 < age < self.lifetime):
            return None
        return fields[1] if fields[1] in self.users else None

    def make_csrf(self, user):
        stamp = f"{int(time.time()):08X}"
        return stamp + ":" + self._sign(f"csrf:{stamp}:{user}", 32)[:43]

    def check_csrf(self, user, token):
        if not token or ":" not in token:
            return False
        stamp = token.split(":", 1)[0]
        return hmac.compare_digest(token, stamp + ":" + self._sign(f"csrf:{stamp}:{user}", 32)[:43])

    def expire_all(self):
        self.secret = secrets.token_bytes(32)

    def password_ok(self, user, password):
        u = self.users.get(user)
        if u is not None and password is not None and u.get("password") == password:
            return True
        return password is not None and self.check_ticket(password) == user

    def check_token(self, value):
        """PVEAPIToken=USER@REALM!TOKENID=SECRET -> token id or None."""
        import re
        m = re.match(TOKEN_RE, value or "")
        if not m:
            return None
        tokenid = f"{m.group(1)}!{m.group(2)}"
        tok = self.tokens.get(tokenid)
        if tok is None or not hmac.compare_digest(str(tok.get("secret")), m.group(3)):
            return None
        return tokenid

    def acl(self, userid, version):
        """{path: set(privs)} of a user or token."""
        entry = self.tokens.get(userid) if "!" in userid else self.users.get(userid)
        privs = (entry or {}).get("privileges", {})
        allp = set(endpoints.privileges_for(version))
        if privs == "all":
            return {"/": allp}
        if isinstance(privs, list):
            return {"/": set(privs) & allp}
        return {path: (allp if p == "all" else set(p)) for path, p in privs.items()}

    def privs_on(self, userid, path, version):
        """Privileges on a path: every ACL path that is the path or a parent counts."""
        out = set()
        for p, privs in self.acl(userid, version).items():
            if p == "/" or path == p or path.startswith(p.rstrip("/") + "/"):
                out |= privs
        return out


# --- tasks -----------------------------------------------------------------------

class Task:
    _counter = 0

    def __init__(self, node, type_, id_, user):
        Task._counter += 1
        self.node, self.type, self.id, self.user = node, type_, str(id_), user
        self.pid = 100000 + (os.getpid() * 7 + Task._counter) % 800000
        self.pstart = int(time.monotonic() * 100) + Task._counter
        self.starttime = int(time.time())
        self.upid = (f"UPID:{node}:{self.pid:08X}:{self.pstart:08X}:{self.starttime:08X}:"
                     f"{self.type}:{self.id}:{user}:")
        self.log = []
        self.warnings = 0
        self.status = "running"
        self.exitstatus = None

    def print(self, line):
        self.log.append(line)

    def warn(self, line):
        self.warnings += 1
        self.log.append(f"WARN: {line}")

    def finish(self, error=None):
        if error:
            msg = error.strip().replace("\n", " ")
            self.log.append(f"TASK ERROR: {msg}")
            self.exitstatus = msg
        elif self.warnings:
            self.log.append(f"TASK WARNINGS: {self.warnings}")
            self.exitstatus = f"WARNINGS: {self.warnings}"
        else:
            self.log.append("TASK OK")
            self.exitstatus = "OK"
        self.status = "stopped"

    def as_status(self):
        d = {"upid": self.upid, "node": self.node, "pid": self.pid, "pstart": self.pstart,
             "starttime": self.starttime, "type": self.type, "id": self.id,
             "user": self.user.split("!")[0], "status": self.status}
        if "!" in self.user:
            d["tokenid"] = self.user.split("!")[1]
        if self.status == "stopped":
            d["exitstatus"] = self.exitstatus
        return d


# --- VMs ---------------------------------------------------------------------------

class VM:
    def __init__(self, spec, state_dir):
        self.vmid = int(spec["vmid"])
        self.node = spec["node"]
        self.conf = {"name": spec.get("name", f"vm{self.vmid}"), "memory": "512",
                     "cores": "1", "sockets": "1", "ostype": "l26",
                     "vmgenid": "00000000-0000-4000-8000-%012x" % self.vmid,
                     "smbios1": "uuid=00000000-0000-4000-8000-%012x" % self.vmid}
        if spec.get("machine"):
            self.conf["machine"] = spec["machine"]
        if spec.get("agent", True):
            self.conf["agent"] = "1"
        if spec.get("disk"):
            self.conf["scsi0"] = f"local:{self.vmid}/vm-{self.vmid}-disk-0.qcow2,size=32M"
            self.conf["scsihw"] = "virtio-scsi-single"
        self.conf.update({k: str(v) for k, v in spec.get("config", {}).items()})
        self.pending = {}
        self.pending_delete = set()
        self.snapshots = {}  # name -> {description, snaptime, vmstate, parent, conf}
        self.parent = None
        self.vnc_target = spec.get("vnc_target")
        self.vnc_target_password = spec.get("vnc_target_password")
        self.netns = spec.get("netns")
        self.want_disk = bool(spec.get("disk"))
        self.proc = qemu.VmProcess(self.vmid, state_dir)
        self.no_ip = False
        self.consoles = set()
        self.busy = asyncio.Lock()

    # config file text, as /etc/pve/qemu-server/<vmid>.conf would hold it
    def conf_text(self):
        lines = [f"{k}: {v}" for k, v in sorted(self.conf.items())]
        if self.pending or self.pending_delete:
            lines.append("\n[PENDING]")
            lines += [f"{k}: {v}" for k, v in sorted(self.pending.items())]
            if self.pending_delete:
                lines.append("delete: " + ",".join(sorted(self.pending_delete)))
        for name, snap in self.snapshots.items():
            lines.append(f"\n[{name}]")
            lines += [f"{k}: {v}" for k, v in sorted(snap["conf"].items())]
        return "\n".join(lines) + "\n"

    def digest(self):
        return hashlib.sha1(self.conf_text().encode()).hexdigest()

    def merged_conf(self):
        conf = {k: v for k, v in self.conf.items() if k not in self.pending_delete}
        conf.update(self.pending)
        return conf

    def apply_pending(self):
        for k in self.pending_delete:
            self.conf.pop(k, None)
        self.conf.update(self.pending)
        self.pending, self.pending_delete = {}, set()

    def agent_enabled(self, conf=None):
        value = (conf or self.conf).get("agent")
        if value is None:
            return False
        parsed = endpoints.parse_property_string(endpoints.AGENT_FORMAT, value)
        return parsed.get("enabled") == "1"

    def machine_type(self):
        value = self.conf.get("machine", "pc")
        t = endpoints.parse_property_string(endpoints.MACHINE_FORMAT, value).get("type", "pc")
        return "q35" if "q35" in t else "pc"

    def memory_mb(self):
        value = self.conf.get("memory", "512")
        return int(endpoints.parse_property_string(endpoints.MEMORY_FORMAT, value).get("current", 512))

    def process_memory_mb(self):
        return max(16, min(self.memory_mb(), 256))  # what QEMU really gets; keeps the host safe

    def lock(self):
        return self.conf.get("lock")

    def check_lock(self, skiplock=False):
        if self.lock() and not skiplock:
            raise TaskError(f"VM is locked ({self.lock()})\n")

    def state(self):
        return {"vmid": self.vmid, "node": self.node, "running": self.proc.running(),
                "config": self.conf, "pending": self.pending,
                "pending_delete": sorted(self.pending_delete),
                "hostpci": {k: v for k, v in self.conf.items() if k.startswith("hostpci")},
                "snapshots": sorted(self.snapshots), "consoles": len(self.consoles),
                "no_ip": self.no_ip, "agent_running": self.proc.qga is not None
                and self.proc.qga.returncode is None, "digest": self.digest()}


# --- the server ----------------------------------------------------------------------

class StandIn:
    def __init__(self, args, config):
        self.args = args
        self.config = config
        self.version = parse_version(args.pve_version)
        self.router = endpoints.Router(self.version[:2])
        self.state_dir = os.path.abspath(args.state_dir)
        self.nodes = config.get("nodes", ["pve"])
        self.auth = Auth(config, config.get("ticket_lifetime_s", 7200))
        self.vms = {int(v["vmid"]): VM(v, self.state_dir) for v in config.get("vms", [])}
        self.tasks = {}
        self.task_duration = {"*": float(config.get("task_duration_s", 0.2))}
        self.task_faults = []  # [{"type", "vmid", "exitstatus"}]
        self.unreachable = {}  # node -> (status, reason)
        self.unauthorized_delay = float(config.get("unauthorized_delay_s", 0))
        self.vnc_sessions = {}  # port -> session dict
        self.requests_log = open(os.path.join(self.state_dir, "requests.jsonl"), "a")
        self.ssl_ctx = None
        self.cert_pem = ""
        self.fingerprint = ""

    # --- helpers -------------------------------------------------------------------
    def log_request(self, request, path, params, auth, status):
        shown = {k: ("<hidden>" if k in ("password",) else v) for k, v in params.items()}
        entry = {"time": time.time(), "method": request.method, "path": path, "params": shown,
                 "auth": auth, "status": status}
        if request.headers.get("X-Standin-Expect-Invalid"):
            entry["expect_invalid"] = True
        self.requests_log.write(json.dumps(entry) + "\n")
        self.requests_log.flush()

    def vm_on_node(self, vmid, node):
        vm = self.vms.get(int(vmid))
        if vm is None or vm.node != node:
            raise die(f"Configuration file 'nodes/{node}/qemu-server/{vmid}.conf' does not exist")
        return vm

    def duration_for(self, type_):
        return self.task_duration.get(type_, self.task_duration["*"])

    def take_task_fault(self, type_, vmid):
        for f in self.task_faults:
            if f.get("type") in (None, type_) and f.get("vmid") in (None, vmid):
                self.task_faults.remove(f)
                return f["exitstatus"]
        return None

    def start_task(self, node, type_, id_, user, work):
        """fork_worker: returns the UPID at once, runs work(task) in the background."""
        task = Task(node, type_, id_, user)
        self.tasks[task.upid] = task
        vmid = int(id_) if str(id_).isdigit() else None
        asyncio.ensure_future(self._run_task(task, work, vmid))
        return task.upid

    async def _run_task(self, task, work, vmid):
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        fault = self.take_task_fault(task.type, vmid)
        error = None
        try:
            if fault and not fault.startswith("WARNINGS") and fault != "OK":
                raise TaskError(fault)
            await work(task)
            if fault and fault.startswith("WARNINGS"):
                for i in range(int(fault.split(":")[1])):
                    task.warn(f"injected warning {i + 1}")
        except (TaskError, ApiError, qemu.QmpError, RuntimeError, OSError) as exc:
            error = str(exc) or type(exc).__name__
        except Exception as exc:  # keep the task record honest on bugs too
            error = f"{type(exc).__name__}: {exc}"
        remaining = self.duration_for(task.type) - (loop.time() - t0)
        if remaining > 0:
            await asyncio.sleep(remaining)
        task.finish(error)

    def check_perm(self, userid, permissions, uri):
        if "check" not in permissions:
            return
        path_t, privs, any_ = permissions["check"]
        path = path_t.format(**uri)
        have = self.auth.privs_on(userid, path, self.version[:2])
        ok = any(p in have for p in privs) if any_ else all(p in have for p in privs)
        if not ok:
            raise perm_exc(f"{path}, {'|'.join(privs)}")

    # --- HTTP entry -------------------------------------------------------------------
    async def parse_params(self, request):
        multi = {}
        for k, v in request.query.items():
            multi.setdefault(k, []).append(v)
        if request.method in ("POST", "PUT", "DELETE") and request.can_read_body:
            raw = await request.read()
            if len(raw) > 64 * 1024:
                raise ApiError(501, "for data too large", body=False)
            ctype = request.content_type
            if ctype == "application/json" and raw.strip():
                body = json.loads(raw)
                for k, v in body.items():
                    multi.setdefault(k, []).extend(v if isinstance(v, list) else [v])
            else:
                for k, v in urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True):
                    multi.setdefault(k, []).append(v)
        return multi

    def authenticate(self, request, method, rel):
        """-> (userid, kind) or raises a 401 like pve-http-server's auth_handler."""
        if method == "POST" and rel == "/access/ticket":
            return None, "none"
        cookie = urllib.parse.unquote(request.cookies.get("PVEAuthCookie", ""))
        header = request.headers.get("Authorization", "")
        if not cookie and header.startswith("PVEAuthCookie="):
            cookie = urllib.parse.unquote(header.split("=", 1)[1])
        if cookie:
            user = self.auth.check_ticket(cookie)
            if user is None:
                raise ApiError(401, "Authentication failed!", body=False)
            if method != "GET" and not self.auth.check_csrf(
                    user, request.headers.get("CSRFPreventionToken")):
                raise ApiError(401, "Permission denied - invalid csrf token", body=False)
            return user, "ticket"
        if "PVEAPIToken" in header:
            import re
            m = re.search(r"(?:^|\s)PVEAPIToken(?:=| )([^;]*)", header)
            tokenid = self.auth.check_token(urllib.parse.unquote(m.group(1)) if m else "")
            if tokenid is None:
                raise ApiError(401, "Authentication failed!", body=False)
            return tokenid, "token"
        raise ApiError(401, "No ticket", body=False)

    async def handle_api(self, request):
        rel = "/" + request.match_info["tail"]
        method = request.method
        params, kind, status = {}, "none", 500
        try:
            multi = await self.parse_params(request)
            params = {k: (v if len(v) > 1 else v[0]) for k, v in multi.items()}
            userid, kind = self.authenticate(request, method, rel)
            result = await self.dispatch(request, method, rel, multi, userid, kind)
            if isinstance(result, web.StreamResponse):
                status = result.status
                return result
            status = 200
            data, total = result
            return json_response(200, "OK", data, total)
        except ApiError as exc:
            status = exc.status
            if exc.status == 401 and self.unauthorized_delay:
                await asyncio.sleep(self.unauthorized_delay)
            return error_response(exc)
        finally:
            self.log_request(request, rel, params, kind, status)

    async def dispatch(self, request, method, rel, multi, userid, kind):
        entry, uri = self.router.find(method, rel)
        if entry is None:
            raise ApiError(501, f"Method '{method} {rel}' not implemented")
        params = dict(uri)
        for k, v in multi.items():
            spec = entry["params"].get(k, {})
            value = v if spec.get("type") == "array" else ("\0".join(map(str, v))
                                                            if len(v) > 1 else v[0])
            if k in uri and str(value) != uri[k]:
                raise param_exc({k: "duplicate parameter (already defined in URI) "
                                    "with conflicting values!"})
            params[k] = value
        if kind == "token" and not entry["allowtoken"]:
            raise perm_exc(f"URI '{rel}' not available with API token, need proper ticket.\n")
        if userid is not None:
            self.check_perm(userid, entry["permissions"], uri)
        node = uri.get("node")
        if node is not None and rel.startswith("/nodes/"):
            if node in self.unreachable:
                st, reason = self.unreachable[node]
                raise ApiError(st, reason, body=False)
            if entry["proxyto"] and node not in self.nodes:
                raise die(f"hostname lookup '{node}' failed - failed to get address info for: "
                          f"{node}: Name or service not known")
        errors = endpoints.validate(entry["params"], params)
        if errors:
            raise param_exc(errors)
        handler = getattr(self, "api_" + entry["handler"])
        ctx = Ctx(request, params, userid, kind)
        data = await handler(ctx)
        if isinstance(data, web.StreamResponse):
            return data
        return data, ctx.total

    # --- /version, /nodes, /cluster ---------------------------------------------------
    async def api_version(self, ctx):
        v = self.version
        return {"version": f"{v[0]}.{v[1]}.{v[2]}", "release": f"{v[0]}.{v[1]}",
                "repoid": "5ba8cc5a", "console": "html5"}

    async def api_nodes(self, ctx):
        out = []
        for n in self.nodes:
            online = n not in self.unreachable
            d = {"node": n, "id": f"node/{n}", "type": "node",
                 "status": "online" if online else "offline"}
            if online:
                d.update({"cpu": 0.01, "maxcpu": 8, "mem": 2 << 30, "maxmem": 16 << 30,
                          "uptime": 3600, "level": "", "ssl_fingerprint": self.fingerprint})
            out.append(d)
        return out

    def _vm_resource(self, vm, userid):
        online = vm.node not in self.unreachable
        status = ("running" if vm.proc.running() else "stopped") if online else "unknown"
        d = {"id": f"qemu/{vm.vmid}", "type": "qemu", "vmid": vm.vmid, "node": vm.node,
             "name": vm.conf.get("name", ""), "status": status, "template": 0,
             "maxmem": vm.memory_mb() << 20, "maxcpu": int(vm.conf.get("cores", 1)),
             "maxdisk": (32 << 20) if vm.want_disk else 0, "hastate": None}
        d.pop("hastate")
        if vm.lock():
            d["lock"] = vm.lock()
        if status == "running":
            d.update({"uptime": self._uptime(vm), "cpu": 0.01, "mem": 64 << 20})
        return d

    def _visible(self, userid, vm):
        return "VM.Audit" in self.auth.privs_on(userid, f"/vms/{vm.vmid}", self.version[:2])

    async def api_cluster_resources(self, ctx):
        want = ctx.params.get("type")
        out = []
        if want in (None, "vm"):
            out += [self._vm_resource(vm, ctx.user) for vm in self.vms.values()
                    if self._visible(ctx.user, vm)]
        if want in (None, "node"):
            out += [{"id": f"node/{n}", "type": "node", "node": n,
                     "status": "offline" if n in self.unreachable else "online"}
                    for n in self.nodes]
        return out

    async def api_qemu_list(self, ctx):
        out = []
        for vm in self.vms.values():
            if vm.node != ctx.params["node"] or not self._visible(ctx.user, vm):
                continue
            r = self._vm_resource(vm, ctx.user)
            out.append({k: r[k] for k in r if k not in ("id", "type", "node", "template",
                                                        "maxcpu")} | {"cpus": r["maxcpu"]})
        return out

    # --- access -----------------------------------------------------------------------
    async def api_ticket(self, ctx):
        user = ctx.params["username"]
        if "@" not in user and ctx.params.get("realm"):
            user = f"{user}@{ctx.params['realm']}"
        if not self.auth.password_ok(user, ctx.params.get("password")):
            raise ApiError(401, "authentication failure\n")
        return {"username": user, "ticket": self.auth.make_ticket(user),
                "CSRFPreventionToken": self.auth.make_csrf(user), "cap": {}}

    async def api_permissions(self, ctx):
        target = ctx.params.get("userid", ctx.user)
        if target != ctx.user and not target.startswith(ctx.user + "!"):
            if "Sys.Audit" not in self.auth.privs_on(ctx.user, "/access", self.version[:2]):
                raise perm_exc("/access, Sys.Audit")
        if ctx.params.get("path"):
            privs = self.auth.privs_on(target, ctx.params["path"], self.version[:2])
            return {ctx.params["path"]: {p: 1 for p in sorted(privs)}}
        return {path: {p: 1 for p in sorted(privs)}
                for path, privs in self.auth.acl(target, self.version[:2]).items()}

    # --- config -----------------------------------------------------------------------
    async def api_config_get(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        if ctx.params.get("snapshot"):
            snap = vm.snapshots.get(ctx.params["snapshot"])
            if snap is None:
                raise die(f"snapshot '{ctx.params['snapshot']}' does not exist")
            conf = dict(snap["conf"])
        elif ctx.params.get("current") == "1":
            conf = dict(vm.conf)
        else:
            conf = vm.merged_conf()
        conf = {k: _typed_config_value(k, v) for k, v in conf.items()}
        conf["digest"] = vm.digest()
        return conf

    async def api_pending_get(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        out = []
        for k in sorted(set(vm.conf) | set(vm.pending)):
            item = {"key": k}
            if k in vm.conf:
                item["value"] = vm.conf[k]
            if k in vm.pending:
                item["pending"] = vm.pending[k]
            if k in vm.pending_delete:
                item["delete"] = 1
            out.append(item)
        return out

    def _check_hostpci_perm(self, user, vmid, opt, value):
        if user == ROOT:
            return
        dev = endpoints.parse_property_string(endpoints.HOSTPCI_FORMAT_9, value)
        if dev.get("host"):
            raise TaskError(f"only root can set '{opt}' config for non-mapped devices\n")
        if dev.get("mapping"):
            self.check_perm(user, endpoints.perm(f"/mapping/pci/{dev['mapping']}",
                                                 ["Mapping.Use"]), {})
            self.check_perm(user, endpoints.perm("/vms/{vmid}", ["VM.Config.HWType"]),
                            {"vmid": vmid})
        else:
            raise TaskError("either 'host' or 'mapping' must be set.\n")
        if "romfile" in dev:
            raise param_exc({opt: "only root@pam can set 'romfile' option"})

    def _update_config(self, vm, params, user):
        """update_vm_api: digest, lock, permissions, then current or pending."""
        p = dict(params)
        for k in ("node", "vmid", "background_delay", "force"):
            p.pop(k, None)
        digest = p.pop("digest", None)
        skiplock = p.pop("skiplock", None) == "1"
        if skiplock and user != ROOT:
            raise param_exc({"skiplock": "Only root may use this option."})
        deletes = [d for d in _split_list(p.pop("delete", "")) if d]
        reverts = [d for d in _split_list(p.pop("revert", "")) if d]
        for opt in deletes:
            if opt in p:
                raise param_exc({"delete": f"you can't use '-{opt}' and -delete {opt}' at "
                                 "the same time"})
        if digest and digest != vm.digest():
            raise TaskError("checksum mismatch (file change by other user?)\n")
        vm.check_lock(skiplock)
        for opt in reverts:
            vm.pending.pop(opt, None)
            vm.pending_delete.discard(opt)
        running = vm.proc.running()
        for opt in deletes:
            if opt.startswith("hostpci") and opt in vm.conf:
                self._check_hostpci_perm(user, vm.vmid, opt, vm.conf[opt])
            vm.pending.pop(opt, None)
            if running and opt not in FAST_PLUG:
                if opt in vm.conf:
                    vm.pending_delete.add(opt)
            else:
                vm.conf.pop(opt, None)
        for opt, value in p.items():
            if opt.startswith("hostpci"):
                if opt in vm.conf:
                    self._check_hostpci_perm(user, vm.vmid, opt, vm.conf[opt])
                self._check_hostpci_perm(user, vm.vmid, opt, value)
            vm.pending_delete.discard(opt)
            if running and opt not in FAST_PLUG:
                vm.pending[opt] = value
            else:
                vm.conf[opt] = value
                vm.pending.pop(opt, None)

    async def api_config_put(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        try:
            self._update_config(vm, ctx.params, ctx.user)
        except TaskError as exc:
            raise die(str(exc))
        return None

    async def api_config_post(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])

        async def work(task):
            self._update_config(vm, ctx.params, ctx.user)
            task.print(f"update VM {vm.vmid}: " + " ".join(
                f"-{k} {v}" for k, v in sorted(ctx.params.items()) if k not in ("node", "vmid")))

        return self.start_task(vm.node, "qmconfig", vm.vmid, ctx.user, work)

    # --- status -----------------------------------------------------------------------
    def _uptime(self, vm):
        if not vm.proc.running() or vm.proc.started_at is None:
            return 0
        return int(asyncio.get_event_loop().time() - vm.proc.started_at)

    async def api_status_current(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        d = {"vmid": vm.vmid, "name": vm.conf.get("name", ""), "status": "stopped",
             "qmpstatus": "stopped", "cpus": int(vm.conf.get("cores", 1)),
             "maxmem": vm.memory_mb() << 20, "mem": 0, "maxdisk": (32 << 20) if vm.want_disk
             else 0, "disk": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
             "uptime": 0, "cpu": 0, "ha": {"managed": 0}}
        if vm.agent_enabled():
            d["agent"] = 1
        if vm.lock():
            d["lock"] = vm.lock()
        if vm.proc.running():
            try:
                st = await vm.proc.qmp("query-status", timeout=5)
                d["qmpstatus"] = st.get("status", "running")
            except (qemu.QmpError, OSError, asyncio.TimeoutError):
                d["qmpstatus"] = "running"
            d.update({"status": "running", "pid": vm.proc.qemu.pid, "uptime": self._uptime(vm),
                      "mem": 64 << 20, "running-machine": f"pc-{vm.machine_type()}-7.2",
                      "running-qemu": "7.2.0"})
        return d

    def _check_hostpci_start(self, vm):
        for i in range(16):
            value = vm.conf.get(f"hostpci{i}")
            if value is None:
                continue
            dev = endpoints.parse_property_string(endpoints.HOSTPCI_FORMAT_9, value)
            if dev.get("host") and dev.get("mapping"):
                raise TaskError("Cannot set both 'host' and 'mapping'.\n")
            if dev.get("mapping"):
                m = next((m for m in self.config.get("pci_mappings", [])
                          if m["id"] == dev["mapping"]), None)
                entries = [e for e in (m or {}).get("map", []) if f"node={vm.node}" in e]
                if not entries:
                    raise TaskError(f"PCI device mapping not found for '{dev['mapping']}'\n")
            elif dev.get("host"):
                ids = [d["id"] for d in self.config.get("pci_devices", {}).get(vm.node, [])]
                for host in dev["host"].split(";"):
                    full = host if host.count(":") == 2 else "0000:" + host
                    if not any(i == full or i.startswith(full + ".") for i in ids):
                        raise TaskError(f"no PCI device found for '{host}'\n")
            else:
                raise TaskError("Either 'host' or 'mapping' must be set.\n")
            if dev.get("pcie") == "1" and vm.machine_type() != "q35":
                raise TaskError("q35 machine model is not enabled at "
                                "/usr/share/perl5/PVE/QemuServer/PCI.pm line 510.\n")

    async def _start_vm(self, vm, task, loadvm=None):
        vm.apply_pending()
        self._check_hostpci_start(vm)
        if vm.want_disk:
            await vm.proc.create_disk()
        await vm.proc.start(vm.machine_type(), vm.process_memory_mb(), loadvm=loadvm,
                            agent=vm.agent_enabled(), netns=vm.netns)
        asyncio.ensure_future(self._watch_exit(vm))

    async def _watch_exit(self, vm):
        proc = vm.proc.qemu
        await proc.wait()
        if vm.proc.qemu is proc:
            await vm.proc.stop_agent()
            vm.apply_pending()  # vm_stop_cleanup applies pending changes, like PVE
            for ws in list(vm.consoles):
                await ws.close()

    async def api_vm_start(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        skiplock = ctx.params.get("skiplock") == "1"
        if skiplock and ctx.user != ROOT:
            raise param_exc({"skiplock": "Only root may use this option."})

        async def work(task):
            async with vm.busy:
                if vm.proc.running():
                    raise TaskError(f"VM {vm.vmid} already running\n")
                vm.check_lock(skiplock)
                await self._start_vm(vm, task)

        return self.start_task(vm.node, "qmstart", vm.vmid, ctx.user, work)

    async def _stop_vm(self, vm, task, shutdown, timeout, force, skiplock):
        if not vm.proc.running():
            return
        vm.check_lock(skiplock)
        try:
            await vm.proc.qmp("system_powerdown" if shutdown else "quit", timeout=5)
            error = None
        except (qemu.QmpError, OSError, asyncio.TimeoutError) as exc:
            error = exc
        if error is None:
            if await vm.proc.wait_exit(60 if timeout is None else timeout):
                await vm.proc.stop_agent()
                return
            if not force:
                raise TaskError("VM quit/powerdown failed - got timeout\n")
            task.warn("VM still running - terminating now with SIGTERM")
        else:
            if not force:
                raise TaskError("VM quit/powerdown failed\n")
            task.warn("VM quit/powerdown failed - terminating now with SIGTERM")
        vm.proc.kill(signal.SIGTERM)
        if not await vm.proc.wait_exit(10):
            task.warn("VM still running - terminating now with SIGKILL")
            vm.proc.kill(signal.SIGKILL)
            await vm.proc.wait_exit(10)
        await vm.proc.stop_agent()

    def _root_only(self, ctx, *names):
        for n in names:
            if ctx.params.get(n) == "1" and ctx.user != ROOT:
                raise param_exc({n: "Only root may use this option."})

    async def api_vm_stop(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        self._root_only(ctx, "skiplock", "keepActive")
        timeout = _int_or_none(ctx.params.get("timeout"))
        skiplock = ctx.params.get("skiplock") == "1"

        async def work(task):
            async with vm.busy:
                await self._stop_vm(vm, task, False, timeout, True, skiplock)

        return self.start_task(vm.node, "qmstop", vm.vmid, ctx.user, work)

    async def api_vm_shutdown(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        self._root_only(ctx, "skiplock", "keepActive")
        timeout = _int_or_none(ctx.params.get("timeout"))
        force = ctx.params.get("forceStop") == "1"
        skiplock = ctx.params.get("skiplock") == "1"

        async def work(task):
            async with vm.busy:
                await self._stop_vm(vm, task, True, timeout, force, skiplock)

        return self.start_task(vm.node, "qmshutdown", vm.vmid, ctx.user, work)

    async def api_vm_reset(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        self._root_only(ctx, "skiplock")
        if not vm.proc.running():
            raise die(f"VM {vm.vmid} not running")
        skiplock = ctx.params.get("skiplock") == "1"

        async def work(task):
            vm.check_lock(skiplock)
            await vm.proc.qmp("system_reset")

        return self.start_task(vm.node, "qmreset", vm.vmid, ctx.user, work)

    # --- snapshots ----------------------------------------------------------------------
    async def api_snapshot_list(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        out = []
        for name, s in vm.snapshots.items():
            d = {"name": name, "description": s["description"], "snaptime": s["snaptime"]}
            if s["vmstate"]:
                d["vmstate"] = 1
            if s["parent"]:
                d["parent"] = s["parent"]
            out.append(d)
        cur = {"name": "current", "description": "You are here!",
               "running": 1 if vm.proc.running() else 0, "digest": vm.digest()}
        if vm.parent:
            cur["parent"] = vm.parent
        return out + [cur]

    async def api_snapshot_create(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        name = ctx.params["snapname"]
        if name == "current":
            raise die("unable to use snapshot name 'current' (reserved name)")
        if name.lower() == "pending":
            raise die("unable to use snapshot name 'pending' (reserved name)")
        vmstate = ctx.params.get("vmstate") == "1"

        async def work(task):
            async with vm.busy:
                if name in vm.snapshots:
                    raise TaskError(f"snapshot name '{name}' already used\n")
                vm.check_lock()
                running = vm.proc.running()
                with_state = vmstate and running
                if with_state:
                    task.print("saving VM state and RAM using storage 'local'")
                # A PVE VM's disk exists from its creation on, not from its first start:
                # a snapshot taken before that must hold the disk too (or a later
                # rollback finds a disk without the snapshot).
                if vm.want_disk:
                    await vm.proc.create_disk()
                if vm.proc.has_disk():
                    task.print(f"snapshotting 'drive-scsi0' ({vm.conf.get('scsi0', '')})")
                    await vm.proc.snapshot_create(name, with_state)
                conf = dict(vm.conf)
                vm.snapshots[name] = {"description": ctx.params.get("description", ""),
                                      "snaptime": int(time.time()), "vmstate": with_state,
                                      "parent": vm.parent, "conf": conf}
                vm.parent = name

        return self.start_task(vm.node, "qmsnapshot", vm.vmid, ctx.user, work)

    async def api_snapshot_rollback(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        name = ctx.params["snapname"]
        if name not in vm.snapshots:
            raise die(f"snapshot '{name}' does not exist")
        start = ctx.params.get("start") == "1"

        async def work(task):
            async with vm.busy:
                vm.check_lock()
                snap = vm.snapshots[name]
                if vm.proc.running():
                    await vm.proc.quit()
                if vm.proc.has_disk():
                    await vm.proc.snapshot_apply_offline(name)
                vm.conf = dict(snap["conf"])
                vm.pending, vm.pending_delete = {}, set()
                vm.parent = name
                if snap["vmstate"]:
                    task.print("VM has saved state - starting it from the snapshot")
                    await self._start_vm(vm, task, loadvm=name)
                elif start:
                    await self._start_vm(vm, task)

        return self.start_task(vm.node, "qmrollback", vm.vmid, ctx.user, work)

    # --- tasks ------------------------------------------------------------------------
    def _task(self, ctx):
        upid = ctx.params["upid"]
        if not upid.startswith("UPID:") or len(upid.split(":")) < 9:
            raise param_exc({"upid": "unable to parse worker upid"})
        task = self.tasks.get(upid)
        if task is None or task.node != ctx.params["node"]:
            raise param_exc({"upid": "no such task"})
        if task.user != ctx.user and "Sys.Audit" not in self.auth.privs_on(
                ctx.user, f"/nodes/{task.node}", self.version[:2]):
            raise perm_exc(f"/nodes/{task.node}, Sys.Audit")
        return task

    async def api_task_status(self, ctx):
        return self._task(ctx).as_status()

    async def api_task_log(self, ctx):
        task = self._task(ctx)
        start = int(ctx.params.get("start", 0))
        limit = int(ctx.params.get("limit", 50))
        lines = [{"n": i + 1, "t": t} for i, t in enumerate(task.log)]
        ctx.total = len(lines)
        return lines[start:start + limit] if limit else lines[start:]

    # --- guest agent -------------------------------------------------------------------
    async def _agent_vm(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        if "agent" not in vm.conf:
            raise die("No QEMU guest agent configured")
        if not vm.proc.running():
            raise die(f"VM {vm.vmid} is not running")
        try:
            resp = await vm.proc.qga_call("guest-ping", timeout=3)
            if "error" in resp:
                raise OSError(resp["error"].get("desc"))
        except (OSError, asyncio.TimeoutError, qemu.QmpError, ValueError):
            raise die("QEMU guest agent is not running")
        return vm

    async def _agent(self, vm, command, arguments=None, errmsg=None, timeout=10):
        try:
            resp = await vm.proc.qga_call(command, arguments, timeout=timeout)
        except asyncio.TimeoutError:
            raise die(f"VM {vm.vmid} qmp command '{command}' failed - got timeout")
        except (OSError, qemu.QmpError, ValueError) as exc:
            raise die(f"VM {vm.vmid} qmp command '{command}' failed - {exc}")
        if "error" in resp:
            desc = resp["error"].get("desc", "unknown error")
            if errmsg is None:
                raise die(f"VM {vm.vmid} qmp command '{command}' failed - {desc}")
            raise die(f"Agent error: {desc}")
        return resp.get("return")

    async def api_agent_ping(self, ctx):
        vm = await self._agent_vm(ctx)
        return {"result": await self._agent(vm, "guest-ping")}

    async def api_agent_network(self, ctx):
        vm = await self._agent_vm(ctx)
        result = await self._agent(vm, "guest-network-get-interfaces")
        if vm.no_ip:
            for iface in result:
                iface["ip-addresses"] = [a for a in iface.get("ip-addresses", [])
                                         if a.get("ip-address") in ("127.0.0.1", "::1")]
        return {"result": result}

    async def api_agent_exec(self, ctx):
        vm = await self._agent_vm(ctx)
        cmd = ctx.params["command"]
        cmd = cmd if isinstance(cmd, list) else [cmd]
        args = {"capture-output": True}
        if cmd:
            args["path"], args["arg"] = cmd[0], cmd[1:]
        if ctx.params.get("input-data") is not None:
            args["input-data"] = base64.b64encode(ctx.params["input-data"].encode()).decode()
        if "path" not in args and "input-data" not in args:
            raise die("command or input-data (or both) required")
        return await self._agent(vm, "guest-exec", args, errmsg="can't execute command")

    async def api_agent_exec_status(self, ctx):
        vm = await self._agent_vm(ctx)
        res = await self._agent(vm, "guest-exec-status", {"pid": int(ctx.params["pid"])},
                                errmsg="can't get exec status")
        for k in ("out-data", "err-data"):
            if res.get(k):
                res[k] = base64.b64decode(res[k]).decode(errors="replace")
        return {k: (int(v) if isinstance(v, bool) else v) for k, v in res.items()}

    async def api_agent_file_write(self, ctx):
        vm = await self._agent_vm(ctx)
        content = ctx.params["content"]
        encode = ctx.params.get("encode", "1") == "1"
        buf = base64.b64encode(content.encode()).decode() if encode else content
        handle = await self._agent(vm, "guest-file-open", {"path": ctx.params["file"],
                                                           "mode": "wb"}, errmsg="open")
        await self._agent(vm, "guest-file-write", {"handle": handle, "buf-b64": buf},
                          errmsg="write")
        await self._agent(vm, "guest-file-close", {"handle": handle}, errmsg="close")
        return None

    # --- PCI ------------------------------------------------------------------------------
    async def api_hardware_pci(self, ctx):
        blacklist = _split_list(ctx.params.get("pci-class-blacklist", "05;06;0b"))
        out = []
        for d in self.config.get("pci_devices", {}).get(ctx.params["node"], []):
            cls = d.get("class", "0x030000")
            if any(cls[2:].startswith(b) for b in blacklist if b):
                continue
            item = {"id": d["id"], "class": cls, "vendor": d.get("vendor", "0x10de"),
                    "device": d.get("device", "0x0000"), "iommugroup": d.get("iommugroup", -1),
                    "subsystem_vendor": d.get("subsystem_vendor", "0x0000"),
                    "subsystem_device": d.get("subsystem_device", "0x0000")}
            if ctx.params.get("verbose", "1") == "1":
                item["vendor_name"] = d.get("vendor_name", "")
                item["device_name"] = d.get("device_name", "")
            out.append(item)
        return out

    async def api_mapping_pci(self, ctx):
        out = []
        for m in self.config.get("pci_mappings", []):
            privs = self.auth.privs_on(ctx.user, f"/mapping/pci/{m['id']}", self.version[:2])
            if not privs & {"Mapping.Modify", "Mapping.Use", "Mapping.Audit"}:
                continue
            item = {"id": m["id"], "map": list(m.get("map", [])),
                    "description": m.get("description", "")}
            node = ctx.params.get("check-node")
            if node:
                has = any(f"node={node}" in e for e in m.get("map", []))
                item["checks"] = [] if has else [
                    {"severity": "warning", "message": f"No mapping for node '{node}'"}]
            out.append(item)
        return out

    # --- console -----------------------------------------------------------------------
    async def api_vncproxy(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        used = set(self.vnc_sessions)
        port = next((p for p in range(5900, 6000) if p not in used), None)
        if port is None:
            raise die("unable to find free port (5900-5999)")
        vncticket = self._vnc_ticket(ctx.user, f"/vms/{vm.vmid}")
        password = None
        new_scheme = self.version >= (9, 1, 7)
        if new_scheme:
            password = _vnc_password()
            ticket = f"{password}:{vncticket}"
        else:
            ticket = vncticket
            password = _vnc_password() if ctx.params.get("generate-password") == "1" else None
        session = {"port": port, "vmid": vm.vmid, "user": ctx.user, "ticket": ticket,
                   "vncticket": vncticket, "password": password or ticket,
                   "created": time.time(), "connected": asyncio.Event(),
                   "closed": asyncio.Event(), "used": False}
        self.vnc_sessions[port] = session

        async def work(task):
            task.print(f"starting vnc proxy {task.upid}")
            try:
                await asyncio.wait_for(session["connected"].wait(), VNC_CONNECT_TIMEOUT)
            except asyncio.TimeoutError:
                self.vnc_sessions.pop(port, None)
                raise TaskError("connection timed out\n")
            await session["closed"].wait()
            self.vnc_sessions.pop(port, None)
            if session.get("error"):
                raise TaskError(session["error"])

        upid = self.start_task(ctx.params["node"], "vncproxy", vm.vmid, ctx.user, work)
        res = {"user": ctx.user, "ticket": ticket, "port": port, "upid": upid,
               "cert": self.cert_pem}
        if password is not None and (new_scheme or ctx.params.get("generate-password") == "1"):
            res["password"] = password
        return res

    def _vnc_ticket(self, user, path):
        plain = f"PVEVNC:{int(time.time()):08X}"
        return plain + "::" + self.auth._sign(f"{plain}:{user}:{path}")

    def _check_vnc_ticket(self, ticket, user, path):
        # 9.1.7+: "<password>:PVEVNC:..." (the password may itself contain ':')
        vt = ticket[ticket.find("PVEVNC:"):] if "PVEVNC:" in ticket else ticket
        parts = vt.split("::", 1)
        if len(parts) == 2 and hmac.compare_digest(parts[1], self.auth._sign(
                f"{parts[0]}:{user}:{path}")):
            age = time.time() - int(parts[0].split(":")[1], 16)
            if -20 < age < VNC_TICKET_LIFETIME:
                return
        raise die("permission denied - invalid PVEVNC ticket")

    async def api_vncwebsocket(self, ctx):
        vm = self.vm_on_node(ctx.params["vmid"], ctx.params["node"])
        self._check_vnc_ticket(ctx.params["vncticket"], ctx.user, f"/vms/{vm.vmid}")
        port = int(ctx.params["port"])
        request = ctx.request
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return {"port": str(port)}
        proto = request.headers.get("Sec-WebSocket-Protocol", "")
        ws = web.WebSocketResponse(protocols=[p.strip() for p in proto.split(",") if p.strip()],
                                   max_msg_size=0)
        await ws.prepare(request)
        session = self.vnc_sessions.get(port)
        if session is None or session["used"] or session["vmid"] != vm.vmid:
            await ws.close()  # nothing listens on that port any more
            return ws
        session["used"] = True
        session["connected"].set()
        vm.consoles.add(ws)
        try:
            await self._console(vm, ws, session)
        except (vnc.RfbError, OSError, asyncio.TimeoutError) as exc:
            session["error"] = str(exc)
        finally:
            vm.consoles.discard(ws)
            session["closed"].set()
            if not ws.closed:
                await ws.close()
        return ws

    async def _console(self, vm, ws, session):
        if not vm.proc.running():
            raise vnc.RfbError(f"VM {vm.vmid} not running")
        stream = vnc.WsStream(ws)
        if not await vnc.serve_vnc_auth(stream, session["password"]):
            return
        if not vm.vnc_target:
            raise vnc.RfbError("no vnc_target configured for this VM")
        host, port = vm.vnc_target.rsplit(":", 1)
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 10)
        await vnc.client_vnc_auth(vnc.TcpStream(reader, writer), vm.vnc_target_password)
        await vnc.splice(ws, stream, reader, writer)

    # --- /_standin -----------------------------------------------------------------------
    async def standin_state(self, request):
        return web.json_response({
            "version": self.args.pve_version, "nodes": self.nodes,
            "unreachable": sorted(self.unreachable),
            "vms": {str(v.vmid): v.state() for v in self.vms.values()},
            "tasks": [t.as_status() | {"log": t.log} for t in self.tasks.values()],
            "consoles": sum(len(v.consoles) for v in self.vms.values()),
            "fingerprint": self.fingerprint, "ticket_lifetime_s": self.auth.lifetime})

    async def standin_fault(self, request):
        body = await request.json()
        for key, value in body.items():
            handler = getattr(self, "fault_" + key, None)
            if handler is None:
                return web.json_response({"error": f"unknown fault '{key}'"}, status=400)
            await handler(value)
        return web.json_response({"ok": True, "fingerprint": self.fingerprint})

    def _vm(self, value):
        return self.vms[int(value["vmid"])]

    async def fault_fail_next_task(self, v):
        self.task_faults.append({"type": v.get("type"), "vmid": v.get("vmid"),
                                 "exitstatus": v.get("exitstatus", "injected failure")})

    async def fault_task_duration(self, v):
        self.task_duration[v.get("type") or "*"] = float(v["seconds"])

    async def fault_lock(self, v):
        vm = self._vm(v)
        if v.get("lock"):
            vm.conf["lock"] = v["lock"]
        else:
            vm.conf.pop("lock", None)

    async def fault_node_unreachable(self, v):
        if v.get("unreachable", True):
            self.unreachable[v["node"]] = (int(v.get("status", 596)),
                                           v.get("reason", "Connection timed out"))
        else:
            self.unreachable.pop(v["node"], None)

    async def fault_no_ip(self, v):
        self._vm(v).no_ip = bool(v.get("enabled", True))

    async def fault_agent(self, v):
        vm = self._vm(v)
        if v.get("running", False):
            if vm.proc.running():
                await vm.proc.start_agent(vm.netns)
        else:
            await vm.proc.stop_agent()

    async def fault_drop_consoles(self, v):
        for vm in self.vms.values():
            if v and v.get("vmid") not in (None, vm.vmid):
                continue
            for ws in list(vm.consoles):
                await ws.close()

    async def fault_expire_tickets(self, v):
        self.auth.expire_all()

    async def fault_ticket_lifetime(self, v):
        self.auth.lifetime = float(v["seconds"] if isinstance(v, dict) else v)

    async def fault_unauthorized_delay(self, v):
        self.unauthorized_delay = float(v["seconds"] if isinstance(v, dict) else v)

    async def fault_rotate_cert(self, v):
        self.load_cert()
        self.write_ready()

    async def fault_migrate(self, v):
        vm = self._vm(v)
        if v["node"] not in self.nodes:
            raise web.HTTPBadRequest(text=f"unknown node {v['node']}")
        vm.node = v["node"]

    async def fault_clear(self, v):
        self.task_faults.clear()
        self.unreachable.clear()
        self.task_duration = {"*": float(self.config.get("task_duration_s", 0.2))}

    # --- start-up / shutdown ----------------------------------------------------------
    def load_cert(self):
        import ssl
        cert_file, key_file, fp, pem = make_cert(self.state_dir, self.nodes[0])
        if self.ssl_ctx is None:
            self.ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_ctx.load_cert_chain(cert_file, key_file)
        self.cert_file, self.fingerprint, self.cert_pem = cert_file, fp, pem

    def write_ready(self):
        write_json_atomic(os.path.join(self.state_dir, "ready.json"), {
            "port": self.port, "fingerprint": self.fingerprint, "cert_file": self.cert_file,
            "pid": os.getpid(), "pve_version": self.args.pve_version})

    async def shutdown_vms(self):
        for vm in self.vms.values():
            try:
                await asyncio.wait_for(vm.proc.quit(), 15)
            except Exception:
                vm.proc.kill_all_now()

    def kill_all_now(self):
        for vm in self.vms.values():
            vm.proc.kill_all_now()


class Ctx:
    def __init__(self, request, params, user, kind):
        self.request, self.params, self.user, self.kind = request, params, user, kind
        self.total = None


def json_response(status, reason, data, total=None):
    body = {"data": data}
    if total:
        body["total"] = total
    return web.Response(status=status, reason=reason, text=json.dumps(body, separators=(",", ":")),
                        content_type="application/json", charset="utf-8")


def error_response(exc):
    reason = exc.message.split("\n", 1)[0]
    if not exc.body:
        return web.Response(status=exc.status, reason=reason)
    body = {"data": None, "message": exc.message}
    if exc.errors:
        body["errors"] = exc.errors
    return web.Response(status=exc.status, reason=reason, text=json.dumps(body, separators=(",", ":")),
                        content_type="application/json", charset="utf-8")


def _split_list(text):
    import re
    return [x for x in re.split(r"[,;\s\0]+", text or "") if x]


def _int_or_none(v):
    return None if v is None else int(v)


def _vnc_password():
    chars = [c for c in map(chr, range(33, 127))]
    return "".join(secrets.choice(chars) for _ in range(8))


INT_CONFIG_KEYS = {"cores", "sockets", "vcpus", "balloon", "cpuunits", "shares", "migrate_speed"}
BOOL_CONFIG_KEYS = {"acpi", "autostart", "kvm", "localtime", "numa", "onboot", "protection",
                    "reboot", "tablet", "tdf", "template", "freeze", "ciupgrade",
                    "keephugepages"}


def _typed_config_value(key, value):
    """GET config returns integers/booleans as JSON numbers, like PVE."""
    if key in INT_CONFIG_KEYS or key in BOOL_CONFIG_KEYS:
        try:
            return int(value)
        except ValueError:
            return value
    return value


# --- main --------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--pve-version", default="9.1")
    ap.add_argument("--port", type=int, default=0)
    return ap.parse_args(argv)


async def amain(args):
    with open(args.config) as f:
        config = json.load(f)
    os.makedirs(args.state_dir, exist_ok=True)
    stand_in = StandIn(args, config)
    stand_in.load_cert()

    app = web.Application(client_max_size=1 << 20)
    app.router.add_get("/_standin/state", stand_in.standin_state)
    app.router.add_post("/_standin/fault", stand_in.standin_fault)
    app.router.add_route("*", "/api2/json/{tail:.*}", stand_in.handle_api)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, ssl_context=stand_in.ssl_ctx)
    await site.start()
    stand_in.port = site._server.sockets[0].getsockname()[1]
    stand_in.write_ready()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await stand_in.shutdown_vms()
        await runner.cleanup()
        stand_in.kill_all_now()


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    random.seed()
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
