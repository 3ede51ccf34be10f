#!/usr/bin/python3
"""Smoke test of the Proxmox stand-in: start it, log in both ways, run a VM through
start / agent / snapshot / rollback / console / faults / stop, then check the
request log against the official schemas. Loopback only; polls with deadlines."""

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

import aiohttp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vnc  # noqa: E402

TOKEN = "root@pam!mosdat=11111111-2222-3333-4444-555555555555"
RESTRICTED = "mosdat@pve!restricted=aaaa"
VNC_PW = "xvncpw12"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timeout waiting for {what}")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
    print(f"  ok: {msg}")


class Client:
    def __init__(self, session, base):
        self.s, self.base = session, base
        self.headers = {}
        self.cookies = {}

    def use_token(self, token):
        self.headers = {"Authorization": f"PVEAPIToken={token}"}
        self.cookies = {}

    def use_ticket(self, ticket, csrf):
        self.headers = {"CSRFPreventionToken": csrf}
        self.cookies = {"PVEAuthCookie": ticket}

    async def call(self, method, path, params=None, invalid=False, headers=None):
        h = dict(self.headers, **(headers or {}))
        if self.cookies:
            h["Cookie"] = "PVEAuthCookie=" + urllib.parse.quote(self.cookies["PVEAuthCookie"])
        if invalid:
            h["X-Standin-Expect-Invalid"] = "1"
        kw = {"params": params} if method == "GET" else {"data": params or {}}
        async with self.s.request(method, self.base + path, headers=h, **kw) as r:
            text = await r.text()
            body = json.loads(text) if text else None
            return r.status, r.reason, body

    async def ok(self, method, path, params=None):
        status, reason, body = await self.call(method, path, params)
        if status != 200:
            raise AssertionError(f"{method} {path} -> {status} {reason} {body}")
        return body["data"]

    async def wait_task(self, node, upid, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = await self.ok("GET", f"/nodes/{node}/tasks/{urllib.parse.quote(upid)}/status")
            if st["status"] == "stopped":
                return st["exitstatus"]
            await asyncio.sleep(0.1)
        raise AssertionError(f"task {upid} did not finish")


def start_xvnc(tmp):
    if not shutil.which("Xvnc"):
        return None, None
    pwfile = os.path.join(tmp, "vncpasswd")
    with open(pwfile, "wb") as f:
        f.write(subprocess.run(["vncpasswd", "-f"], input=VNC_PW.encode(),
                               capture_output=True, check=True).stdout)
    port = free_port()
    display = 40 + port % 500
    proc = subprocess.Popen(["Xvnc", f":{display}", "-rfbport", str(port), "-localhost",
                             "-SecurityTypes", "VncAuth", "-PasswordFile", pwfile,
                             "-geometry", "640x480", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening():
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            return False
    wait_for(listening, 15, "Xvnc")
    return proc, port


def write_config(path, vnc_port):
    vm100 = {"vmid": 100, "node": "pve1", "name": "win11", "machine": "q35", "disk": True,
             "agent": True}
    if vnc_port:
        vm100.update({"vnc_target": f"127.0.0.1:{vnc_port}", "vnc_target_password": VNC_PW})
    config = {
        "nodes": ["pve1", "pve2"],
        "users": {"root@pam": {"password": "rootpw", "privileges": "all"}},
        "tokens": {
            "root@pam!mosdat": {"secret": TOKEN.split("=", 1)[1], "privileges": "all"},
            "mosdat@pve!restricted": {"secret": "aaaa", "privileges": {
                "/vms": ["VM.Audit", "VM.PowerMgmt", "VM.Console"]}}},
        "vms": [vm100, {"vmid": 101, "node": "pve1", "name": "diskless"}],
        "pci_devices": {"pve1": [{"id": "0000:01:00.0", "class": "0x030000",
                                  "vendor": "0x10de", "device": "0x2204"}]},
        "pci_mappings": [{"id": "gpu0", "map": ["node=pve1,path=0000:01:00.0,id=10de:2204"]}],
        "task_duration_s": 0.2,
    }
    with open(path, "w") as f:
        json.dump(config, f)


async def console_check(c, version, vnc_port):
    data = await c.ok("POST", "/nodes/pve1/qemu/100/vncproxy",
                      {"websocket": "1", "generate-password": "1"})
    check(isinstance(data["port"], int) and data["ticket"] and data["upid"], "vncproxy reply")
    new_scheme = tuple(int(x) for x in (version.split(".") + ["0", "0"])[:3]) >= (9, 1, 7)
    if new_scheme:
        check(data["ticket"].startswith(data["password"] + ":PVEVNC:"),
              "9.1.7+: ticket is password-prefixed, password returned")
    password = data.get("password", data["ticket"])
    q = urllib.parse.urlencode({"port": data["port"], "vncticket": data["ticket"]})
    url = c.base + f"/nodes/pve1/qemu/100/vncwebsocket?{q}"
    async with c.s.ws_connect(url, headers=c.headers, protocols=("binary",)) as ws:
        check(ws.protocol == "binary", "websocket subprotocol binary")
        stream = vnc.WsStream(ws)
        version_line = await stream.read(12)
        check(version_line == b"RFB 003.008\n", "RFB 3.8 greeting over the websocket")
        await stream.write(b"RFB 003.008\n")
        n = (await stream.read(1))[0]
        types = list(await stream.read(n))
        check(types == [2], "VncAuth offered")
        await stream.write(bytes([2]))
        challenge = await stream.read(16)
        await stream.write(vnc.vnc_des_response(password, challenge))
        result = struct.unpack(">I", await stream.read(4))[0]
        check(result == 0, "VNC password accepted")
        await stream.write(b"\x01")  # ClientInit, shared
        width, height = struct.unpack(">HH", await stream.read(4))
        check((width, height) == (640, 480), "ServerInit from the real VNC server (640x480)")
    # a second use of the same port is refused (one connection per vncproxy)
    async with c.s.ws_connect(url, headers=c.headers, protocols=("binary",)) as ws:
        msg = await ws.receive()
        check(msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED),
              "vncproxy port is single-use")
    # wrong password -> SecurityResult failed
    data = await c.ok("POST", "/nodes/pve1/qemu/100/vncproxy",
                      {"websocket": "1", "generate-password": "1"})
    q = urllib.parse.urlencode({"port": data["port"], "vncticket": data["ticket"]})
    async with c.s.ws_connect(c.base + f"/nodes/pve1/qemu/100/vncwebsocket?{q}",
                              headers=c.headers, protocols=("binary",)) as ws:
        stream = vnc.WsStream(ws)
        await stream.read(12)
        await stream.write(b"RFB 003.008\n")
        await stream.read(2)
        await stream.write(bytes([2]))
        challenge = await stream.read(16)
        await stream.write(vnc.vnc_des_response("wrongpw!", challenge))
        result = struct.unpack(">I", await stream.read(4))[0]
        check(result == 1, "wrong VNC password -> SecurityResult failed")


async def run_checks(base, version, vnc_port, fault_url):
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s:
        c = Client(s, base)

        async def fault(**kw):
            async with s.post(fault_url, json=kw) as r:
                assert r.status == 200, await r.text()

        status, reason, _ = await c.call("GET", "/version")
        check(status == 401 and reason == "No ticket", "no auth -> 401 No ticket")
        c.use_token("root@pam!mosdat=wrong")
        status, reason, _ = await c.call("GET", "/version")
        check(status == 401, "bad token secret -> 401")
        c.use_token(TOKEN)
        v = await c.ok("GET", "/version")
        check(v["release"] == ".".join(version.split(".")[:2]), "token auth: /version")

        c.use_token(TOKEN)
        s2, _, body = await c.call("POST", "/access/ticket",
                                   {"username": "root@pam", "password": "rootpw"})
        t = body["data"]
        c.use_ticket(t["ticket"], "")
        status, reason, _ = await c.call("POST", "/nodes/pve1/qemu/101/status/stop")
        check(status == 401, "ticket without CSRF on POST -> 401")
        c.use_ticket(t["ticket"], t["CSRFPreventionToken"])
        nodes = await c.ok("GET", "/nodes")
        check({n["node"] for n in nodes} == {"pve1", "pve2"}, "ticket auth: /nodes")

        c.use_token(TOKEN)
        status, reason, body = await c.call("POST", "/nodes/pve1/qemu/100/status/start",
                                            {"skiplock": "true"}, invalid=True)
        check(status == 400 and "skiplock" in body["errors"], "boolean 'true' -> 400")
        status, reason, body = await c.call("GET", "/nodes/pve1/qemu/100/config",
                                            {"bogus": "1"}, invalid=True)
        check(status == 400 and "bogus" in body["errors"], "unknown parameter -> 400")
        status, reason, _ = await c.call("GET", "/nodes/pve1/nosuch", invalid=True)
        check(status == 501 and reason == "Method 'GET /nodes/pve1/nosuch' not implemented",
              "unknown path -> 501")

        res = await c.ok("GET", "/cluster/resources", {"type": "vm"})
        check({r["vmid"] for r in res} == {100, 101}, "/cluster/resources type=vm")

        upid = await c.ok("POST", "/nodes/pve1/qemu/100/status/start")
        check(upid.startswith("UPID:pve1:") and ":qmstart:100:" in upid, "start -> UPID")
        check(await c.wait_task("pve1", upid) == "OK", "start task OK")
        st = await c.ok("GET", "/nodes/pve1/qemu/100/status/current")
        check(st["status"] == "running" and st["qmpstatus"] == "running", "status running")

        c.use_token(RESTRICTED)
        status, reason, _ = await c.call("POST", "/nodes/pve1/qemu/100/agent/ping")
        check(status == 403 and reason.startswith("Permission check failed (/vms/100, VM."),
              f"restricted token: agent ping -> 403 ({reason})")
        c.use_token(TOKEN)

        check(await c.ok("POST", "/nodes/pve1/qemu/100/agent/ping") == {"result": {}},
              "agent ping")
        ifaces = await c.ok("GET", "/nodes/pve1/qemu/100/agent/network-get-interfaces")
        check(any(i["name"] == "lo" for i in ifaces["result"]), "network-get-interfaces")
        await fault(no_ip={"vmid": 100})
        ifaces = await c.ok("GET", "/nodes/pve1/qemu/100/agent/network-get-interfaces")
        addrs = [a["ip-address"] for i in ifaces["result"] for a in i.get("ip-addresses", [])]
        check(all(a in ("127.0.0.1", "::1") for a in addrs), "no_ip fault hides addresses")
        await fault(no_ip={"vmid": 100, "enabled": False})

        ex = await c.ok("POST", "/nodes/pve1/qemu/100/agent/exec",
                        {"command": ["/bin/echo", "hello"]})
        deadline = time.monotonic() + 10
        while True:
            es = await c.ok("GET", "/nodes/pve1/qemu/100/agent/exec-status", {"pid": ex["pid"]})
            if es["exited"] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        check(es["exited"] == 1 and es["exitcode"] == 0 and es["out-data"] == "hello\n",
              "agent exec + exec-status")
        target = os.path.join(os.environ["SELFTEST_TMP"], "written.txt")
        await c.ok("POST", "/nodes/pve1/qemu/100/agent/file-write",
                   {"file": target, "content": "standin"})
        check(open(target).read() == "standin", "agent file-write")
        status, _, body = await c.call("POST", "/nodes/pve1/qemu/100/agent/file-write",
                                       {"file": target, "content": "x" * 61441}, invalid=True)
        check(status == 400 and "content" in body["errors"], "file-write size limit")

        upid = await c.ok("POST", "/nodes/pve1/qemu/100/snapshot",
                          {"snapname": "clean", "description": "selftest", "vmstate": "1"})
        check(await c.wait_task("pve1", upid) == "OK", "snapshot with vmstate")
        snaps = await c.ok("GET", "/nodes/pve1/qemu/100/snapshot")
        check([x["name"] for x in snaps] == ["clean", "current"], "snapshot list")
        upid = await c.ok("POST", "/nodes/pve1/qemu/100/snapshot/clean/rollback")
        check(await c.wait_task("pve1", upid) == "OK", "rollback")
        st = await c.ok("GET", "/nodes/pve1/qemu/100/status/current")
        check(st["status"] == "running", "rollback to a RAM snapshot leaves the VM running")

        cfg = await c.ok("GET", "/nodes/pve1/qemu/100/config")
        status, reason, _ = await c.call("PUT", "/nodes/pve1/qemu/100/config",
                                         {"description": "x", "digest": "0" * 40})
        check(status == 500 and "checksum mismatch" in reason, "stale digest refused")
        await c.ok("PUT", "/nodes/pve1/qemu/100/config",
                   {"hostpci0": "mapping=gpu0,pcie=1,x-vga=1", "digest": cfg["digest"]})
        pend = await c.ok("GET", "/nodes/pve1/qemu/100/pending")
        check(any(p["key"] == "hostpci0" and "pending" in p for p in pend),
              "hostpci on a running VM is pending")
        status, reason, _ = await c.call("PUT", "/nodes/pve1/qemu/100/config",
                                         {"hostpci1": "0000:01:00.0"})
        check(status == 500 and "only root" in reason, "token may not set raw host=")

        if vnc_port:
            await console_check(c, version, vnc_port)
        else:
            print("  skip: console check (no Xvnc)")

        await fault(lock={"vmid": 101, "lock": "backup"})
        upid = await c.ok("POST", "/nodes/pve1/qemu/101/status/start")
        check(await c.wait_task("pve1", upid) == "VM is locked (backup)", "locked VM")
        await fault(lock={"vmid": 101, "lock": None})
        await fault(fail_next_task={"type": "qmstart", "exitstatus": "boom"})
        upid = await c.ok("POST", "/nodes/pve1/qemu/101/status/start")
        check(await c.wait_task("pve1", upid) == "boom", "injected task failure")
        await fault(node_unreachable={"node": "pve2"})
        status, reason, _ = await c.call("GET", "/nodes/pve2/qemu")
        check(status == 596, "unreachable node -> 596")
        await fault(migrate={"vmid": 101, "node": "pve2"}, node_unreachable={
            "node": "pve2", "unreachable": False})
        res = await c.ok("GET", "/cluster/resources", {"type": "vm"})
        check(any(r["vmid"] == 101 and r["node"] == "pve2" for r in res), "migration visible")

        upid = await c.ok("POST", "/nodes/pve1/qemu/100/status/shutdown",
                          {"timeout": "1", "forceStop": "1"})
        check(await c.wait_task("pve1", upid) == "WARNINGS: 1",
              "shutdown of a guest that ignores ACPI: forced, WARNINGS: 1")
        upid = await c.ok("POST", "/nodes/pve1/qemu/100/status/stop")
        check(await c.wait_task("pve1", upid) == "OK", "stop of a stopped VM is OK")
        cfg = await c.ok("GET", "/nodes/pve1/qemu/100/config", {"current": "1"})
        check(cfg.get("hostpci0") == "mapping=gpu0,pcie=1,x-vga=1", "pending applied at stop")

        c.use_ticket(t["ticket"], t["CSRFPreventionToken"])
        await fault(expire_tickets={})
        status, _, _ = await c.call("GET", "/nodes")
        check(status == 401, "expired ticket -> 401")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pve-version", default="9.1")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pve-standin-selftest-")
    os.environ["SELFTEST_TMP"] = tmp
    state = os.path.join(tmp, "state")
    xvnc, vnc_port = start_xvnc(tmp)
    write_config(os.path.join(tmp, "config.json"), vnc_port)
    server = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "pve_standin.py"),
                               "--state-dir", state, "--config", os.path.join(tmp, "config.json"),
                               "--pve-version", args.pve_version])
    rc = 1
    try:
        ready_file = os.path.join(state, "ready.json")
        wait_for(lambda: os.path.exists(ready_file), 30, "ready.json")
        ready = json.load(open(ready_file))
        print(f"stand-in {args.pve_version} on port {ready['port']}, "
              f"fingerprint {ready['fingerprint'][:23]}...")
        base = f"https://127.0.0.1:{ready['port']}/api2/json"
        fault_url = f"https://127.0.0.1:{ready['port']}/_standin/fault"
        asyncio.run(run_checks(base, args.pve_version, vnc_port, fault_url))
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        leftovers = subprocess.run(["pgrep", "-f", state], capture_output=True, text=True).stdout
        check(not leftovers.strip(), "SIGTERM stopped every QEMU / qemu-ga")
        rc = 0
        for schema in ("apidata-8.4.0.js", "apidata-9.1.3.js"):
            r = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "conformance.py"),
                                "--schema", f"/work/shared/pve/{schema}",
                                "--requests", os.path.join(state, "requests.jsonl")])
            rc |= r.returncode
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        if xvnc:
            xvnc.terminate()
            xvnc.wait()
    print("SELFTEST", "PASSED" if rc == 0 else "FAILED", f"(state in {tmp})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
