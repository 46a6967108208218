"""The Results page's data: what a chapter records comes back from its stored outputs, as a table
and a plot; the challenge's leaderboard ranks the same records with this run's entries."""

import matplotlib
import matplotlib.text
import nbformat
import numpy as np
import pytest

from cifar_lessons.course import results
from cifar_lessons.course.results import collect
from cifar_lessons.data import DATA_SETTING

MEASURED = {"test_correct": np.arange(500) % 2 == 0, "validation": [0.5, 0.5, 0.5], "budget": "1 epoch"}


@pytest.fixture
def book(tmp_path, monkeypatch):
    """Two chapters' notebooks whose outputs hold what ``record`` displayed (in their order)."""
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, metadata, raw: shown.append((data, metadata)))
    for name, args, correct, validation in [
        ("02_fc.ipynb", ("Two-layer net", 0.486, 12.34, 1_538_000), 243, [0.45, 0.46, 0.44]),
        ("05_cnn.ipynb", ("Three-layer convnet", 0.6, 95.0, 250_000), 300, [0.52, 0.55, 0.53]),
    ]:
        results.record(*args, test_correct=np.arange(500) < correct, validation=validation, budget="4 epochs")
        output = nbformat.v4.new_output("display_data", data=shown[-1][0], metadata=shown[-1][1])
        cell = nbformat.v4.new_code_cell("results.record(...)", outputs=[output])
        nbformat.write(
            nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A chapter"), cell]), tmp_path / name
        )
    return tmp_path


def test_recorded_results_come_back_in_notebook_order(book):
    collected = collect(book)
    assert [
        (r["model"], r["notebook"], r["test_accuracy"], r["train_seconds"], r["parameters"]) for r in collected
    ] == [
        ("Two-layer net", "02_fc.ipynb", 0.486, 12.3, 1_538_000),
        ("Three-layer convnet", "05_cnn.ipynb", 0.6, 95.0, 250_000),
    ]
    assert collected[0]["machine"] == results.machine() and "cores" in results.machine()
    assert {r["whose"] for r in collected} == {"book"}, "a chapter's model is the book's"


def test_table_has_one_row_per_model_with_readable_numbers(book):
    rows = results.table(collect(book)).splitlines()
    assert [cell.strip() for cell in rows[0].split("|")[1:-1]] == [
        "Model",
        "Budget",
        "Validation (seeds)",
        "Test accuracy",
        "Time",
        "Parameters",
    ]
    assert [cell.strip() for cell in rows[2].split("|")[1:-1]] == [
        "Two-layer net (02)",
        "4 epochs",
        "45.0% ± 1.0",
        "48.6% ± 4.4",
        "12 s",
        "1,538,000",
    ]
    assert rows[-1].endswith(f"Every model trained on: {results.machine()}."), (
        "one machine: named once, under the table"
    )
    assert rows[-1].startswith(
        "Validation: the mean over the seeds ± their standard deviation. Test accuracy: one model, ± its 95% binomial"
    ), "the two columns' ± are named"
    assert results.table([]) == "No chapter has recorded a result yet."


def test_models_from_different_machines_say_where_each_trained():
    rows = [
        {
            "model": m,
            "notebook": "a.ipynb",
            "test_accuracy": 0.5,
            "train_seconds": 1.0,
            "parameters": 10,
            "machine": machine,
            "whose": "book",
            "data": "lesson",
        }
        for m, machine in (("m1", "GPU X"), ("m2", "CPU Y"))
    ]
    lines = results.table(rows).splitlines()
    assert [line.split("|")[-2].strip() for line in lines[:4]] == ["Trained on", "----------", "GPU X", "CPU Y"]
    assert lines[-1] == "Test accuracy: one model, ± its 95% binomial error.", "no seeds: no validation to name"


def test_plot_draws_one_labelled_point_per_model_with_its_error_bar(book):
    fig = results.plot(collect(book))
    ax = fig.axes[0]
    assert len(ax.containers) == 2 and ax.get_xscale() == "log"
    assert [text.get_text() for text in ax.texts] == [
        "02  Two-layer net (1,538,000 parameters)",
        "05  Three-layer convnet (250,000 parameters)",
    ]
    low, high = ax.containers[0].lines[2][0].get_segments()[0][:, 1]
    assert (high - low) / 2 == pytest.approx(100 * results.binomial_error(0.486, 500))


