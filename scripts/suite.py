#!/usr/bin/env python3
"""Runs blasrnn's defaults over a suite of public sets and prints one Markdown table.

Each set is trained with `blasrnn train` and no flag but the data (and, for a series, its
horizon), once per seed; the table gives the median over the seeds of the held-out figure and
of the training time, beside the baseline a user would compare against:

- classification: accuracy, beside 1-nearest-neighbour on the raw Euclidean distance (series of
  unequal length padded with zeros at the end) and, when `aeon` imports, MiniRocket
  (`MiniRocketClassifier(random_state=seed)` on the same padded arrays);
- regression: RMSE, beside predicting the training mean;
- forecasting: MASE, beside the seasonal naive forecast's (the season blasrnn detects, or 1).

The suite (`docs/suite.md` lists the sets and where they come from) lives in a directory given
with --suite; the sets in the repository's `data/` join it. numpy is needed; aeon is optional
(install it in a scratch venv: it is a measuring instrument, not a dependency of blasrnn).

    python3 scripts/suite.py --suite DIR [--seeds 1,2,3] [--only ArrowHead,Airline]
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, kind, path relative to the suite directory or to the repository, horizon)
SETS = [
    ("ACSF1", "classes", "suite:classification/ACSF1", None),
    ("ArrowHead", "classes", "suite:classification/ArrowHead", None),
    ("ItalyPowerDemand", "classes", "suite:classification/ItalyPowerDemand", None),
    ("OSULeaf", "classes", "suite:classification/OSULeaf", None),
    ("PickupGestureWiimoteZ", "classes", "suite:classification/PickupGestureWiimoteZ", None),
    ("JapaneseVowels", "classes", "repo:data/uea/JapaneseVowels", None),
    ("BasicMotions", "classes", "repo:data/uea/BasicMotions", None),
    ("CardanoSentiment", "values", "suite:regression/CardanoSentiment", None),
    ("Covid3Month", "values", "repo:data/tser/Covid3Month", None),
    ("Airline", "series", "suite:forecast/Airline.csv", 12),
    ("Lynx", "series", "suite:forecast/Lynx.csv", 10),
    ("ShampooSales", "series", "suite:forecast/ShampooSales.csv", 6),
    ("solar", "series", "suite:forecast/solar.csv", 48),
    ("Taylor", "series", "repo:data/forecast/taylor.csv", 48),
]


def where(spec, suite):
    place, rel = spec.split(":", 1)
    return os.path.join(suite if place == "suite" else ROOT, rel)


def read_ts(path):
    """The cases of a UCR/UEA .ts file: a list of [dims][steps] arrays, and the labels."""
    cases, labels, data = [], [], False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not data:
                data = line.lower().startswith("@data")
                continue
            *dims, label = line.split(":")
            rows = [
                [float(v) if v not in ("?", "NaN", "nan") else np.nan for v in d.split(",")]
                for d in dims
            ]
            width = max(len(r) for r in rows)
            x = np.full((len(rows), width), np.nan)
            for i, r in enumerate(rows):
                x[i, : len(r)] = r
            # Trailing NaN is padding: cut it.
            keep = ~np.all(np.isnan(x), axis=0)
            last = np.nonzero(keep)[0].max() + 1 if keep.any() else 0
            cases.append(np.nan_to_num(x[:, :last]))
            labels.append(label.strip())
    return cases, labels


def pair(directory):
    name = os.path.basename(os.path.normpath(directory))
    return [read_ts(os.path.join(directory, f"{name}_{part}.ts")) for part in ("TRAIN", "TEST")]


def padded(cases, length):
    out = np.zeros((len(cases), cases[0].shape[0], length))
    for i, c in enumerate(cases):
        n = min(length, c.shape[1])
        out[i, :, :n] = c[:, :n]
    return out


def one_nn(train, test):
    (xa, ya), (xb, yb) = train, test
    length = max(c.shape[1] for c in xa + xb)
    a = padded(xa, length).reshape(len(xa), -1)
    b = padded(xb, length).reshape(len(xb), -1)
    d = (b * b).sum(1)[:, None] - 2 * b @ a.T + (a * a).sum(1)[None, :]
    guess = np.array(ya)[d.argmin(1)]
    return float(np.mean(guess == np.array(yb)))


def minirocket(train, test, seed):
    try:
        from aeon.classification.convolution_based import MiniRocketClassifier
    except ImportError:
        return None
    (xa, ya), (xb, yb) = train, test
    length = max(9, max(c.shape[1] for c in xa + xb))
    clf = MiniRocketClassifier(random_state=seed)
    start = time.perf_counter()
    clf.fit(padded(xa, length), np.array(ya))
    acc = float(np.mean(clf.predict(padded(xb, length)) == np.array(yb)))
    return acc, time.perf_counter() - start


def torch_peer():
    """`pytorch_tasks` when torch imports (the same model in PyTorch), else None."""
    try:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import pytorch_tasks

        pytorch_tasks.torch.set_num_threads(2)
        return pytorch_tasks
    except ImportError:
        return None


def last_column(path):
    """The values of a two-column CSV file's last column (the suite's series)."""
    with open(path, encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    return np.array([float(r[-1]) for r in rows if r])


def blasrnn(binary, args, seed):
    cmd = [binary, "train", *args, "--seed", str(seed), "--json", "--quiet"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: {out.stderr.strip().splitlines()[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", required=True, help="the suite's directory")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--only", default="", help="comma-separated set names")
    p.add_argument("--binary", default=os.path.join(ROOT, "target/release/blasrnn"))
    a = p.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    only = set(filter(None, a.only.split(",")))
    med = statistics.median
    means = {"blasrnn": [], "1-NN": [], "MiniRocket": [], "PyTorch": []}
    tasks = torch_peer()
    print("| set | task | blasrnn defaults | training time | baseline | the same model in PyTorch "
          "| MiniRocket | command |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, kind, spec, horizon in SETS:
        if only and name not in only:
            continue
        path = where(spec, a.suite)
        args = ["--series", path, "--horizon", str(horizon)] if kind == "series" else ["--data", path]
        runs = [blasrnn(a.binary, args, s) for s in seeds]
        secs = med(r["train_seconds"] for r in runs)
        shown = " ".join(args).replace(a.suite, "SUITE").replace(ROOT + "/", "")
        command = f"`blasrnn train {shown}`"
        peer, torch_fig = "", ""
        if kind != "series" and tasks:
            train, test = pair(path)
            got = [tasks.sequences(train, test, r, kind == "classes", seed=s) for r, s in zip(runs, seeds)]
            if all(got):
                value = med(g[0] for g in got)
                torch_fig = f"{value:.3f}" if kind == "classes" else f"{value:.4f}"
                torch_fig += f" ({med(g[1] for g in got):.1f} s)"
                if kind == "classes":
                    means["PyTorch"].append(value)
        elif tasks:
            y = last_column(path)
            got = [
                tasks.forecasting(y, r["window"], r["horizon"], r["test_len"], r["season"], r["residual"],
                                  cell=r["cell"], hidden=r["hidden"], layers=r["layers"], batch=r["batch"],
                                  lr=r["lr"], warmup=r["warmup"], seed=s, iters=r["iters"],
                                  validation=r["validation"])
                for r, s in zip(runs, seeds)
            ]
            torch_fig = f"MASE {med(g[1]['mase'] for g in got):.3f}"
        if kind == "classes":
            accuracy = med(r["test_accuracy"] for r in runs)
            figure = f"accuracy {accuracy:.3f}"
            train, test = pair(path)
            nn = one_nn(train, test)
            baseline = f"1-NN {nn:.3f}"
            means["blasrnn"].append(accuracy)
            means["1-NN"].append(nn)
            rocket = [minirocket(train, test, s) for s in seeds]
            if all(rocket):
                means["MiniRocket"].append(med(r[0] for r in rocket))
                peer = f"{med(r[0] for r in rocket):.3f} ({med(r[1] for r in rocket):.1f} s)"
        elif kind == "values":
            figure = f"RMSE {med(r['test_rmse'] for r in runs):.4f}"
            baseline = f"mean {runs[0]['mean_baseline_rmse']:.4f}"
        else:
            season = runs[0]["season"]
            figure = f"MASE {med(r['test_mase'] for r in runs):.3f} (season {season}, {runs[0]['season_from']})"
            baseline = f"seasonal naive {runs[0]['baseline_mase']:.3f}"
        print(f"| {name} | {kind} | {figure} | {secs:.1f} s | {baseline} | {torch_fig} | {peer} | {command} |",
              flush=True)
    shown = [f"{k} {sum(v) / len(v):.3f}" for k, v in means.items() if v]
    if shown:
        print(f"\nMean accuracy over {len(means['blasrnn'])} classification sets: " + ", ".join(shown))


if __name__ == "__main__":
    main()
