"""Numenta Anomaly Benchmark (NAB v1.1) scorer, written from the published scoring rules.

Per file, the first ``min(floor(0.15·N), 750)`` rows are probationary and not scored. Each other
row gets a sweep score: inside a labelled window, the scaled sigmoid of its relative position
(earlier is worth more, the first row of a window is worth exactly the TP weight); outside every
window, −FP weight before any window, else the scaled sigmoid of its distance past the preceding
window (−1 from three window widths on) times the FP weight. A detection is a row whose anomaly
score is at or above the threshold; a window is worth the score of its earliest detection, or
−FN weight when nothing in it is detected; every false positive counts. The threshold is chosen
per profile to maximise the corpus total (all rows of all files swept together, highest score
first), and the total is normalised as ``100·(S − S_null)/(S_perfect − S_null)``, where the null
detector detects nothing and the perfect one detects every window at its first row.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROBATION_FRACTION = 0.15
PROBATION_CAP = 750  # NAB: probation percent × 5000 rows
NO_DETECTION_THRESHOLD = 1.1  # above every score in [0, 1]: nothing is detected
FP_FLOOR_POSITION = 3.0  # from three window widths past a window, a false positive costs fully


@dataclass(frozen=True)
class Weights:
    """A profile's cost matrix."""

    tp: float
    fp: float
    fn: float


@dataclass(frozen=True)
class DataFile:
    """One NAB series with its windows as inclusive row-index ranges."""

    name: str
    timestamps: list[str]
    values: list[float]
    windows: list[tuple[int, int]]


@dataclass(frozen=True)
class ProfileResult:
    """The corpus score of one detector for one profile."""

    score: float
    raw: float
    null: float
    perfect: float
    threshold: float


def probationary_length(rows: int) -> int:
    """Rows at the start of a file that are never scored."""
    return min(math.floor(PROBATION_FRACTION * rows), PROBATION_CAP)


def scaled_sigmoid(position: float) -> float:
    """NAB's scaled sigmoid: 2·sigmoid(−5·position) − 1, clamped to −1 from position 3 on."""
    if position >= FP_FLOOR_POSITION:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def load_profiles(nab_dir: Path) -> dict[str, Weights]:
    """The scoring profiles of ``config/profiles.json``."""
    raw = json.loads((nab_dir / "config" / "profiles.json").read_text(encoding="utf-8"))
    return {
        name: Weights(
            tp=float(body["CostMatrix"]["tpWeight"]),
            fp=float(body["CostMatrix"]["fpWeight"]),
            fn=float(body["CostMatrix"]["fnWeight"]),
        )
        for name, body in raw.items()
    }


def _strip_fraction(stamp: str) -> str:
    # The label file writes "2014-04-10 07:15:00.000000"; data files have no fraction.
    return stamp.split(".", 1)[0]


def load_corpus(nab_dir: Path) -> dict[str, DataFile]:
    """Every labelled series of ``data/``, keyed by its path relative to ``data/``."""
    labels = json.loads((nab_dir / "labels" / "combined_windows.json").read_text(encoding="utf-8"))
    corpus: dict[str, DataFile] = {}
    for name in sorted(labels):
        timestamps: list[str] = []
        values: list[float] = []
        with (nab_dir / "data" / name).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                timestamps.append(row["timestamp"])
                values.append(float(row["value"]))
        index = {stamp: i for i, stamp in enumerate(timestamps)}
        windows: list[tuple[int, int]] = []
        for start, end in labels[name]:
            first = index.get(_strip_fraction(start))
            last = index.get(_strip_fraction(end))
            if first is None or last is None:
                msg = f"{name}: window {start} – {end} does not match rows of the data file"
                raise ValueError(msg)
            windows.append((first, last))
        corpus[name] = DataFile(name, timestamps, values, windows)
    return corpus


@dataclass(frozen=True)
class _Row:
    """A scorable row: its anomaly score, its window (global id) or -1, its unweighted value."""

    score: float
    window: int
    value: float


