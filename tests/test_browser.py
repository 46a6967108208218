"""The rendered book as a reader sees it: every page of the table of contents in headless Chromium.

The book is built from scratch into a temporary folder, twice: as published (``make book``) and
built to read offline (``make book OFFLINE=1``). Each page of each build must load without a
JavaScript error, show every image, typeset its math, offer the launch buttons (notebook pages),
list every chapter in its navigation, and render its widgets from their stored state; and no
table, code output, image or formula of the published pages may be wider than the text column
at a 1280-pixel window (cut off, or scrolled sideways). Full-page screenshots go to
``$CIFAR_LESSONS_SCREENSHOTS`` (default ``_build/screenshots``), the offline build's under
``offline/``, beside the log of every request its pages made (``offline/requests.log``).

No network is used. The published pages load MathJax and the widget manager from jsDelivr's npm
mirror (pinned, with ``integrity`` attributes, in ``_config.yml``); the test answers those
requests from the same npm releases, fetched once with ``npm pack`` into
``$CIFAR_LESSONS_NPM_CACHE`` (default ``~/.cache/cifar_lessons/npm``). The integrity check proves
the bytes are the CDN's. The offline build's pages are opened with the network switched off and
every request that leaves the site refused and counted: there must be none.
Chromium is Debian's ``chromium`` package (or ``$CHROMIUM``), driven by Playwright.
"""

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest
import yaml

