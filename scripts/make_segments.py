#!/usr/bin/env python3
"""Builds data/segments/basicmotions_segments.npz: activity recordings to segment, a label at every
step. Each recording joins 3 to 5 pieces of BasicMotions series (6 dimensions: accelerometer and
gyroscope), each piece 20 to 60 consecutive steps of one activity (Standing, Walking, Running,
Badminton); the labels say which activity every step belongs to. Training recordings are cut from
the training series, test recordings from the test series. Needs numpy; the result is fixed by the
seed.

    python3 scripts/make_segments.py
"""
import os
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "data", "uea", "BasicMotions", "BasicMotions")


def read_ts(path):
    xs, ys, data = [], [], False
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("@data"):
            data = True
            continue
        if not data:
            continue
        *dims, label = line.split(":")
        xs.append(np.array([[float(v) for v in d.split(",")] for d in dims]).T)  # [T][D]
        ys.append(label)
    return xs, ys


def recordings(xs, ys, n, rng):
    out_x, out_y = [], []
    for _ in range(n):
        xr, yr = [], []
        for _ in range(rng.integers(3, 6)):
            i = rng.integers(len(xs))
            length = rng.integers(20, 61)
            start = rng.integers(0, xs[i].shape[0] - length + 1)
            xr.append(xs[i][start:start + length])
            yr += [ys[i]] * length
        out_x.append(np.concatenate(xr))
        out_y.append(yr)
    t = max(len(y) for y in out_y)
    x = np.zeros((n, t, 6), np.float32)
    y = np.full((n, t), "", dtype="<U9")
    for k, (a, b) in enumerate(zip(out_x, out_y)):
        x[k, :len(b)] = a
        y[k, :len(b)] = b
    return x, y, np.array([len(b) for b in out_y], np.int32)


def main():
    rng = np.random.default_rng(1)
    tx, ty = read_ts(SRC + "_TRAIN.ts")
    ex, ey = read_ts(SRC + "_TEST.ts")
    x_train, y_train, len_train = recordings(tx, ty, 200, rng)
    x_test, y_test, len_test = recordings(ex, ey, 100, rng)
    out = os.path.join(ROOT, "data", "segments", "basicmotions_segments.npz")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    np.savez_compressed(out, x_train=x_train, y_train=y_train, len_train=len_train,
                        x_test=x_test, y_test=y_test, len_test=len_test)
    print(out, x_train.shape, x_test.shape)


if __name__ == "__main__":
    main()
