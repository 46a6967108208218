"""Reads the pickles CIFAR-10's python batches are stored in without trusting them.

A pickle is a program: an ordinary unpickler calls whatever global it names, and even NumPy's
own rebuilders are unsafe on hostile input (``numpy.dtype`` accepts a state that turns raw bytes
into object pointers, ``numpy.ndarray`` accepts a buffer with strides of 0). So this reader
recognizes the few globals a batch refers to and rebuilds its arrays itself: plain integer
dtypes only, from a byte string exactly as long as the shape needs. A hostile or damaged file
can only make :func:`load` raise :class:`BadBatchFile`.

Every file has a budget, checked before its objects are built: its size, and the number of its
opcodes, each of which builds at most one object. A pickle shares repeated objects, so a few
hundred bytes can hold a list of 2**40 entries: messages show what they quote through
:func:`brief`, never in full.
"""

import io
import math
import pickle
import pickletools
import reprlib

import numpy as np

# The dtypes a batch's arrays may have: plain signed and unsigned integers.
INTEGER_DTYPES = frozenset(f"{kind}{size}" for kind in "iu" for size in (1, 2, 4, 8))
MAX_FILE_BYTES = 64 * 2**20  # a full-release batch is 31 MB
MAX_OPCODES = 200_000  # a full-release batch has about 40,000: two for each label and file name
MAX_NDIM = 4
_QUOTE = reprlib.Repr()
_QUOTE.maxlevel, _QUOTE.maxstring, _QUOTE.maxother = 2, 40, 40

# What a pickle that is not a well-formed batch can raise while it is read: its opcodes build
# and call the wrong things, or promise more data (or larger numbers) than the file holds.
DECODING_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    KeyError,
    MemoryError,
    OverflowError,
    RecursionError,
)


class BadBatchFile(ValueError):
    """The file is not a well-formed CIFAR-10 batch pickle; the message says what is wrong."""


def brief(value):
    """A short text for ``value``, however large or deeply shared: a few of its entries, a few levels down."""
    return _QUOTE.repr(value)


class _Ndarray:
    """``numpy.ndarray`` as a pickle names it: only :func:`_reconstruct` may receive it."""

    __slots__ = ()  # one object serves every file: no file may set anything on it

    def __call__(self, *args):
        raise BadBatchFile(
            "it calls numpy.ndarray directly (a buffer can then be read with any strides); a batch never does"
        )


_NDARRAY = _Ndarray()


class _Dtype:
    """Stands in for a ``numpy.dtype`` while the file is read: a plain integer type and byte order."""

    def __init__(self, spec, *_flags):  # NumPy also writes align and copy flags: they change nothing here
        if not isinstance(spec, str) or spec not in INTEGER_DTYPES:
            raise BadBatchFile(
                f"refusing dtype {brief(spec)}: a batch holds only plain integers ({', '.join(sorted(INTEGER_DTYPES))})"
            )
        self.dtype = np.dtype(spec)

    def __setstate__(self, state):
        # (version, byte order, subarray, names, fields, itemsize, alignment, flags): NumPy writes
        # None, None, None, -1, -1, 0 after the byte order for every plain integer type.
        if not (
            isinstance(state, tuple)
            and len(state) == 8
            and state[0] == 3
            and state[1] in ("<", ">", "|", "=")
            and state[2:] == (None, None, None, -1, -1, 0)
        ):
            raise BadBatchFile(
                f"refusing the dtype state {brief(state)}: a plain integer dtype has "
                "(3, byteorder, None, None, None, -1, -1, 0)"
            )
        if state[1] in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(state[1])


class _Array:
    """Stands in for an ndarray while the file is read; :meth:`array` is the real one."""

    def __init__(self):
        self._array = None

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
            raise BadBatchFile("an array's state is not (1, shape, dtype, is_fortran, bytes)")
        _, shape, dtype, fortran, raw = state
        if isinstance(raw, str):  # Python 2 wrote the bytes as a str, which latin1 maps back one to one
            raw = raw.encode("latin1")
        self._array = _array(raw, dtype, shape, "F" if fortran else "C")

    def array(self):
        if self._array is None:
            raise BadBatchFile("an array is declared but its contents never follow")
        return self._array


