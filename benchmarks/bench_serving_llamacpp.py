"""Benchmark: our LLM backends beside llama.cpp's own tools on the embedded model (issue 17, item 4).

llama.cpp's ``llama-batched-bench`` and ``llama-server`` are built from ``vendor/llama.cpp`` of the
same ``llama-cpp-python`` sdist our embedded backend is compiled from, with the same CMake flags
(``GGML_NATIVE=OFF``: AVX2, portable), Release, and cached under
``$DATAFLOW_CACHE_HOME/llamacpp-tools/<version>/`` (a second run does not rebuild).

Part 1, embedded: ``llama-batched-bench`` (prompt PP tokens, TG generated tokens, NPL parallel
sequences, each with its own prompt) beside ``EmbeddedServing`` at ``parallel`` = NPL, the same
threads, on NPL prompts of exactly PP tokens (chat-rendered; they share no prefix, as in
batched-bench) with exactly TG generated tokens each (end-of-generation is masked, so every
sequence runs its full length). Rows: prompt tokens/s (prompt tokens over the time until the
last prompt is read), generated tokens/s while decoding, and end to end (generated tokens over
the whole time, prompts included), medians over the repeats; sides alternate.

Part 2, OpenAI-compatible: ``llama-server --parallel N`` on 127.0.0.1 (same GGUF and threads), and
at concurrency N a bare client (N threads, ``http.client``, one request each at a time) beside
``OpenAIServing(max_concurrency=N)`` on the same requests (``ignore_eos`` so both generate
exactly ``max_tokens``); generated tokens/s for each and the ratio, sides alternating.

The machine may be shared: the load average is printed with every run. The defaults (128-token
prompts, 64 generated tokens, npl 1 2 4 8, server slots 4, 2 repeats) take about 9 minutes on a
quiet 2-core machine (estimated from the parts' rates; the first run adds the tools' build, ~15
minutes); a busy machine stretches that several times over.

    python benchmarks/bench_serving_llamacpp.py [--threads 2] [--prompt-tokens 128]
        [--gen-tokens 64] [--npl 1 2 4 8] [--server-npl 4] [--server-rounds 1] [--repeats 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
TOOLS = ("llama-batched-bench", "llama-server")
# The flags of our own build (Makefile: CMAKE_ARGS=-DGGML_NATIVE=OFF), plus switches that keep
# the tool build offline and small (no HTTPS, no web UI download, no tests).
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
)


def tools_dir() -> Path:
    from dataflow.serving.cache import cache_home

    return cache_home() / "llamacpp-tools" / LLAMA_CPP_PYTHON_VERSION


def build_tools(root: Path) -> dict[str, Path]:
    """Paths of the llama.cpp tools, building them under ``root`` first unless a build with
    the same flags is already there."""
    binaries = {name: root / "build" / "bin" / name for name in TOOLS}
    stamp = root / "build" / "flags.txt"
    wanted = " ".join(CMAKE_FLAGS)
    if all(p.is_file() for p in binaries.values()) and stamp.is_file() and stamp.read_text() == wanted:
        return binaries
    source = root / "src"
    if not (source / "vendor" / "llama.cpp" / "CMakeLists.txt").is_file():
        print(f"fetching the llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION} sdist ...", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                 f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}", "-d", tmp],
                check=True,
            )
            (archive,) = Path(tmp).glob("llama_cpp_python-*.tar.gz")
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
            shutil.rmtree(source, ignore_errors=True)
            source.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(Path(tmp) / f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}"), source)
    build = root / "build"
    print(f"building {', '.join(TOOLS)} in {build} (nice -n 10, -j2; minutes) ...", flush=True)
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    subprocess.run(["nice", "-n", "10", "cmake", "-S", str(source / "vendor" / "llama.cpp"), "-B", str(build),
                    *generator, *CMAKE_FLAGS], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["nice", "-n", "10", "cmake", "--build", str(build), "--target", *TOOLS, "-j2"], check=True,
                   stdout=subprocess.DEVNULL)
    stamp.write_text(wanted)
    return binaries


# ---- prompts ---------------------------------------------------------------------------------
WORDS = ("river stone garden window letter market winter orange silver doctor bridge forest "
         "engine candle meadow pocket harbor ladder mirror planet rabbit saddle tunnel violin "
         "wallet yellow anchor basket cotton dragon feather glacier hammer island jacket kettle "
         "lemon marble needle pepper quartz ribbon shadow thunder velvet walnut").split()
LEADS = ("Owls", "Copper", "Jazz", "Glass", "Maps", "Bees", "Clocks", "Salt", "Kites", "Moss", "Trains",
         "Bread", "Chess", "Rain", "Volcanoes", "Tides", "Lanterns", "Ferns", "Comets", "Pottery", "Deserts",
         "Sails", "Orchards", "Cables", "Beetles", "Canyons", "Harps", "Otters", "Quilts", "Reefs", "Spices",
         "Tulips")


def fixed_length_messages(render, n_tokens: int, index: int) -> list[dict]:
    """Chat messages whose rendered prompt is exactly ``n_tokens`` tokens. Each starts its own
    way (a system message led by a distinct word) so prompts share no prefix worth caching,
    like batched-bench's independent prompts."""
    lead = LEADS[index % len(LEADS)]
    system = f"{lead} {index}. Answer at length."

    def messages(n_words: int, tail: str = "") -> list[dict]:
        words = " ".join(WORDS[(index + k) % len(WORDS)] for k in range(n_words))
        return [{"role": "system", "content": system},
                {"role": "user", "content": f"Write a story using these words: {words}{tail}"}]

    n_words = max(1, n_tokens // 2)
    for _ in range(8):  # coarse: about one token per word
        n_words = max(1, n_words + (n_tokens - len(render(messages(n_words)))))
    # Fine: a word may cost two tokens, so search nearby counts with a short tail.
    for tail in ("", ".", "!", " now.", " then.", " again!"):
        for count in sorted(range(max(1, n_words - 4), n_words + 5), key=lambda c: abs(c - n_words)):
            if len(render(messages(count, tail))) == n_tokens:
                return messages(count, tail)
    raise RuntimeError(f"could not build a prompt of exactly {n_tokens} tokens")


# ---- measurements --------------------------------------------------------------------------------
def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def batched_bench(binary: Path, model: Path, args: argparse.Namespace, npl: int) -> dict:
    """One ``llama-batched-bench`` run at ``npl`` sequences (its own process, so its CPU time
    includes loading the model)."""
    n_ctx = npl * (args.prompt_tokens + args.gen_tokens) + 16
    command = [str(binary), "-m", str(model), "-t", str(args.threads), "-tb", str(args.threads),
               "-c", str(n_ctx), "-b", str(args.n_batch), "-ub", str(args.n_batch),
               "-npp", str(args.prompt_tokens), "-ntg", str(args.gen_tokens), "-npl", str(npl),
               "--output-format", "jsonl"]
    cpu0, wall0 = children_cpu(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    cpu, wall = children_cpu() - cpu0, time.perf_counter() - wall0
    rows = [json.loads(line) for line in done.stdout.splitlines() + done.stderr.splitlines()
            if line.startswith("{") and '"speed_tg"' in line]
    if done.returncode != 0 or len(rows) != 1:
        raise RuntimeError(f"llama-batched-bench failed ({done.returncode}): {done.stderr[-2000:]}")
    row = rows[0]
    generated = npl * args.gen_tokens
    return {"prompt": row["speed_pp"], "gen": row["speed_tg"], "e2e": generated / row["t"],
            "seconds": row["t"], "cpu": cpu, "wall": wall}


def ours_embedded(serving, requests_by_len: dict, args: argparse.Namespace, npl: int) -> dict:
    """Our embedded backend at ``parallel`` = ``npl``: one prompt-only pass (max_tokens=1) for
    the prompt rate, then the full run. The full run asks for TG+1 tokens: its first token
    comes out of the prompt pass, so TG+1 tokens take the TG decode steps batched-bench times."""
    prompt_only, full = requests_by_len[npl]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    started = time.perf_counter()
    results = serving.generate(prompt_only)
    t_prompt = time.perf_counter() - started
    _check(results, 1)
    started = time.perf_counter()
    results = serving.generate(full)
    t_full = time.perf_counter() - started
    _check(results, args.gen_tokens + 1)
    generated = npl * args.gen_tokens
    return {"prompt": npl * args.prompt_tokens / t_prompt, "gen": generated / max(1e-9, t_full - t_prompt),
            "e2e": generated / t_full, "seconds": t_full, "cpu": time.process_time() - cpu0,
            "wall": time.perf_counter() - wall0}


def _check(results, tokens_out: int) -> None:
    bad = [r.error or f"{r.tokens_out} tokens" for r in results if not r.ok or r.tokens_out != tokens_out]
    if bad:
        raise RuntimeError(f"expected {tokens_out} generated tokens per request: {bad[:3]}")


def part_embedded(binary: Path, model: Path, args: argparse.Namespace) -> list[dict]:
    from dataflow.core.llm_types import LLMRequest
    from dataflow.serving.embedded import EmbeddedServing

    class FixedLength(EmbeddedServing):
        """EmbeddedServing whose calls ignore end-of-generation (exact max_tokens)."""

        def _resolve(self, request):
            call = super()._resolve(request)
            call.extra["ignore_eos"] = True
            return call

    n_ctx = args.prompt_tokens + args.gen_tokens + 16
    servings = {npl: FixedLength(model=str(model), n_threads=args.threads, n_ctx=n_ctx, parallel=npl,
                                 n_batch=args.n_batch, cache=None).load() for npl in args.npl}
    render = servings[args.npl[0]].engine.render
    messages = [fixed_length_messages(lambda m: render(m)[0], args.prompt_tokens, i) for i in range(max(args.npl))]
    requests_by_len = {
        npl: ([LLMRequest(messages=m, max_tokens=1) for m in messages[:npl]],
              [LLMRequest(messages=m, max_tokens=args.gen_tokens + 1) for m in messages[:npl]])
        for npl in args.npl
    }
    # Warm-up (first decode allocates compute buffers), as batched-bench does its own.
    for serving in servings.values():
        serving.generate([LLMRequest(messages=messages[0], max_tokens=2)])
    runs: dict[tuple[str, int], list[dict]] = {}
    for repeat in range(args.repeats):
        for npl in args.npl:
            sides = [("llama.cpp", lambda npl=npl: batched_bench(binary, model, args, npl)),
                     ("ours", lambda npl=npl: ours_embedded(servings[npl], requests_by_len, args, npl))]
            for side, run in sides if repeat % 2 == 0 else sides[::-1]:
                result = run()
                runs.setdefault((side, npl), []).append(result)
                print(f"  repeat {repeat + 1} {side:<9} npl={npl}: prompt {result['prompt']:.1f} t/s, "
                      f"gen {result['gen']:.1f} t/s, end to end {result['e2e']:.1f} t/s "
                      f"(cpu {result['cpu']:.1f} s / wall {result['wall']:.1f} s); {load()}", flush=True)
    for serving in servings.values():
        serving.close()
    return [{"npl": npl, **{side: {key: statistics.median(r[key] for r in runs[(side, npl)])
                                   for key in ("prompt", "gen", "e2e", "cpu", "wall")}
                            for side in ("llama.cpp", "ours")}} for npl in args.npl]


def print_embedded(rows: list[dict]) -> tuple[str, str, bool]:
    print(f"{'npl':>3} | {'llama.cpp prompt':>16} {'gen':>6} {'e2e':>6} | {'ours prompt':>11} {'gen':>6} "
          f"{'e2e':>6} | {'ratio prompt':>12} {'gen':>5} {'e2e':>5}")
    for row in rows:
        ref, ours = row["llama.cpp"], row["ours"]
        print(f"{row['npl']:>3} | {ref['prompt']:>16.1f} {ref['gen']:>6.1f} {ref['e2e']:>6.1f} | "
              f"{ours['prompt']:>11.1f} {ours['gen']:>6.1f} {ours['e2e']:>6.1f} | "
              f"{ours['prompt'] / ref['prompt']:>12.2f} {ours['gen'] / ref['gen']:>5.2f} "
              f"{ours['e2e'] / ref['e2e']:>5.2f}")
    best = max(rows, key=lambda r: r["llama.cpp"]["e2e"])
    ours_best = max(rows, key=lambda r: r["ours"]["e2e"])
    ref_e2e = best["llama.cpp"]["e2e"]
    print(f"llama.cpp's best end to end: {ref_e2e:.1f} t/s at npl={best['npl']}; ours there "
          f"{best['ours']['e2e']:.1f} t/s, ratio {best['ours']['e2e'] / ref_e2e:.2f}; ours at its best "
          f"(npl={ours_best['npl']}) {ours_best['ours']['e2e']:.1f} t/s, ratio to llama.cpp's best "
          f"{ours_best['ours']['e2e'] / ref_e2e:.2f}")
    per_npl = ", ".join(f"{r['npl']}: {r['ours']['e2e'] / r['llama.cpp']['e2e']:.2f}" for r in rows)
    ratio = best["ours"]["e2e"] / ref_e2e
    return ("embedded backend / llama-batched-bench, end-to-end tokens/s",
            f"{ratio:.2f} at llama.cpp's best setting (npl={best['npl']}: {best['ours']['e2e']:.1f} vs "
            f"{ref_e2e:.1f} t/s); per npl {per_npl}", ratio >= 0.9)


# ---- part 2: llama-server ----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class LlamaServer:
    """``llama-server`` on 127.0.0.1 with ``parallel`` slots, stopped on exit."""

    def __init__(self, binary: Path, model: Path, args: argparse.Namespace, parallel: int) -> None:
        self.port = free_port()
        n_ctx = parallel * (args.prompt_tokens + args.gen_tokens + 64)
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [str(binary), "-m", str(model), "-t", str(args.threads), "-tb", str(args.threads),
             "--parallel", str(parallel), "-c", str(n_ctx), "-b", str(args.n_batch), "-ub", str(args.n_batch),
             "--host", "127.0.0.1", "--port", str(self.port), "--no-webui"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"llama-server exited: {self.log.read()[-2000:].decode(errors='replace')}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        self.close()
        raise RuntimeError("llama-server did not become healthy within 120 s")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def server_payload(messages: list[dict], max_tokens: int) -> dict:
    # What OpenAIServing sends for a greedy LLMRequest, plus the fixed-length switch.
    return {"model": "local", "messages": messages, "temperature": 0.0, "top_p": 1.0,
            "max_tokens": max_tokens, "ignore_eos": True}


def bare_client(port: int, payloads: list[dict], concurrency: int) -> tuple[int, int]:
    """``concurrency`` threads, each with one keep-alive connection, posting the payloads;
    returns the (prompt, generated) tokens the server reports."""
    pending = list(reversed(payloads))
    lock = threading.Lock()
    totals: list[tuple[int, int]] = []
    errors: list[str] = []

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    payload = pending.pop()
                connection.request("POST", "/v1/chat/completions", body=json.dumps(payload),
                                   headers={"Content-Type": "application/json"})
                reply = connection.getresponse()
                body = reply.read()
                if reply.status != 200:
                    errors.append(f"HTTP {reply.status}: {body[:200]!r}")
                    return
                usage = json.loads(body)["usage"]
                totals.append((usage["prompt_tokens"], usage["completion_tokens"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"bare client: {errors[:2]}")
    return sum(t[0] for t in totals), sum(t[1] for t in totals)


def part_server(binary: Path, model: Path, args: argparse.Namespace, render) -> list[dict]:
    return [server_row(binary, model, args, render, npl) for npl in args.server_npl]


def server_row(binary: Path, model: Path, args: argparse.Namespace, render, npl: int) -> dict:
    """A bare client and OpenAIServing, alternating, against one server with ``npl`` slots."""
    from dataflow.core.llm_types import LLMRequest
    from dataflow.serving.openai_compat import OpenAIServing

    n_requests = npl * args.server_rounds
    runs_started = 0

    def next_messages() -> list[list[dict]]:
        # Fresh prompts for every run, so that no run reuses another's cached prompt in a slot.
        nonlocal runs_started
        first = 1000 * npl + runs_started * n_requests
        runs_started += 1
        return [fixed_length_messages(render, args.prompt_tokens, first + i) for i in range(n_requests)]

    server = LlamaServer(binary, model, args, npl)
    try:
        ours = OpenAIServing(model="local", base_url=f"http://127.0.0.1:{server.port}/v1", api_key_env=None,
                             max_concurrency=npl, extra_body={"ignore_eos": True}, cache=None)

        def run_bare() -> tuple[int, int]:
            payloads = [server_payload(m, args.gen_tokens) for m in next_messages()]
            return bare_client(server.port, payloads, npl)

        def run_ours() -> tuple[int, int]:
            results = ours.generate([LLMRequest(messages=m, max_tokens=args.gen_tokens) for m in next_messages()])
            bad = [r.error for r in results if not r.ok]
            if bad:
                raise RuntimeError(f"OpenAIServing: {bad[:2]}")
            return sum(r.tokens_in for r in results), sum(r.tokens_out for r in results)

        bare_client(server.port, [server_payload(next_messages()[0], 4)], 1)  # warm-up
        runs: dict[str, list[dict]] = {"bare client": [], "ours": []}
        for repeat in range(args.repeats):
            sides = [("bare client", run_bare), ("ours", run_ours)]
            for side, run in sides if repeat % 2 == 0 else sides[::-1]:
                server_cpu0, cpu0, started = process_cpu(server.process.pid), time.process_time(), time.perf_counter()
                prompt_tokens, tokens = run()
                wall = time.perf_counter() - started
                result = {"rate": tokens / wall, "tokens": tokens, "wall": wall,
                          "client_cpu": time.process_time() - cpu0,
                          "server_cpu": process_cpu(server.process.pid) - server_cpu0}
                runs[side].append(result)
                print(f"  repeat {repeat + 1} {side:<11} parallel={npl}: {prompt_tokens} prompt tokens, "
                      f"{tokens} generated in {wall:.1f} s = "
                      f"{result['rate']:.1f} t/s (server cpu {result['server_cpu']:.1f} s, client cpu "
                      f"{result['client_cpu']:.2f} s); {load()}", flush=True)
    finally:
        server.close()
    return {"npl": npl, **{side: {key: statistics.median(r[key] for r in values)
                                  for key in ("rate", "wall", "client_cpu", "server_cpu")}
                           for side, values in runs.items()}}


def print_server(rows: list[dict]) -> tuple[str, str, bool]:
    print(f"{'parallel':>8} | {'bare client t/s':>15} {'client cpu s':>12} | {'ours t/s':>8} {'client cpu s':>12} | "
          f"{'ratio':>5}")
    for row in rows:
        bare, ours = row["bare client"], row["ours"]
        print(f"{row['npl']:>8} | {bare['rate']:>15.1f} {bare['client_cpu']:>12.2f} | {ours['rate']:>8.1f} "
              f"{ours['client_cpu']:>12.2f} | {ours['rate'] / bare['rate']:>5.2f}")
    best = max(rows, key=lambda r: r["bare client"]["rate"])
    print(f"server's best for a bare client: {best['bare client']['rate']:.1f} t/s at parallel={best['npl']}; "
          f"ours there {best['ours']['rate']:.1f} t/s, ratio {best['ours']['rate'] / best['bare client']['rate']:.2f}")
    ratio = best["ours"]["rate"] / best["bare client"]["rate"]
    return ("OpenAI-compatible backend / bare client of llama-server, generated tokens/s",
            f"{ratio:.2f} at parallel={best['npl']} ({best['ours']['rate']:.1f} vs {best['bare client']['rate']:.1f} t/s)",
            ratio >= 0.9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-tokens", type=int, default=128, help="PP: tokens per prompt")
    parser.add_argument("--gen-tokens", type=int, default=64, help="TG: generated tokens per sequence")
    parser.add_argument("--npl", type=int, nargs="+", default=[1, 2, 4, 8], help="parallel sequences (part 1)")
    parser.add_argument("--server-npl", type=int, nargs="*", default=[4], help="server slots (part 2)")
    parser.add_argument("--server-rounds", type=int, default=1, help="requests per run = slots x rounds")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--n-batch", type=int, default=512, help="batch and micro-batch size, both sides")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--build-only", action="store_true", help="build (or find) the tools and stop")
    args = parser.parse_args()
    # On SIGTERM, unwind like Ctrl-C so the batched-bench child and the server are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    began = time.perf_counter()
    binaries = build_tools(tools_dir())
    if args.build_only:
        for name, path in binaries.items():
            print(f"{name}: {path}")
        return
    from dataflow.serving.model_files import model_path

    model = model_path()
    print(f"model {model.name}; {args.threads} threads; prompts of {args.prompt_tokens} tokens (chat-rendered, "
          f"no shared prefix), {args.gen_tokens} generated tokens each (end of generation ignored); "
          f"n_batch = n_ubatch = {args.n_batch}; {args.repeats} repeats, sides alternating; medians shown")
    print(f"build: {' '.join(CMAKE_FLAGS)} (both sides: llama-cpp-python was built with CMAKE_ARGS="
          f"{os.environ.get('CMAKE_ARGS', '-DGGML_NATIVE=OFF (Makefile)')})")
    render = None
    summary = []
    if not args.skip_embedded:
        print(f"\n== part 1: llama-batched-bench vs EmbeddedServing, npl {args.npl}; {load()}", flush=True)
        rows = part_embedded(binaries["llama-batched-bench"], model, args)
        print(f"\nembedded, tokens/s (medians; end to end = generated tokens / whole time); {load()}")
        summary.append(print_embedded(rows))
    if args.server_npl:
        from dataflow.serving.embedded import LlamaEngine

        engine = LlamaEngine(str(model), n_threads=1, n_ctx=args.prompt_tokens + 64, parallel=1)
        render = lambda messages: engine.render(messages)[0]  # noqa: E731
        print(f"\n== part 2: llama-server --parallel N vs a bare client and OpenAIServing, N {args.server_npl}, "
              f"{args.server_rounds} round(s) of N requests per run; {load()}", flush=True)
        try:
            rows = part_server(binaries["llama-server"], model, args, render)
        finally:
            engine.close()
        print(f"\nOpenAI-compatible, generated tokens/s (medians); {load()}")
        summary.append(print_server(rows))
    print(f"\ntotal {time.perf_counter() - began:.0f} s; {load()}")
    print("RESULT " + json.dumps({"summary": summary}))


if __name__ == "__main__":
    main()
