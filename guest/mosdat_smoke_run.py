#!/usr/bin/python3
"""mOSdat's smoke-test runner inside a VM: runs the app once and reports how it ended.

The agent starts it over SSH as `python3 -c SOURCE SPEC`, where SPEC is JSON:
  argv        the app and its arguments
  set         environment variables to set for the app
  unset       environment variables to remove for the app
  wayland     "given": WAYLAND_DISPLAY comes in `set`; "session": use the session's
              Wayland socket (an error when there is none); "none": leave it alone
  timeout     seconds the app may run; then it is stopped (SIGTERM, then SIGKILL)
  tail_bytes  how much of the app's stdout and stderr to report
  backtrace   after a crash, look for a core file and ask gdb for a backtrace

It answers with JSON lines on stdout:
  {"started": PID, "env": {...}}                      the app runs
  {"error": KIND, "message": TEXT}                    the app could not be started
  {"end": "exited"|"signaled"|"timeout", ...}         how it ended (last line)

Why not a shell: a shell reports a signal as 128+N, the same number as exit(128+N);
os.waitpid tells them apart. Closing stdin (the agent gone) or writing "stop" stops
the app at once.
"""

import glob
import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

CORE_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE,
                signal.SIGILL, signal.SIGQUIT, signal.SIGSYS, signal.SIGTRAP}
STOP_GRACE_SECONDS = 5
GDB_TIMEOUT_SECONDS = 60
BACKTRACE_MAX_BYTES = 16384


def say(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def tail(path, limit):
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            data = handle.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return ("..." + text) if size > limit else text


def session_wayland_socket(env):
    """The Wayland socket of the logged-in session, or None."""
    runtime = env.get("XDG_RUNTIME_DIR") or "/run/user/%d" % os.getuid()
    named = env.get("WAYLAND_DISPLAY")
    candidates = [named] if named else []
    candidates += sorted(os.path.basename(p) for p in glob.glob(os.path.join(runtime, "wayland-*"))
                         if not p.endswith(".lock"))
    for name in candidates:
        path = name if os.path.isabs(name) else os.path.join(runtime, name)
        try:
            if os.path.exists(path) and not os.path.isdir(path):
                if stat.S_ISSOCK(os.stat(path).st_mode):
                    return name
        except OSError:
            continue
    return None


def describe(status):
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status)
    return "exited %d" % os.WEXITSTATUS(status)


