from cifar_lessons.results import markdown_table


def test_markdown_table_sorts_best_first_and_formats():
    results = [{"model": "a", "chapter": 1, "test_accuracy": 0.4, "train_seconds": 12.3, "parameters": 1000},
               {"model": "b", "chapter": 4, "test_accuracy": 0.712, "train_seconds": 99.6, "parameters": 12345}]
    lines = markdown_table(results).splitlines()
    assert lines[2] == "| b | 4 | 71.2% | 100 s | 12,345 |"
    assert lines[3] == "| a | 1 | 40.0% | 12 s | 1,000 |"
    assert len(lines) == 4
