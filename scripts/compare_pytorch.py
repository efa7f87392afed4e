#!/usr/bin/env python3
"""blasrnn next to PyTorch on the same workloads, measured side by side in one run on this machine.

Each workload trains the same model on the same data with the same budget in both (blasrnn through
its command line, PyTorch in this process), and the table gives training throughput (samples/s,
or characters/s for the language model), the ratio blasrnn / PyTorch, and what each reached.

    python3 -m venv VENV && VENV/bin/pip install numpy torch   # a measuring instrument
    cargo build --release
    VENV/bin/python scripts/compare_pytorch.py [--threads 2] [--only lstm,lm] [--full] [--repeat 5]

PyTorch is not a dependency of blasrnn, its build, tests or CI: this script is how the README's
ratios were measured. blasrnn runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its
environment (OpenBLAS then picks its kernels for this CPU, as on a user's machine); PyTorch picks
its own. `--only lm30` trains the `--preset shakespeare-30m` language model for 30 minutes a side
(`--budget SECONDS` to change it). The `python` workload trains blasrnn's Python package in this
process (`VENV/bin/pip install ./python` first; skipped without it), where OpenBLAS reads the
environment as it is. `--full` trains the default language model for its whole budget (2000
iterations, several minutes a side) and reports validation loss; without it, 150 iterations
measure speed. `--repeat N` measures each workload N times, the r-th with seed r on both sides, the
two sides alternating, and reports the medians of speed and of what each reached: one ratio moves by
a fifth or more from run to run on a shared machine, one seed's accuracy by a few tenths of a point.
"""
import argparse, gzip, json, math, os, struct, subprocess, sys, time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import torch
except ImportError:
    sys.exit("compare_pytorch.py needs torch: run it with a Python that has it (see its docstring)")
import pytorch_tasks as tasks
from pytorch_tasks import CELLS, schedule, update

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXE = os.path.join(ROOT, "target", "release", "blasrnn")


