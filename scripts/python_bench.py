#!/usr/bin/env python3
"""What the Python package costs over the engine, measured side by side on this machine.

    python3 -m venv VENV && VENV/bin/pip install ./python     # a measuring venv
    cargo build --release
    VENV/bin/python scripts/python_bench.py [--repeat 3] [--threads 2]

- fit: `RNNClassifier(random_state=r).fit(X, y)` on JapaneseVowels (the wall time of the call:
  reading the arrays, training, handing the model back) against `blasrnn train --data
  data/uea/JapaneseVowels --seed r` (the training time it reports, and the whole command's wall
  time), the two alternating, seeds 1 to `--repeat`; medians.
- predict: one sequence through `predict_proba` (and through the compiled model alone) on the
  default model (GRU 2×128), after a first call; median of 2000 calls.

blasrnn's command runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment,
and so does this process (they are read when the package loads OpenBLAS): the kernels OpenBLAS
picks for this CPU, as on a user's machine.
"""
import argparse
import json
import os
import subprocess
import sys
import time

if any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import numpy as np  # noqa: E402

import blasrnn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from suite import read_ts  # noqa: E402  (cases as [channels][timepoints] arrays)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXE = os.path.join(ROOT, "target", "release", "blasrnn")
VOWELS = os.path.join(ROOT, "data", "uea", "JapaneseVowels")


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    X, y = read_ts(os.path.join(VOWELS, "JapaneseVowels_TRAIN.ts"))
    Xt, yt = read_ts(os.path.join(VOWELS, "JapaneseVowels_TEST.ts"))

    py, cli_train, cli_wall, acc = [], [], [], []
    for r in range(1, a.repeat + 1):
        def ours():
            start = time.perf_counter()
            clf = blasrnn.RNNClassifier(random_state=r, n_threads=a.threads,
                                        channels_first=True).fit(X, y)
            py.append(time.perf_counter() - start)
            acc.append(("python", clf.score(Xt, yt)))
            return clf

        def command():
            start = time.perf_counter()
            out = subprocess.run([EXE, "train", "--data", VOWELS, "--seed", str(r), "--threads",
                                  str(a.threads), "--json", "--quiet"], check=True,
                                 capture_output=True, text=True, cwd=ROOT).stdout
            cli_wall.append(time.perf_counter() - start)
            j = json.loads(out.strip().splitlines()[-1])
            cli_train.append(j["train_seconds"])
            acc.append(("command line", j["test_accuracy"]))

        if r % 2:
            clf = ours()
            command()
        else:
            command()
            clf = ours()
        print(f"seed {r}: fit {py[-1]:.3f} s, command line training {cli_train[-1]:.3f} s "
              f"(whole command {cli_wall[-1]:.3f} s)", file=sys.stderr)

    one = [Xt[0]]
    clf.predict_proba(one)
    times = []
    for _ in range(2000):
        start = time.perf_counter()
        clf.predict_proba(one)
        times.append(time.perf_counter() - start)
    x, _ = blasrnn._arrays.as_sequences(one, channels_first=True)
    raw = []
    for _ in range(2000):
        start = time.perf_counter()
        clf.model_.predict(x)
        raw.append(time.perf_counter() - start)

    f, c, w = median(py), median(cli_train), median(cli_wall)
    print(f"\n{blasrnn.blas_config()}; {a.threads} threads; medians of {a.repeat} alternating "
          f"runs (seeds 1 to {a.repeat})\n")
    print("| | seconds | against the command line's training |")
    print("| --- | --- | --- |")
    print(f"| `RNNClassifier().fit(X, y)`, JapaneseVowels | {f:.3f} | {100 * (f / c - 1):+.1f}% |")
    print(f"| `blasrnn train --data data/uea/JapaneseVowels`: training | {c:.3f} | |")
    print(f"| the same command, start to end | {w:.3f} | {100 * (w / c - 1):+.1f}% |")
    print(f"\naccuracy: " + ", ".join(f"{who} {v:.4f}" for who, v in acc))
    print(f"\npredict_proba, one sequence ({Xt[0].shape[1]} steps): median "
          f"{1e6 * median(times):.1f} µs; the compiled model alone {1e6 * median(raw):.1f} µs")


if __name__ == "__main__":
    main()
