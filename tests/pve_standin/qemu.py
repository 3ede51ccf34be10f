"""The real VM side of the stand-in: one qemu-system-x86_64 per running VM
(controlled through QMP on a unix socket), one qemu-ga per running VM (unix-listen
socket, optionally inside a network namespace), qcow2 disks made with qemu-img."""

import asyncio
import ctypes
import json
import os
import random
import signal

# qemu-ga runs on THIS host: refuse everything that would touch the host itself.
QGA_BLOCKED = ",".join([
    "guest-shutdown", "guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid",
    "guest-set-time", "guest-fsfreeze-freeze", "guest-fsfreeze-freeze-list",
    "guest-fsfreeze-thaw", "guest-fstrim", "guest-set-user-password", "guest-set-vcpus",
    "guest-set-memory-blocks", "guest-ssh-add-authorized-keys",
    "guest-ssh-remove-authorized-keys",
])


def _die_with_parent():
    """preexec: the child gets SIGKILL when the stand-in dies, even by SIGKILL."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class QmpError(Exception):
    pass


async def _read_json_line(reader, timeout):
    line = await asyncio.wait_for(reader.readline(), timeout)
    if not line:
        raise QmpError("connection closed")
    return json.loads(line)


async def qmp_command(sock_path, command, arguments=None, timeout=10.0):
    """One QMP command on a fresh connection; returns 'return' or raises QmpError."""
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(sock_path), timeout)
    try:
        await _read_json_line(reader, timeout)  # greeting
        for cmd, args in (("qmp_capabilities", None), (command, arguments)):
            msg = {"execute": cmd}
            if args is not None:
                msg["arguments"] = args
            writer.write(json.dumps(msg).encode() + b"\n")
            await writer.drain()
            while True:
                resp = await _read_json_line(reader, timeout)
                if "event" in resp:
                    continue
                break
            if "error" in resp:
                raise QmpError(resp["error"].get("desc", "unknown error"))
        return resp.get("return")
    finally:
        writer.close()


async def qga_command(sock_path, command, arguments=None, timeout=10.0):
    """One guest agent command on a fresh connection (guest-sync first)."""
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(sock_path), timeout)
    try:
        sync_id = random.randint(1, 2**31)
        writer.write(json.dumps({"execute": "guest-sync",
                                 "arguments": {"id": sync_id}}).encode() + b"\n")
        await writer.drain()
        while True:
            resp = await _read_json_line(reader, timeout)
            if resp.get("return") == sync_id:
                break
        msg = {"execute": command}
        if arguments is not None:
            msg["arguments"] = arguments
        writer.write(json.dumps(msg).encode() + b"\n")
        await writer.drain()
        return await _read_json_line(reader, timeout)  # {"return":..} or {"error":..}
    finally:
        writer.close()


async def run(*cmd):
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {err.decode().strip()}")
    return out.decode()


class VmProcess:
    """QEMU + qemu-ga of one VM while it runs."""

    def __init__(self, vmid, state_dir):
        self.vmid = vmid
        self.dir = os.path.join(state_dir, f"vm{vmid}")
        os.makedirs(self.dir, exist_ok=True)
        self.qmp_sock = os.path.join(self.dir, "qmp.sock")
        self.qga_sock = os.path.join(self.dir, "qga.sock")
        self.disk = os.path.join(self.dir, f"vm-{vmid}-disk-0.qcow2")
        self.qemu = None
        self.qga = None
        self.started_at = None

    # --- disk ---------------------------------------------------------------
    async def create_disk(self, size="32M"):
        if not os.path.exists(self.disk):
            await run("qemu-img", "create", "-q", "-f", "qcow2", self.disk, size)

    def has_disk(self):
        return os.path.exists(self.disk)

    # --- lifecycle ------------------------------------------------------------
    def running(self):
        return self.qemu is not None and self.qemu.returncode is None

    async def start(self, machine, memory_mb, loadvm=None, agent=True, netns=None):
        for path in (self.qmp_sock, self.qga_sock):
            if os.path.exists(path):
                os.unlink(path)
        cmd = ["qemu-system-x86_64", "-name", f"vm{self.vmid}",
               "-machine", f"{machine},accel=tcg", "-m", str(memory_mb),
               "-display", "none", "-nodefaults", "-no-user-config",
               "-qmp", f"unix:{self.qmp_sock},server=on,wait=off"]
        if self.has_disk():
            cmd += ["-drive", f"file={self.disk},if=none,id=drive-scsi0,format=qcow2",
                    "-device", "virtio-blk-pci,drive=drive-scsi0"]
        if loadvm:
            cmd += ["-loadvm", loadvm]
        log = open(os.path.join(self.dir, "qemu.log"), "ab")
        self.qemu = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, preexec_fn=_die_with_parent)
        log.close()
        await self._wait_for_socket(self.qmp_sock, self.qemu)
        self.started_at = asyncio.get_running_loop().time()
        if agent:
            await self.start_agent(netns)

    async def start_agent(self, netns=None):
        cmd = ["qemu-ga", "-m", "unix-listen", "-p", self.qga_sock,
               "-f", os.path.join(self.dir, "qga.pid"), "-t", self.dir, "-b", QGA_BLOCKED]
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        log = open(os.path.join(self.dir, "qga.log"), "ab")
        self.qga = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, preexec_fn=_die_with_parent)
        log.close()
        await self._wait_for_socket(self.qga_sock, self.qga)

    async def _wait_for_socket(self, path, proc, timeout=10.0):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not os.path.exists(path):
            if proc.returncode is not None:
                raise RuntimeError(f"process exited with {proc.returncode} "
                                   f"(see {self.dir}/*.log)")
            if loop.time() > deadline:
                raise RuntimeError(f"timeout waiting for {path}")
            await asyncio.sleep(0.02)

    async def wait_exit(self, timeout):
        if not self.running():
            return True
        try:
            await asyncio.wait_for(self.qemu.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def quit(self):
        """QMP quit, then wait; SIGKILL as the last resort."""
        if self.running():
            try:
                await qmp_command(self.qmp_sock, "quit", timeout=5)
            except (QmpError, OSError, asyncio.TimeoutError):
                pass
            if not await self.wait_exit(10):
                self.kill(signal.SIGKILL)
                await self.qemu.wait()
        await self.stop_agent()

    def kill(self, sig=signal.SIGTERM):
        if self.running():
            self.qemu.send_signal(sig)

    async def stop_agent(self):
        if self.qga is not None and self.qga.returncode is None:
            try:
                os.killpg(self.qga.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                await asyncio.wait_for(self.qga.wait(), 5)
            except asyncio.TimeoutError:
                os.killpg(self.qga.pid, signal.SIGKILL)
                await self.qga.wait()
        self.qga = None

    def kill_all_now(self):
        """Synchronous cleanup for process exit."""
        for proc in (self.qemu, self.qga):
            if proc is not None and proc.returncode is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    # --- monitor ----------------------------------------------------------------
    async def qmp(self, command, arguments=None, timeout=10.0):
        return await qmp_command(self.qmp_sock, command, arguments, timeout)

    async def hmp(self, command_line, timeout=60.0):
        out = await self.qmp("human-monitor-command", {"command-line": command_line}, timeout)
        return out or ""

    async def qga_call(self, command, arguments=None, timeout=10.0):
        return await qga_command(self.qga_sock, command, arguments, timeout)

    # --- snapshots --------------------------------------------------------------
    async def snapshot_create(self, name, vmstate):
        if self.running():
            if vmstate:
                out = await self.hmp(f"savevm {name}")
            else:
                await self.qmp("blockdev-snapshot-internal-sync",
                               {"device": "drive-scsi0", "name": name})
                out = ""
            if out.strip():
                raise RuntimeError(out.strip())
        else:
            await run("qemu-img", "snapshot", "-c", name, self.disk)

    async def snapshot_apply_offline(self, name):
        await run("qemu-img", "snapshot", "-a", name, self.disk)

    async def snapshot_list_offline(self):
        return await run("qemu-img", "snapshot", "-l", self.disk)
