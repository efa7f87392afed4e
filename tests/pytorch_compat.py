#!/usr/bin/env python3
"""Weights travel: a model saved by `blasrnn train --save` is read with the `safetensors` package
and run by an independent numpy forward pass written from PyTorch's documented equations for
nn.RNN (tanh), nn.LSTM (gates i, f, g, o) and nn.GRU (gates r, z, n), then nn.Linear layers.
Its probabilities must match `blasrnn predict` to 1e-12 for every cell and readout of an f64
model, and to 1e-5 (float32 rounding) for models trained with `--dtype f32`, which are saved as F32.

Run by .ci/run (needs numpy and safetensors): python3 tests/pytorch_compat.py target/release/blasrnn
"""
import gzip, json, os, subprocess, sys, tempfile
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def forward(path, image):
    t = load_file(path)
    with safe_open(path, "np") as f:
        meta = f.metadata()
    t = {k: v.astype(np.float64) for k, v in t.items()}
    x = image.astype(np.float64) * (1.0 if meta["pixel_scale"] == "1" else 1.0 / 255.0)
    H, cell = int(meta["hidden"]), meta["cell"]
    wi, wh = t["rnn.weight_ih_l0"], t["rnn.weight_hh_l0"]
    bi, bh = t["rnn.bias_ih_l0"], t["rnn.bias_hh_l0"]
    h, c, states = np.zeros(H), np.zeros(H), []
    for step in x:
        gi, gh = wi @ step + bi, wh @ h + bh
        if cell == "tanh":
            h = np.tanh(gi + gh)
        elif cell == "lstm":
            a = gi + gh
            i, f, g, o = sigmoid(a[:H]), sigmoid(a[H:2 * H]), np.tanh(a[2 * H:3 * H]), sigmoid(a[3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
        else:
            r, z = sigmoid(gi[:H] + gh[:H]), sigmoid(gi[H:2 * H] + gh[H:2 * H])
            n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
            h = (1 - z) * n + z * h
        states.append(h)
    states = np.array(states)
    feat = (states @ t["out.weight"].T + t["out.bias"]).reshape(-1) if meta["readout"] == "seq" else states[-1]
    logits = t["classifier.weight"] @ feat + t["classifier.bias"]
    p = np.exp(logits - logits.max())
    return p / p.sum()


def main():
    exe = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/blasrnn")
    with gzip.open(os.path.join(ROOT, "data/mnist/t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 28, 28)
    worst, passed = {"f64": 0.0, "f32": 0.0}, 0
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m.safetensors")
        for cell, readout, dtype in [(c, r, d) for c in ["tanh", "lstm", "gru"] for r in ["seq", "last"]
                                 for d in ["f64", "f32"]]:
            tol = 1e-12 if dtype == "f64" else 1e-5
            subprocess.run([exe, "train", "--cell", cell, "--readout", readout, "--hidden", "16",
                            "--iters", "30", "--threads", "1", "--dtype", dtype, "--save", model,
                            "--quiet"],
                           check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            with safe_open(model, "np") as f:
                stored = {str(f.get_tensor(k).dtype) for k in f.keys()}
            assert stored == {"float64" if dtype == "f64" else "float32"}, f"{dtype}: stored as {stored}"
            out = subprocess.run([exe, "predict", "--model", model, "--test-index", "3",
                                  "--test-index", "11", "--json"], check=True, cwd=ROOT,
                                 capture_output=True, text=True).stdout
            for pred in json.loads(out.strip().splitlines()[-1]):
                idx = int(pred["input"].split()[-1])
                diff = np.abs(np.array(pred["probabilities"]) - forward(model, images[idx])).max()
                worst[dtype] = max(worst[dtype], diff)
                assert diff < tol, f"{cell}/{readout}/{dtype} image {idx}: differs by {diff}"
            passed += 1
    print(f"pytorch_compat: {passed} passed, 0 failed (worst difference: f64 {worst['f64']:.1e}, "
          f"f32 {worst['f32']:.1e})")


if __name__ == "__main__":
    main()
