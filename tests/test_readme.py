"""README is the first thing a user meets: it must name every setting and the commands."""

from __future__ import annotations

from pathlib import Path

from comms.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_readme_documents_every_setting() -> None:
    missing = [
        f"HUITONG_{n.upper()}"
        for n in Settings.model_fields
        if f"`HUITONG_{n.upper()}`" not in README
    ]
    assert not missing


def test_readme_opens_with_the_two_setup_commands() -> None:
    head = README[:600]
    assert "pip install -e . && huitong serve" in head
    assert 'pip install -e ".[test]" && pytest' in head


def test_ci_runs_the_readme_test_command() -> None:
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert ci.rstrip().splitlines()[-1] == "pytest"
