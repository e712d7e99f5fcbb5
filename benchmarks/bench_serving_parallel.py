"""Benchmark (c): sequential vs parallel decoding on the embedded model.

``parallel`` = sequences decoded together in one llama.cpp batch per step; ``workers`` = separate
contexts (sharing the weights) decoding side by side with the threads split between them. Runs
free-text prompts and JSON-schema scoring prompts; configurations are interleaved and repeated
(medians shown). "same" counts outputs identical to one-at-a-time decoding: batched matrix
kernels round differently, so greedy text can drift from the sequential result (it stays
reproducible for the same batch).

    python benchmarks/bench_serving_parallel.py [--prompts 8] [--max-tokens 48] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

from dataflow.serving import LLMRequest
from dataflow.serving.embedded import EmbeddedServing

TOPICS = ["the sea", "volcanoes", "bread", "chess", "rain", "owls", "copper", "jazz", "glass", "maps",
          "bees", "clocks", "salt", "kites", "moss", "trains"]
SCORE = {"type": "object", "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}},
         "required": ["score"], "additionalProperties": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--configs", nargs="*", default=["1x1", "2x1", "4x1", "8x1", "1x2"],
                        help="PARALLELxWORKERS")
    args = parser.parse_args()

    workloads = {
        "free text": [LLMRequest(prompt=f"Write a short paragraph about {TOPICS[i % 16]}.",
                                 max_tokens=args.max_tokens) for i in range(args.prompts)],
        "json score": [LLMRequest(prompt=f"Rate 1-5 how factual this is: 'Fact: {TOPICS[i % 16]} exist.'",
                                  json_schema=SCORE, max_tokens=args.max_tokens) for i in range(args.prompts)],
    }
    servings = {}
    for spec in args.configs:
        parallel, workers = (int(x) for x in spec.split("x"))
        servings[spec] = EmbeddedServing(parallel=parallel, workers=workers, n_ctx=1024, cache=None).load()

    rates = {(w, s): [] for w in workloads for s in servings}
    texts: dict[tuple[str, str], list] = {}
    for _ in range(args.repeats):
        for workload, requests in workloads.items():
            for spec, serving in servings.items():
                started = time.perf_counter()
                results = serving.generate(requests)
                seconds = time.perf_counter() - started
                assert all(r.ok for r in results), [r.error for r in results if not r.ok][:2]
                rates[(workload, spec)].append(sum(r.tokens_out for r in results) / seconds)
                print(f"  {workload} {spec}: {rates[(workload, spec)][-1]:.1f} tok/s", flush=True)
                texts[(workload, spec)] = [r.text for r in results]

    print(f"{args.prompts} prompts x max_tokens={args.max_tokens}, {args.repeats} repeats (interleaved)")
    print(f"{'workload':<11} {'parallel x workers':<19} {'median tok/s':>12} {'runs':>18} {'vs 1x1':>7} "
          f"{'same':>5}")
    for workload in workloads:
        base = statistics.median(rates[(workload, args.configs[0])])
        reference = texts[(workload, args.configs[0])]
        for spec in servings:
            values = rates[(workload, spec)]
            same = sum(a == b for a, b in zip(texts[(workload, spec)], reference))
            print(f"{workload:<11} {spec:<19} {statistics.median(values):>12.1f} "
                  f"{' '.join(f'{v:.1f}' for v in values):>18} {statistics.median(values) / base:>7.2f} "
                  f"{same:>2}/{len(reference)}")


if __name__ == "__main__":
    main()
