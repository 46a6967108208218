"""The book's configuration for a site that reads offline: every script it loads ships inside it.

    python -m book_tools.offline_book OUT_DIR             (from the book's root folder)
    jupyter-book build . --config OUT_DIR/_config.yml       (`make book OFFLINE=1` runs both)

The pages of the book load MathJax, RequireJS and the Jupyter widget manager from jsDelivr's npm
mirror, pinned in ``_config.yml`` to exact npm releases. Without outside access (a campus network,
a machine offline) a reader would see raw LaTeX and no widgets. This script fetches those very
releases with ``npm pack``, together with any widget module named by the notebooks' stored widget
state that the widget manager does not bundle, into ``OUT_DIR/static/npm/<name>@<version>/``
(jsDelivr's layout, so ``https://cdn.jsdelivr.net/npm/`` becomes ``_static/npm/``). Each file that
``_config.yml`` pins with an ``integrity`` hash is checked against it: the copies are the CDN's
bytes. It then writes ``OUT_DIR/_config.yml``: the book's configuration with every CDN address
replaced by the copy inside the site, served as ``_static/`` (not a root ``_static/`` folder,
whose scripts Jupyter Book would add to every page).

The releases are fetched at build time, never committed; npm's cache makes later builds local.
"""

import base64
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

CDN = "https://cdn.jsdelivr.net/npm/"
RELEASE = re.compile(re.escape(CDN) + r"((?:@[^/@]+/)?[^/@]+)@([^/]+)/(.+)")
LOCAL = "npm/"  # the copies' folder, relative to _static/
# Widget modules that @jupyter-widgets/html-manager bundles (its HTMLManager.loadClass answers them
# itself); it loads any other module from the CDN folder in data-jupyter-widgets-cdn.
BUNDLED_WIDGET_MODULES = {"@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/output"}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


class OfflineBuildError(Exception):
    """The book cannot be made to read offline; the message says why and what to do."""


def local(url):
    """``url`` on jsDelivr's npm mirror as ``(release, path under _static/)``, e.g.
    ``("mathjax@3.2.2", "npm/mathjax@3.2.2/es5/tex-mml-chtml.js")``."""
    match = RELEASE.fullmatch(url)
    if not match:
        raise OfflineBuildError(
            f"{url} is not a file of an npm release on {CDN}<name>@<version>/; the offline build can only ship those"
        )
    name, version, file = match.groups()
    return f"{name}@{version}", f"{LOCAL}{name}@{version}/{file}"


