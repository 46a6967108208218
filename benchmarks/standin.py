"""Build a full-size STAND-IN for CIFAR-10 from the lesson subset, to size a machine for the full data.

    python benchmarks/standin.py OUT_DIR [--source CIFAR10_DIR]

OUT_DIR/cifar-10-batches-py gets five training batches of 10,000 rows and a test batch of
10,000 rows in the official python batch format, as the full release has, each made by
repeating the lesson subset's rows of that batch (1,000, or 500 for the test batch). The
pixels are real, but only 5,500 distinct images: accuracy on it means nothing. It exists so
that ``CIFAR_LESSONS_DATA=full`` runs every chapter at full size (time, memory) on a machine
that cannot download the release; its README says so.
"""

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

from cifar_lessons import data
from cifar_lessons.atomic_file import open_atomically
from cifar_lessons.data import release

README = """# A full-size STAND-IN for CIFAR-10: not the dataset

Built by `benchmarks/standin.py` from the lesson subset in {source}: every batch holds as many
rows as the official release's (5 x 10,000 training, 10,000 test), made by repeating the subset's
rows. Use it to measure time and memory at full size (`CIFAR_LESSONS_DATA=full`). Accuracies
measured on it are meaningless: it holds only 5,500 distinct images, and its test rows repeat.
"""


def build(out_dir, source=None):
    """Write the stand-in into ``out_dir``; return its ``cifar-10-batches-py`` folder."""
    source = data.find_cifar10(source, download=False)
    batches = Path(out_dir) / release.BATCHES_DIRNAME
    batches.mkdir(parents=True, exist_ok=True)
    for name in (*release.TRAIN_BATCHES, release.TEST_BATCH):
        images, labels = data.read_batch(source / name)
        repeats = -(-release.FULL_ROWS_PER_BATCH // len(labels))
        rows = np.tile(images.reshape(len(labels), -1), (repeats, 1))[: release.FULL_ROWS_PER_BATCH]
        batch = {
            "batch_label": f"stand-in for {name}, repeating the lesson subset's rows",
            "labels": np.tile(labels, repeats)[: release.FULL_ROWS_PER_BATCH].tolist(),
            "data": np.ascontiguousarray(rows, dtype=np.uint8),
        }
        with open_atomically(batches / name) as f:
            pickle.dump(batch, f, protocol=2)
    (Path(out_dir) / "README.md").write_text(README.format(source=source), encoding="utf-8")
    return batches


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--source", help="the lesson subset's folder (default: as the book finds CIFAR-10)")
    args = parser.parse_args(argv)
    repository = Path(__file__).resolve().parents[1]
    if args.out_dir.resolve().is_relative_to(repository):
        sys.exit(f"{args.out_dir}: build the stand-in outside the repository ({repository}): it is 180 MB of data")
    batches = build(args.out_dir, args.source)
    print(f"stand-in written to {batches}: use it with CIFAR10_DIR={args.out_dir} CIFAR_LESSONS_DATA=full")


if __name__ == "__main__":
    main()
