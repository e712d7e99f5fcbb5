"""Benchmark (a): OpenAI-compatible backend throughput against a local server with a fixed
per-request latency L, at client concurrency C. The ideal is C / L requests per second; the
target is a ratio of at least 0.9.

    python benchmarks/bench_serving_openai.py [--latency 0.2] [--rounds 8]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from dataflow.serving import LLMRequest, create_serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, nargs="*", default=[0.2, 1.0],
                        help="server latency per request (s)")
    parser.add_argument("--rounds", type=int, default=20, help="requests per slot (N = C * rounds)")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 4, 16, 64])
    args = parser.parse_args()

    print(f"{'C':>4} {'L (s)':>6} {'N':>5} {'seconds':>8} {'req/s':>8} {'ideal C/L':>10} {'ratio':>6}")
    for latency in args.latency:
        # The server runs in its own process so that its work does not share the client's GIL.
        server = subprocess.Popen(
            [sys.executable, "-m", "dataflow.serving.fake_server", "--latency", str(latency)],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            base_url = server.stdout.readline().strip()
            run_latency(base_url, latency, args)
        finally:
            server.terminate()
            server.wait()


def run_latency(base_url: str, latency: float, args: argparse.Namespace) -> None:
    for concurrency in args.concurrency:
        client = create_serving({
            "backend": "openai", "model": "bench", "base_url": base_url, "api_key_env": None,
            "max_concurrency": concurrency, "cache": False, "timeout_s": 30,
        })
        client.generate([LLMRequest(prompt="warm-up")])  # imports and first connection, untimed
        n = concurrency * args.rounds
        requests = [LLMRequest(prompt=f"request {i}") for i in range(n)]
        started = time.perf_counter()
        results = client.generate(requests)
        seconds = time.perf_counter() - started
        assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
        rate = n / seconds
        ideal = concurrency / latency
        print(f"{concurrency:>4} {latency:>6.2f} {n:>5} {seconds:>8.2f} {rate:>8.1f} {ideal:>10.1f} "
              f"{rate / ideal:>6.2f}")


if __name__ == "__main__":
    main()
