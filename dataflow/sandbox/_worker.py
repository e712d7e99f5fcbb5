"""Sandbox worker: a warm fork server that runs one untrusted Python job at a time.

Started by :mod:`dataflow.sandbox.pool` as ``python -I _worker.py CONFIG_JSON`` with an empty environment.
This file is deliberately standalone (standard library only, no ``dataflow`` imports): ``-I`` keeps the
repository off ``sys.path``, and everything a forked job inherits is what this file imports.

At start the worker confines itself once (network namespace, a user namespace first when not root; a pids
cgroup of its own; child subreaper), probes what the host allows and writes a hello line. Then it reads one
JSON job per line on fd 0 and answers one JSON result per line on fd 1, until EOF (the parent closed the
pipe or died).

Per job: fork C (joins the pids cgroup, unshares a PID namespace) -> fork I, PID 1 of that namespace ->
fork G, the job. G sets rlimits, empties the environment, enters its throwaway directory, applies Landlock,
then executes the code and its tests in-process (no interpreter start-up). When G exits, I exits and the
kernel kills everything left in the namespace, double-forked daemons included; on a timeout the worker
SIGKILLs I and the same happens.
"""

from __future__ import annotations

import ctypes
import errno
import json
import linecache
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36

# Landlock syscalls share these numbers on every architecture (they postdate the unified table).
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_TRUNCATE, FS_IOCTL_DEV = 1 << 14, 1 << 15
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

RESULT_FD = 3
READ_CHUNK = 1 << 16

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def _errno_text() -> str:
    return os.strerror(ctypes.get_errno())


def _prctl(option: int, arg: int) -> None:
    if libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), _errno_text())


# ----------------------------------------------------------------------------------------------- Landlock


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    abi = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    return max(int(abi), 0)


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # v1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= 1 << 13  # REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


def landlock_restrict(abi: int, read_roots: list[str], write_roots: list[str], devices: list[str],
                      deny_tcp: bool = True) -> None:
    """Allow reading (and executing) under ``read_roots``, everything under ``write_roots``, reading and
    writing the ``devices`` files, nothing else on the filesystem; no TCP bind/connect (ABI >= 4); no
    signals or abstract unix sockets leaving the domain (ABI >= 6)."""
    handled = _fs_rights(abi)
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 and deny_tcp else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    ruleset = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset: " + _errno_text())
    read = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
    try:
        for paths, rights in ((read_roots, read), (write_roots, handled), (devices, FILE_RIGHTS & handled)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                allowed = rights if os.path.isdir(path) else rights & FILE_RIGHTS
                rule = _PathBeneath(allowed & handled, fd)
                rc = libc.syscall(SYS_LANDLOCK_ADD_RULE, int(ruleset), LANDLOCK_RULE_PATH_BENEATH,
                                  ctypes.byref(rule), 0)
                os.close(fd)
                if rc != 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}: " + _errno_text())
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        if libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, int(ruleset), 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self: " + _errno_text())
    finally:
        os.close(ruleset)


def python_read_roots() -> list[str]:
    """What a job may read: the interpreter's installation(s) and the system's shared libraries (no /etc,
    /home, /root, /work, /proc or /tmp)."""
    roots = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)), "/usr/lib", "/usr/lib64", "/usr/local/lib",
             "/lib", "/lib64", "/usr/bin", "/bin", "/usr/share/zoneinfo"}
    return sorted(p for p in roots if p and p != "/" and os.path.exists(p))


DEVICES = ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"]

# ------------------------------------------------------------------------------------ worker confinement


def _user_namespace() -> str:
    """Non-root: enter a user namespace (root inside, our uid outside) so the namespaces below are allowed."""
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), _errno_text())
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"0 {gid} 1")
    return f"root inside, uid {uid} outside"


