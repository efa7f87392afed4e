#!/usr/bin/env python3
"""Weights travel: models saved by `blasrnn train --save` are read with the `safetensors` package
and run by an independent numpy forward pass written from PyTorch's documented equations for
nn.RNN (tanh), nn.LSTM (gates i, f, g, o) and nn.GRU (gates r, z, n) with num_layers = L (and
bidirectional=True: the reverse direction reads each sequence from its own end), then nn.Linear
layers. Classifiers (MNIST, every readout, 1 and 2 layers; UCR/UEA sequences of their own lengths,
standardised, last and mean readouts, bidirectional), regression models (Covid3Month, the target
standardisation undone) and models with a class at every step: what they give must match
`blasrnn predict`. Language models (tiny-shakespeare, 2 layers): the distribution of the character
after a prime must match `blasrnn sample --json`. To 1e-12 for f64 models, 1e-5 (float32 rounding)
for models trained with `--dtype f32`, which are saved as F32.

Run by .ci/run (needs numpy and safetensors): python3 tests/pytorch_compat.py target/release/blasrnn
"""
import gzip, json, os, subprocess, sys, tempfile
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def load(path):
    t = load_file(path)
    with safe_open(path, "np") as f:
        meta = f.metadata()
    return {k: v.astype(np.float64) for k, v in t.items()}, meta


def direction(t, meta, xs, suffix):
    """One cell's states over the inputs xs (T×D), from zeros: PyTorch's equations."""
    H, cell = int(meta["hidden"]), meta["cell"]
    wi, wh = t[f"rnn.weight_ih_{suffix}"], t[f"rnn.weight_hh_{suffix}"]
    bi, bh = t[f"rnn.bias_ih_{suffix}"], t[f"rnn.bias_hh_{suffix}"]
    h, c, states = np.zeros(H), np.zeros(H), []
    for x in xs:
        gi, gh = wi @ x + bi, wh @ h + bh
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
    return np.array(states)


def rnn(t, meta, xs):
    """The top layer's outputs for the inputs xs (T×D), every layer starting from zeros; with
    bidirectional=True, each step's [forward state, reverse state] as nn.LSTM returns them."""
    L = int(meta.get("layers", "1"))
    bi = meta.get("bidirectional") == "true"
    for l in range(L):
        out = direction(t, meta, xs, f"l{l}")
        if bi:
            back = direction(t, meta, xs[::-1], f"l{l}_reverse")[::-1]
            out = np.concatenate([out, back], axis=1)
        xs = out
    return xs


def softmax(z):
    p = np.exp(z - z.max())
    return p / p.sum()


def classify(path, image):
    """Class probabilities of one sequence (T×D raw values): standardised with the file's
    input_shift/input_scale, run to its own last step; for a regression model, its numbers with
    the file's target standardisation undone; for a model with a class at every step, each
    step's probabilities."""
    t, meta = load(path)
    shift, scale = np.array(json.loads(meta["input_shift"])), np.array(json.loads(meta["input_scale"]))
    x = (image.astype(np.float64) - shift) * scale
    states = rnn(t, meta, x)
    if meta["task"] == "tag":
        return np.array([softmax(t["classifier.weight"] @ s + t["classifier.bias"]) for s in states])
    readout = meta["readout"]
    H = int(meta["hidden"])
    if readout == "seq":
        feat = (states @ t["out.weight"].T + t["out.bias"]).reshape(-1)
    elif readout == "last":
        # PyTorch's h_n: the forward direction's last state, the reverse one's at step 0.
        feat = np.concatenate([states[-1][:H], states[0][H:]])
    else:
        feat = states.mean(axis=0)
    if meta["task"] == "regress":
        y = t["regressor.weight"] @ feat + t["regressor.bias"]
        tshift = np.array(json.loads(meta["target_shift"]))
        tscale = np.array(json.loads(meta["target_scale"]))
        return y / tscale + tshift
    return softmax(t["classifier.weight"] @ feat + t["classifier.bias"])


def read_ts(path):
    """The series of a .ts file (each T×D), as PyTorch users read them."""
    xs, data = [], False
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not data:
            data = line.lower() == "@data"
            continue
        parts = line.split(":")[:-1]
        xs.append(np.stack([np.array([float(v) for v in p.split(",")]) for p in parts], axis=1))
    return xs


