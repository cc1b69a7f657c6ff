"""tools/handouts.py without a browser: the chapters and their pages from _toc.yml, the file
names, and clear errors before anything is printed (site_tests/test_handouts.py reads the
printed PDFs)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
import handouts  # noqa: E402
from test_book import toc_files  # noqa: E402


def test_chapters_come_from_the_toc_in_order():
    book = handouts.chapters()
    assert [c.folder for c in book] == ["01_inductive_bias", "02_spurious_correlations", "03_fairness",
                                        "04_causal_representation_learning", "05_disentanglement"]
    toc = toc_files()
    for c in book:
        assert c.docs[0] == f"chapters/{c.folder}/index" and c.docs[-1] == f"chapters/{c.folder}/papers"
        assert all(d.startswith(f"chapters/{c.folder}/") for d in c.docs)
        assert [d for d in toc if d.startswith(f"chapters/{c.folder}/")] == list(c.docs)


def test_handout_names():
    c = handouts.Chapter("03_fairness", ("chapters/03_fairness/index",))
    assert handouts.handout_name(c, instructor=False) == "03_fairness.pdf"
    assert handouts.handout_name(c, instructor=True) == "03_fairness_instructor.pdf"


def test_missing_site_is_reported_before_printing(tmp_path):
    with pytest.raises(FileNotFoundError, match="build the site first"):
        handouts.print_handouts(tmp_path / "html", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_command_line_rejects_an_unknown_chapter(capsys):
    with pytest.raises(SystemExit):
        handouts.main(["--chapter", "06_robotics"])
    assert "no such chapter" in capsys.readouterr().err


def test_command_line_reports_a_missing_site(tmp_path, capsys):
    assert handouts.main(["--html", str(tmp_path), "--out", str(tmp_path / "out"), "--chapter", "03_fairness"]) == 1
    assert "build the site first" in capsys.readouterr().err