def _pids_cgroup(name: str) -> str:
    """Create a pids cgroup for this worker (cgroup v1 ``pids`` hierarchy or v2 with the pids controller)."""
    with open("/proc/self/mounts") as f:
        mounts = [line.split() for line in f]
    candidates = [m[1] for m in mounts if m[2] == "cgroup" and "pids" in m[3].split(",")]
    for m in mounts:
        if m[2] == "cgroup2":
            try:
                with open(os.path.join(m[1], "cgroup.subtree_control")) as f:
                    if "pids" in f.read().split():
                        candidates.append(m[1])
            except OSError:
                pass
    last_error = "no pids cgroup controller mounted"
    for root in candidates:
        _remove_stale_cgroups(root)
        path = os.path.join(root, name)
        try:
            os.makedirs(path, exist_ok=True)
            with open(os.path.join(path, "pids.max"), "w") as f:
                f.write("max")
            return path
        except OSError as e:
            last_error = f"{root}: {e.strerror}"
    raise OSError(errno.EPERM, last_error)


def _remove_stale_cgroups(root: str) -> None:
    """Workers killed outright leave their (empty) cgroup behind: remove those whose worker is gone."""
    try:
        names = [n for n in os.listdir(root) if n.startswith("dataflow-sandbox-")]
    except OSError:
        return
    for name in names:
        pid = name.rsplit("-", 1)[1]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            try:
                os.rmdir(os.path.join(root, name))
            except OSError:
                pass


def _probe_pid_namespace() -> None:
    c = os.fork()
    if c == 0:
        code = 1
        try:
            if libc.unshare(CLONE_NEWPID) == 0:
                g = os.fork()
                if g == 0:
                    os._exit(0 if os.getpid() == 1 else 1)
                code = os.waitstatus_to_exitcode(os.waitpid(g, 0)[1])
        finally:
            os._exit(code)
    if os.waitstatus_to_exitcode(os.waitpid(c, 0)[1]) != 0:
        raise OSError(errno.EPERM, "unshare(CLONE_NEWPID) refused")