def blasrnn(args):
    """Runs blasrnn with the OpenBLAS pin removed; the JSON object it prints last."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    out = subprocess.run([EXE] + args + ["--json"], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- MNIST, rows as steps, the seed's readout ----------------------------------------------------

def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    nd = raw[3]
    dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


class Seed(torch.nn.Module):
    def __init__(self, cell, hidden):
        super().__init__()
        self.rnn = CELLS[cell](28, hidden, batch_first=True)
        self.out = torch.nn.Linear(hidden, 28)
        self.classifier = torch.nn.Linear(28 * 28, 10)

    def forward(self, x):
        s, _ = self.rnn(x)
        return self.classifier(self.out(s).flatten(1))


def torch_mnist(cell, hidden, iters, dtype, lr, seed=1, orthogonal=False):
    d = os.path.join(ROOT, "data", "mnist")
    xs = torch.tensor(idx(os.path.join(d, "train-images-idx3-ubyte.gz")) / 255.0, dtype=dtype)
    ys = torch.tensor(idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    xt = torch.tensor(idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")) / 255.0, dtype=dtype)
    yt = torch.tensor(idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    torch.manual_seed(seed)
    net = Seed(cell, hidden).to(dtype)
    if orthogonal:
        # blasrnn's --init orthogonal: each gate's block of weight_hh orthogonal, the rest
        # PyTorch's default (which is blasrnn's uniform).
        with torch.no_grad():
            for block in net.rnn.weight_hh_l0.split(hidden):
                torch.nn.init.orthogonal_(block)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    set_lr = schedule(opt, lr, 100, iters)
    g = torch.Generator().manual_seed(seed)
    perm, pos, t0 = torch.randperm(60000, generator=g), 0, time.perf_counter()
    for it in range(iters):
        if pos + 100 > 60000:
            perm, pos = torch.randperm(60000, generator=g), 0
        b = perm[pos:pos + 100]
        pos += 100
        set_lr(it)
        update(opt, net.parameters(), torch.nn.functional.cross_entropy(net(xs[b]), ys[b]))
    secs = time.perf_counter() - t0
    with torch.no_grad():
        acc = (net(xt).argmax(1) == yt).double().mean().item()
    return iters * 100 / secs, acc


# ---- the character-level language model -----------------------------------------------------------

class LM(torch.nn.Module):
    def __init__(self, vocab, hidden, layers, cell="lstm", dropout=0.0, output_dropout=0.0):
        super().__init__()
        self.vocab = vocab
        self.rnn = CELLS[cell](vocab, hidden, num_layers=layers, batch_first=True, dropout=dropout)
        self.drop = torch.nn.Dropout(output_dropout)
        self.out = torch.nn.Linear(hidden, vocab)

    def forward(self, ids, state):
        x = torch.nn.functional.one_hot(ids, self.vocab).to(self.out.weight.dtype)
        h, state = self.rnn(x, state)
        return self.out(self.drop(h)), state


def text_data():
    text = open(os.path.join(ROOT, "data", "tinyshakespeare", "input.txt"), encoding="utf-8").read()
    chars = sorted(set(text))
    table = {c: i for i, c in enumerate(chars)}
    ids = np.array([table[c] for c in text], dtype=np.int64)
    n = int(0.9 * len(ids))
    return ids[:n], ids[n:], len(chars)


def torch_lm(iters, seed=1):
    train, val, V = text_data()
    B, S = 64, 100
    torch.manual_seed(seed)
    net = LM(V, 256, 2)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    set_lr = schedule(opt, 2e-3, 100, 2000 if iters >= 2000 else iters)
    L = (len(train) - 1) // B
    xs = torch.tensor(train[:B * L].reshape(B, L))
    ys = torch.tensor(train[1:B * L + 1].reshape(B, L))
    chunks, state, t0 = L // S, None, time.perf_counter()
    for it in range(iters):
        k = it % chunks
        if k == 0:
            state = None
        set_lr(it)
        logits, state = net(xs[:, k * S:(k + 1) * S], state)
        state = tuple(s.detach() for s in state)
        y = ys[:, k * S:(k + 1) * S].reshape(-1)
        update(opt, net.parameters(), torch.nn.functional.cross_entropy(logits.reshape(-1, V), y))
    secs = time.perf_counter() - t0
    with torch.no_grad():
        E = 16
        Lv = (len(val) - 1) // E
        vx = torch.tensor(val[:E * Lv].reshape(E, Lv))
        vy = torch.tensor(val[1:E * Lv + 1].reshape(E, Lv))
        logits, _ = net(vx, None)
        vl = torch.nn.functional.cross_entropy(logits.reshape(-1, V).double(), vy.reshape(-1)).item()
    # Sampling, one stream.
    with torch.no_grad():
        x, st, n, t1 = torch.zeros(1, 1, dtype=torch.long), None, 2000, time.perf_counter()
        for _ in range(n):
            logits, st = net(x, st)
            x = torch.multinomial(torch.softmax(logits[0, -1], -1), 1).view(1, 1)
        cps = n / (time.perf_counter() - t1)
    return iters * B * S / secs, vl, cps


# The model and recipe of `blasrnn train --preset shakespeare-30m` (src/train/preset.rs): 64
# streams × 100 characters, Adam 0.002, 100 warm-up iterations, cosine, clip 1, evaluation every 500.
LM30 = dict(cell="gru", hidden=768, layers=2, dropout=0.4, output_dropout=0.4)


def torch_lm_budget(seconds, cell, hidden, layers, dropout, output_dropout, lr=2e-3, warmup=100,
                    eval_every=500, seed=1):
    """The language model trained for `seconds` as `blasrnn train --time-budget` does: the warm-up
    timed, the schedule's length fixed from it (evaluations included), validation every
    `eval_every` iterations and at the end. Returns (chars/s, (final validation loss, iterations),
    the curve: (iteration, seconds, validation loss) at each evaluation)."""
    train, val, V = text_data()
    B, S = 64, 100
    torch.manual_seed(seed)
    net = LM(V, hidden, layers, cell, dropout, output_dropout)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    L = (len(train) - 1) // B
    xs = torch.tensor(train[:B * L].reshape(B, L))
    ys = torch.tensor(train[1:B * L + 1].reshape(B, L))
    E = 16
    Lv = (len(val) - 1) // E
    vx = torch.tensor(val[:E * Lv].reshape(E, Lv))
    vy = torch.tensor(val[1:E * Lv + 1].reshape(E, Lv))

    def validate():
        net.eval()
        with torch.no_grad():
            logits, _ = net(vx, None)
            vl = torch.nn.functional.cross_entropy(logits.reshape(-1, V).double(),
                                                   vy.reshape(-1)).item()
        net.train()
        return vl

    chunks, state, t0, total, curve = L // S, None, time.perf_counter(), None, []
    set_lr = schedule(opt, lr, warmup, 1 << 40)
    it = 0
    while total is None or it < total:
        k = it % chunks
        if k == 0:
            state = None
        set_lr(it)
        logits, state = net(xs[:, k * S:(k + 1) * S], state)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        y = ys[:, k * S:(k + 1) * S].reshape(-1)
        update(opt, net.parameters(), torch.nn.functional.cross_entropy(logits.reshape(-1, V), y))
        it += 1
        if total is None and it == warmup:
            per_iter = (time.perf_counter() - t0) / it
            t1 = time.perf_counter()
            validate()
            per_eval = time.perf_counter() - t1
            left = seconds - (time.perf_counter() - t0)
            n = int(left / per_iter)
            while n > 0 and n * per_iter + ((it + n) // eval_every + 1) * per_eval > left:
                n -= max(1, n // 1000)
            total = it + max(n, 0)
            set_lr = schedule(opt, lr, warmup, total)
            print(f"PyTorch: {total} iterations in the budget", file=sys.stderr, flush=True)
        if it % eval_every == 0 and (total is None or it < total):
            curve.append((it, time.perf_counter() - t0, validate()))
            print(f"PyTorch: iteration {it}, {curve[-1][1]:.0f} s, val {curve[-1][2]:.4f}",
                  file=sys.stderr, flush=True)
    secs = time.perf_counter() - t0
    vl = validate()
    curve.append((it, time.perf_counter() - t0, vl))
    return total * B * S / secs, (vl, total), curve


# ---- UCR/UEA sequences -------------------------------------------------------------------------------

def read_ts(path):
    xs, ys, labels, data = [], [], None, False
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not data:
            if line.lower().startswith("@classlabel"):
                labels = line.split()[2:]
            data = line.lower() == "@data"
            continue
        parts = line.split(":")
        xs.append(np.stack([np.array([float(v) for v in p.split(",")]) for p in parts[:-1]], axis=1))
        ys.append(labels.index(parts[-1].strip()))
    return xs, np.array(ys)


def torch_uea(name, cell, hidden, layers, epochs, seed=1, dropout=0.0, lr=4e-3, warmup=100):
    base = os.path.join(ROOT, "data", "uea", name, name)
    xtr, ytr = read_ts(base + "_TRAIN.ts")
    xte, yte = read_ts(base + "_TEST.ts")
    cat = np.concatenate(xtr)
    mu, sd = cat.mean(0), cat.std(0) + 1e-12

    def pack(xs):
        lens = torch.tensor([len(x) for x in xs])
        pad = torch.nn.utils.rnn.pad_sequence([torch.tensor((x - mu) / sd, dtype=torch.float32) for x in xs],
                                              batch_first=True)
        return pad, lens

    Xtr, Ltr = pack(xtr)
    Xte, Lte = pack(xte)
    torch.manual_seed(seed)
    rnn = CELLS[cell](Xtr.shape[2], hidden, num_layers=layers, batch_first=True, dropout=dropout)
    fc = torch.nn.Linear(hidden, int(ytr.max()) + 1)
    params = list(rnn.parameters()) + list(fc.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    per_epoch = (len(xtr) + 31) // 32
    set_lr = schedule(opt, lr, warmup, epochs * per_epoch)

    def logits(X, L):
        _, h = rnn(torch.nn.utils.rnn.pack_padded_sequence(X, L, batch_first=True, enforce_sorted=False))
        h = h[0] if isinstance(h, tuple) else h
        return fc(h[-1])

    Y, it, t0 = torch.tensor(ytr), 0, time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 32):
            b = perm[i:i + 32]
            set_lr(it)
            it += 1
            update(opt, params, torch.nn.functional.cross_entropy(logits(Xtr[b], Ltr[b]), Y[b]))
    secs = time.perf_counter() - t0
    rnn.eval()
    with torch.no_grad():
        acc = (logits(Xte, Lte).argmax(1).numpy() == yte).mean()
    return epochs * len(xtr) / secs, float(acc)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default="seed,lstm,gru,lm,uea,tser,forecast,segments,python")
    p.add_argument("--full", action="store_true")
    p.add_argument("--budget", type=float, default=1800,
                   help="seconds a side of the lm30 workload (the 30-minute preset)")
    p.add_argument("--repeat", type=int, default=1,
                   help="measure each workload this many times, the r-th with seed r on both "
                        "sides, the two sides alternating (which goes first alternates too), and "
                        "report medians of speed and of what was reached")
    a = p.parse_args()
    if a.repeat < 1:
        sys.exit("compare_pytorch.py: --repeat must be at least 1")
    only = a.only.split(",")
    torch.set_num_threads(a.threads)
    th = ["--threads", str(a.threads)]
    rows = []

    def measure(name, unit, fmt, ours, theirs):
        """`ours(seed)` and `theirs(seed)` each return (throughput, figures reached: a tuple
        that `fmt` formats); runs them `--repeat` times with seeds 1, 2, …, alternating, and adds
        the row of medians."""
        pairs, reached = [], ([], [])
        for rep in range(a.repeat):
            sides = [ours, theirs] if rep % 2 == 0 else [theirs, ours]
            got = {f: f(rep + 1) for f in sides}
            (o, o_got), (t, t_got) = got[ours], got[theirs]
            pairs.append((o, t))
            reached[0].append(o_got)
            reached[1].append(t_got)
            print(f"{name}, seed {rep + 1}: blasrnn {o:.0f} {unit} {fmt.format(*o_got)}, "
                  f"PyTorch {t:.0f} {fmt.format(*t_got)} ({o / t:.2f}×)", file=sys.stderr)
        med = [fmt.format(*[median(list(c)) for c in zip(*r)]) if fmt else "" for r in reached]
        rows.append((name, median([t for _, t in pairs]), median([o for o, _ in pairs]),
                     sorted(o / t for o, t in pairs), unit, med[1], med[0]))

    def train(args, seed):
        return blasrnn(["train", "--seed", str(seed)] + args + th)

    def ours(args, *keys, scale=1):
        """blasrnn's side: `train ARGS` with a seed; its throughput and the JSON's `keys`."""
        def run(seed):
            j = train(args, seed)
            speed = j["train_tokens_per_sec"] if "--text" in args else j["train_samples_per_sec"]
            return speed, tuple(scale * j[k] for k in keys)
        return run

    def theirs(f, pick):
        """PyTorch's side: `f(seed)` returns (throughput, what it reached), `pick` the figures."""
        def run(seed):
            speed, got = f(seed)[:2]
            return speed, pick(got)
        return run

    acc = "{:.2f}%"
    if "seed" in only:
        measure("seed model (tanh H=50), f64, 2500 iters", "samples/s", acc,
                ours([], "test_accuracy", scale=100),
                theirs(lambda s: torch_mnist("tanh", 50, 2500, torch.float64, 6e-3, seed=s,
                                             orthogonal=True),
                       lambda a: (100 * a,)))
    for cell in ["lstm", "gru"]:
        if cell in only:
            measure(f"{cell} H=128, f32, 5 epochs", "samples/s", acc,
                    ours(["--cell", cell, "--hidden", "128", "--epochs", "5"], "test_accuracy",
                         scale=100),
                    theirs(lambda s, c=cell: torch_mnist(c, 128, 3000, torch.float32, 6e-3, seed=s),
                           lambda a: (100 * a,)))
    if "lm" in only:
        iters = 2000 if a.full else 150
        sampling = []
        def torch_lm_sampling(seed):
            tps, vl, cps = torch_lm(iters, seed)
            sampling.append(cps)
            return tps, vl
        measure(f"language model lstm 2×256, f32, {iters} iters", "chars/s", "val {:.3f}",
                ours(["--text", "data/tinyshakespeare/input.txt", "--iters", str(iters)],
                     "val_loss"),
                theirs(torch_lm_sampling, lambda vl: (vl,)))
        pt_sampling = iter(sampling)
        # PyTorch's sampling speed comes from its language-model runs above.
        measure("sampling, one stream", "chars/s", "",
                lambda s: (blasrnn(["bench", "--only", "sample"] + th)["sample_chars_per_sec"], ()),
                lambda s: (next(pt_sampling), ()))
    if "lm30" in only:
        # The --preset shakespeare-30m recipe, both sides for --budget seconds (not in the default
        # list: an hour on the two sides).
        budget = f"{a.budget:g}s"
        p = LM30
        measure(f"language model {p['cell']} {p['layers']}×{p['hidden']}, dropout "
                f"{p['dropout']:g} + {p['output_dropout']:g}, {budget}", "chars/s",
                "val {:.3f} ({:.0f} iters)",
                ours(["--text", "data/tinyshakespeare/input.txt", "--preset", "shakespeare-30m",
                      "--time-budget", budget], "val_loss", "budget_iters"),
                theirs(lambda s: torch_lm_budget(a.budget, seed=s, **LM30),
                       lambda vl_iters: vl_iters))
    if "uea" in only:
        for name in ["JapaneseVowels", "BasicMotions"]:
            measure(f"{name}, gru 2×128, 100 epochs", "samples/s", acc,
                    ours(["--data", f"data/uea/{name}"], "test_accuracy", scale=100),
                    theirs(lambda s, n=name: torch_uea(n, "gru", 128, 2, 100, seed=s),
                           lambda a: (100 * a,)))
    if "python" in only:
        # blasrnn's Python package (`pip install ./python` into this venv) in this process, beside
        # PyTorch's nn.GRU: the default RNNClassifier, timed around `fit` (arrays in, model out).
        try:
            import blasrnn as package
        except ImportError:
            package = None
            print("compare_pytorch.py: the python workload needs blasrnn's Python package in "
                  "this venv (pip install ./python): skipped", file=sys.stderr)
    if "python" in only and package is not None:
        base = os.path.join(ROOT, "data", "uea", "JapaneseVowels", "JapaneseVowels")
        (xa, ya), (xb, yb) = read_ts(base + "_TRAIN.ts"), read_ts(base + "_TEST.ts")

        def from_python(seed):
            clf = package.RNNClassifier(random_state=seed, n_threads=a.threads)
            start = time.perf_counter()
            clf.fit(xa, ya)
            secs = time.perf_counter() - start
            return clf.n_iter_ * 32 / secs, (100 * clf.score(xb, yb),)

        measure("JapaneseVowels from Python: RNNClassifier, gru 2×128, 100 epochs", "samples/s",
                acc, from_python,
                theirs(lambda s: torch_uea("JapaneseVowels", "gru", 128, 2, 100, seed=s),
                       lambda a: (100 * a,)))
    if "tser" in only:
        measure("Covid3Month regression, gru 2×128, 100 epochs", "samples/s", "RMSE {:.4f}",
                ours(["--data", "data/tser/Covid3Month"], "test_rmse"),
                theirs(lambda s: tasks.regression("Covid3Month", seed=s), lambda e: (e["rmse"],)))
    if "forecast" in only:
        flags = ["--series", "data/forecast/taylor.csv", "--window", "336", "--horizon", "48",
                 "--test-len", "672", "--season", "336", "--residual"]
        measure("Taylor demand, 48 steps ahead, lstm 64, 1 epoch", "samples/s",
                "MASE {:.3f}, MAPE {:.2f}%", ours(flags, "test_mase", "test_mape"),
                theirs(lambda s: tasks.forecasting(os.path.join(ROOT, "data", "forecast",
                                                                "taylor.csv"),
                                                   336, 48, 672, 336, True, seed=s),
                       lambda e: (e["mase"], e["mape"])))
    if "segments" in only:
        npz = "data/segments/basicmotions_segments.npz"
        measure("BasicMotions segments, bidirectional gru 2×128, 100 epochs", "steps/s",
                "{:.2f}% of steps",
                ours(["--data", npz, "--bidirectional"], "test_step_accuracy", scale=100),
                theirs(lambda s: tasks.segments(os.path.join(ROOT, npz), seed=s),
                       lambda a: (100 * a,)))

    print(f"\nPyTorch {torch.__version__}, {a.threads} threads; {blasrnn_version()}")
    if a.repeat > 1:
        print(f"Medians of {a.repeat} alternating runs a side (seeds 1 to {a.repeat}); the ratio "
              "is the median of the runs' ratios, listed smallest first in the last column.")
    print("\n| workload | PyTorch | blasrnn | blasrnn / PyTorch | unit | PyTorch reached | blasrnn reached |"
          + (" each run's ratio |" if a.repeat > 1 else ""))
    print("| --- | --- | --- | --- | --- | --- | --- |" + (" --- |" if a.repeat > 1 else ""))
    for name, theirs, ours, ratios, unit, their_acc, our_acc in rows:
        line = (f"| {name} | {theirs:,.0f} | {ours:,.0f} | {median(ratios):.2f}× | {unit} | "
                f"{their_acc} | {our_acc} |")
        if a.repeat > 1:
            line += " " + ", ".join(f"{r:.2f}" for r in ratios) + " |"
        print(line)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def blasrnn_version():
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    out = subprocess.run([EXE, "bench", "--only", "sample", "--gemm-size", "64"], cwd=ROOT, env=env,
                         capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "?"


if __name__ == "__main__":
    main()