playwright = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -r requirements.txt)"
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = Path(os.environ.get("CIFAR_LESSONS_SCREENSHOTS", ROOT / "_build" / "screenshots"))
NPM_CACHE = Path(os.environ.get("CIFAR_LESSONS_NPM_CACHE", Path.home() / ".cache" / "cifar_lessons" / "npm"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
JSDELIVR_NPM = re.compile(r"https://cdn\.jsdelivr\.net/npm/((?:@[^/]+/)?[^/@]+@[^/]+)/([^?#]+)")

# Console errors that Jupyter Book 1 itself causes on every page of any book; anything else fails
# the test. sphinx-thebe 0.3.1 adds its inline configuration script (`const THEBE_JS_URL = ...`)
# after the HTML builder has started, and Sphinx 7.4 then keeps two copies of such a script (one
# registered with filename None, one with ''), so the second redeclares the constants. Harmless:
# the first copy defines them. No configuration avoids it. (The other errors Jupyter Book 1 pages
# log are fixed in _config.yml and assets/widgets.js.)
KNOWN_CONSOLE_ERRORS = ["Identifier 'THEBE_JS_URL' has already been declared"]
# How an ipywidget looks when its state was not stored: its Python repr, e.g.
# "interactive(children=(IntSlider(value=3, ...". A reader must never see that.
WIDGET_REPR = re.compile(
    r"\b(interactive|[A-Z]\w*(Box|Slider|Button|Dropdown|Output|Progress))\("
    r"(children|value|description|layout|outputs)="
)
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'


def chromium_path():
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip(
            "Chromium not found: install Debian's chromium package "
            "(apt-get install chromium) or set CHROMIUM=/path/to/chromium"
        )
    return found


def npm_package(spec):
    """The unpacked ``package/`` folder of an npm release such as ``mathjax@3.2.2``."""
    folder = NPM_CACHE / spec.replace("/", "+") / "package"
    if not (folder / "package.json").is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(f"npm is needed once to fetch {spec} into {NPM_CACHE} (apt-get install npm)")
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=NPM_CACHE) as tmp:
            subprocess.run(
                [npm, "pack", spec, "--pack-destination", tmp, "--silent"], check=True, capture_output=True, timeout=600
            )
            (tarball,) = Path(tmp).glob("*.tgz")
            with tarfile.open(tarball) as tar:
                tar.extractall(tmp, filter="data")
            folder.parent.mkdir(exist_ok=True)
            os.replace(Path(tmp) / "package", folder)
    return folder


def toc_docnames():
    """Every page of ``_toc.yml`` (its root first), as Sphinx docnames such as ``book/intro``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                names.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk({key: value for key, value in toc.items() if key != "root"})
    return [str(Path(name).with_suffix("")) for name in names]


DOCNAMES = toc_docnames()


def build_book(out, *config):
    """Build the book into ``out`` as ``make book`` does (``config``: ``--config FILE``); its html folder."""
    build = subprocess.run(
        [
            Path(sys.executable).parent / "jupyter-book",
            "build",
            ROOT,
            "--path-output",
            out,
            *config,
            "--warningiserror",
            "--nitpick",
            "--keep-going",
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    problems = [
        line
        for line in (build.stdout + build.stderr).splitlines()
        if re.search(r"WARNING|ERROR|Error", line) and "Kernel is running over TCP" not in line
    ]
    assert build.returncode == 0, "the book does not build:\n" + "\n".join(problems or [build.stderr[-5000:]])
    return Path(out) / "_build" / "html"


@pytest.fixture(scope="module")
def published_html():
    """The book as ``make book`` builds it, from the committed notebooks, in a fresh folder, with
    the npm releases its pages name fetched before any page asks for them (a first ``npm pack``
    inside a page load can outlast the page's wait on a busy machine)."""
    with tempfile.TemporaryDirectory() as out:
        html = build_book(out)
        for release in sorted({m[1] for page in html.rglob("*.html") for m in JSDELIVR_NPM.finditer(page.read_text())}):
            npm_package(release)
        yield html


@pytest.fixture(scope="module")
def offline_html():
    """The book as ``make book OFFLINE=1`` builds it: book_tools.offline_book, then its config."""
    if shutil.which("npm") is None:
        pytest.skip("npm is needed to fetch the scripts the offline build ships (apt-get install npm)")
    with tempfile.TemporaryDirectory() as out:
        prepare = subprocess.run(
            [sys.executable, "-m", "book_tools.offline_book", Path(out) / "offline"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert prepare.returncode == 0, prepare.stdout + prepare.stderr
        yield build_book(out, "--config", Path(out) / "offline" / "_config.yml")


@pytest.fixture(scope="module", params=["published", "offline"])
def site(request):
    """``(build, html folder)`` for each build of the book."""
    return request.param, request.getfixturevalue(f"{request.param}_html")


class Visit:
    """One page loaded in Chromium, with what went wrong while loading it.

    ``requests``: every URL the page asked for; ``outside``: those that left the site and were not
    answered. Published pages get jsDelivr's npm files from the npm cache; with ``offline``, the
    browser's network is off and nothing outside the site is answered.
    """

    def __init__(self, browser, path, offline=False):
        self.errors, self.outside, self.requests, self.offline = [], [], [], offline
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=offline)
        self.page = self.context.new_page()
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("requestfailed", lambda request: self.errors.append(f"{request.failure}: {request.url}"))
        self.page.route("**/*", self.serve)
        self.page.goto(path.as_uri(), wait_until="load")

    def serve(self, route):
        url = route.request.url
        self.requests.append(url)
        if url.startswith("file:"):
            return route.continue_()
        match = JSDELIVR_NPM.fullmatch(url)
        if match and not self.offline:
            file = npm_package(match[1]) / match[2]
            if file.is_file():
                return route.fulfill(path=file, headers={"Access-Control-Allow-Origin": "*"})
        self.outside.append(url)
        return route.abort()

    def close(self):
        self.context.close()

    def unexpected_errors(self):
        return [error for error in self.errors if not any(known in error for known in KNOWN_CONSOLE_ERRORS)]


@pytest.fixture(scope="module")
def request_log():
    """The offline build's request log: each page, then every URL it asked for."""
    (SCREENSHOTS / "offline").mkdir(parents=True, exist_ok=True)
    with open(SCREENSHOTS / "offline" / "requests.log", "w") as log:
        log.write("# Requests made by the pages of the offline build (make book OFFLINE=1), network off.\n")
        yield log


@pytest.mark.parametrize("docname", DOCNAMES)
def test_page_renders(site, browser, request, docname):
    build, html = site
    visit = Visit(browser, (html / docname).with_suffix(".html"), offline=build == "offline")
    page = visit.page
    shots = SCREENSHOTS / "offline" if build == "offline" else SCREENSHOTS
    try:
        math = page.locator("span.math, div.math").count()
        if math:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise")
            unrendered = page.eval_on_selector_all(
                "span.math, div.math",
                "nodes => nodes.filter(n => !n.querySelector('mjx-container')).map(n => n.textContent.slice(0, 80))",
            )
            assert not unrendered, f"{docname}: {len(unrendered)} of {math} formulas left as raw TeX: {unrendered}"
            errors = page.locator("mjx-merror").all_text_contents()
            assert not errors, f"{docname}: MathJax could not typeset: {errors}"
            # A display formula wider than the text column is cut off at its right edge.
            wide = page.eval_on_selector_all(
                "mjx-container[display=true]",
                "ms => ms.filter(m => m.scrollWidth > m.clientWidth + 1)"
                ".map(m => (m.querySelector('mjx-assistive-mml') || m).textContent.slice(0, 60))",
            )
            assert not wide, f"{docname}: display math wider than the page, cut off: {wide} (split it up)"
        views = page.locator(WIDGET_VIEW).count()
        if views:
            # html-manager renders each stored view into a div placed just before its script tag.
            page.wait_for_function(
                f"n => document.querySelectorAll('{WIDGET_VIEW}').length == n && "
                f"[...document.querySelectorAll('{WIDGET_VIEW}')].every(s => s.previousElementSibling"
                " && s.previousElementSibling.classList.contains('widget-subarea')"
                " && s.previousElementSibling.childElementCount > 0)",
                arg=views,
                timeout=30_000,
            )
            empty = page.eval_on_selector_all(
                WIDGET_VIEW,
                "ss => ss.map(s => s.previousElementSibling.getBoundingClientRect())"
                ".filter(box => box.width < 10 || box.height < 10).length",
            )
            assert not empty, f"{docname}: {empty} of {views} widgets render as an empty box"
        page.wait_for_load_state("networkidle")
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=shots / f"{docname.replace('/', '_')}.png", full_page=True)

        if build == "offline":
            log = request.getfixturevalue("request_log")
            site_root = html.as_uri() + "/"
            log.write(f"\n{docname}: {len(visit.requests)} requests, {len(visit.outside)} outside the site\n")
            log.writelines(
                f"  {'OUTSIDE ' * (url in visit.outside)}{url.removeprefix(site_root)}\n" for url in visit.requests
            )
            log.flush()
            assert not visit.outside, f"{docname}: the offline build asks outside the site for {visit.outside}"
        assert not visit.outside, f"{docname}: requests the test cannot answer offline: {visit.outside}"
        assert not visit.unexpected_errors(), f"{docname}: JavaScript errors: {visit.unexpected_errors()}"
        broken = page.eval_on_selector_all(
            "img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth == 0).map(i => i.src)"
        )
        assert not broken, f"{docname}: images that do not load: {broken}"
        blank = page.eval_on_selector_all(
            "div.cell_input pre, div.cell_output pre", "pres => pres.filter(pre => !pre.textContent.trim()).length"
        )
        assert not blank, f"{docname}: {blank} blank boxes (empty code cells or outputs)"
        reprs = [text[:120] for text in page.locator(".cell_output").all_inner_texts() if WIDGET_REPR.search(text)]
        assert not reprs, f"{docname}: widgets shown as their Python repr (no stored state): {reprs}"

        nav = page.eval_on_selector_all("nav.bd-docs-nav a.reference", "links => links.map(a => a.href)")
        nav = {link.split("#")[0] for link in nav}
        missing = [name for name in DOCNAMES[1:] if (html / name).with_suffix(".html").as_uri() not in nav]
        assert not missing, f"{docname}: the navigation does not list {missing}"

        if (ROOT / docname).with_suffix(".ipynb").is_file():
            launch = page.eval_on_selector_all(".dropdown-launch-buttons a", "links => links.map(a => a.href)")
            for service in ("git-pull", "colab.research.google.com", "mybinder.org"):
                assert any(service in link for link in launch), f"{docname}: no {service} launch button among {launch}"
    finally:
        visit.close()


# Every element of the text column whose content is wider than its box (a table or an output line
# scrolled sideways, or cut off) or that reaches past the column's right edge, outermost first.
# Source code (notebook inputs, code blocks in the prose) scrolls sideways by design, and math has
# its own check above.
TOO_WIDE = """() => {
  const column = document.querySelector('article.bd-article');
  const edge = column.getBoundingClientRect().right;
  const clipping = new Set(['auto', 'scroll', 'hidden', 'clip']);
  const kinds = [['img', 'image'], ['table', 'table'], ['.cell_output pre', 'code output'],
                 ['.widget-label', 'widget label'], ['.cell_output .widget-subarea', 'widget'], ['pre', 'text block'],
                 ['figure', 'figure']];
  const describe = element => {
    const [selector, kind] = kinds.find(([selector]) => element.matches(selector))
      || [null, element.tagName.toLowerCase() + [...element.classList].map(c => '.' + c).join('')];
    const text = element.tagName === 'IMG' ? (element.getAttribute('alt') || element.getAttribute('src')).slice(-60)
      : element.innerText.trim().replace(/\\s+/g, ' ').slice(0, 60);
    return `${kind} "${text}"`;
  };
  // The content a box clips: the first table, image or output text inside it, else the box.
  const content = box => box.matches(kinds.map(([s]) => s).join(',')) ? box
    : box.querySelector(kinds.map(([s]) => s).join(',')) || box;
  const found = [];
  for (const element of column.querySelectorAll('*')) {
    if (found.some(([outer]) => outer.contains(element))) continue;
    if (element.closest('.cell_input, .math, mjx-container')) continue;
    if (element.closest('div.highlight') && !element.closest('.cell_output')) continue;
    const box = element.getBoundingClientRect();
    if (box.width < 1 || box.height < 1) continue;
    if (clipping.has(getComputedStyle(element).overflowX) && element.scrollWidth > element.clientWidth + 1) {
      found.push([element, `${describe(content(element))} is ${element.scrollWidth}px wide in a ` +
                           `${element.clientWidth}px box: cut off on the right (or scrolled sideways)`]);
    } else if (box.right > edge + 1) {
      found.push([element, `${describe(element)} reaches ${Math.round(box.right - edge)}px past the ` +
                           `right edge of the text column`]);
    }
  }
  return found.map(([, message]) => message);
}"""


@pytest.mark.parametrize("docname", DOCNAMES)
def test_content_fits_its_column(published_html, browser, docname):
    """Tables, code outputs, images and widgets fit the text column of a 1280-pixel-wide window."""
    visit = Visit(browser, (published_html / docname).with_suffix(".html"))
    try:
        if visit.page.locator("span.math, div.math").count():
            visit.page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            visit.page.evaluate("() => MathJax.startup.promise")
        visit.page.wait_for_load_state("networkidle")
        too_wide = visit.page.evaluate(TOO_WIDE)
        assert not too_wide, f"{docname}: wider than the text column at a 1280-pixel window:\n  " + "\n  ".join(
            too_wide
        )
    finally:
        visit.close()


def test_the_width_check_sees_what_is_cut_off(browser):
    """TOO_WIDE on a page made for it: what sticks out or scrolls sideways, and nothing else."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.set_content(
            """<article class="bd-article" style="width: 600px">
          <div style="overflow-x: auto"><table><tr><td style="min-width: 900px">wide table</td></tr></table></div>
          <div class="cell_output"><pre style="overflow-x: auto">"""
            + "a long output line " * 20
            + """</pre></div>
          <div class="cell_output"><img alt="wide plot" style="width: 700px; height: 10px; display: block"></div>
          <div class="cell_input"><pre style="overflow-x: auto">"""
            + "source code " * 80
            + """</pre></div>
          <div class="highlight"><pre style="overflow-x: auto">"""
            + "a code block " * 80
            + """</pre></div>
          <table><tr><td>narrow table</td></tr></table></article>"""
        )
        found = page.evaluate(TOO_WIDE)
    finally:
        page.close()
    assert [message.split(" is ")[0].split(" reaches ")[0] for message in found] == [
        'table "wide table"',
        'code output "' + ("a long output line " * 20)[:60].strip() + '"',
        'image "wide plot"',
    ], found


def test_widget_fonts_come_from_the_loaded_widget_manager():
    """assets/widgets.js points RequireJS at the html-manager release that the pages load, in the
    npm folder named by its own data-jupyter-widgets-cdn attribute."""
    scripts = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]["nb_ipywidgets_js"]
    release = re.compile(r"@jupyter-widgets/html-manager@[^/\"]+")
    loaded = release.findall(" ".join(scripts))
    pointed = release.findall((ROOT / "assets" / "widgets.js").read_text())
    assert len(loaded) == 1 and pointed == loaded, f"assets/widgets.js names {pointed}, the pages load {loaded}"
    assert (scripts.get("widgets.js") or {}).get("data-jupyter-widgets-cdn") == "https://cdn.jsdelivr.net/npm/", (
        "widgets.js (first in nb_ipywidgets_js) must carry data-jupyter-widgets-cdn, the npm mirror it resolves"
    )
    assert list(scripts)[0] == "widgets.js", "widgets.js must load before require.js and the widget manager"
