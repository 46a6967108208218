"""The learner's path through a real JupyterHub, end to end, as a browser walks it.

A JupyterHub of the version ``requirements.txt`` pins runs on 127.0.0.1 with its real proxy,
``configurable-http-proxy`` (an exact npm release, installed once with npm into
``$CIFAR_LESSONS_NPM_CACHE``, default ``~/.cache/cifar_lessons/npm``). Two stand-ins replace what
a university hub has: JupyterHub's ``DummyAuthenticator`` (any name and password) instead of the
university's login, and its ``SimpleLocalProcessSpawner`` (a local process per user, in a fresh
home folder) instead of Kubernetes. Each user's server is the image's: ``jupyterhub-singleuser``
from the environment ``make install`` made (this test's Python), with that environment's ``bin``
first on ``PATH`` and ``CIFAR10_DIR`` set, as the Dockerfile and the README's admin section set
them, and a home that holds ``exercises/``, written by the same command the Dockerfile runs.

The book is built with ``launch_buttons.jupyterhub_url`` pointing at this hub (nothing else
changed), and headless Chromium walks the learner's path:

1. open a chapter page of the book and click its JupyterHub launch button;
2. log in to the hub as a new user;
3. the server starts and nbgitpuller pulls the course; JupyterLab opens on the chapter's notebook;
4. run the notebook's first cell: it must print the package (its kernels compiled), the data
   folder and the PyTorch device, and the kernel must import this checkout's package;
5. open the learner copy of the first chapter with exercises, run it from the top, and see the
   first blank exercise's check fail with its diagnosis.

The launch link carries the repository URL of ``_config.yml``; nbgitpuller gets the course from a
local bare clone of this checkout's HEAD instead of the network: git in the users' servers is
told to fetch that URL from the clone (``url.<clone>.insteadOf``) and may use no protocol but
``file``. The committed notebooks are pulled, as from GitHub. A screenshot of each step goes to
``$CIFAR_LESSONS_SCREENSHOTS/hub`` (default ``_build/screenshots/hub``), with the hub's log.
"""

import ast
import contextlib
import importlib.metadata
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from test_browser import NPM_CACHE, SCREENSHOTS, build_book

from cifar_lessons.data import describe

playwright = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -r requirements.txt)"
)
jupyterhub = pytest.importorskip("jupyterhub", reason="jupyterhub is not installed (pip install -r requirements.txt)")

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROXY_RELEASE = "configurable-http-proxy@5.1.0"  # runs on Node.js 18 (Debian 12) and later
SHOTS = SCREENSHOTS / "hub"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
CHAPTER = "book/06_pytorch"  # a chapter whose first cell also reports the PyTorch device
USER = "learner"
TIMEOUT_MS = 120_000  # each wait; the whole walk takes well under a minute