def _scorable_rows(data: DataFile, scores: list[float], window_base: int) -> list[_Row]:
    """Sweep values of a file's rows after probation (TP values already divided by max TP)."""
    if len(scores) != len(data.timestamps):
        msg = f"{data.name}: {len(scores)} scores for {len(data.timestamps)} rows"
        raise ValueError(msg)
    max_tp = scaled_sigmoid(-1.0)
    probation = probationary_length(len(scores))
    window_of = [-1] * len(scores)
    for k, (first, last) in enumerate(data.windows):
        for i in range(first, last + 1):
            window_of[i] = k
    rows: list[_Row] = []
    prev_end = -1
    prev_width = 0
    for i, score in enumerate(scores):
        k = window_of[i]
        if k >= 0:
            first, last = data.windows[k]
            width = last - first + 1
            value = scaled_sigmoid(-(last - i + 1) / width) / max_tp
            if i == last:
                prev_end, prev_width = last, width
        elif prev_end < 0:
            value = -1.0
        else:
            # A one-row window has no width to measure the distance by: NAB divides by zero.
            span = prev_width - 1
            value = scaled_sigmoid((i - prev_end) / span) if span > 0 else -1.0
        if i >= probation:
            rows.append(_Row(score, window_base + k if k >= 0 else -1, value))
    return rows


def _sweep(rows: list[_Row], windows: list[int], weights: Weights) -> tuple[float, float]:
    """The best (threshold, total) over all thresholds; detections are scores ≥ threshold."""
    best: dict[int, float] = dict.fromkeys(windows, -weights.fn)
    total = -weights.fn * len(best)
    best_total = total
    best_threshold = NO_DETECTION_THRESHOLD
    ordered = sorted(rows, key=lambda r: r.score, reverse=True)
    i = 0
    while i < len(ordered):
        threshold = ordered[i].score
        while i < len(ordered) and ordered[i].score == threshold:
            row = ordered[i]
            if row.window < 0:
                total += row.value * weights.fp
            else:
                gain = row.value * weights.tp
                if gain > best[row.window]:
                    total += gain - best[row.window]
                    best[row.window] = gain
            i += 1
        # Strictly better only: among equal totals NAB keeps the highest threshold.
        if total > best_total:
            best_total = total
            best_threshold = threshold
    return best_threshold, best_total


def score_detector(
    nab_dir: Path,
    scores_by_file: dict[str, list[float]],
    corpus: dict[str, DataFile] | None = None,
) -> dict[str, ProfileResult]:
    """Normalised NAB score per profile of per-row anomaly scores (one list per corpus file)."""
    corpus = corpus if corpus is not None else load_corpus(nab_dir)
    profiles = load_profiles(nab_dir)
    rows: list[_Row] = []
    window_base = 0
    for name, data in corpus.items():
        rows.extend(_scorable_rows(data, scores_by_file[name], window_base))
        window_base += len(data.windows)
    total_windows = window_base
    # Windows wholly inside probation are not scored at all (they have no scorable row).
    scored_windows = sorted({r.window for r in rows if r.window >= 0})
    results: dict[str, ProfileResult] = {}
    for profile, weights in profiles.items():
        threshold, raw = _sweep(rows, scored_windows, weights)
        null = -weights.fn * len(scored_windows)
        perfect = weights.tp * total_windows
        results[profile] = ProfileResult(
            score=100.0 * (raw - null) / (perfect - null),
            raw=raw,
            null=null,
            perfect=perfect,
            threshold=threshold,
        )
    return results


def read_results_dir(
    nab_dir: Path, detector_name: str, results_subdir: str = "results"
) -> dict[str, list[float]]:
    """A published detector's per-row anomaly scores, keyed like ``load_corpus``."""
    base = nab_dir / results_subdir / detector_name
    labels = json.loads((nab_dir / "labels" / "combined_windows.json").read_text(encoding="utf-8"))
    out: dict[str, list[float]] = {}
    for name in labels:
        folder, file_name = name.split("/", 1)
        path = base / folder / f"{detector_name}_{file_name}"
        with path.open(encoding="utf-8", newline="") as fh:
            out[name] = [float(row["anomaly_score"]) for row in csv.DictReader(fh)]
    return out


def score_results_dir(
    nab_dir: Path,
    results_subdir: str,
    detector_name: str,
    corpus: dict[str, DataFile] | None = None,
) -> dict[str, float]:
    """Normalised score per profile of a detector's published results (a scorer check)."""
    scores = read_results_dir(nab_dir, detector_name, results_subdir)
    return {
        profile: result.score for profile, result in score_detector(nab_dir, scores, corpus).items()
    }


def published_scores(nab_dir: Path) -> dict[str, Any]:
    """The normalised scores NAB published (``results/final_results.json``)."""
    path = nab_dir / "results" / "final_results.json"
    published: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return published
