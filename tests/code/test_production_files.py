"""The production files in docs/production/ (systemd units, timers, crontab) stay true:
systemd accepts every unit, and every kam-ml command and option they run exists."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PRODUCTION = Path(__file__).resolve().parents[2] / "docs" / "production"
UNITS = sorted([*PRODUCTION.glob("*.service"), *PRODUCTION.glob("*.timer")])
INSTALLED_BIN = "/opt/kam-ml/.venv/bin/"
KAM_ML_CALL = re.compile(r"kam-ml (\w[\w-]*)((?: +(?:--[\w-]+|\"?\$\{?\w+\}?\"?|[^\s;>&|]+))*)")


def kam_ml_calls() -> list[tuple[str, str, list[str]]]:
    """(file, command, options) of every kam-ml call the units and the crontab run."""
    calls = []
    for file in [*UNITS, PRODUCTION / "crontab"]:
        for line in file.read_text().splitlines():
            if line.lstrip().startswith("#") or (file in UNITS and not line.startswith("Exec")):
                continue
            for match in KAM_ML_CALL.finditer(line):
                options = re.findall(r"--[\w-]+", match.group(2))
                calls.append((file.name, match.group(1), options))
    return calls


def test_every_unit_is_one_systemd_accepts(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    here = str(Path(sys.executable).parent) + "/"  # the installed path, as on a real host
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED_BIN, here))
    checked = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [line for line in checked.stderr.splitlines() if line.strip()]
    assert checked.returncode == 0 and not problems, "\n".join(problems)


def test_the_production_files_call_only_commands_and_options_that_exist() -> None:
    calls = kam_ml_calls()
    assert {command for _, command, _ in calls} >= {"nightly", "serve", "train"}
    helps: dict[str, str] = {}
    for file, command, options in calls:
        if command not in helps:
            helps[command] = subprocess.run(
                [sys.executable, "-m", "kam_ml", command, "--help"],
                capture_output=True,
                text=True,
                env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
            ).stdout
        assert helps[command], f"{file}: kam-ml {command} is not a command"
        for option in options:
            assert option in helps[command], f"{file}: kam-ml {command} has no {option}"
