"""The instructor's timing table (tools/timing.py): reading times parsed from the pages, run
times formatted and taken from the nbval times file, one row per section in book order."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import timing  # noqa: E402
from test_book import toc_files  # noqa: E402


def test_reading_minutes_parses_the_time_line():
    assert timing.reading_minutes("**Time.** About 35 minutes to read and run. **Run it yourself:**") == 35
    assert timing.reading_minutes("**Time.** About 15 minutes to read.") == 15
    assert timing.reading_minutes("No time given here.") is None


def test_every_section_page_announces_its_time():
    sections = [f for f in toc_files() if f.startswith("chapters/0") and f.rsplit("/", 1)[1][:2].isdigit()]
    assert len(sections) >= 30
    for doc in sections:
        assert timing.reading_minutes((ROOT / f"{doc}.md").read_text()), f"{doc}.md has no '**Time.** About N minutes' line"


def test_format_seconds():
    assert timing.format_seconds(None) == "\u2013"
    assert timing.format_seconds(4.4) == "4 s"
    assert timing.format_seconds(59.6) == "1 min 0 s"
    assert timing.format_seconds(125) == "2 min 5 s"


def test_load_nbval_times(tmp_path):
    path = tmp_path / "notebook_times.json"
    assert timing.load_nbval_times(path) == {}
    path.write_text(json.dumps({"chapters/01_x/03_y.ipynb": 12.5, "student/01_x/03_y.ipynb": 30.0}))
    assert timing.load_nbval_times(path) == {"chapters/01_x/03_y": 12.5}


def test_timing_rows_keep_order_and_fill_gaps():
    sections = [("1.1", "First", "chapters/01_x/01_a"), ("1.2", "Second", "chapters/01_x/02_b")]
    pages = {"chapters/01_x/01_a": "**Time.** About 20 minutes to read and run.", "chapters/01_x/02_b": "no line"}
    rows = timing.timing_rows(sections, {"chapters/01_x/01_a": 7.0}, pages)
    assert [r.number for r in rows] == ["1.1", "1.2"]
    assert rows[0].run_seconds == 7.0 and rows[0].reading_minutes == 20
    assert rows[1].run_seconds is None and rows[1].reading_minutes is None


def test_table_has_a_row_per_section_and_a_total():
    rows = [timing.TimingRow("1.1", "First", "a", 7.0, 20), timing.TimingRow("1.2", "Second", "b", None, 15)]
    table = timing._table(rows, lambda doc: f"{doc}.html")
    text = table.astext()
    for part in ("Section", "Run time", "Read and run", "1.1 First", "7 s", "20 min", "\u2013", "All 2 sections", "0 h 35 min"):
        assert part in text
    refs = [n["refuri"] for n in table.findall(lambda n: n.tagname == "reference")]
    assert refs == ["a.html", "b.html"]


def test_instructor_guide_uses_the_timing_table():
    text = (ROOT / "chapters/appendix/instructor_guide.md").read_text()
    assert "```{section-timing}" in text and "nb-exec-table" not in text


class _Title:
    def __init__(self, text):
        self.text = text

    def astext(self):
        return self.text


class _Env:
    """The parts of a Sphinx build environment that the table reads."""

    def __init__(self):
        self.toc_secnumbers = {
            "chapters/01_x/index": {"": (1,)},
            "chapters/01_x/02_b": {"": (1, 2)},
            "chapters/01_x/01_a": {"": (1, 1), "#step": (1, 1, 1)},
            "chapters/01_x/papers": {"": (1, 3)},
            "chapters/appendix/glossary": {},
        }
        self.titles = {d: _Title(f"title of {d.rsplit('/', 1)[1]}") for d in self.toc_secnumbers}
        self.nb_metadata = {"chapters/01_x/01_a": {"exec_data": {"runtime": 3.5}}}


def test_book_sections_are_the_numbered_section_pages_in_order():
    assert timing._book_sections(_Env()) == [
        ("1.1", "title of 01_a", "chapters/01_x/01_a"),
        ("1.2", "title of 02_b", "chapters/01_x/02_b"),
    ]


def test_runtimes_prefer_the_execution_data(tmp_path):
    times = tmp_path / "notebook_times.json"
    times.write_text(json.dumps({"chapters/01_x/01_a.ipynb": 99.0, "chapters/01_x/02_b.ipynb": 8.0}))
    runtimes = timing._runtimes(_Env(), ["chapters/01_x/01_a", "chapters/01_x/02_b", "chapters/01_x/03_c"], times)
    assert runtimes == {"chapters/01_x/01_a": 3.5, "chapters/01_x/02_b": 8.0}