def pinned(name):
    """The version of ``name`` pinned in requirements.txt."""
    match = re.search(rf"^{re.escape(name)}==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert match, f"requirements.txt pins no {name}"
    return match[1]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proxy_command():
    """configurable-http-proxy, installed with npm into the npm cache the browser test uses."""
    folder = NPM_CACHE / PROXY_RELEASE
    command = folder / "node_modules" / ".bin" / "configurable-http-proxy"
    if not command.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(f"npm is needed once to install {PROXY_RELEASE}, JupyterHub's proxy (apt-get install npm)")
        result = subprocess.run(
            [npm, "install", "--prefix", folder, PROXY_RELEASE, "--no-audit", "--no-fund", "--silent"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0 and command.exists(), f"npm install {PROXY_RELEASE} failed: {result.stderr}"
    return command


def git(*args, cwd=ROOT):
    if shutil.which("git") is None:
        pytest.skip("git is needed to serve the course to nbgitpuller (apt-get install git)")
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=120).stdout


def data_folder():
    """The CIFAR-10 folder the servers get as CIFAR10_DIR (the one this test run uses)."""
    from cifar_lessons import data

    return data.find_cifar10().parent


def first_exercise(notebook):
    """``(index of its check cell among all cells, name of its first function)`` in a learner copy."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        if "exercise" in cell["metadata"].get("tags", []):
            function = next(
                node.name for node in ast.parse("".join(cell["source"])).body if isinstance(node, ast.FunctionDef)
            )
            check = next(i for i in range(index + 1, len(cells)) if cells[i]["cell_type"] == "code")
            return check, function
    return None


class Hub:
    """A JupyterHub on 127.0.0.1 serving the course, in a temporary folder."""

    def __init__(self, folder):
        self.folder = folder
        self.url = f"http://127.0.0.1:{free_port()}/"
        self.home = folder / "home" / USER
        self.log = None
        self.process = None

    def serve_course(self):
        """A bare clone of this checkout's HEAD, on the branch the book's launch links name."""
        clone = self.folder / "git" / "cifar-lessons.git"
        if subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode:
            pytest.fail(f"{ROOT} is not a git checkout with a commit: the hub test serves its HEAD to nbgitpuller")
        git("init", "--quiet", "--bare", str(clone), cwd=self.folder)
        git("push", "--quiet", str(clone), f"HEAD:refs/heads/{CONFIG['repository']['branch']}")
        return clone

    def prepare_home(self):
        """The learner's home as the image has it: ``~/exercises``, by the Dockerfile's own command."""
        self.home.mkdir(parents=True)
        dockerfile = (ROOT / "Dockerfile").read_text()
        command = re.search(r"^RUN \S+/python -m (\S+) /home/jovyan/exercises /home/jovyan/book$", dockerfile, re.M)
        assert command, "the Dockerfile no longer writes ~/exercises with `python -m MODULE ~/exercises ~/book`"
        subprocess.run(
            [sys.executable, "-m", command[1], self.home / "exercises", ROOT / "book"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def configure(self, clone):
        environment = {
            # The image: `ENV PATH=/opt/venv/bin:$PATH`, CIFAR10_DIR as the README's admin section.
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "CIFAR10_DIR": str(data_folder()),
            # The network stand-in: the course's URL is fetched from the local clone, and nothing
            # but local files may be fetched at all.
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.{clone.as_uri()}.insteadOf",
            "GIT_CONFIG_VALUE_0": CONFIG["repository"]["url"],
            "GIT_ALLOW_PROTOCOL": "file",
        }
        config = f"""\
c = get_config()  # noqa
c.JupyterHub.bind_url = {self.url!r}
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{str(proxy_command())!r}]
c.JupyterHub.db_url = "sqlite:///{self.folder / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(self.folder / "jupyterhub_cookie_secret")!r}
# Stand-ins for the university's login and for Kubernetes.
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(self.folder / "home" / "{username}")!r}
c.Spawner.cmd = [{str(BIN / "jupyterhub-singleuser")!r}]
# The image runs its servers as uid 1000; run as root (a CI container), Jupyter needs this flag.
c.Spawner.args = {["--allow-root"] if os.geteuid() == 0 else []!r}
c.Spawner.default_url = "/lab/tree/exercises"
c.Spawner.environment = {environment!r}
# A PYTHONPATH that puts this checkout's package first reaches the servers too.
c.Spawner.env_keep = ["JUPYTERHUB_SINGLEUSER_APP", "PYTHONPATH"]
c.Spawner.start_timeout = c.Spawner.http_timeout = 120
"""
        (self.folder / "jupyterhub_config.py").write_text(config)

    def start(self):
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.log = open(SHOTS / "jupyterhub.log", "w")
        self.process = subprocess.Popen(
            [BIN / "jupyterhub", "-f", self.folder / "jupyterhub_config.py"],
            cwd=self.folder,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"JupyterHub exited:\n{(SHOTS / 'jupyterhub.log').read_text()[-5000:]}"
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.url + "hub/api", timeout=5) as response:
                    assert json.load(response)["version"] == pinned("jupyterhub")
                    return
            time.sleep(0.3)
        raise AssertionError(f"JupyterHub did not answer at {self.url} within 60 s")

    def stop(self):
        """Stop the hub, which stops the users' servers and its proxy; then end any it left."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()
        for pid in self.leftovers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def leftovers(self):
        """Processes this hub started that still run: the proxy, servers and kernels (HOME inside)."""
        with contextlib.suppress(OSError, ValueError):
            pid = int((self.folder / "jupyterhub-proxy.pid").read_text())
            if b"configurable-http-proxy" in Path(f"/proc/{pid}/cmdline").read_bytes():
                yield pid
        for process in Path("/proc").glob("[0-9]*"):
            with contextlib.suppress(OSError):
                if f"HOME={self.folder}/".encode() in (process / "environ").read_bytes():
                    yield int(process.name)


