"""The full-size stand-in: the official format and row counts, the subset's real rows repeated,
labelled as a stand-in, and never written inside the repository."""

import runpy
from pathlib import Path

import numpy as np
import pytest

from cifar_lessons import data
from cifar_lessons.data import release

STANDIN = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "standin.py"))
SUBSET_DIR = Path(__file__).resolve().parents[2] / "shared" / "cifar-10-subset"


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    if not release.batches_folder(SUBSET_DIR):
        pytest.skip(f"no CIFAR-10 lesson subset at {SUBSET_DIR}")
    out = tmp_path_factory.mktemp("standin")
    return out, STANDIN["build"](out, SUBSET_DIR)


def test_every_batch_has_the_releases_row_count_made_of_the_subsets_rows(standin):
    _, batches = standin
    for name, subset_rows in [(release.TRAIN_BATCHES[2], 1_000), (release.TEST_BATCH, 500)]:
        images, labels = data.read_batch(batches / name)
        original_images, original_labels = data.read_batch(SUBSET_DIR / release.BATCHES_DIRNAME / name)
        assert images.shape == (release.FULL_ROWS_PER_BATCH, *release.IMAGE_SHAPE)
        np.testing.assert_array_equal(images[subset_rows : 2 * subset_rows], original_images)
        np.testing.assert_array_equal(labels[-subset_rows:], original_labels)
    assert data.release_mismatch(batches) is None


def test_the_standin_says_what_it_is(standin):
    out, _ = standin
    assert "STAND-IN" in (out / "README.md").read_text() and "meaningless" in (out / "README.md").read_text()


def test_the_standin_is_not_written_into_the_repository():
    repository = Path(__file__).resolve().parents[1]
    with pytest.raises(SystemExit, match="outside the repository"):
        STANDIN["main"]([str(repository / "standin")])
    assert not (repository / "standin").exists()
