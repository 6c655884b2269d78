"""The live anomaly detector over the Numenta Anomaly Benchmark (NAB v1.1), scored per profile.

Every NAB series is fed row by row, timestamps as epoch milliseconds, to
``linli.rule.anomaly.AnomalyDetector`` with its default (tuned) parameters: the very code the
rule engine runs. The per-row scores are scored by ``bench/nab.py`` (thresholds optimised over
the whole corpus per profile, normalised so that the null detector scores 0 and the perfect one
100). The same scorer first scores NAB's published reference results (windowed Gaussian and
null) as a check that it reproduces the published figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

from linli.rule.anomaly import AnomalyDetector, AnomalyParams

BENCH_DIR = Path(__file__).resolve().parent
PROFILE_KEYS = {
    "standard": "standard",
    "reward_low_FP_rate": "reward_low_fp_rate",
    "reward_low_FN_rate": "reward_low_fn_rate",
}
REFERENCE_WINDOWED_GAUSSIAN = 39.6


def _nab_module() -> Any:
    name = "linli_bench_nab"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / "nab.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before running so that its dataclasses can resolve their own module.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _epoch_ms(stamp: str) -> int:
    moment = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def detect(values: list[float], timestamps: list[str], params: AnomalyParams) -> list[float]:
    """Per-row scores of one series, fed to a fresh detector in order."""
    detector = AnomalyDetector(params)
    return [detector.score(_epoch_ms(ts), v) for ts, v in zip(timestamps, values, strict=True)]


def scorer_check(nab_dir: Path, corpus: dict[str, Any] | None = None) -> dict[str, Any]:
    """The scorer's figures for NAB's reference results, against the published ones."""
    nab = _nab_module()
    corpus = corpus if corpus is not None else nab.load_corpus(nab_dir)
    gaussian = nab.score_results_dir(nab_dir, "results", "windowedGaussian", corpus)
    null = nab.score_results_dir(nab_dir, "results", "null", corpus)
    published = nab.published_scores(nab_dir)
    return {
        "windowedGaussian": {PROFILE_KEYS[k]: round(v, 3) for k, v in gaussian.items()},
        "null": {PROFILE_KEYS[k]: round(v, 3) for k, v in null.items()},
        "published_windowedGaussian": {
            PROFILE_KEYS[k]: round(float(v), 3) for k, v in published["windowedGaussian"].items()
        },
        "matches_published": round(gaussian["standard"], 1) == REFERENCE_WINDOWED_GAUSSIAN
        and round(null["standard"], 1) == 0.0,
    }


def run(nab_dir: Path, params: AnomalyParams | None = None) -> dict[str, Any]:
    """Run the detector over every NAB file, score it, and check the scorer; one JSON object."""
    nab = _nab_module()
    params = params if params is not None else AnomalyParams()
    corpus = nab.load_corpus(nab_dir)
    check = scorer_check(nab_dir, corpus)
    scores: dict[str, list[float]] = {}
    rows = 0
    started = time.perf_counter()
    for name, data in corpus.items():
        scores[name] = detect(data.values, data.timestamps, params)
        rows += len(data.values)
    seconds = time.perf_counter() - started
    results = nab.score_detector(nab_dir, scores, corpus)
    out: dict[str, Any] = {
        "benchmark": "anomaly",
        "corpus": "NAB v1.1",
        "cpu_count": os.cpu_count(),
        "files": len(corpus),
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds, 1),
        "threshold": {PROFILE_KEYS[k]: round(r.threshold, 6) for k, r in results.items()},
        "raw": {PROFILE_KEYS[k]: round(r.raw, 3) for k, r in results.items()},
        "params": dataclasses.asdict(params),
        "scorer_check": check,
    }
    for profile, result in results.items():
        out[PROFILE_KEYS[profile]] = round(result.score, 2)
    return out
