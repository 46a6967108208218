"""One table format for every table the book prints or displays: Markdown, padded so that the
same text reads as a table in a notebook's plain output and renders as one on a page."""

import numpy as np


def _cell(value, digits):
    if isinstance(value, (float, np.floating)):
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple)):
        return " ".join(_cell(item, digits) for item in value)
    return str(value)


def markdown_table(rows, columns=None, digits=3, right=None):
    """``rows`` (dicts) as a Markdown table with ``columns`` (default: the first row's keys).

    Floats are written to ``digits`` significant digits, strings as they are. ``right`` names
    the right-aligned columns; by default those whose values are all numbers.
    """
    if not rows:
        return "(no rows)"
    columns = list(columns or rows[0])
    if right is None:
        right = [
            column for column in columns if all(isinstance(row.get(column), (int, float, np.number)) for row in rows)
        ]
    cells = [[_cell(row.get(column, ""), digits) for column in columns] for row in rows]
    widths = [max(len(column), 3, *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]

    def line(values):
        return (
            "| "
            + " | ".join(
                value.rjust(width) if column in right else value.ljust(width)
                for value, width, column in zip(values, widths, columns)
            )
            + " |"
        )

    rule = (
        "| "
        + " | ".join("-" * (width - 1) + (":" if column in right else "-") for width, column in zip(widths, columns))
        + " |"
    )
    return "\n".join([line(columns), rule] + [line(values) for values in cells])
