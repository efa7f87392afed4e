#!/usr/bin/env python3
"""Measures training recipes the way docs/recipes.md reports them: each variant of a workload's
flags trained with seeds 1 to 5 (or --seeds=1,2,3), the median and every seed's result.

    python3 scripts/tune.py seed "" "--init uniform" "--lr 0.006 --init uniform"
    python3 scripts/tune.py lstm "" "--forget-bias 1"
    python3 scripts/tune.py vowels "" "--dropout 0.1"

A variant is a string of extra `blasrnn train` flags ("" is the default recipe). Workloads: seed
(the seed model on MNIST), lstm and gru (H = 128, 5 epochs on MNIST), vowels (JapaneseVowels),
basicmotions, covid (Covid3Month regression: the test RMSE), segments (BasicMotions, a class at
every step: the accuracy over the steps). The metric is otherwise the test accuracy. Uses
target/release/blasrnn (build it first), with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from
its environment.
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
    "covid": ["--data", "data/tser/Covid3Month"],
    "segments": ["--data", "data/segments/basicmotions_segments.npz", "--bidirectional"],
}

# What each workload reports: the JSON key, and whether it is a percentage.
METRICS = {"covid": ("test_rmse", False), "segments": ("test_step_accuracy", True)}


def run(flags):
    # As compare_pytorch.py: OpenBLAS picks its kernels for this CPU, as on a user's machine.
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    out = subprocess.run([EXE, "train", "--json", "--quiet"] + flags, cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    args = sys.argv[1:]
    seeds = [1, 2, 3, 4, 5]
    if args and args[0].startswith("--seeds="):
        seeds = [int(s) for s in args.pop(0).split("=", 1)[1].split(",")]
    if not args or args[0] not in WORKLOADS:
        sys.exit(__doc__)
    base, variants = WORKLOADS[args[0]], args[1:] or [""]
    key, percent = METRICS.get(args[0], ("test_accuracy", True))
    for v in variants:
        accs, secs = [], []
        for s in seeds:
            j = run(base + shlex.split(v) + ["--seed", str(s)])
            accs.append((100 if percent else 1) * j[key])
            secs.append(j["train_seconds"])
        f = "{:.2f}%" if percent else "{:.4f}"
        print(f"{args[0]} [{v or 'default'}]: {key} median {f.format(statistics.median(accs))} "
              f"({', '.join(f.format(a) for a in accs)}), {statistics.median(secs):.1f} s a run",
              flush=True)


if __name__ == "__main__":
    main()