def wait_status(pid, deadline):
    """The raw wait status of `pid`, or None if it still runs at `deadline`."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return status
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def kill_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def find_core(workdir, pid, binary):
    """A core file of `pid` and how it was found, or (None, why not)."""
    try:
        with open("/proc/sys/kernel/core_pattern") as handle:
            pattern = handle.read().strip()
    except OSError:
        pattern = "core"
    if pattern.startswith("|"):
        if "systemd-coredump" in pattern and shutil.which("coredumpctl"):
            out = os.path.join(workdir, "core.from-coredumpctl")
            try:
                subprocess.run(["coredumpctl", "--no-pager", "-q", "dump", str(pid), "-o", out],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=GDB_TIMEOUT_SECONDS)
            except (OSError, subprocess.TimeoutExpired):
                pass
            if os.path.isfile(out) and os.path.getsize(out) > 0:
                return out, "core from systemd-coredump (coredumpctl dump %d)" % pid
            return None, "systemd-coredump did not give a core for pid %d" % pid
        return None, "cores are piped to %s, which mOSdat cannot read" % pattern.split()[0][1:]
    # A file pattern: %p is the pid, other specifiers become wildcards.
    spec = re.sub(r"%[pP]", str(pid), pattern)
    spec = re.sub(r"%[a-zA-Z]", "*", spec).replace("%%", "%")
    base = spec if os.path.isabs(spec) else os.path.join(workdir, spec)
    matches = sorted(glob.glob(base) + glob.glob(base + ".%d" % pid), key=os.path.getmtime)
    matches = [m for m in matches if os.path.isfile(m)]
    if matches:
        return matches[-1], "core file %s" % matches[-1]
    return None, "no core file (core_pattern %r, looked for %s)" % (pattern, base)


def backtrace(workdir, pid, binary):
    gdb = shutil.which("gdb")
    core, how = find_core(workdir, pid, binary)
    if core is None:
        return None, how
    if gdb is None:
        return None, "%s, but gdb is not installed" % how
    try:
        result = subprocess.run(
            [gdb, "-batch", "-nx", "-ex", "set pagination off", "-ex", "bt 40", binary, core],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=GDB_TIMEOUT_SECONDS)
        text = result.stdout.decode("utf-8", errors="replace")
    except subprocess.TimeoutExpired:
        return None, "%s; gdb took longer than %d s" % (how, GDB_TIMEOUT_SECONDS)
    except OSError as error:
        return None, "%s; gdb failed: %s" % (how, error)
    finally:
        if core.startswith(workdir):
            try:
                os.unlink(core)
            except OSError:
                pass
    if len(text) > BACKTRACE_MAX_BYTES:
        text = text[:BACKTRACE_MAX_BYTES] + "\n... (cut)"
    return text, how


def main():
    spec = json.loads(sys.argv[1])
    env = dict(os.environ)
    for name in spec.get("unset", []):
        env.pop(name, None)
    env.update(spec.get("set", {}))
    if spec.get("wayland") == "session":
        socket = session_wayland_socket(os.environ)
        if socket is None:
            say({"error": "no_wayland",
                 "message": "the session has no Wayland socket (WAYLAND_DISPLAY unset and no "
                            "wayland-* socket in %s)" % (os.environ.get("XDG_RUNTIME_DIR") or
                                                       "/run/user/%d" % os.getuid())})
            return
        env["WAYLAND_DISPLAY"] = socket
    argv = spec["argv"]
    binary = shutil.which(argv[0], path=env.get("PATH")) or argv[0]
    workdir = tempfile.mkdtemp(prefix="mosdat-smoke-")
    out_path = os.path.join(workdir, "stdout")
    err_path = os.path.join(workdir, "stderr")

    def allow_cores():
        try:
            _, hard = resource.getrlimit(resource.RLIMIT_CORE)
            resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
        except (ValueError, OSError):
            pass

    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            app = subprocess.Popen(argv, env=env, cwd=workdir, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=err, start_new_session=True,
                                   preexec_fn=allow_cores if spec.get("backtrace") else None)
    except FileNotFoundError:
        say({"error": "not_found", "message": "%s: no such program" % argv[0]})
        return
    except PermissionError:
        say({"error": "not_executable", "message": "%s: not executable" % argv[0]})
        return
    shown = {k: env.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE",
                                     "GDK_BACKEND", "QT_QPA_PLATFORM")}
    say({"started": app.pid, "env": shown})

    stop = threading.Event()

    def watch_stdin():
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    began = time.monotonic()
    deadline = began + float(spec["timeout"])
    status = None
    while status is None and not stop.is_set():
        status = wait_status(app.pid, min(deadline, time.monotonic() + 0.2))
        if status is None and time.monotonic() >= deadline:
            break
    duration = time.monotonic() - began
    result = {"duration": duration}
    if status is None:
        # Stayed up (or the agent asked to stop): stop the whole process group.
        kill_group(app.pid, signal.SIGTERM)
        status = wait_status(app.pid, time.monotonic() + STOP_GRACE_SECONDS)
        if status is None:
            kill_group(app.pid, signal.SIGKILL)
            status = wait_status(app.pid, None)
        result["end"] = "timeout" if not stop.is_set() else "stopped"
        result["after_stop"] = describe(status)
    elif os.WIFSIGNALED(status):
        result["end"] = "signaled"
        result["signal"] = os.WTERMSIG(status)
    else:
        result["end"] = "exited"
        result["code"] = os.WEXITSTATUS(status)
    # Whatever the app left behind in its group goes too.
    kill_group(app.pid, signal.SIGKILL)
    app.returncode = 0  # reaped above; keep Popen from waiting again
    limit = int(spec.get("tail_bytes", 8192))
    result["stdout"] = tail(out_path, limit)
    result["stderr"] = tail(err_path, limit)
    if (spec.get("backtrace") and result["end"] == "signaled"
            and result["signal"] in CORE_SIGNALS):
        text, how = backtrace(workdir, app.pid, binary)
        result["backtrace"] = text
        result["backtrace_note"] = how
    shutil.rmtree(workdir, ignore_errors=True)
    say(result)


if __name__ == "__main__":
    main()