@pytest.fixture(scope="module")
def hub():
    """The hub, running, and the book built with its launch buttons pointing at it."""
    assert jupyterhub.__version__ == pinned("jupyterhub"), (
        f"JupyterHub {jupyterhub.__version__} is installed, requirements.txt pins {pinned('jupyterhub')}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = Hub(folder)
        config = dict(CONFIG, launch_buttons=dict(CONFIG["launch_buttons"], jupyterhub_url=server.url.rstrip("/")))
        (folder / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        with ThreadPoolExecutor(1) as pool:
            book = pool.submit(build_book, folder / "book", "--config", folder / "_config.yml")
            server.configure(server.serve_course())
            server.prepare_home()
            try:
                server.start()
                server.html = book.result()
                yield server
            finally:
                server.stop()


def shot(page, name):
    page.screenshot(path=SHOTS / f"{name}.png")


# Watches a cell's prompt: JupyterLab shows [*] from the moment a cell is queued until it has run,
# then its execution count. (A notebook's stored outputs and counts are on show before it runs.)
WATCH_PROMPT = """prompt => {
  prompt.seen = [prompt.textContent];
  new MutationObserver(() => prompt.seen.push(prompt.textContent))
    .observe(prompt, {childList: true, characterData: true, subtree: true});
}"""
RAN = "prompt => prompt.seen.some(text => text.includes('*')) && /\\[\\d+\\]/.test(prompt.textContent)"


def notebook(page, name):
    """The notebook JupyterLab shows in its current tab, once that is ``name`` and its kernel idle."""
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current", has_text=name)
    tab.wait_for()
    panel = page.locator(f"[id='{tab.get_attribute('data-id')}']")
    panel.locator(".jp-Cell").first.wait_for()
    # The status bar's kernel item for this notebook: "Python 3 (ipykernel) | Idle" once its kernel
    # is connected (a cell run before then is not sent to any kernel).
    page.locator(f"#jp-main-statusbar [title='Change kernel for {name}']", has_text=re.compile(r"\| Idle$")).wait_for()
    return panel


def run_cell(page, cell):
    """Run ``cell`` from its editor (Shift+Enter) as a learner does; its output text once it ran."""
    prompt = cell.locator(".jp-InputArea-prompt").element_handle()
    prompt.evaluate(WATCH_PROMPT)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(RAN, arg=prompt)
    return cell.locator(".jp-OutputArea").inner_text()


def bring_into_view(page, element):
    """Scroll the notebook until ``element``'s end is in view and stays put (cells render lazily)."""
    previous = None
    for _ in range(25):
        element.evaluate("element => element.scrollIntoView({block: 'end'})")
        page.wait_for_timeout(200)
        box = element.bounding_box()
        if box == previous:
            return
        previous = box


def test_learner_launches_a_chapter_and_meets_an_exercise(hub, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        walk(hub, context)
    except BaseException:
        for number, page in enumerate(context.pages):
            with contextlib.suppress(Exception):
                shot(page, f"failed-tab{number + 1}")
        raise
    finally:
        context.close()


def walk(hub, context):
    # 1. The chapter's page in the book, its launch menu open.
    page = context.new_page()
    page.goto((hub.html / CHAPTER).with_suffix(".html").as_uri())
    page.locator(".dropdown-launch-buttons button.dropdown-toggle").click()
    button = page.locator(".dropdown-launch-buttons a", has_text="JupyterHub")
    button.wait_for(state="visible")
    launch = button.get_attribute("href")
    assert launch.startswith(f"{hub.url}hub/user-redirect/git-pull?"), launch
    shot(page, "1-chapter-page-launch-menu")
    with context.expect_page() as opened:
        button.click()
    page = opened.value

    # 2. The hub's login page; a new user logs in.
    page.wait_for_selector("input[name=username]")
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", "any password")
    shot(page, "2-hub-login")
    page.locator("input[type=submit], button[type=submit]").first.click()

    # 3. The server starts, nbgitpuller pulls the course, JupyterLab opens the chapter's notebook.
    page.wait_for_url(re.compile(rf"/user/{USER}/lab"))
    name = Path(CHAPTER).name + ".ipynb"
    assert page.url.split("?")[0].endswith(f"/user/{USER}/lab/tree/cifar-lessons/{CHAPTER}.ipynb"), page.url
    panel = notebook(page, name)
    shot(page, "3-jupyterlab-pulled-notebook")
    pulled = hub.home / "cifar-lessons"
    assert git("rev-parse", "HEAD", cwd=pulled) == git("rev-parse", "HEAD"), "nbgitpuller pulled another commit"
    assert git("remote", "get-url", "origin", cwd=pulled).strip() == CONFIG["repository"]["url"]

    # 4. The first cell: package and kernels, data, device; and the package is this checkout's.
    first = panel.locator(".jp-CodeCell").first
    output = run_cell(page, first)
    expected = [
        f"cifar_lessons {importlib.metadata.version('cifar-lessons')}, im2col kernels: cython, seed 0",
        "CIFAR-10 found in $CIFAR10_DIR/cifar-10-batches-py",
        describe("lesson"),
    ]
    lines = output.strip().splitlines()
    assert lines[:3] == expected and len(lines) == 4, f"the first cell printed:\n{output}"
    torch_version = re.escape(importlib.metadata.version("torch"))
    device = re.fullmatch(rf"PyTorch {torch_version}(\+\w+)? on (.+)", lines[3])
    assert device, f"the first cell's device line: {lines[3]!r}"
    if not any(Path("/dev").glob("nvidia[0-9]*")):
        assert device[2] == "CPU (no CUDA GPU found)", lines[3]
    # A new cell below it, as a learner asking which package runs would add.
    first.locator(".jp-InputPrompt").click()
    panel.locator(".jp-NotebookPanel-toolbar [data-command='notebook:insert-cell-below']").click()
    cells = panel.locator(".jp-Cell")
    added = cells.nth(cells.evaluate_all("cells => cells.findIndex(c => c.classList.contains('jp-mod-active'))"))
    added.locator(".jp-InputArea-editor").click()
    page.keyboard.type("import cifar_lessons; print(cifar_lessons.__file__)")
    where = run_cell(page, added).strip()
    assert where == str(ROOT / "cifar_lessons" / "__init__.py"), (
        f"the kernel imports {where}, not this checkout's package"
    )
    shot(page, "4-first-cell-output")

    # 5. The learner copy: the first chapter with exercises, run from the top (Run > Run All Cells),
    #    stops at the first blank exercise's check, which says what is missing.
    chapter = next(path for path in sorted((hub.home / "exercises").glob("*.ipynb")) if first_exercise(path))
    check, function = first_exercise(chapter)
    page.goto(f"{hub.url}hub/user-redirect/lab/tree/exercises/{chapter.name}")
    panel = notebook(page, chapter.name)
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item:visible", has_text=re.compile(r"^Run All Cells$")).click()
    cell = panel.locator(".jp-Cell").nth(check)
    error = cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    error.wait_for()
    news = page.locator(".Toastify__toast", has_text="Jupyter news")  # JupyterLab's first-run question
    if news.is_visible():
        news.get_by_role("button", name="No", exact=True).click()
    bring_into_view(page, error)
    shot(page, "5-exercise-check-fails")
    text = error.inner_text()
    assert re.search(
        rf"ExerciseError: {function}: not implemented yet \(it raises NotImplementedError\); "
        r"write its body and run the cell again",
        text,
    ), f"{chapter.name}, cell {check}:\n{text}"
