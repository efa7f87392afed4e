"""The tasks beyond one class per sequence, written in PyTorch as blasrnn trains them, for
`compare_pytorch.py`: regression on a UCR/UEA-Monash `.ts` pair (Covid3Month), forecasting a
series from a CSV file (the Taylor half-hourly demand), and a class at every step (the BasicMotions
segments). Same data and preprocessing (standardised inputs and targets, the same windows), same
model, loss, optimizer, schedule, clipping and budget; the figures are computed as blasrnn
computes them.
"""
import math, os, time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CELLS = {"tanh": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def schedule(opt, base, warmup, total):
    def at(it):
        if it < warmup:
            return base * (it + 1) / warmup
        return 0.5 * base * (1 + math.cos(math.pi * (it - warmup) / max(1, total - warmup)))
    return lambda it: [g.__setitem__("lr", at(it)) for g in opt.param_groups]


def update(opt, params, loss):
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


def train(params, batches, loss_of, lr, warmup, total):
    """Adam with warm-up and cosine decay, clipping at 1, over `batches` (an iterator of index
    tensors, `total` of them); returns the seconds it took."""
    return kept(params, batches, loss_of, None, lr, warmup, total, 1)


def epochs_of(n, batch, epochs):
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            yield perm[i:i + batch]


def errors(pred, actual, mean):
    e = pred - actual
    nz = actual != 0
    ss_tot = ((actual - actual.mean(0)) ** 2).sum(0)
    r2 = np.where(ss_tot > 0, 1 - (e ** 2).sum(0) / np.where(ss_tot > 0, ss_tot, 1), 0.0).mean()
    return {"rmse": float(np.sqrt((e ** 2).mean())), "mae": float(np.abs(e).mean()),
            "mape": float(100 * np.abs(e[nz] / actual[nz]).mean()), "r2": float(r2),
            "mean_baseline_rmse": float(np.sqrt(((actual - mean) ** 2).mean()))}


# ---- regression: a .ts pair with @targetLabel true ---------------------------------------------

def read_ts_targets(path):
    xs, ys, data = [], [], False
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not data:
            data = line.lower() == "@data"
            continue
        parts = line.split(":")
        xs.append(np.stack([np.array([float(v) for v in p.split(",")]) for p in parts[:-1]], axis=1))
        ys.append(float(parts[-1]))
    return xs, np.array(ys)


def regression(name, cell="gru", hidden=128, layers=2, epochs=100, batch=32, lr=4e-3, warmup=100,
               seed=1):
    """Samples/s and the test errors of blasrnn's default regression model on `data/tser/NAME`."""
    base = os.path.join(ROOT, "data", "tser", name, name)
    xtr, ytr = read_ts_targets(base + "_TRAIN.ts")
    xte, yte = read_ts_targets(base + "_TEST.ts")
    cat = np.concatenate(xtr)
    mu, sd = cat.mean(0), cat.std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    ym, ys = ytr.mean(), ytr.std()

    def pack(xs):
        lens = torch.tensor([len(x) for x in xs])
        pad = torch.nn.utils.rnn.pad_sequence([torch.tensor((x - mu) / sd, dtype=torch.float32) for x in xs],
                                              batch_first=True)
        return pad, lens

    Xtr, Ltr = pack(xtr)
    Xte, Lte = pack(xte)
    Y = torch.tensor((ytr - ym) / ys, dtype=torch.float32).view(-1, 1)
    torch.manual_seed(seed)
    rnn = CELLS[cell](Xtr.shape[2], hidden, num_layers=layers, batch_first=True)
    fc = torch.nn.Linear(hidden, 1)
    params = list(rnn.parameters()) + list(fc.parameters())

    def predict(X, L):
        _, h = rnn(torch.nn.utils.rnn.pack_padded_sequence(X, L, batch_first=True, enforce_sorted=False))
        h = h[0] if isinstance(h, tuple) else h
        return fc(h[-1])

    per_epoch = (len(xtr) + batch - 1) // batch
    secs = train(params, epochs_of(len(xtr), batch, epochs),
                 lambda b: torch.nn.functional.mse_loss(predict(Xtr[b], Ltr[b]), Y[b]),
                 lr, warmup, epochs * per_epoch)
    with torch.no_grad():
        pred = predict(Xte, Lte).double().numpy().reshape(-1) * ys + ym
    return epochs * len(xtr) / secs, errors(pred.reshape(-1, 1), yte.reshape(-1, 1), ym)


# ---- forecasting: windows of a series ------------------------------------------------------------

def forecasting(path, window, horizon, test_len, season, residual, cell="lstm", hidden=64, layers=1,
                epochs=1, batch=32, lr=4e-3, warmup=50, seed=1, iters=None, validation=0.0):
    """Samples/s, the test forecasts' errors and the seasonal naive forecast's (`path`: a one-column
    CSV file with a header, or the values), windows cut as
    blasrnn cuts them (with `residual`: the change from the seasonal naive forecast learned, and
    the change over the season read as one more input). `iters`: that many batches instead of
    `epochs` passes; `validation`: the share of the latest training windows held out, the
    parameters of their lowest loss kept (early stopping, as blasrnn)."""
    y = path if isinstance(path, np.ndarray) else np.loadtxt(path, delimiter=",", skiprows=1, ndmin=1)
    n = len(y)
    m = season if residual else 0
    table = y.reshape(-1, 1)
    if residual:
        change = np.zeros(n)
        change[m:] = y[m:] - y[:-m]
        table = np.stack([y, change], axis=1)
    train_end = n - test_len
    mu, sd = table[m:train_end].mean(0), table[m:train_end].std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    norm = (table - mu) / sd
    snaive = lambda o, h, mm: y[o + h - mm * (h // mm + 1)]
    learned = lambda o, h: y[o + h] - snaive(o, h, season) if residual else y[o + h]
    tr_origins = list(range(window + m, train_end - horizon + 1))
    te_origins = list(range(train_end, n - horizon + 1, horizon))

    def cut(origins):
        x = np.stack([norm[o - window:o] for o in origins])
        t = np.array([[learned(o, h) for h in range(horizon)] for o in origins])
        return torch.tensor(x, dtype=torch.float32), t

    Xtr, ttr = cut(tr_origins)
    Xte, _ = cut(te_origins)
    tm, ts = (ttr.mean(), ttr.std()) if residual else (mu[0], sd[0])
    Y = torch.tensor((ttr - tm) / ts, dtype=torch.float32)
    torch.manual_seed(seed)
    rnn = CELLS[cell](Xtr.shape[2], hidden, num_layers=layers, batch_first=True)
    fc = torch.nn.Linear(hidden, horizon)
    params = list(rnn.parameters()) + list(fc.parameters())

    def predict(X):
        out, _ = rnn(X)
        return fc(out[:, -1])

    held = int(round(validation * len(tr_origins)))
    fit_n = len(tr_origins) - held
    total = iters if iters is not None else epochs * ((fit_n + batch - 1) // batch)
    loss_of = lambda b: torch.nn.functional.mse_loss(predict(Xtr[b]), Y[b])
    val = (lambda: loss_of(torch.arange(fit_n, len(tr_origins)))) if held else None
    secs = kept(params, iterations(fit_n, batch, total), loss_of, val, lr, warmup, total,
                max(1, total // 50))
    samples = epochs * fit_n if iters is None else min(total * batch, total * fit_n)
    actual = np.array([y[o:o + horizon] for o in te_origins])
    base = np.array([[snaive(o, h, season) for h in range(horizon)] for o in te_origins])
    with torch.no_grad():
        pred = predict(Xte).double().numpy() * ts + tm
    forecast = pred + base if residual else pred
    scale = np.abs(y[season:train_end] - y[:train_end - season]).mean()
    mean = y[:train_end].mean()
    ours, theirs = errors(forecast, actual, mean), errors(base, actual, mean)
    ours["mase"], theirs["mase"] = ours["mae"] / scale, theirs["mae"] / scale
    return samples / secs, ours, theirs


# ---- a class at every step -----------------------------------------------------------------------

def segments(path, cell="gru", hidden=128, layers=2, bidirectional=True, epochs=100, batch=32,
             lr=4e-3, warmup=100, seed=1):
    """Steps/s, the per-step test accuracy and the fraction of test sequences all right."""
    a = np.load(path)
    names = sorted({v for row, n in zip(a["y_train"], a["len_train"]) for v in row[:n]})
    index = {v: i for i, v in enumerate(names)}

    def split(s):
        x, y, lens = a[f"x_{s}"], a[f"y_{s}"], a[f"len_{s}"]
        labels = np.array([[index.get(v, 0) for v in row] for row in y])
        return x.astype(np.float64), labels, lens

    xtr, ytr, ltr = split("train")
    xte, yte, lte = split("test")
    live = np.concatenate([x[:n] for x, n in zip(xtr, ltr)])
    mu, sd = live.mean(0), live.std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    tensor = lambda x, lens: torch.tensor(
        np.stack([np.where(np.arange(len(r))[:, None] < n, (r - mu) / sd, 0.0) for r, n in zip(x, lens)]),
        dtype=torch.float32)
    Xtr, Xte = tensor(xtr, ltr), tensor(xte, lte)
    Ytr, Ltr, Lte = torch.tensor(ytr), torch.tensor(ltr), torch.tensor(lte)
    torch.manual_seed(seed)
    rnn = CELLS[cell](Xtr.shape[2], hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional)
    fc = torch.nn.Linear(hidden * (2 if bidirectional else 1), len(names))
    params = list(rnn.parameters()) + list(fc.parameters())

    def logits(X, L):
        packed = torch.nn.utils.rnn.pack_padded_sequence(X, L, batch_first=True, enforce_sorted=False)
        out, _ = rnn(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=X.shape[1])
        return fc(out)

    def loss_of(b):
        z = logits(Xtr[b], Ltr[b])
        mask = torch.arange(z.shape[1])[None, :] < Ltr[b][:, None]
        return torch.nn.functional.cross_entropy(z[mask], Ytr[b][mask])

    per_epoch = (len(xtr) + batch - 1) // batch
    secs = train(params, epochs_of(len(xtr), batch, epochs), loss_of, lr, warmup, epochs * per_epoch)
    with torch.no_grad():
        guess = logits(Xte, Lte).argmax(-1).numpy()
    right = [(guess[i, :n] == yte[i, :n]) for i, n in enumerate(lte)]
    step_acc = sum(r.sum() for r in right) / lte.sum()
    seq_acc = np.mean([r.all() for r in right])
    return epochs * ltr.sum() / secs, float(step_acc), float(seq_acc)


# ---- the suite: blasrnn's chosen run, replayed ---------------------------------------------------

def kept(params, batches, loss_of, val_loss, lr, warmup, total, every):
    """Adam with warm-up and cosine decay, clipping at 1, over `batches` (`total` of them), with
    `val_loss` (or None) evaluated every `every` iterations and at the end and the parameters of
    its lowest value put back at the end (early stopping, as blasrnn keeps them); returns the
    seconds it took."""
    opt = torch.optim.Adam(params, lr=lr)
    set_lr = schedule(opt, lr, warmup, total)
    best, saved = math.inf, None
    t0 = time.perf_counter()
    for it, b in enumerate(batches):
        set_lr(it)
        update(opt, params, loss_of(b))
        done = it + 1
        if val_loss is not None and (done % every == 0 or done == total):
            with torch.no_grad():
                v = float(val_loss())
            if v < best:
                best, saved = v, [p.detach().clone() for p in params]
    if saved is not None:
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)
    return time.perf_counter() - t0


def iterations(n, batch, iters):
    """`iters` batches of shuffled indices, epoch after epoch."""
    done = 0
    while True:
        for b in epochs_of(n, batch, 1):
            if done == iters:
                return
            done += 1
            yield b


def sequences(train, test, run, classes, seed=1):
    """The test figure (accuracy, or RMSE) and the training seconds of the model blasrnn chose for a
    set (`run`: its `--json` object: cell, hidden, layers, bidirectional, patch, readout, iters,
    batch, lr, warmup, clip, validation), trained the same way in PyTorch: inputs standardised per
    channel over the training steps, `patch` consecutive steps read as one input vector (the last
    patch padded with zeros), the last state or the mean over the steps into a linear head,
    cross-entropy or MSE on standardised targets, Adam with warm-up and cosine decay, and the
    parameters of the lowest loss on a random `validation` share of the training cases kept.
    `train`, `test`: (cases as [channels][steps] arrays, labels or targets). None where the run's
    readout has no counterpart here."""
    if run["readout"] not in ("last", "mean"):
        return None
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    (xa, ya), (xb, yb) = train, test
    cat = np.concatenate([c.T for c in xa])
    mu, sd = cat.mean(0), cat.std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    p = run["patch"]

    def pack(cases):
        rows = []
        for c in cases:
            x = (c.T - mu) / sd
            t = -(-len(x) // p)
            x = np.concatenate([x, np.zeros((t * p - len(x), x.shape[1]))]).reshape(t, -1)
            rows.append(torch.tensor(x, dtype=torch.float32))
        lens = torch.tensor([len(r) for r in rows])
        return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True), lens

    if classes:
        names = sorted(set(ya))
        ta = torch.tensor([names.index(v) for v in ya])
        tb = np.array([names.index(v) if v in names else -1 for v in yb])
        outputs = len(names)
    else:
        va = np.array([float(v) for v in ya])
        ym, ys = va.mean(), va.std() or 1.0
        ta = torch.tensor((va - ym) / ys, dtype=torch.float32).view(-1, 1)
        tb = np.array([float(v) for v in yb])
        outputs = 1
    X, L = pack(xa)
    Xt, Lt = pack(xb)
    order = rng.permutation(len(xa))
    held = int(round(run["validation"] * len(xa)))
    fit_idx, val_idx = torch.tensor(order[held:]), torch.tensor(order[:held])
    two = 2 if run["bidirectional"] else 1
    rnn = CELLS[run["cell"]](X.shape[2], run["hidden"], num_layers=run["layers"], batch_first=True,
                             bidirectional=run["bidirectional"])
    fc = torch.nn.Linear(run["hidden"] * two, outputs)
    params = list(rnn.parameters()) + list(fc.parameters())

    def forward(Xs, Ls):
        packed = torch.nn.utils.rnn.pack_padded_sequence(Xs, Ls, batch_first=True, enforce_sorted=False)
        out, h = rnn(packed)
        if run["readout"] == "last":
            h = h[0] if isinstance(h, tuple) else h
            return fc(torch.cat([h[-two + i] for i in range(two)], dim=1))
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=Xs.shape[1])
        return fc(out.sum(1) / Ls[:, None].float())

    def loss_on(idx):
        z = forward(X[idx], L[idx])
        if classes:
            return torch.nn.functional.cross_entropy(z, ta[idx])
        return torch.nn.functional.mse_loss(z, ta[idx])

    val = (lambda: loss_on(val_idx)) if held else None
    every = max(1, run["iters"] // 50)
    batches = (fit_idx[b] for b in iterations(len(fit_idx), run["batch"], run["iters"]))
    secs = kept(params, batches, loss_on, val, run["lr"], run["warmup"], run["iters"], every)
    with torch.no_grad():
        z = forward(Xt, Lt).double().numpy()
    if classes:
        return float(np.mean(z.argmax(1) == tb)), secs
    pred = z.reshape(-1) * ys + ym
    return float(np.sqrt(np.mean((pred - tb) ** 2))), secs