def _array(raw, dtype, shape, order):
    """A copy of the array ``raw`` holds, after checking every part of it."""
    shape = _shape(shape)
    if not isinstance(dtype, _Dtype):
        raise BadBatchFile(f"an array's dtype is a {type(dtype).__name__}, not a dtype")
    if not isinstance(raw, (bytes, bytearray)):
        raise BadBatchFile(f"an array's contents are a {type(raw).__name__}, not bytes")
    needed = math.prod(shape) * dtype.dtype.itemsize
    if len(raw) != needed:
        raise BadBatchFile(
            f"an array of shape {shape} and dtype {dtype.dtype} needs {needed} bytes, the file holds {len(raw)}"
        )
    return np.frombuffer(raw, dtype.dtype).reshape(shape, order=order).copy()


def _shape(shape):
    if not (
        isinstance(shape, tuple) and len(shape) <= MAX_NDIM and all(type(size) is int and size >= 0 for size in shape)
    ):
        raise BadBatchFile(f"an array's shape {brief(shape)} is not a tuple of at most {MAX_NDIM} sizes")
    return shape


def _reconstruct(cls, shape, typecode):
    # NumPy pickles an array as an empty one of class ndarray, then its state: only the state matters.
    if cls is not _NDARRAY:
        raise BadBatchFile("it rebuilds an array of a class other than numpy.ndarray")
    return _Array()


def _frombuffer(raw, dtype, shape, order):
    # How NumPy pickles an array at protocol 5: the bytes, then how to read them.
    if order not in ("C", "F"):
        raise BadBatchFile(f"an array's order is {brief(order)}, not 'C' or 'F'")
    return _array(raw, dtype, shape, order)


def _latin1(text, encoding):
    # How Python 3 writes bytes at protocol 2: _codecs.encode(text, "latin1"). Nothing else is needed.
    if type(text) is not str or type(encoding) is not str or encoding not in ("latin1", "latin-1"):
        raise BadBatchFile(
            f"it calls _codecs.encode with {type(text).__name__} and {brief(encoding)}; "
            "a batch only encodes text as latin1"
        )
    return text.encode("latin1")


def _no_bytes(*args):
    # How Python 3 writes b"" at protocol 2 (an empty array's contents): bytes(), with no argument.
    if args:
        raise BadBatchFile(f"it calls bytes() with {len(args)} arguments; a batch only makes empty bytes")
    return b""


class _Unpickler(pickle.Unpickler):
    GLOBALS = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy.core.numeric", "_frombuffer"): _frombuffer,
        ("numpy._core.numeric", "_frombuffer"): _frombuffer,
        ("numpy", "ndarray"): _NDARRAY,
        ("numpy", "dtype"): _Dtype,
        ("_codecs", "encode"): _latin1,
        ("__builtin__", "bytes"): _no_bytes,
        ("builtins", "bytes"): _no_bytes,
    }

    def find_class(self, module, name):
        if (module, name) not in self.GLOBALS:
            raise BadBatchFile(f"refusing to load '{module}.{name}': a CIFAR-10 batch never needs it")
        return self.GLOBALS[(module, name)]


def _count_opcodes(content):
    """Raise BadBatchFile unless ``content`` is one pickle of at most MAX_OPCODES opcodes."""
    try:
        for count, _ in enumerate(pickletools.genops(content), 1):
            if count > MAX_OPCODES:
                raise BadBatchFile(f"it holds more than {MAX_OPCODES:,} pickle opcodes, more than any CIFAR-10 batch")
    except DECODING_ERRORS as error:
        raise _corrupt(error) from error


def _corrupt(error):
    return BadBatchFile(f"it is truncated or corrupt ({type(error).__name__}: {str(error)[:200]})")


def _value(key, value):
    if isinstance(value, _Dtype):
        raise BadBatchFile(f"its {brief(key)} is a dtype, not an array")
    return value.array() if isinstance(value, _Array) else value


def load(path):
    """The dict a batch file holds, its arrays rebuilt as NumPy arrays of plain integers.

    Raises OSError when the file cannot be read, BadBatchFile when it is not a batch.
    """
    with open(path, "rb") as f:
        content = f.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise BadBatchFile(f"it is larger than {MAX_FILE_BYTES // 2**20} MB, more than any CIFAR-10 batch")
    _count_opcodes(content)
    try:
        # The release was pickled by Python 2; latin1 is NumPy's documented choice for its arrays.
        loaded = _Unpickler(io.BytesIO(content), encoding="latin1").load()
    except BadBatchFile:
        raise
    except DECODING_ERRORS as error:
        raise _corrupt(error) from error
    if not isinstance(loaded, dict):
        raise BadBatchFile(f"it holds a {type(loaded).__name__}, not a dict")
    return {key: _value(key, value) for key, value in loaded.items()}
