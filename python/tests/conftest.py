"""What the tests share: small synthetic sets, a reader of the repository's `.ts` files, and
the command line built beside the package."""

import os
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def waves(n, t=16, seed=0, channels=1):
    """`n` noisy sine waves of one of three frequencies: `(n, t, channels)` float32 and the
    class of each (0, 1, 2)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    steps = np.arange(t)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, (n, 1, channels))
    X = np.sin(steps * (0.3 + 0.5 * y[:, None, None]) + phase)
    X += 0.1 * rng.standard_normal(X.shape)
    return X.astype(np.float32), y


def read_ts(path):
    """A `.ts` file of numbers (channels separated by `:`, values by `,`): a list of
    `(length, channels)` float64 arrays and their class labels (strings)."""
    cases, labels, data = [], [], False
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower() == "@data":
            data = True
            continue
        if not data:
            continue
        *channels, label = line.split(":")
        cases.append(np.array([[float(v) for v in c.split(",")] for c in channels]).T)
        labels.append(label)
    return cases, np.array(labels)


@pytest.fixture(scope="session")
def cli():
    """The `blasrnn` command line: `BLASRNN_BIN`, else the repository's release build."""
    path = pathlib.Path(os.environ.get("BLASRNN_BIN", ROOT / "target/release/blasrnn"))
    if not path.exists():
        pytest.fail(f"{path} is missing: build it with `cargo build --release` (or set "
                    f"BLASRNN_BIN)")

    def run(*args):
        return subprocess.run([str(path), *map(str, args)], check=True, capture_output=True,
                              text=True, cwd=ROOT).stdout

    return run
