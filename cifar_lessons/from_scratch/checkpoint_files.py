"""What every checkpoint reader shares: its error, and the budget of the zip archive a checkpoint is.

A Solver's checkpoint (an ``.npz``) and a PyTorch one are both zip archives. Before either is
read, its size on disk and its central directory are checked: at most MAX_MEMBERS members and at
most MAX_BYTES once unpacked (a compressed member can unpack to a thousand times its size), so
that reading it takes no more memory, nor time, than that.
"""

import os
import zipfile

MAX_BYTES = 512 * 2**20  # the book's largest model, chapter 05's convnet, saves 32 MB of parameters
MAX_MEMBERS = 10_000


class CheckpointError(ValueError):
    """A checkpoint cannot be read or written; the message names the file and the fix."""


def checked_zip(path, what):
    """The open :class:`zipfile.ZipFile` of ``path`` (the caller closes it), after checking its budget.

    Raises CheckpointError naming ``path`` and ``what`` it should be (e.g. "the .npz file a Solver
    with checkpoint_name writes") when it cannot be read, is not a zip archive or is over budget.
    """
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise CheckpointError(
                f"{path} holds {size} bytes, more than a checkpoint ({MAX_BYTES}): it should be {what}"
            )
        archive = zipfile.ZipFile(path)
    except OSError as error:
        raise CheckpointError(f"cannot read {path} ({error.strerror or error}): give the path of {what}") from error
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise CheckpointError(f"{path} is not a zip archive ({error}): it should be {what}") from error
    members = archive.infolist()
    unpacked = sum(member.file_size for member in members)
    if len(members) > MAX_MEMBERS or unpacked > MAX_BYTES:
        archive.close()
        raise CheckpointError(
            f"{path} unpacks to {len(members)} files of {unpacked} bytes, more than a checkpoint "
            f"({MAX_MEMBERS} files, {MAX_BYTES} bytes): it should be {what}"
        )
    return archive
