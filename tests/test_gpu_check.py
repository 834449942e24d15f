"""The GPU check must run wherever the course runs, ready for the day a GPU is lent: --quick on the CPU."""

import json

from benchmarks import gpu_check


def test_quick_check_writes_its_report(tmp_path):
    assert gpu_check.main(["--quick", "--device", "cpu", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["loops"]["speed_up"] > 0
    assert set(report["retrain"]) == set(gpu_check.MODELS)
    for result in report["retrain"].values():
        assert result["epochs"] == 1 and 0.1 < result["test_acc"] <= 1  # one epoch lifts it above chance
    assert "speed-up" in (tmp_path / "gpu_check.md").read_text()


def test_a_failing_part_is_reported_not_lost():
    report = {
        "loops": {"error": "RuntimeError: x"},
        "retrain": {"SGD": {"test_acc": float("nan")}},
        "notebooks": {"06.ipynb": {"status": "failed"}, "09.ipynb": {"status": "passed"}},
    }
    assert gpu_check.problems(report) == ["loops", "SGD", "06.ipynb"]
