"""The accuracy bars: one set per data, the chosen data's by default, every model in both."""

import pytest

from cifar_lessons import targets
from cifar_lessons.data import DATA_SETTING


def test_every_model_has_a_bar_on_either_data_and_the_full_bars_are_the_published_ones():
    assert set(targets.TEST_ACCURACY["lesson"]) == set(targets.TEST_ACCURACY["full"])
    assert targets.accuracy_bar("fully connected net", "full") == 0.50
    assert targets.accuracy_bar("PyTorch convnet", "full") == 0.70
    assert targets.accuracy_bar("fast CNN", "full") == 0.94
    for model, bar in targets.TEST_ACCURACY["lesson"].items():
        assert targets.TEST_ACCURACY["full"][model] >= bar, f"{model}: more data, no lower bar"


def test_the_bar_follows_the_chosen_data(monkeypatch):
    monkeypatch.delenv(DATA_SETTING, raising=False)
    assert targets.accuracy_bar("fast CNN") == 0.65
    monkeypatch.setenv(DATA_SETTING, "full")
    assert targets.accuracy_bar("fast CNN") == 0.94


def test_an_unknown_model_or_data_names_the_choices():
    with pytest.raises(ValueError, match="no accuracy target for 'resnet'; the targets are for fully connected net"):
        targets.accuracy_bar("resnet", "lesson")
    with pytest.raises(ValueError, match="subset must be one of"):
        targets.accuracy_bar("fast CNN", "huge")
