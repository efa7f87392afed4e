"""What a fit does to the interpreter around it: other threads run, Ctrl-C stops it with the
estimator fitted on what it trained, progress goes to logging, and failures become Python's
exceptions."""

import logging
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from conftest import ROOT, waves

import blasrnn
from blasrnn import RNNClassifier


def test_another_thread_runs_while_fit_trains():
    X, y = waves(300, t=32)
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.005)

    clf = RNNClassifier(hidden=64, layers=2, epochs=30, n_threads=1, random_state=1)
    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        start = time.perf_counter()
        clf.fit(X, y)
        end = time.perf_counter()
    finally:
        done.set()
        ticker.join()
    during = [t for t in ticks if start < t < end]
    # The ticker wakes every 5 ms; holding the GIL through the fit would leave it at most one
    # tick. Ask for a quarter of what a free interpreter gives.
    assert end - start > 0.2, "the fit is too short to tell"
    assert len(during) >= (end - start) / 0.005 / 4


def test_ctrl_c_stops_fit_and_keeps_what_it_trained():
    script = textwrap.dedent("""
        import os, signal, sys, threading
        sys.path.insert(0, sys.argv[1])
        from conftest import waves
        from blasrnn import RNNClassifier
        X, y = waves(300, t=32)
        clf = RNNClassifier(hidden=64, epochs=100000, n_threads=1)
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            clf.fit(X, y)
        except KeyboardInterrupt:
            print("interrupted", clf.n_iter_, clf.predict(X[:5]).shape[0])
    """)
    out = subprocess.run([sys.executable, "-c", script, str(ROOT / "python/tests")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    word, iterations, predicted = out.stdout.split()
    assert word == "interrupted"
    assert 0 < int(iterations) < 100000 * 10
    assert predicted == "5"


def test_verbose_reports_to_logging(caplog):
    X, y = waves(60)
    with caplog.at_level(logging.INFO, logger="blasrnn"):
        RNNClassifier(hidden=8, layers=1, epochs=20, n_threads=1, verbose=True).fit(X, y)
    lines = [r.getMessage() for r in caplog.records if r.name == "blasrnn"]
    assert lines and all(line.startswith("RNNClassifier: iteration ") for line in lines)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="blasrnn"):
        RNNClassifier(hidden=8, layers=1, epochs=20, n_threads=1).fit(X, y)
    assert not [r for r in caplog.records if r.name == "blasrnn"]


def test_files_raise_os_errors_and_divergence_a_runtime_error(tmp_path):
    with pytest.raises(OSError, match="missing.safetensors"):
        blasrnn.load(tmp_path / "missing.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="garbage.safetensors"):
        blasrnn.load(garbage)
    with pytest.raises(ValueError):
        blasrnn._core.Model.from_bytes(b"\x00" * 64)
    X, y = waves(60)
    # A step of 1e38 overflows float32's range within a few steps.
    with pytest.raises(RuntimeError, match="training diverged at iteration"):
        RNNClassifier(hidden=64, layers=1, epochs=20, learning_rate=1e38, n_threads=1).fit(X, y)
