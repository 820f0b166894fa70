"""The command line: python -m statechartx validate|render."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

NS = 'xmlns="http://www.w3.org/2005/07/scxml" version="1.0"'

GOOD = f"""<scxml {NS} datamodel="null" name="door">
  <state id="closed"><transition event="open" target="opened"/></state>
  <state id="opened"><transition event="close" cond="In('opened')" target="closed"/></state>
  <parallel id="p"><state id="r1"/><state id="r2"/></parallel>
  <final id="end"/>
</scxml>
"""

PYTHON = f"""<scxml {NS} datamodel="python">
  <datamodel><data id="x" expr="__import__('os').getpid()"/></datamodel>
  <state id="s"><onentry><script>raise SystemExit(3)</script></onentry></state>
</scxml>
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "statechartx", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "door.scxml"
    path.write_text(GOOD, encoding="utf-8")
    return path


@pytest.mark.timeout(60)
def test_validate_valid_document(good: Path) -> None:
    result = cli("validate", str(good))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{good}: valid SCXML, 6 states")
    assert "1 parallel" in lines[0]
    assert "datamodel null" in lines[0]


@pytest.mark.timeout(60)
def test_validate_invalid_document(tmp_path: Path) -> None:
    path = tmp_path / "bad.scxml"
    path.write_text(f'<scxml {NS}>\n<state id="a">\n<transition event="e" target="b"/>\n</state>\n</scxml>\n')
    result = cli("validate", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {path}:3: <transition>:")
    assert "'b'" in result.stderr


@pytest.mark.timeout(60)
def test_validate_python_needs_flag_and_runs_nothing(tmp_path: Path) -> None:
    path = tmp_path / "py.scxml"
    path.write_text(PYTHON, encoding="utf-8")
    refused = cli("validate", str(path))
    assert refused.returncode == 1
    assert "--allow-python" in refused.stderr
    accepted = cli("validate", str(path), "--allow-python")
    # The script would exit with status 3 if validation ran it.
    assert accepted.returncode == 0, accepted.stderr
    assert "datamodel python" in accepted.stdout


@pytest.mark.timeout(60)
def test_validate_datamodel_override(tmp_path: Path) -> None:
    path = tmp_path / "ecma.scxml"
    path.write_text(f'<scxml {NS} datamodel="ecmascript"><state id="s"/></scxml>')
    assert cli("validate", str(path)).returncode == 1
    result = cli("validate", str(path), "--datamodel", "null")
    assert result.returncode == 0, result.stderr


@pytest.mark.timeout(60)
def test_render_mermaid(good: Path) -> None:
    result = cli("render", str(good), "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> closed" in lines
    assert "    closed --> opened : open" in lines
    assert "    opened --> closed : close [In('opened')]" in lines
    # "end" is a Mermaid keyword, so the state is drawn under an alias.
    assert '    state "end" as state_6' in lines
    assert "    state_6 --> [*]" in lines
    assert any(line.strip() == "--" for line in lines)


@pytest.mark.timeout(60)
def test_render_dot(good: Path) -> None:
    result = cli("render", str(good), "--format", "dot")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("digraph statechart {")
    assert text.rstrip().endswith("}")
    assert '"closed" -> "opened" [label="open"];' in text
    assert 'subgraph "cluster_p" {' in text
    assert '"end" [shape=doublecircle' in text


@pytest.mark.timeout(60)
def test_render_reports_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.scxml"
    path.write_text("<scxml")
    result = cli("render", str(path))
    assert result.returncode == 1
    assert "not well-formed XML" in result.stderr


@pytest.mark.timeout(60)
def test_unknown_command_is_usage_error() -> None:
    result = cli("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
