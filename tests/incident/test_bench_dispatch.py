"""`linli bench dispatch --json` at a tiny size: one JSON object with the promised figures."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from linli.cli import app


def test_bench_dispatch_prints_one_json_object_and_records_it(tmp_path: Path) -> None:
    log = tmp_path / "benchmarks.md"
    result = CliRunner().invoke(
        app,
        [
            "bench", "dispatch", "--incidents", "6", "--responders", "20",
            "--repeats", "2", "--seed", "3", "--json", "--record", str(log),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"plan_ms", "total_travel_s", "optimal_travel_s", "gap", "greedy_travel_s"} <= set(
        figures
    )
    assert (figures["benchmark"], figures["incidents"], figures["responders"]) == (
        "dispatch",
        6,
        20,
    )
    assert figures["optimal_status"] == "OPTIMAL"
    assert figures["same_objective"] is True
    assert abs(figures["gap"]) < 1e-6
    assert figures["served"] == figures["optimal_served"]
    assert figures["greedy_travel_s"] >= figures["optimal_travel_s"] - 1e-3 or (
        figures["greedy_served"] != figures["served"]
    )
    assert "`linli bench dispatch`" in log.read_text(encoding="utf-8")
