"""The sandbox: statuses and logs of test-based execution, and containment of hostile code.

Every containment test also checks (``leaves_nothing``) that no process and no job directory is left.
"""

from __future__ import annotations

import os
import socket
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from dataflow.sandbox import Job, Limits, Sandbox, isolation
from tests.sandbox.conftest import processes_with

pytestmark = pytest.mark.usefixtures("leaves_nothing")


def code(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


# --------------------------------------------------------------------------------- isolation report


def test_isolation_report_names_every_layer_with_a_reason(box):
    report = box.isolation()
    expected = {"network_namespace", "filesystem", "pid_namespace", "kill_all", "process_limit", "time_limits",
                "memory_limit", "output_limit", "clean_environment", "throwaway_directory", "landlock_network",
                "landlock_scope"}
    assert expected <= set(report.layers)
    for name, entry in report.layers.items():
        assert isinstance(entry["active"], bool), name
        assert entry["detail"], name
    assert isolation().layers.keys() == report.layers.keys()  # the module-level probe agrees
    assert report.network == (report.active("network_namespace") or report.active("landlock_network"))


def test_a_disabled_layer_is_reported_off():
    with Sandbox(workers=1, network_isolation=False, filesystem_isolation=False) as box:
        report = box.isolation()
        assert not report.active("network_namespace")
        assert not report.active("filesystem")
        assert "disabled" in report.layers["filesystem"]["detail"]
        assert box.run("print(open('/etc/hostname').read() != '')").stdout.strip() == "True"


def test_network_isolation_off_reaches_a_local_listener():
    with Sandbox(workers=1, network_isolation=False) as box, socket.socket() as listener:
        assert not box.isolation().network and box.isolation().filesystem
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        ex = box.run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n")
    assert ex.status == "pass", ex.log


# --------------------------------------------------------------------------------- test-based execution


SQUARE = "def square(x):\n    return x * x\n"


def test_assert_lines_pass(box):
    ex = box.run(SQUARE, ["assert square(2) == 4", "assert square(-3) == 9"])
    assert (ex.status, ex.log) == ("pass", "")


def test_first_failing_assertion_is_in_the_log(box):
    ex = box.run(SQUARE, ["assert square(2) == 4", "assert square(3) == 10", "assert square(4) == 0"])
    assert ex.status == "fail"
    assert "test 2 failed: assert square(3) == 10" in ex.log
    assert "left side was: 9" in ex.log
    assert "square(4)" not in ex.log


def test_setup_runs_after_the_code_and_before_the_tests(box):
    # MBPP task 927's shape: the setup code uses a class the solution defines.
    solution = "class Node:\n    def __init__(self, v):\n        self.v = v\n"
    ex = box.run(solution, ["assert root.v == 7"], setup="root = Node(7)")
    assert ex.status == "pass"


def test_humaneval_check_function(box):
    check = "def check(candidate):\n    assert candidate(3) == 9\n    assert candidate(0) == 0\n"
    assert box.run(SQUARE, check, entry_point="square").status == "pass"
    wrong = box.run("def square(x):\n    return x + x\n", check, entry_point="square")
    assert wrong.status == "fail"
    assert "assert candidate(3) == 9" in wrong.log  # the failing line, from the test source
    missing = box.run("def cube(x):\n    return x ** 3\n", check, entry_point="square")
    assert missing.status == "error" and "'square'" in missing.log


def test_stdin_stdout_cases(box):
    program = "a, b = map(int, input().split())\nprint(a + b)\n"
    assert box.run(program, cases=[("1 2\n", "3\n"), ("10 -4\n", "6")]).status == "pass"
    ex = box.run(program, cases=[("1 2\n", "3\n"), ("2 2\n", "5\n")])
    assert ex.status == "fail"
    assert ex.log == "case 2: expected stdout '5', got '4'"
    crashed = box.run(program, cases=[("1\n", "1\n")])
    assert crashed.status == "error" and crashed.log.startswith("case 1: ValueError")


def test_plain_run_with_stdin(box):
    ex = box.run("import sys\nprint(sys.stdin.read().upper())", stdin="hello")
    assert (ex.status, ex.stdout) == ("pass", "HELLO\n")


@pytest.mark.parametrize(
    ("source", "tests", "status", "in_log"),
    [
        ("def f(:\n", ["assert f()"], "error", "SyntaxError"),
        ("def f():\n    return 1 / 0\n", ["assert f() == 1"], "error", "ZeroDivisionError"),
        ("raise ValueError('at import')\n", ["assert True"], "error", "ValueError: at import"),
        ("import sys\nsys.exit(0)\n", ["assert False"], "error", "SystemExit(0) during code"),
        ("import os\nos._exit(0)\n", ["assert False"], "error", "before its tests finished"),
        ("x = [0] * (10 ** 10)\n", ["assert x"], "memory", "MemoryError"),
        ("assert 1 == 2, 'in the code'\n", ["assert True"], "error", "in the code"),
    ],
)
def test_statuses(box, source, tests, status, in_log):
    ex = box.run(source, tests)
    assert ex.status == status, ex.log
    assert in_log in ex.log


def test_run_many_keeps_the_order_and_runs_in_parallel():
    with Sandbox(Limits(timeout=5), workers=2) as box:
        jobs = [Job(f"import time\ntime.sleep(0.5)\nprint({i})") for i in range(4)]
        start = time.monotonic()
        results = box.run_many(jobs)
        elapsed = time.monotonic() - start
    assert [r.stdout.strip() for r in results] == ["0", "1", "2", "3"]
    assert elapsed < 1.9  # 4 x 0.5 s on 2 workers: about 1 s, never the serial 2 s


# --------------------------------------------------------------------------------- containment


def test_busy_loop_is_stopped_within_the_limit_plus_one_second(box):
    start = time.monotonic()
    ex = box.run("while True:\n    pass\n", limits=Limits(timeout=1.0))
    assert time.monotonic() - start < 2.0
    assert ex.status == "timeout" and ex.seconds < 2.0


def test_cpu_limit_stops_a_busy_loop_before_the_wall_clock(box):
    ex = box.run("while True:\n    pass\n", limits=Limits(timeout=30, cpu_seconds=1))
    assert ex.status == "timeout"
    assert "CPU" in ex.log and ex.seconds < 15  # 1 s of CPU; slack for a machine shared with other work


def test_memory_bomb(box):
    bomb = "chunks = []\nwhile True:\n    chunks.append(bytearray(10 ** 7))\n"
    ex = box.run(bomb, limits=Limits(timeout=10, memory_mb=256))
    assert ex.status == "memory", ex.log


def test_fork_bomb_is_contained(box):
    if not box.isolation().active("process_limit"):
        pytest.skip(box.isolation().layers["process_limit"]["detail"])
    counted = code("""
        import os, time
        n = 0
        for _ in range(200):
            try:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                n += 1
            except OSError:
                break
        print(n)
        """)
    ex = box.run(counted, limits=Limits(timeout=5, processes=16))
    assert ex.status == "pass"
    assert int(ex.stdout) < 16  # the limit stopped it; the sleepers are gone (leaves_nothing)
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    ex = box.run(bomb, limits=Limits(timeout=1.5, processes=16))
    assert ex.status == "timeout"


def test_writing_outside_its_directory(box, tmp_path):
    if not box.isolation().filesystem:
        pytest.skip("no filesystem isolation on this host: " + box.isolation().layers["filesystem"]["detail"])
    target = tmp_path / "escaped.txt"
    ex = box.run(f"open({str(target)!r}, 'w').write('x')\n")
    assert ex.status == "error" and "PermissionError" in ex.log
    assert not target.exists()
    # Inside its own directory it may write.
    ok = box.run("open('notes.txt', 'w').write('x')\nimport os\nprint(os.listdir('.'))")
    assert ok.status == "pass" and "notes.txt" in ok.stdout


def test_reading_a_secret_file_outside_its_directory(box, tmp_path):
    if not box.isolation().filesystem:
        pytest.skip("no filesystem isolation on this host: " + box.isolation().layers["filesystem"]["detail"])
    secret = tmp_path / "secret.txt"
    secret.write_text("the-secret-value")
    ex = box.run(f"print(open({str(secret)!r}).read())\n")
    assert ex.status == "error" and "PermissionError" in ex.log
    assert "the-secret-value" not in ex.stdout + ex.stderr + ex.log


def test_api_key_in_the_environment_does_not_reach_the_code(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-sandboxed-code")
    snoop = code("""
        import os
        print(dict(os.environ))
        for path in ('/proc/self/environ', '/proc/1/environ', f'/proc/{os.getppid()}/environ'):
            try:
                print(open(path, 'rb').read())
            except OSError as e:
                print(path, e)
        """)
    with Sandbox(workers=1) as fresh:  # started after the key was set
        ex = fresh.run(snoop)
    assert ex.status == "pass", ex.log
    assert "sk-not-for-sandboxed-code" not in ex.stdout
    assert "OPENAI_API_KEY" not in ex.stdout


def test_connecting_to_a_local_tcp_listener(box):
    if not box.isolation().network:
        pytest.skip("no network isolation on this host")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        ex = box.run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hi')\n")
        assert ex.status == "error"
        assert "OSError" in ex.log or "Error" in ex.log.splitlines()[0]
        with pytest.raises(TimeoutError):
            listener.accept()


def test_background_children_are_gone_afterwards(box):
    marker = f"sandbox-leftover-{uuid.uuid4().hex}"
    spawner = code(f"""
        import os, subprocess, sys
        sleeper = [sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}]
        subprocess.Popen(sleeper, start_new_session=True)
        if os.fork() == 0:  # a classic double-forked daemon
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, sleeper)
            os._exit(0)
        import time
        time.sleep(0.3)  # both sleepers are running when the job ends
        print('spawned')
        """)
    ex = box.run(spawner)
    assert (ex.status, ex.stdout) == ("pass", "spawned\n"), ex.log
    deadline = time.monotonic() + 2
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker) == []


def test_a_hundred_megabytes_on_stdout_are_truncated(box):
    flood = "import sys\nblock = 'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(block)\n"
    ex = box.run(flood, limits=Limits(timeout=20, output_bytes=1 << 16))
    assert ex.status == "pass"
    assert ex.truncated and ex.stdout_bytes == 100 << 20
    assert len(ex.stdout) == 1 << 16
    assert "output truncated" in ex.log


def test_the_working_directory_is_throwaway(box):
    ex = box.run("import os\nopen('f.txt', 'w').write('x')\nprint(os.getcwd())")
    assert ex.status == "pass"
    assert not os.path.exists(ex.stdout.strip())
    assert ex.stdout.strip().startswith(box.base_dir)


def test_processes_cannot_signal_outside_the_job(box):
    # Signal 0 only asks whether the process exists and may be signalled: harmless if the sandbox leaked.
    ex = box.run(f"import os\nos.kill({os.getpid()}, 0)\n")
    if not (box.isolation().active("pid_namespace") or box.isolation().active("landlock_scope")):
        pytest.skip("neither a PID namespace nor Landlock scopes on this host")
    assert ex.status == "error"  # ProcessLookupError in a PID namespace, PermissionError under Landlock


def test_a_worker_killed_from_outside_is_replaced():
    import signal

    with Sandbox(workers=1) as box:
        os.kill(box.worker_pids[0], signal.SIGKILL)
        ex = box.run("print('still here')")
        assert (ex.status, ex.stdout) == ("pass", "still here\n")
        assert len(box.worker_pids) == 1


# --------------------------------------------------------------------------------- each layer alone


def test_without_a_pid_namespace_the_fallback_still_kills_everything():
    marker = f"sandbox-fallback-{uuid.uuid4().hex}"
    spawner = code(f"""
        import os, subprocess, sys
        sleeper = [sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}]
        subprocess.Popen(sleeper, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, sleeper)  # keeps the job's stdout open
            os._exit(0)
        print('spawned')
        """)
    with Sandbox(Limits(timeout=5), workers=1, pid_namespace=False) as box:
        assert not box.isolation().active("pid_namespace")
        assert "subreaper" in box.isolation().layers["kill_all"]["detail"]
        ex = box.run(spawner)
        assert (ex.status, ex.stdout) == ("pass", "spawned\n"), ex.log
        assert ex.seconds < 3  # a daemon holding the pipe does not hold up the job
        assert processes_with(marker) == []
        assert box.run("while True:\n    pass\n", limits=Limits(timeout=1)).status == "timeout"


def test_the_network_namespace_alone_blocks_loopback():
    with Sandbox(workers=1, filesystem_isolation=False) as box:  # no Landlock, so no Landlock TCP rules
        if not box.isolation().active("network_namespace"):
            pytest.skip(box.isolation().layers["network_namespace"]["detail"])
        assert not box.isolation().active("landlock_network")
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            port = listener.getsockname()[1]
            ex = box.run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n")
    assert ex.status == "error"
    assert "Network is unreachable" in ex.log or "Cannot assign requested address" in ex.log, ex.log


def test_the_sandbox_is_a_pure_module():
    import subprocess
    import sys

    probe = "import sys, dataflow.sandbox\nprint(sorted(m for m in sys.modules if m.startswith('dataflow')))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=str(Path(__file__).resolve().parents[2])).stdout
    assert eval(out) == ["dataflow", "dataflow.sandbox", "dataflow.sandbox.pool", "dataflow.sandbox.resource"]