def next_char(path, prime):
    t, meta = load(path)
    vocab = meta["vocab"]
    V = len(vocab)
    xs = np.zeros((len(prime), V))
    for k, ch in enumerate(prime):
        xs[k, vocab.index(ch)] = 1.0
    states = rnn(t, meta, xs)
    return softmax(t["out.weight"] @ states[-1] + t["out.bias"])


def run(exe, args, **kw):
    return subprocess.run([exe] + args, check=True, cwd=ROOT, **kw)


def stored_dtypes(path):
    with safe_open(path, "np") as f:
        return {str(f.get_tensor(k).dtype) for k in f.keys()}


def main():
    exe = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/blasrnn")
    with gzip.open(os.path.join(ROOT, "data/mnist/t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 28, 28)
    worst, passed = {"f64": 0.0, "f32": 0.0}, 0
    tol = {"f64": 1e-12, "f32": 1e-5}
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m.safetensors")
        combos = [(c, r, d, 1) for c in ["tanh", "lstm", "gru"] for r in ["seq", "last", "mean"] for d in ["f64", "f32"]]
        combos += [(c, "last", d, 2) for c in ["tanh", "lstm", "gru"] for d in ["f64", "f32"]]
        for cell, readout, dtype, layers in combos:
            run(exe, ["train", "--cell", cell, "--readout", readout, "--hidden", "16", "--layers", str(layers),
                      "--iters", "30", "--threads", "1", "--dtype", dtype, "--save", model, "--quiet"],
                stdout=subprocess.DEVNULL)
            stored = stored_dtypes(model)
            assert stored == {"float64" if dtype == "f64" else "float32"}, f"{dtype}: stored as {stored}"
            out = run(exe, ["predict", "--model", model, "--test-index", "3", "--test-index", "11", "--json"],
                      capture_output=True, text=True).stdout
            for pred in json.loads(out.strip().splitlines()[-1]):
                idx = int(pred["input"].split()[-1])
                diff = np.abs(np.array(pred["probabilities"]) - classify(model, images[idx])).max()
                worst[dtype] = max(worst[dtype], diff)
                assert diff < tol[dtype], f"{cell}/{readout}/{layers}/{dtype} image {idx}: differs by {diff}"
            passed += 1
        # Sequences of their own lengths (UCR/UEA .ts): standardisation and each one's last state.
        series = os.path.join(tmp, "five.ts")
        with open(os.path.join(ROOT, "data/uea/JapaneseVowels/JapaneseVowels_TEST.ts"), encoding="utf-8") as f:
            lines = f.read().split("\n")
        at = next(i for i, l in enumerate(lines) if l.strip().lower() == "@data")
        with open(series, "w", encoding="utf-8") as f:
            f.write("\n".join(lines[:at + 1] + lines[at + 1:at + 1 + 40:8]) + "\n")
        xs = read_ts(series)
        assert len({len(x) for x in xs}) > 1, "the series chosen should differ in length"
        for cell, readout, dtype in [(c, r, d) for c in ["tanh", "lstm", "gru"] for r in ["last", "mean"] for d in ["f64", "f32"]]:
            run(exe, ["train", "--data", "data/uea/JapaneseVowels", "--cell", cell, "--readout", readout,
                      "--hidden", "16", "--epochs", "3", "--threads", "1", "--dtype", dtype, "--save", model,
                      "--quiet"], stdout=subprocess.DEVNULL)
            out = run(exe, ["predict", "--model", model, "--data", series, "--json"],
                      capture_output=True, text=True).stdout
            for k, pred in enumerate(json.loads(out.strip().splitlines()[-1])):
                diff = np.abs(np.array(pred["probabilities"]) - classify(model, xs[k])).max()
                worst[dtype] = max(worst[dtype], diff)
                assert diff < tol[dtype], f".ts {cell}/{readout}/{dtype} series {k}: differs by {diff}"
            passed += 1
        # Bidirectional classifiers (one and two layers, each readout), regression models (with
        # the target standardisation) and a class at every step, on sequences of their own lengths.
        covid = os.path.join(tmp, "covid.ts")
        with open(os.path.join(ROOT, "data/tser/Covid3Month/Covid3Month_TEST.ts"), encoding="utf-8") as f:
            lines = f.read().split("\n")
        at = next(i for i, l in enumerate(lines) if l.strip().lower() == "@data")
        with open(covid, "w", encoding="utf-8") as f:
            f.write("\n".join(lines[:at + 1] + lines[at + 1:at + 1 + 40:8]) + "\n")
        cases = [("data/uea/JapaneseVowels", series, xs, ["--bidirectional", "--cell", c, "--readout", r,
                                                        "--layers", str(l)])
                 for c, r, l in [("tanh", "last", 1), ("lstm", "mean", 2), ("gru", "last", 2), ("lstm", "seq", 1)]
                 if r != "seq"]
        cases += [("data/tser/Covid3Month", covid, read_ts(covid), ["--cell", c, "--loss", loss] + extra)
                  for c, loss, extra in [("gru", "mse", []), ("lstm", "huber", ["--bidirectional"]),
                                         ("tanh", "mae", ["--readout", "mean"])]]
        for data, file, seqs, flags in cases:
            for dtype in ["f64", "f32"]:
                run(exe, ["train", "--data", data, "--hidden", "12", "--epochs", "2", "--threads", "1",
                          "--dtype", dtype, "--save", model, "--quiet"] + flags, stdout=subprocess.DEVNULL)
                out = run(exe, ["predict", "--model", model, "--data", file, "--json"],
                          capture_output=True, text=True).stdout
                for k, pred in enumerate(json.loads(out.strip().splitlines()[-1])):
                    got = pred["values"] if "values" in pred else pred["probabilities"]
                    want = classify(model, seqs[k])
                    diff = np.abs(np.array(got) - want).max() / max(1.0, np.abs(want).max())
                    worst[dtype] = max(worst[dtype], diff)
                    assert diff < tol[dtype], f"{data} {flags}/{dtype} sequence {k}: differs by {diff}"
                passed += 1
        segments = os.path.join(ROOT, "data/segments/basicmotions_segments.npz")
        arrays = np.load(segments)
        for bidirectional in [[], ["--bidirectional"]]:
            for dtype in ["f64", "f32"]:
                run(exe, ["train", "--data", segments, "--hidden", "12", "--epochs", "1", "--threads", "1",
                          "--dtype", dtype, "--save", model, "--quiet"] + bidirectional, stdout=subprocess.DEVNULL)
                for idx in [0, 5]:
                    out = run(exe, ["predict", "--model", model, "--data", segments, "--test-index", str(idx),
                                    "--json"], capture_output=True, text=True).stdout
                    pred = json.loads(out.strip().splitlines()[-1])[0]
                    steps = classify(model, arrays["x_test"][idx][:arrays["len_test"][idx]])
                    assert pred["classes"] == [int(p.argmax()) for p in steps], f"segments {bidirectional}/{dtype}"
                passed += 1
        text = os.path.join(ROOT, "data/tinyshakespeare/input.txt")
        for cell in ["tanh", "lstm", "gru"]:
            for dtype in ["f64", "f32"]:
                run(exe, ["train", "--text", text, "--cell", cell, "--hidden", "24", "--layers", "2",
                          "--batch", "8", "--seq-len", "32", "--iters", "15", "--threads", "1", "--dtype", dtype,
                          "--save", model, "--quiet"], stdout=subprocess.DEVNULL)
                stored = stored_dtypes(model)
                assert stored == {"float64" if dtype == "f64" else "float32"}, f"{dtype}: stored as {stored}"
                for prime in ["ROMEO:", "First Citizen:\nBefore we proceed"]:
                    out = run(exe, ["sample", "--model", model, "--prime", prime, "--length", "1", "--json"],
                              capture_output=True, text=True).stdout
                    got = np.array(json.loads(out.strip().splitlines()[-1])["first_distribution"])
                    diff = np.abs(got - next_char(model, prime)).max()
                    worst[dtype] = max(worst[dtype], diff)
                    assert diff < tol[dtype], f"language model {cell}/{dtype} after {prime!r}: differs by {diff}"
                passed += 1
    print(f"pytorch_compat: {passed} passed, 0 failed (worst difference: f64 {worst['f64']:.1e}, "
          f"f32 {worst['f32']:.1e})")


if __name__ == "__main__":
    main()
