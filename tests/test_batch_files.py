"""Hostile and damaged batch files: each loads as a valid batch or is refused with CIFAR10Error.

Files are read in a separate Python process, so that a file which crashes the interpreter
fails its test instead of ending the test run.
"""

import codecs
import pickle
import pickletools

import numpy as np
import pytest
from file_reader import Reader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cifar_lessons import data
from cifar_lessons.data import safe_pickle

BATCH_ANSWER = """
import numpy as np
from cifar_lessons import data


def answer(path):
    try:
        images, labels = data.read_batch(path)
    except data.CIFAR10Error as error:
        return f"refused: {error}"
    except BaseException as error:
        return f"raised {type(error).__name__}: {error}"
    valid = (images.dtype == np.uint8 and images.shape[1:] == (3, 32, 32) and labels.dtype == np.int64
             and labels.shape == images.shape[:1] and np.isin(labels, range(10)).all())
    return "loaded" if valid else f"loaded a wrong batch: {images.dtype} {images.shape}, {labels.dtype} {labels.shape}"
"""


@pytest.fixture(scope="module")
def reader():
    process = Reader(BATCH_ANSWER, seconds=10)  # a real batch reads in well under a second
    yield process
    process.close()


class Reduce:
    """Pickles as ``func(*args)``, then ``__setstate__(state)`` if a state is given: the two steps
    every object of a batch pickle is rebuilt with, each part chosen by the test."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else (self.func, self.args, self.state)


PLAIN_DTYPE_STATE = (3, "|", None, None, None, -1, -1, 0)  # as NumPy writes it for uint8


def crafted_array(shape, raw, spec="u1", dtype_state=PLAIN_DTYPE_STATE):
    """An array as NumPy pickles it: an empty ndarray, then (version, shape, dtype, is_fortran, bytes)."""
    dtype = Reduce(np.dtype, (spec, False, True), dtype_state)
    return Reduce(np._core.multiarray._reconstruct, (np.ndarray, (0,), b"b"), (1, shape, dtype, False, raw))


def images(rows):
    return (np.arange(rows * 3072) % 251).astype(np.uint8).reshape(rows, 3072)


def write(folder, batch, name="data_batch_1"):
    path = folder / name
    path.write_bytes(pickle.dumps(batch, protocol=2))
    return path


# ---------------------------------------------------------------------------------------------
# Crafted files


@pytest.mark.parametrize("key", ["data", "labels"])
def test_an_object_dtype_is_refused_before_numpy_sees_it(tmp_path, reader, key):
    # An object dtype whose state claims it holds no references: NumPy used to copy the bytes in
    # as object pointers, and Python crashed once the array was touched or freed.
    pointers = crafted_array((2,), b"\x41" * 16, spec="O8", dtype_state=(3, "|", None, None, None, -1, -1, 0))
    batch = {"data": images(2), "labels": [0, 1], key: pointers}
    answer = reader.read(write(tmp_path, batch))
    assert answer.startswith("refused") and "refusing dtype 'O8'" in answer, answer


@pytest.mark.parametrize(
    "images, problem",
    [
        # numpy.ndarray called directly reads a 3 KB buffer with a row stride of 0 as 10^8 images
        (Reduce(np.ndarray, ((10**8, 3072), "u1", bytes(3072), 0, (0, 1))), "calls numpy.ndarray directly"),
        (crafted_array((10**10, 3072), bytes(3072)), r"needs 30720000000000 bytes, the file holds 3072"),
    ],
    ids=["zero strides", "short contents"],
)
def test_an_array_claiming_more_than_the_file_holds_is_refused(tmp_path, images, problem):
    labels = Reduce(np.ndarray, ((10**8,), "i8", bytes(8), 0, (0,)))
    with pytest.raises(data.CIFAR10Error, match=f"data_batch_1 is not a CIFAR-10 batch: .*{problem}"):
        data.read_batch(write(tmp_path, {"data": images, "labels": labels}))


def test_labels_sharing_one_long_list_are_refused_before_any_is_converted(tmp_path):
    # 300 references to one list of 100,000 numbers: a small file, and 3 * 10^7 values to convert
    shared = list(range(100_000))
    path = write(tmp_path, {"data": images(300), "labels": [shared] * 300})
    with pytest.raises(data.CIFAR10Error, match=r"labels outside 0\.\.9: found \[0, 1, 2, 3, 4, 5, \.\.\.\] \(list\)"):
        data.read_batch(path)


@pytest.mark.parametrize("length", [2**62, 2**64 - 1])
def test_a_length_prefix_larger_than_memory_is_named(tmp_path, length):
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x04\x8e" + length.to_bytes(8, "little") + b"abc")  # BINBYTES8: length, then bytes
    with pytest.raises(
        data.CIFAR10Error, match=f"data_batch_1 is not a CIFAR-10 batch: it is truncated or corrupt .*{length}"
    ):
        data.read_batch(path)


def shared_nest(depth=40):
    """A list of 2**depth leaves built from ``depth`` lists, each holding the one before twice: a few
    hundred bytes as a pickle, which shares repeated objects, and far more than memory as text."""
    nest = []
    for _ in range(depth):
        nest = [nest, nest]
    return nest


@pytest.mark.parametrize(
    "batch",
    [
        {"data": Reduce(np.dtype, (shared_nest(), False, True)), "labels": []},
        {"data": crafted_array((1, 3072), b"", dtype_state=shared_nest()), "labels": [0]},
        {"data": crafted_array(shared_nest(), b""), "labels": [0]},
        {"data": Reduce(codecs.encode, ("text", shared_nest())), "labels": []},
    ],
    ids=["dtype spec", "dtype state", "array shape", "encoding"],
)
def test_a_structure_the_file_shares_is_never_written_out_in_a_message(tmp_path, reader, batch):
    path = write(tmp_path, batch)
    assert path.stat().st_size < 600
    answer = reader.read(path)
    assert answer.startswith("refused: ") and len(answer) < 1000, answer[:1000]


def test_a_dtype_stored_where_the_images_belong_is_named_as_a_dtype(tmp_path):
    path = write(tmp_path, {"data": Reduce(np.dtype, ("u1", False, True), PLAIN_DTYPE_STATE), "labels": []})
    with pytest.raises(data.CIFAR10Error, match="'data' is a dtype, not an array") as caught:
        data.read_batch(path)
    assert "got uint8" not in str(caught.value)


def test_a_file_of_more_objects_than_a_batch_holds_is_refused_before_they_are_built(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x02" + b"]" * 10**6 + b".")  # a million empty lists, one a byte
    with pytest.raises(data.CIFAR10Error, match="more than [0-9,]+ pickle opcodes, more than any CIFAR-10 batch"):
        data.read_batch(path)


@pytest.mark.parametrize(
    "error", [PermissionError(13, "Permission denied"), IsADirectoryError(21, "Is a directory")], ids=str
)
def test_a_file_that_cannot_be_opened_is_named_with_the_fix(tmp_path, monkeypatch, error):
    def refusing_open(*args, **kwargs):
        raise error

    path = write(tmp_path, {"data": images(2), "labels": [0, 1]})
    monkeypatch.setattr(safe_pickle, "open", refusing_open, raising=False)
    with pytest.raises(data.CIFAR10Error, match=f"cannot read .*data_batch_1 \\({error.strerror}\\).*readable"):
        data.read_batch(path)


# ---------------------------------------------------------------------------------------------
# Fuzzing: valid files, mutated


def _py2_style_batch():
    # Python 2 wrote an array's bytes as a str: the release's batches are stored that way.
    raw = images(2).tobytes().decode("latin1")
    return pickle.dumps({"labels": [3, 7], "data": crafted_array((2, 3072), raw)}, protocol=2)


VALID = [
    pickle.dumps({"batch_label": "fuzz", "labels": labels, "data": images(len(labels))}, protocol=protocol)
    for labels in ([3, 7], np.array([3, 7]), [], np.array([], np.int64))
    for protocol in (2, 4, 5)
] + [_py2_style_batch()]
OPCODES = sorted({op.code.encode("latin1") for op in pickletools.opcodes})
SHARED_NEST = pickle.dumps(shared_nest(), protocol=2)[2:-1]  # the opcodes alone, without PROTO and STOP


def _opcode_starts(payload):
    return [position for _, _, position in pickletools.genops(payload)]


def _structure(payload):
    """Positions of every opcode and of the first bytes of its argument (lengths, numbers), not image bytes."""
    starts = _opcode_starts(payload)
    return sorted(
        {p for start, end in zip(starts, starts[1:] + [len(payload)]) for p in range(start, min(end, start + 10))}
    )


@st.composite
def mutated_batches(draw):
    payload = bytearray(draw(st.sampled_from(VALID)))
    mutation = draw(st.sampled_from(["truncate", "flip bits", "swap opcode", "insert"]))
    if mutation == "truncate":
        return bytes(payload[: draw(st.integers(0, len(payload) - 1))])
    if mutation == "insert":  # random bytes, or opcodes that build a shared structure, at an opcode
        position = draw(st.sampled_from(_opcode_starts(bytes(payload))))
        inserted = draw(st.one_of(st.binary(min_size=1, max_size=16), st.just(SHARED_NEST)))
        return bytes(payload[:position] + inserted + payload[position:])
    if mutation == "flip bits":
        for position in draw(st.lists(st.sampled_from(_structure(bytes(payload))), min_size=1, max_size=4)):
            payload[position] ^= 1 << draw(st.integers(0, 7))
        return bytes(payload)
    position = draw(st.sampled_from(_opcode_starts(bytes(payload))))
    payload[position : position + 1] = draw(st.sampled_from(OPCODES))
    return bytes(payload)


def test_the_unmutated_files_load(tmp_path, reader):
    for payload in VALID:
        (tmp_path / "data_batch_1").write_bytes(payload)
        assert reader.read(tmp_path / "data_batch_1") == "loaded"


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=mutated_batches())
def test_mutated_files_load_or_are_refused_never_anything_else(tmp_path, reader, payload):
    path = tmp_path / "data_batch_1"
    path.write_bytes(payload)
    answer = reader.read(path)
    assert answer == "loaded" or answer.startswith("refused: "), answer
