"""A Python process that reads hostile files for a test: a file that crashes the interpreter, or takes
longer than its time limit, fails its own test instead of ending (or stalling) the test run."""

import json
import select
import subprocess
import sys

PROCESS = r"""
import gc
import json
import sys
if sys.platform == "linux":  # a runaway allocation fails here instead of swapping the machine
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

{answer}

gc.freeze()  # what the imports built is never collected: each collection below scans what a file built
print(json.dumps("ready"), flush=True)  # the imports are done: no file's time limit counts them
for line in sys.stdin:
    text = answer(line.rstrip("\n"))
    gc.collect()  # whatever the file built is freed before answering: a crash then fails this file
    print(json.dumps(text), flush=True)  # one line, whatever characters the error message holds
"""


class Reader:
    """Reads files on request with ``answer(path)``, a function the Python source ``answer`` defines
    (with its imports) that returns a string; waits at most ``seconds`` for each answer."""

    def __init__(self, answer, seconds=10):
        self.code, self.seconds = PROCESS.replace("{answer}", answer), seconds
        self._start()

    def _start(self, seconds=300):
        self.process = subprocess.Popen(
            [sys.executable, "-c", self.code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        ready, _, _ = select.select([self.process.stdout], [], [], seconds)  # however slow the machine's imports
        if not (ready and json.loads(self.process.stdout.readline() or "null") == "ready"):
            self.process.kill()
            raise RuntimeError(f"the reader process did not start within {seconds} s")

    def read(self, path):
        """The answer for ``path``, or how the process failed to give one."""
        self.process.stdin.write(f"{path}\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], self.seconds)
        answer = self.process.stdout.readline() if ready else ""
        if answer:
            return json.loads(answer)
        self.process.kill()
        status = self.process.wait()
        self._start()
        return f"crashed (exit status {status})" if ready else f"no answer within {self.seconds} s"

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)