def notebooks(root):
    """The notebooks of the book's table of contents."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = []

    def walk(node):
        if isinstance(node, dict):
            files.extend(node[key] for key in ("root", "file") if key in node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(toc)
    return [path for path in (root / f"{file}.ipynb" for file in files) if path.is_file()]


def widget_modules(paths):
    """``{(module, version)}`` of the widget models and views stored in the notebooks at ``paths``
    that the widget manager loads from its CDN folder (those it does not bundle)."""
    modules = set()
    for path in paths:
        metadata = json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {})
        for model in metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {}).values():
            state = model.get("state", {})
            for module, version in (
                (model.get("model_module"), model.get("model_module_version")),
                (state.get("_view_module"), state.get("_view_module_version")),
            ):
                if module and module not in BUNDLED_WIDGET_MODULES:
                    if not version:
                        raise OfflineBuildError(
                            f"{path}: widget module {module} has no version in its "
                            "stored state, so no npm release can be chosen for it"
                        )
                    modules.add((module, version))
    return modules


def fetch(release, folder, npm):
    """Unpack the npm ``release`` (``name@version``, a version range allowed) into ``folder``."""
    if (folder / "package.json").is_file():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        # --prefer-offline: a release already in npm's cache is taken from there.
        result = subprocess.run(
            [npm, "pack", release, "--pack-destination", tmp, "--prefer-offline", "--silent"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode or len(tarballs) != 1:
            raise OfflineBuildError(f"npm pack {release} failed: {(result.stderr or result.stdout).strip()[-2000:]}")
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(Path(tmp) / "unpacked", filter="data")
        (top,) = (Path(tmp) / "unpacked").iterdir()  # npm packs everything under one folder, "package/"
        os.replace(top, folder)


def sri(path):
    """The Subresource Integrity hash of a file, in the form of its ``integrity`` attribute."""
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def offline_config(config, static):
    """``config`` (the parsed ``_config.yml``) with its CDN scripts replaced by copies in ``static``.

    Returns ``(new config, {release: [(path under static, integrity or None)]})``: what to fetch,
    and which files must have which hash.
    """
    config = copy.deepcopy(config)
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    wanted = {}

    def ship(url, attributes):
        release, path = local(url)
        wanted.setdefault(release, []).append((path, attributes.pop("integrity", None)))
        # Subresource Integrity and CORS are for a third-party server; a local copy (its hash
        # checked here instead) loads without them, from file:// too.
        attributes.pop("crossorigin", None)
        return path

    if str(sphinx.get("mathjax_path", "")).startswith("http"):
        sphinx["mathjax_path"] = ship(sphinx["mathjax_path"], sphinx.setdefault("mathjax_options", {}))
    scripts = {}
    for url, attributes in (sphinx.get("nb_ipywidgets_js") or {}).items():
        attributes = dict(attributes or {})
        if attributes.get("data-jupyter-widgets-cdn") == CDN:
            # Relative to the script that carries it (assets/widgets.js resolves it).
            attributes["data-jupyter-widgets-cdn"] = LOCAL
        scripts[ship(url, attributes) if url.startswith("http") else url] = attributes
    if scripts:
        sphinx["nb_ipywidgets_js"] = scripts

    left = sorted(set(re.findall(r"https?://[^\s'\"]+", json.dumps(sphinx))))
    if left:
        raise OfflineBuildError(
            f"sphinx.config in _config.yml still loads {left} from outside the site; "
            "book_tools/offline_book.py knows how to ship mathjax_path and nb_ipywidgets_js"
        )
    sphinx["html_static_path"] = list(sphinx.get("html_static_path", [])) + [str(static)]
    return config, wanted


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: python -m book_tools.offline_book OUT_DIR  (from the book's root folder)")
    out = Path(args[0]).resolve()
    root = Path.cwd()
    if not (root / "_config.yml").is_file():
        sys.exit(f"book_tools.offline_book: no _config.yml in {root}: run it from the book's root folder")
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(
            "book_tools.offline_book: npm is needed to fetch the scripts the pages load "
            "(apt-get install npm, or Node.js from nodejs.org)"
        )
    static = out / "static"
    try:
        config, wanted = offline_config(yaml.safe_load((root / "_config.yml").read_text()), static)
        for module, version in sorted(widget_modules(notebooks(root))):
            wanted.setdefault(f"{module}@{version}", [])
        for release, files in sorted(wanted.items()):
            fetch(release, static / LOCAL / release, npm)
            for path, integrity in files:
                if not (static / path).is_file():
                    raise OfflineBuildError(f"the npm release {release} has no file {path.split('/', 2)[2]}")
                if integrity and sri(static / path) != integrity:
                    raise OfflineBuildError(
                        f"{static / path} does not match the integrity hash pinned in "
                        f"_config.yml ({integrity}): not the CDN's bytes"
                    )
            print(f"{release}: in {static / LOCAL / release}")
    except OfflineBuildError as error:
        sys.exit(f"book_tools.offline_book: {error}")
    (out / "_config.yml").write_text(
        "# Written by book_tools/offline_book.py from _config.yml: the same book, every script it loads\n"
        "# shipped inside the site. Build with: jupyter-book build . --config "
        + str(out / "_config.yml")
        + "\n"
        + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    )
    print(f"wrote {out / '_config.yml'}")


if __name__ == "__main__":
    main()