def test_labels_of_models_with_the_same_time_and_accuracy_do_not_overlap():
    crowded = [
        dict(entry(f"Model {k}", 0.47 + 0.002 * k, notebook=f"0{k}_x.ipynb"), train_seconds=10.0 + k) for k in range(6)
    ]
    fig = results.plot(crowded)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    # the labels' own boxes, without their leader lines
    boxes = [matplotlib.text.Text.get_window_extent(label, renderer) for label in fig.axes[0].texts]
    assert len(boxes) == 6
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    figure_box = fig.bbox
    assert all(figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1 for box in boxes), "labels run off the figure"
    matplotlib.pyplot.close(fig)


def test_times_within_one_decade_still_get_labelled_ticks():
    within_a_decade = [
        {"model": name, "test_accuracy": 0.5, "train_seconds": seconds, "parameters": 10, "data": "lesson"}
        for name, seconds in (("a", 20.0), ("b", 60.0))
    ]
    ax = results.plot(within_a_decade).axes[0]
    ax.figure.canvas.draw()
    labelled = [
        tick.get_text()
        for tick in ax.get_xticklabels()
        if tick.get_text() and ax.get_xlim()[0] <= tick.get_position()[0] <= ax.get_xlim()[1]
    ]
    assert len(labelled) >= 2, f"the time axis needs labelled ticks, got {labelled}"


def entry(model, test_accuracy, whose="book", notebook="08_challenge.ipynb"):
    return {
        "model": model,
        "test_accuracy": test_accuracy,
        "train_seconds": 10.0,
        "parameters": 1000,
        "machine": "CPU Y",
        "whose": whose,
        "data": "lesson",
        "notebook": notebook,
    }


