"""Benchmark (b): embedded backend vs plain llama-cpp-python at the same settings.

Same model file, threads, prompts, greedy decoding and max_tokens. "plain" is
``Llama.create_chat_completion`` called once per prompt (the usual way to use the library);
"dataflow" is ``create_serving({"cache": False})`` with its defaults, and "dataflow parallel=1"
is the same engine decoding one sequence at a time. Configurations are interleaved and
repeated; the table shows the median generated tokens/s over repeats and the ratio to plain
(target >= 0.9). On a shared machine, other processes add noise: read the spread too.

    python benchmarks/bench_serving_embedded.py [--prompts 8] [--max-tokens 48] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from dataflow.serving import create_serving
from dataflow.serving.model_files import model_path

TOPICS = ["the sea", "volcanoes", "bread", "chess", "rain", "owls", "copper", "jazz", "glass", "maps",
          "bees", "clocks", "salt", "kites", "moss", "trains"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()

    from llama_cpp import Llama

    prompts = [f"Write a short paragraph about {TOPICS[i % len(TOPICS)]}." for i in range(args.prompts)]
    path = str(model_path())
    plain = Llama(model_path=path, n_threads=args.threads, n_threads_batch=args.threads, n_ctx=4096,
                  verbose=False)
    ours = create_serving({"cache": False, "n_threads": args.threads})
    ours_seq = create_serving({"cache": False, "n_threads": args.threads, "parallel": 1})

    def run_plain() -> int:
        tokens = 0
        for prompt in prompts:
            plain.reset()
            out = plain.create_chat_completion(
                messages=[{"role": "user", "content": prompt}], temperature=0.0, max_tokens=args.max_tokens
            )
            tokens += out["usage"]["completion_tokens"]
        return tokens

    def runner(serving):
        def run() -> int:
            results = serving.chat(prompts, temperature=0.0, max_tokens=args.max_tokens)
            assert all(r.ok for r in results), [r.error for r in results if not r.ok][:2]
            return sum(r.tokens_out for r in results)
        return run

    configs = {
        "plain llama-cpp-python": run_plain,
        f"dataflow (default, parallel={ours.parallel})": runner(ours),
        "dataflow parallel=1": runner(ours_seq),
    }
    ours.load()
    ours_seq.load()
    rates: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.repeats):
        for name, run in configs.items():
            started = time.perf_counter()
            tokens = run()
            rates[name].append(tokens / (time.perf_counter() - started))
            print(f"  {name}: {rates[name][-1]:.1f} tok/s", flush=True)

    base = statistics.median(rates["plain llama-cpp-python"])
    print(f"{args.prompts} prompts x max_tokens={args.max_tokens}, {args.threads} threads, "
          f"{args.repeats} repeats (interleaved)")
    print(f"{'configuration':<34} {'median tok/s':>12} {'runs':>22} {'ratio':>6}")
    for name, values in rates.items():
        runs = " ".join(f"{v:.1f}" for v in values)
        print(f"{name:<34} {statistics.median(values):>12.1f} {runs:>22} {statistics.median(values) / base:>6.2f}")


if __name__ == "__main__":
    main()