def _wait_for(pid: int) -> int:
    """Reap children until ``pid`` ends (orphans re-parented to us included); its status as an exit code,
    128 + N for "killed by signal N"."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 70
        if done == pid:
            return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def layer(active: bool, detail: str) -> dict:
    return {"active": bool(active), "detail": detail}


class Worker:
    def __init__(self, config: dict):
        self.base = config["base"]
        self.pid = os.getpid()
        self.want = config.get("isolation", {})
        self.cgroup: str | None = None
        self.layers: dict[str, dict] = {}
        self.pid_namespace = False
        self.nproc_rlimit = False  # RLIMIT_NPROC binds any uid but the host's root
        self.landlock = 0
        self.deny_tcp = False
        self.read_roots = python_read_roots()
        self._confine()

    def _confine(self) -> None:
        # No PR_SET_PDEATHSIG here: it fires when the parent *thread* that started us exits. The worker
        # leaves when its job pipe reaches EOF instead, which happens when the parent closes it or dies.
        L = self.layers
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        root = os.geteuid() == 0
        userns = None
        if not root:
            try:
                userns = _user_namespace()
                L["user_namespace"] = layer(True, userns)
            except OSError as e:
                L["user_namespace"] = layer(False, f"unshare(CLONE_NEWUSER) failed: {e.strerror}")
        if not self.want.get("network", True):
            L["network_namespace"] = layer(False, "disabled by the caller")
        elif root or userns:
            if libc.unshare(CLONE_NEWNET) == 0:
                L["network_namespace"] = layer(True, "empty network namespace: no interfaces up, not even lo")
            else:
                L["network_namespace"] = layer(False, f"unshare(CLONE_NEWNET) failed: {_errno_text()}")
        else:
            L["network_namespace"] = layer(False, "needs root or a user namespace, neither is available")
        try:
            if not self.want.get("pid_namespace", True):
                raise OSError(errno.EPERM, "disabled by the caller")
            _probe_pid_namespace()
            self.pid_namespace = True
            L["pid_namespace"] = layer(True, "each job runs in its own PID namespace: when it ends or is "
                                             "killed the kernel kills every process it started")
        except OSError as e:
            L["pid_namespace"] = layer(False, f"{e.strerror}; falling back to session kill + child subreaper")
        L["kill_all"] = layer(True, "PID namespace teardown" if self.pid_namespace else
                              "own session killed, orphans re-parented to the worker (subreaper) and killed")
        abi = landlock_abi() if self.want.get("filesystem", True) else 0
        self.landlock = abi
        why = f"Landlock ABI {abi}" if abi else (
            "disabled by the caller" if not self.want.get("filesystem", True)
            else f"Landlock unavailable: {_errno_text()}")
        L["filesystem"] = layer(abi > 0, f"{why}: read-only interpreter and system libraries, read-write "
                                         "throwaway directory, nothing else" if abi else why)
        self.deny_tcp = abi >= 4 and self.want.get("network", True)
        L["landlock_network"] = layer(self.deny_tcp, "TCP bind/connect denied" if self.deny_tcp else
                                      "network isolation disabled by the caller" if abi >= 4 else
                                      f"needs Landlock ABI >= 4 (host: {abi or 'none'})")
        L["landlock_scope"] = layer(abi >= 6, "signals and abstract unix sockets stay inside the job"
                                    if abi >= 6 else f"needs Landlock ABI >= 6 (host: {abi or 'none'})")
        if root or userns:
            try:
                self.cgroup = _pids_cgroup(f"dataflow-sandbox-{os.getpid()}")
                L["process_limit"] = layer(True, f"pids cgroup {self.cgroup}")
            except OSError as e:
                if root:
                    L["process_limit"] = layer(False, f"no pids cgroup ({e.strerror}) and RLIMIT_NPROC "
                                                      "does not bind root")
                else:
                    self.nproc_rlimit = True
                    L["process_limit"] = layer(True, "RLIMIT_NPROC in the worker's user namespace")
        else:
            self.nproc_rlimit = True
            L["process_limit"] = layer(True, "RLIMIT_NPROC (counts all processes of this uid)")
        L["time_limits"] = layer(True, "wall clock (SIGKILL) and RLIMIT_CPU")
        L["memory_limit"] = layer(True, "RLIMIT_AS")
        L["output_limit"] = layer(True, "stdout/stderr beyond the cap are read and discarded")
        L["clean_environment"] = layer(True, "environment emptied; HOME and TMPDIR point at the job directory")
        L["throwaway_directory"] = layer(True, "fresh directory per job, removed afterwards")

    # ----------------------------------------------------------------------------------------- one job

    def run(self, job: dict) -> dict:
        limits = job["limits"]
        workdir = tempfile.mkdtemp(prefix="job-", dir=self.base)
        stdin_fd = self._stdin_fd(job.get("stdin") or "")
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        res_r, res_w = os.pipe()
        pid_r, pid_w = os.pipe()
        started = time.monotonic()
        c = os.fork()
        if c == 0:
            try:
                for fd in (out_r, err_r, res_r, pid_r):
                    os.close(fd)
                self._leader(job, workdir, stdin_fd, out_w, err_w, res_w, pid_w)
            finally:
                os._exit(70)
        for fd in (stdin_fd, out_w, err_w, res_w, pid_w):
            os.close(fd)
        try:
            return self._supervise(c, pid_r, out_r, err_r, res_r, limits, started)
        finally:
            for fd in (pid_r, out_r, err_r, res_r):
                os.close(fd)
            self._reap_orphans()
            shutil.rmtree(workdir, ignore_errors=True)

    def _stdin_fd(self, text: str) -> int:
        fd, path = tempfile.mkstemp(dir=self.base)
        os.unlink(path)
        data = text.encode()
        while data:
            data = data[os.write(fd, data):]
        os.lseek(fd, 0, os.SEEK_SET)
        return fd

    def _leader(self, job, workdir, stdin_fd, out_w, err_w, res_w, pid_w) -> None:
        """C: joins the pids cgroup, opens a PID namespace, forks G and passes on G's exit status."""
        limits = job["limits"]
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the worker dies -> C dies -> G dies -> its namespace
        if os.getppid() != self.pid:
            os._exit(72)
        os.setsid()
        if self.cgroup:
            with open(os.path.join(self.cgroup, "pids.max"), "w") as f:
                f.write(str(int(limits["processes"]) + 1))  # +1: C itself
            with open(os.path.join(self.cgroup, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        if self.pid_namespace and libc.unshare(CLONE_NEWPID) != 0:
            os._exit(71)
        first = os.fork()  # with a PID namespace: its init, which forks the job; without: the job itself
        if first == 0:
            try:
                _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                if self.pid_namespace:
                    self._init(job, workdir, stdin_fd, out_w, err_w, res_w)
                else:
                    self._job(job, workdir, stdin_fd, out_w, err_w, res_w)
            finally:
                os._exit(70)
        os.write(pid_w, first.to_bytes(4, "little"))
        for fd in (stdin_fd, out_w, err_w, res_w, pid_w):
            os.close(fd)
        os._exit(_wait_for(first))

    def _init(self, job, workdir, *fds) -> None:
        """PID 1 of the job's namespace. The job runs in a child of it rather than as PID 1, because the
        kernel shields PID 1 from signals it has no handler for (RLIMIT_CPU's SIGXCPU, the code's own
        os.kill). Reaps orphans so they don't count against the process limit, exits with the job's status;
        the kernel then kills whatever is left in the namespace."""
        g = os.fork()
        if g == 0:
            try:
                _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                self._job(job, workdir, *fds)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        os._exit(_wait_for(g))

    def _job(self, job, workdir, stdin_fd, out_w, err_w, res_w) -> None:
        run_job(job, workdir, self.read_roots, self.landlock, self.deny_tcp, self.nproc_rlimit,
                stdin_fd, out_w, err_w, res_w)

    def _supervise(self, c, pid_r, out_r, err_r, res_r, limits, started) -> dict:
        raw = os.read(pid_r, 4)
        first = int.from_bytes(raw, "little") if len(raw) == 4 else None
        deadline = started + float(limits["timeout"])
        cap = int(limits["output_bytes"])
        buffers = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
        sizes = dict.fromkeys(buffers, 0)
        open_fds = set(buffers)
        pidfd = os.pidfd_open(c)
        timed_out = False
        leader_done = False
        try:
            while open_fds or not leader_done:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    timed_out = True
                    break
                watched = [*open_fds] if leader_done else [*open_fds, pidfd]
                ready, _, _ = select.select(watched, [], [], wait)
                for fd in ready:
                    if fd == pidfd:
                        leader_done = True
                        continue
                    chunk = os.read(fd, READ_CHUNK)
                    if not chunk:
                        open_fds.discard(fd)
                        continue
                    sizes[fd] += len(chunk)
                    room = cap - len(buffers[fd])
                    if room > 0:
                        buffers[fd] += chunk[:room]
                if leader_done and open_fds:
                    # The job is over but something (an escaped process, without a PID namespace) still
                    # holds a pipe: take what is buffered and stop.
                    self._drain(open_fds, buffers, sizes, cap)
                    break
        finally:
            os.close(pidfd)
            if not leader_done:  # timed out (or failed): kill the job; with a PID namespace, all of it
                self._kill(first)
            elif not self.pid_namespace:  # no namespace teardown: kill what is left of its session
                self._kill(first, only_group=True)
            status = os.waitpid(c, 0)[1]
        seconds = time.monotonic() - started
        code = os.waitstatus_to_exitcode(status)
        code = -(code - 128) if code > 128 else code  # "killed by signal N" arrives as 128 + N
        result = None
        if buffers[res_r]:
            try:
                result = json.loads(bytes(buffers[res_r]).decode())
            except ValueError:
                result = None
        return {
            "stdout": bytes(buffers[out_r]).decode(errors="replace"),
            "stderr": bytes(buffers[err_r]).decode(errors="replace"),
            "stdout_bytes": sizes[out_r], "stderr_bytes": sizes[err_r],
            "truncated": sizes[out_r] > cap or sizes[err_r] > cap,
            "exit_code": code, "timed_out": timed_out, "seconds": seconds, "result": result,
        }

    @staticmethod
    def _drain(open_fds, buffers, sizes, cap) -> None:
        for fd in list(open_fds):
            os.set_blocking(fd, False)
            try:
                while chunk := os.read(fd, READ_CHUNK):
                    sizes[fd] += len(chunk)
                    room = cap - len(buffers[fd])
                    if room > 0:
                        buffers[fd] += chunk[:room]
            except BlockingIOError:
                pass

    def _kill(self, g: int | None, only_group: bool = False) -> None:
        if g is None:
            return
        for kill in (os.killpg,) if only_group else (os.kill, os.killpg):
            try:
                kill(g, signal.SIGKILL)
            except OSError:
                pass

    def _reap_orphans(self) -> None:
        """Without a PID namespace, processes that left the job's session are re-parented to this worker
        (a child subreaper): kill and reap them until none is left. Never blocks: a process still being
        re-parented shows up on a later pass."""
        give_up = time.monotonic() + 5
        while True:
            children = []
            for tid in os.listdir("/proc/self/task"):
                try:
                    with open(f"/proc/self/task/{tid}/children") as f:
                        children += [int(p) for p in f.read().split()]
                except OSError:
                    pass
            for pid in children:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                while os.waitpid(-1, os.WNOHANG)[0]:
                    pass
            except ChildProcessError:
                pass
            if not children or time.monotonic() > give_up:
                return
            time.sleep(0.002)


# ------------------------------------------------------------------------------------ inside the job (G)


def run_job(job, workdir, read_roots, landlock, deny_tcp, nproc_rlimit, stdin_fd, out_w, err_w, res_w) -> None:
    limits = job["limits"]
    os.setsid()  # no-op in a fresh PID namespace; without one, gives the job its own session to kill
    for target, fd in ((0, stdin_fd), (1, out_w), (2, err_w), (RESULT_FD, res_w)):
        if fd != target:
            os.dup2(fd, target)
    os.closerange(RESULT_FD + 1, 1 << 16)
    os.chdir(workdir)
    cpu = max(1, int(float(limits["cpu_seconds"]) + 0.999))
    memory = int(limits["memory_mb"]) << 20
    files = int(limits["file_size_mb"]) << 20
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(limits["open_files"]),) * 2)
    if nproc_rlimit:
        resource.setrlimit(resource.RLIMIT_NPROC, (int(limits["processes"]),) * 2)
    os.environ.clear()
    os.environ.update({"HOME": workdir, "TMPDIR": workdir, "PATH": "/usr/local/bin:/usr/bin:/bin",
                       "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"})
    tempfile.tempdir = workdir
    if landlock:
        landlock_restrict(landlock, read_roots, [workdir], DEVICES, deny_tcp)
    sys.argv = ["solution.py"]
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - fresh wrappers over the job's fds
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    job_pid = os.getpid()
    result = harness(job)
    if os.getpid() != job_pid:  # a process the code forked fell through to here: only the job reports
        os._exit(0)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a broken stream must not hide the result
            pass
    data = json.dumps(result).encode()
    while data:
        data = data[os.write(RESULT_FD, data):]
    os._exit(0)


