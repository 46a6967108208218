"""The challenge's rule in code: the test split scores each model once, and the record says whose it is."""

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from test_fast_cnn_train import TINY, fake_tensors  # noqa: E402

from cifar_lessons.course import submissions  # noqa: E402
from cifar_lessons.torch.fastnet import build_fastnet  # noqa: E402
from cifar_lessons.torch.train import TrainResult  # noqa: E402


@pytest.fixture
def session(monkeypatch):
    """A fresh session (nothing scored yet) whose records are displayed nowhere."""
    monkeypatch.setattr(submissions, "_scored", {})
    monkeypatch.setattr("IPython.display.display", lambda data, metadata, raw: None)
    tensors = fake_tensors(n=8)
    net = build_fastnet(TINY, tensors["X_train"])
    return TrainResult(model=net, raw_model=net, seconds=1.5), tensors


def test_a_model_is_scored_once_and_a_second_submission_is_refused(session):
    trained, tensors = session
    book = {"whose": "book", "validation": [0.4, 0.5, 0.45], "budget": "1 epoch of 8 images"}
    first = submissions.submit("Baseline", trained, tensors, TINY, **book)
    assert (first["model"], first["whose"], first["train_seconds"]) == ("Baseline", "book", 1.5)
    assert 0 <= first["test_accuracy"] <= 1 and first["parameters"] > 0
    assert len(first["test_correct"]) == len(tensors["y_test"]) and first["budget"] == book["budget"]
    with pytest.raises(
        submissions.AlreadyScoredError, match=r"'Baseline' was already scored on the test split"
    ) as error:
        submissions.submit("Baseline", trained, tensors, TINY, **book)
    assert "make every choice on validation" in str(error.value) and "new name" in str(error.value)
    assert error.value._render_traceback_() == [f"AlreadyScoredError: {error.value}"]
    assert submissions.submissions() == [first]


def test_a_name_differing_only_in_case_or_spaces_names_the_same_model(session):
    trained, tensors = session
    assert submissions.submit(" My  entry", trained, tensors, TINY)["model"] == "My entry"
    for again in ("my entry ", "MY ENTRY", "My\tentry"):
        with pytest.raises(submissions.AlreadyScoredError, match="'My entry' was already scored"):
            submissions.submit(again, trained, tensors, TINY)
    assert len(submissions.submissions()) == 1


def test_every_new_name_is_scored_and_listed_in_order(session):
    trained, tensors = session
    names = ["Baseline", "Your entry", "Your entry, wider"]
    for name in names:
        submissions.submit(name, trained, tensors, TINY)
    assert [(r["model"], r["whose"]) for r in submissions.submissions()] == [(name, "yours") for name in names]


def test_a_submission_that_fails_to_score_does_not_use_up_its_name(session):
    trained, tensors = session
    with pytest.raises(KeyError):
        submissions.submit("Your entry", trained, {"X_val": tensors["X_val"]}, TINY)
    assert submissions.submit("Your entry", trained, tensors, TINY)["model"] == "Your entry"


def test_a_book_model_without_its_validation_seeds_is_refused(session):
    trained, tensors = session
    with pytest.raises(ValueError, match="a book model is recorded with"):
        submissions.submit("Baseline", trained, tensors, TINY, whose="book")
    assert submissions.submissions() == []


def test_the_test_time_views_are_the_ones_given(session):
    trained, tensors = session
    calls = []

    def counting(model, images, tta="flip_shift", shift_pixels=1):
        calls.append(tta)
        return model(images)

    submissions.submit("Your entry", trained, tensors, TINY, tta_scores=counting)
    assert calls and set(calls) == {TINY.tta}


def test_changes_names_the_fields_a_recipe_changed():
    assert submissions.changes(dataclasses.replace(TINY, epochs=8, lr=0.1), TINY) == {"epochs": 8, "lr": 0.1}
    assert submissions.changes(TINY, TINY) == {}