def leaderboard_rows(markdown):
    """The leaderboard's table as (rank, model, whose, notebook, test accuracy) tuples, header first."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    return [tuple(cell.strip() for cell in line.split("|")[1:6]) for line in lines[:1] + lines[2:]]


def test_record_says_whose_model_it_is_and_collect_keeps_either_kind(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, metadata, raw: shown.append(metadata))
    book = results.record("Baseline", 0.5, 6.0, 100, **MEASURED)
    yours = results.record("Your entry", 0.6, 14.0, 100, whose="yours")
    assert (book["whose"], yours["whose"]) == ("book", "yours")
    outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "."}, metadata=m) for m in shown]
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("", outputs=outputs)]), tmp_path / "n.ipynb"
    )
    assert [r["model"] for r in collect(tmp_path)] == ["Baseline", "Your entry"]
    assert [r["model"] for r in collect(tmp_path, whose="book")] == ["Baseline"]
    assert [r["model"] for r in collect(tmp_path, whose="yours")] == ["Your entry"]
    with pytest.raises(ValueError, match="whose must be"):
        results.record("m", 0.5, 1.0, 10, whose="mine")
    with pytest.raises(ValueError, match="whose must be"):
        collect(tmp_path, whose="mine")


def test_leaderboard_takes_this_notebooks_entries_from_this_run_and_the_others_from_their_outputs():
    saved = [
        entry("Fast CNN", 0.69, notebook="07_fast_cnn.ipynb"),
        entry("Baseline", 0.50),
        entry("Your entry, last run", 0.61, "yours"),
    ]
    # record() returns no notebook: the leaderboard names the one running
    session = [{k: v for k, v in r.items() if k != "notebook"} for r in (entry("Baseline", 0.5), entry("Yours", 0.66))]
    board = results.leaderboard(saved, session, "08_challenge.ipynb")
    assert [(r["model"], r["notebook"]) for r in board] == [
        ("Fast CNN", "07_fast_cnn.ipynb"),
        ("Baseline", "08_challenge.ipynb"),
        ("Yours", "08_challenge.ipynb"),
    ]


def test_leaderboard_ranks_both_kinds_of_entry_by_test_accuracy():
    board = [
        entry("Two-layer net", 0.47, notebook="02_fc.ipynb"),
        entry("Baseline", 0.50),
        entry("Your entry", 0.61, "yours"),
        entry("Fast CNN", 0.69, notebook="07_fast_cnn.ipynb"),
    ]
    assert leaderboard_rows(results.table(board, ranked=True)) == [
        ("Rank", "Model", "Whose", "Notebook", "Test accuracy"),
        ("1", "Fast CNN", "book", "07", "69.0% ± 4.1"),
        ("2", "Your entry", "yours", "08", "61.0% ± 4.3"),
        ("3", "Baseline", "book", "08", "50.0% ± 4.4"),
        ("4", "Two-layer net", "book", "02", "47.0% ± 4.4"),
    ]


def test_tied_entries_share_a_rank_and_keep_their_order():
    board = [entry("a", 0.5), entry("b", 0.6, "yours"), entry("c", 0.6), entry("d", 0.4)]
    assert [row[:2] for row in leaderboard_rows(results.table(board, ranked=True))[1:]] == [
        ("1", "b"),
        ("1", "c"),
        ("3", "a"),
        ("4", "d"),
    ]
    assert results.ranks([0.7, 0.6, 0.6, 0.5]) == [1, 2, 2, 4]


def test_an_empty_leaderboard_says_so():
    assert results.leaderboard([], [], "08_challenge.ipynb") == []
    assert results.table([], ranked=True) == "No model has been scored on the test split yet."


def test_each_record_says_which_data_and_rankings_never_mix_them(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda data, metadata, raw: None)
    monkeypatch.delenv(DATA_SETTING, raising=False)
    assert results.record("m", 0.5, 1.0, 10, **MEASURED)["data"] == "lesson"
    monkeypatch.setenv(DATA_SETTING, "full")
    assert results.record("m", 0.5, 1.0, 10, **MEASURED)["data"] == "full"
    assert results.record("m", 0.5, 1.0, 10, data="lesson", **MEASURED)["data"] == "lesson"
    with pytest.raises(ValueError, match="data must be one of"):
        results.record("m", 0.5, 1.0, 10, data="all", **MEASURED)
    old, lesson, full = entry("old", 0.4), dict(entry("a", 0.5), data="lesson"), dict(entry("b", 0.9), data="full")
    assert results.by_data([full, old, lesson]) == {"lesson": [old, lesson], "full": [full]}
    with pytest.raises(ValueError, match="different data.*each subset's on its own"):
        results.table([lesson, full], ranked=True)
    assert "90.0%" in results.table([full])


def test_results_of_each_data_get_their_own_table_under_a_heading():
    lesson, full = dict(entry("a", 0.5), data="lesson"), dict(entry("b", 0.9), data="full")
    text = results.tables_by_data([full, lesson], ranked=True)
    assert text.index("#### The lesson subset: 4,500 training, 500 validation and 500 test images") < text.index(
        "#### All of CIFAR-10: 49,000 training, 1,000 validation and 10,000 test images"
    )
    assert text.count("| Rank") == 2
    assert results.tables_by_data([]) == "No chapter has recorded a result yet."
    summarized = results.tables_by_data([lesson], summarized=True)
    assert summarized.index(results.takeaway([lesson])) < summarized.index("| Model")


def test_a_book_model_is_recorded_with_its_seeds_budget_and_test_images(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda data, metadata, raw: None)
    with pytest.raises(ValueError, match="test_correct .* validation .* budget"):
        results.record("m", 0.5, 1.0, 10)
    with pytest.raises(ValueError, match="one accuracy per seed"):
        results.record("m", None, 1.0, 10, **dict(MEASURED, validation=[0.5]))
    with pytest.raises(ValueError, match="one bool per test image"):
        results.record("m", None, 1.0, 10, **dict(MEASURED, test_correct=np.ones(5)))
    with pytest.raises(ValueError, match="is not the share"):
        results.record("m", 0.9, 1.0, 10, **MEASURED)
    recorded = results.record("m", None, 1.0, 10, **MEASURED)
    assert recorded["test_accuracy"] == 0.5 and recorded["test_correct"][:4] == "1010"
    assert results.correct_bits(recorded).tolist() == MEASURED["test_correct"].tolist()


def test_binomial_error_is_the_normal_approximation_at_95_percent():
    assert results.binomial_error(0.5, 500) == pytest.approx(0.0438, abs=1e-4)
    assert results.binomial_error(0.7, 10_000) == pytest.approx(0.00898, abs=1e-5)
    assert results.resolvable_difference(500) == pytest.approx(0.062, abs=1e-3)
    with pytest.raises(ValueError, match="at least one image"):
        results.binomial_error(0.5, 0)


def scored(model, correct, validation):
    bits = "".join("1" if right else "0" for right in correct)
    return dict(entry(model, np.mean(correct)), test_correct=bits, validation=validation)


def test_two_models_are_compared_image_by_image_on_test():
    rng = np.random.default_rng(0)
    first = rng.random(500) < 0.5
    # the second model gets 40 more images right and none fewer: clear, though the two
    # binomial error bars (about 4.4 points each) overlap
    second = first | (np.cumsum(~first) <= 40) & ~first
    difference = results.test_difference(scored("b", second, [0.5] * 3), scored("a", first, [0.5] * 3))
    assert difference.mean == pytest.approx(0.08) and difference.verdict == "clear"
    # swapping 20 right answers for 20 others is no difference at all
    swapped = first.copy()
    swapped[np.flatnonzero(first)[:20]] = False
    swapped[np.flatnonzero(~first)[:20]] = True
    assert results.test_difference(scored("c", swapped, [0.5] * 3), scored("a", first, [0.5] * 3)).verdict == (
        "within the noise"
    )
    with pytest.raises(ValueError, match="different numbers of images"):
        results.test_difference(scored("d", first[:100], [0.5] * 3), scored("a", first, [0.5] * 3))


def test_the_arc_compares_each_book_model_with_the_one_before():
    correct = np.arange(500) < 200
    rows = [
        scored("plain", correct, [0.40, 0.41, 0.42]),
        scored("wider", correct | (np.arange(500) >= 460), [0.46, 0.47, 0.48]),
        scored("same", correct | (np.arange(500) >= 460), [0.46, 0.48, 0.47]),
        dict(scored("entry", correct, [0.5] * 3), whose="yours"),
    ]
    table = results.arc(rows).splitlines()
    assert len(table) == 4, "two comparisons: the entry of a learner is not part of the book's arc"
    cells = [[cell.strip() for cell in line.split("|")[1:-1]] for line in table]
    assert cells[0] == ["Model (against the one before it)", "Validation", "on validation", "Test", "on test"]
    assert cells[2][0] == "wider" and cells[2][2] == "clear" and cells[2][3].startswith("+8.0 [")
    assert cells[3][2] == "within the noise" and cells[3][4] == "within the noise"
    assert "nothing to compare" in results.arc(rows[:1])


def test_the_takeaway_names_the_best_model_and_only_the_steps_the_seeds_resolve():
    correct = np.arange(500) < 200
    rows = [
        scored("plain", correct, [0.40, 0.41, 0.42]),
        scored("wider", correct | (np.arange(500) >= 440), [0.46, 0.47, 0.48]),
        scored("same", correct | (np.arange(500) >= 460), [0.46, 0.48, 0.47]),
        scored("worse", correct, [0.40, 0.41, 0.42]),
    ]
    text = results.takeaway(rows)
    assert text == (
        "wider (notebook 08) scores best on test, 52.0% ± 4.4. On validation, over the seeds: wider is clearly "
        "ahead of plain; same is not told apart from wider; worse is clearly behind same."
    )
    assert results.takeaway([]) == "No model has been recorded yet."


def test_the_chapters_with_a_final_model_and_no_record_are_named():
    assert results.chapters_not_recorded([]) == [
        "02_fully_connected.ipynb",
        "04_dropout.ipynb",
        "05_convolutional_networks.ipynb",
        "06_pytorch.ipynb",
        "07_fast_cnn.ipynb",
    ]
    assert results.chapters_not_recorded(
        [{"notebook": "04_dropout.ipynb"}, {"notebook": "02_fully_connected.ipynb"}]
    ) == [
        "05_convolutional_networks.ipynb",
        "06_pytorch.ipynb",
        "07_fast_cnn.ipynb",
    ]