def _source(name: str, text: str):
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    return compile(text, name, "exec")


def _exception_log(exc: BaseException, limit: int = 4000) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    # Drop the harness's own frames: the log starts at the job's code.
    lines = [ln for ln in lines if __file__ not in ln]
    text = "".join(lines)
    return text if len(text) <= limit else "...\n" + text[-limit:]


def _failed_assert(test: str, ns: dict) -> str:
    """'test N failed: <line>' plus, for ``assert a == b``, what the left side evaluated to."""
    import ast

    try:
        node = ast.parse(test.strip()).body[0]
        if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare) and len(node.test.ops) == 1:
            got = eval(compile(ast.Expression(node.test.left), "<test>", "eval"), ns)  # noqa: S307
            text = repr(got)
            return f"\n  left side was: {text if len(text) < 300 else text[:300] + '...'}"
    except BaseException:  # noqa: BLE001 - best effort detail for the log
        pass
    return ""


def harness(job: dict) -> dict:
    """Run the code, then the setup, then the tests in one namespace; classify the outcome."""
    import builtins

    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    tests = job.get("tests")
    has_tests = bool(tests) or bool(job.get("entry_point"))
    phase = "code"
    try:
        exec(_source("<solution>", job["code"]), ns)  # noqa: S102 - the point of a sandbox
        if job.get("setup"):
            phase = "setup"
            exec(_source("<setup>", job["setup"]), ns)  # noqa: S102
        if isinstance(tests, list):
            for i, test in enumerate(tests, 1):
                phase = f"test {i}"
                try:
                    exec(_source(f"<test {i}>", test), ns)  # noqa: S102
                except AssertionError as e:
                    detail = f": {e}" if str(e) else ""
                    log = f"test {i} failed{detail}: {test.strip()}" + _failed_assert(test, ns)
                    return {"status": "fail", "log": log}
        elif tests:
            phase = "tests"
            exec(_source("<tests>", tests), ns)  # noqa: S102
        if job.get("entry_point"):
            phase = "check"
            name = job["entry_point"]
            if name not in ns:
                return {"status": "error", "log": f"the code defines no {name!r}"}
            ns["check"](ns[name])
        return {"status": "pass", "log": ""}
    except AssertionError as e:
        status = "fail" if phase in ("tests", "check") else "error"
        return {"status": status, "log": f"{phase} failed\n" + _exception_log(e)}
    except MemoryError:
        ns.clear()
        return {"status": "memory", "log": f"MemoryError during {phase}"}
    except SystemExit as e:
        if not has_tests and phase == "code" and e.code in (0, None):
            return {"status": "pass", "log": ""}
        return {"status": "error", "log": f"SystemExit({e.code!r}) during {phase}"}
    except BaseException as e:  # noqa: BLE001 - any exception of untrusted code is a result
        return {"status": "error", "log": f"{type(e).__name__} during {phase}\n" + _exception_log(e)}


# ------------------------------------------------------------------------------------------------- main


def main() -> None:
    config = json.loads(sys.argv[1])
    # The protocol moves to private fds; 0/1 become /dev/null so no stray print reaches the parent.
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    os.set_inheritable(proto_in.fileno(), False)
    os.set_inheritable(proto_out, False)
    worker = Worker(config)

    def send(message: dict) -> None:
        data = (json.dumps(message) + "\n").encode()
        while data:
            data = data[os.write(proto_out, data):]

    send({"hello": True, "pid": os.getpid(), "layers": worker.layers})
    reader = proto_in
    buffer = b""
    while True:
        chunk = reader.read(1 << 20)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            job = json.loads(line)
            try:
                reply = worker.run(job)
            except Exception as e:  # noqa: BLE001 - report and stay up
                reply = {"internal_error": f"{type(e).__name__}: {e}"}
            reply["id"] = job.get("id")
            send(reply)
    if worker.cgroup:
        try:
            os.rmdir(worker.cgroup)
        except OSError:
            pass


if __name__ == "__main__":
    main()
