"""The agent works with no network: a whole session (plan, a written operator tested in the sandbox, the
dry run, the YAML) runs under ``unshare -n`` (an empty network namespace), with a scripted serving for
speed; the embedded model variant is marked slow+llm."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SESSION = r'''
import json, socket, sys
from pathlib import Path
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    sys.exit("the network is reachable: not an offline run")
except OSError:
    pass
from dataflow.agent.planner import build_pipeline
data, spec_out, scripted = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "scripted"
serving = None
if scripted:
    from tests.agent.scripted import agent_model
    from tests.agent.test_new_ops_and_refine import PHONE_ANSWER, TWO_ACTIONS
    serving = agent_model(actions=[TWO_ACTIONS],
                          fill=[{"params": [{"name": "min_words", "value": 3}], "run": {"input_key": "text"}}],
                          new=[{"name": "DropPhoneNumbers", "input_key": "text"}], code=[PHONE_ANSWER])
request = "keep texts of at least 3 words and drop rows whose text contains a phone number"
result = build_pipeline(request, data, serving=serving, spec_out=spec_out, rows=8, max_rounds=3)
print(json.dumps({"ok": result.ok, "message": result.message}))
'''


def unshare_prefix() -> list[str]:
    if not shutil.which("unshare"):
        pytest.skip("no unshare command on this host")
    prefix = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-n"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"the host does not allow a network namespace: {probe.stderr.strip()}")
    return prefix


def run_offline(tmp_path: Path, mode: str, timeout: float) -> dict:
    data = tmp_path / "docs.jsonl"
    texts = ["call me at 555-123-4567 please, it is urgent", "a long enough plain text", "tiny"]
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts * 3))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([*unshare_prefix(), sys.executable, "-c", SESSION, str(data), str(tmp_path / "spec.yaml"),
                           mode], capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_session_with_a_written_operator_runs_without_network(tmp_path):
    outcome = run_offline(tmp_path, "scripted", timeout=240)
    assert outcome["ok"], outcome["message"]
    assert "ops/drop_phone_numbers.py:DropPhoneNumbers" in (tmp_path / "spec.yaml").read_text()


@pytest.mark.slow
@pytest.mark.llm
def test_the_embedded_model_plans_without_network(tmp_path):
    outcome = run_offline(tmp_path, "embedded", timeout=1800)
    assert outcome["ok"], outcome["message"]
