"""The one table format: Markdown whose plain text lines up as a table too."""

from cifar_lessons.course.tables import markdown_table


def test_numbers_go_right_with_their_digits_text_goes_left_and_columns_line_up():
    rows = [
        {"learning_rate": 0.001, "name": "a", "val_acc": 0.41234},
        {"learning_rate": 0.01, "name": "bb", "val_acc": 0.3},
    ]
    lines = markdown_table(rows, columns=["name", "learning_rate", "val_acc"]).splitlines()
    assert lines == [
        "| name | learning_rate | val_acc |",
        "| ---- | ------------: | ------: |",
        "| a    |         0.001 |   0.412 |",
        "| bb   |          0.01 |     0.3 |",
    ]
    assert len({len(line) for line in lines}) == 1


def test_chosen_right_aligned_columns_and_an_empty_table():
    lines = markdown_table([{"model": "m", "accuracy": "48.6%"}], right=["accuracy"]).splitlines()
    assert lines[1] == "| ----- | -------: |" and lines[2] == "| m     |    48.6% |"
    assert markdown_table([]) == "(no rows)"
