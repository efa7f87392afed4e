#!/usr/bin/env python3
"""Measures training recipes the way docs/recipes.md reports them: each variant of a workload's
flags trained with seeds 1 to 5 (or --seeds), the median and every seed's result.

    python3 scripts/tune.py seed "" "--init uniform" "--lr 0.006 --init uniform"
    python3 scripts/tune.py lstm "" "--forget-bias 1"
    python3 scripts/tune.py vowels "" "--dropout 0.1"

A variant is a string of extra `blasrnn train` flags ("" is the default recipe). Workloads: seed
(the seed model on MNIST), lstm and gru (H = 128, 5 epochs on MNIST), vowels (JapaneseVowels),
basicmotions. The metric is the test accuracy. Uses target/release/blasrnn (build it first).
"""
import json, os, shlex, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXE = os.path.join(ROOT, "target", "release", "blasrnn")

WORKLOADS = {
    "seed": [],
    "lstm": ["--cell", "lstm", "--hidden", "128", "--epochs", "5"],
    "gru": ["--cell", "gru", "--hidden", "128", "--epochs", "5"],
    "vowels": ["--data", "data/uea/JapaneseVowels"],
    "basicmotions": ["--data", "data/uea/BasicMotions"],
}


def run(flags):
    out = subprocess.run([EXE, "train", "--json", "--quiet"] + flags, cwd=ROOT, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    args = sys.argv[1:]
    seeds = [1, 2, 3, 4, 5]
    if args and args[0].startswith("--seeds="):
        seeds = [int(s) for s in args.pop(0).split("=", 1)[1].split(",")]
    if not args or args[0] not in WORKLOADS:
        sys.exit(__doc__)
    base, variants = WORKLOADS[args[0]], args[1:] or [""]
    for v in variants:
        accs, secs = [], []
        for s in seeds:
            j = run(base + shlex.split(v) + ["--seed", str(s)])
            accs.append(100 * j["test_accuracy"])
            secs.append(j["train_seconds"])
        print(f"{args[0]} [{v or 'default'}]: median {statistics.median(accs):.2f}% "
              f"({', '.join(f'{a:.2f}' for a in accs)}), {statistics.median(secs):.1f} s a run",
              flush=True)


if __name__ == "__main__":
    main()
