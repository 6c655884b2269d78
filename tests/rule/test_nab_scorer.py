"""The NAB scorer (bench/nab.py) reproduces NAB's published reference scores."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from linli.rule.anomaly import AnomalyDetector

REPO = Path(__file__).resolve().parents[2]


def _nab_dir() -> Path:
    """The NAB data: $LINLI_NAB_DIR, or the shared data folder beside the checkout."""
    candidates = [Path(os.environ["LINLI_NAB_DIR"])] if os.environ.get("LINLI_NAB_DIR") else []
    candidates += [
        Path(__file__).resolve().parents[3] / "shared/data/nab",
        Path("/work/shared/data/nab"),
    ]
    for candidate in candidates:
        if (candidate / "labels" / "combined_windows.json").is_file():
            return candidate
    return candidates[0]


NAB_DIR = _nab_dir()

pytestmark = pytest.mark.skipif(
    not (NAB_DIR / "labels" / "combined_windows.json").is_file(),
    reason=f"NAB data not found at {NAB_DIR}",
)


def _load(name: str) -> Any:
    module_name = f"linli_bench_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, REPO / "bench" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def nab() -> Any:
    return _load("nab")


@pytest.fixture(scope="module")
def corpus(nab: Any) -> Any:
    return nab.load_corpus(NAB_DIR)


def test_corpus_shape(nab: Any, corpus: Any) -> None:
    assert len(corpus) == 58
    assert sum(len(d.windows) for d in corpus.values()) == 116
    assert nab.probationary_length(4032) == 604
    assert nab.probationary_length(22695) == 750


def test_windowed_gaussian_and_null_match_the_published_scores(nab: Any, corpus: Any) -> None:
    published = nab.published_scores(NAB_DIR)
    for detector in ("windowedGaussian", "null"):
        scores = nab.score_results_dir(NAB_DIR, "results", detector, corpus)
        for profile, value in scores.items():
            assert value == pytest.approx(published[detector][profile], abs=0.1)
        if detector == "null":
            assert scores["standard"] == pytest.approx(0.0, abs=1e-9)
        else:
            assert scores["standard"] == pytest.approx(39.6, abs=0.05)


def test_perfect_detection_scores_100(nab: Any, corpus: Any) -> None:
    scores = {}
    for name, data in corpus.items():
        row = [0.0] * len(data.values)
        for first, _last in data.windows:
            row[first] = 1.0
        scores[name] = row
    results = nab.score_detector(NAB_DIR, scores, corpus)
    assert results["standard"].score == pytest.approx(100.0)


def test_detector_runs_over_small_files(nab: Any, corpus: Any) -> None:
    anomaly = _load("anomaly")
    names = ["realAdExchange/exchange-3_cpm_results.csv", "realTraffic/speed_7578.csv"]
    for name in names:
        data = corpus[name]
        scores = anomaly.detect(data.values, data.timestamps, AnomalyDetector().params)
        assert len(scores) == len(data.values)
        assert all(0.0 <= s <= 1.0 for s in scores)
