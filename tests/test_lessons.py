"""The registry of lessons is the one place that ties notebooks, checks, references and accuracy bars."""

import importlib
import re
from pathlib import Path

import pytest

from cifar_lessons import lessons
from cifar_lessons.data.subset import DATA_SETTING

ROOT = Path(__file__).resolve().parents[1]


def test_every_notebook_is_a_lesson_and_every_lesson_a_notebook_in_the_table_of_contents():
    notebooks = {path.stem for path in (ROOT / "book").glob("[0-9]*.ipynb")}
    assert notebooks == {row.notebook for row in lessons.LESSONS}
    chapters = [Path(entry).name for entry in re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text())]
    assert [name for name in chapters if name[0].isdigit()] == [row.notebook for row in lessons.LESSONS]


@pytest.mark.parametrize("row", lessons.LESSONS, ids=lambda row: row.key)
def test_a_lesson_with_references_has_checks_and_its_references_exist(row):
    for module in row.references:
        importlib.import_module(module)
    if row.references:
        assert (ROOT / "cifar_lessons" / "checks" / f"{row.key}.py").is_file(), f"{row.checks} is missing"


def test_a_lesson_is_found_by_key_or_notebook_and_a_wrong_name_is_refused():
    assert lessons.lesson("backprop") is lessons.lesson("01_backprop")
    with pytest.raises(ValueError, match="no lesson is called 'backprops': the lessons are cifar10, backprop"):
        lessons.lesson("backprops")


def test_full_data_bars_are_the_published_targets_and_never_below_the_lesson_bars():
    assert lessons.accuracy_bar("fully_connected", "full") == 0.50
    assert lessons.accuracy_bar("pytorch", "full") == 0.70
    assert lessons.accuracy_bar("fast_cnn", "full") == 0.94
    for row in lessons.LESSONS:
        if row.bars:
            assert set(row.bars) == {"lesson", "full"} and row.bars["full"] >= row.bars["lesson"], row.key


def test_the_chosen_data_picks_the_bar(monkeypatch):
    monkeypatch.delenv(DATA_SETTING, raising=False)
    assert lessons.accuracy_bar("fast_cnn") == 0.65
    monkeypatch.setenv(DATA_SETTING, "full")
    assert lessons.accuracy_bar("fast_cnn") == 0.94


def test_a_lesson_without_a_bar_or_an_unknown_data_is_an_error():
    with pytest.raises(ValueError, match="lesson 'backprop' sets no accuracy bar; these do: fully_connected"):
        lessons.accuracy_bar("backprop", "lesson")
    with pytest.raises(ValueError, match="subset must be one of"):
        lessons.accuracy_bar("fast_cnn", "huge")


def test_the_lesson_bars_rise_with_the_models():
    bars = [row.bars["lesson"] for row in lessons.LESSONS if row.bars]
    assert bars == sorted(bars), "a later chapter's model must be held to at least an earlier one's bar"
