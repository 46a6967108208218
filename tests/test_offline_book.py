"""book_tools/offline_book.py: which scripts the offline build ships, and how the configuration changes.

The build itself, opened with the network off, is checked page by page in tests/test_browser.py.
"""

import json
from pathlib import Path

import pytest
import yaml

from book_tools import offline_book

ROOT = Path(__file__).resolve().parents[1]


def test_every_cdn_script_of_the_book_is_replaced_by_a_checked_local_copy(tmp_path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    new, wanted = offline_book.offline_config(config, tmp_path)
    sphinx = new["sphinx"]["config"]
    assert "http" not in json.dumps(sphinx), sphinx
    assert sphinx["html_static_path"] == config["sphinx"]["config"]["html_static_path"] + [str(tmp_path)]
    assert sphinx["mathjax_path"] == "npm/mathjax@3.2.2/es5/tex-mml-chtml.js"
    assert sphinx["nb_ipywidgets_js"]["widgets.js"] == {"data-jupyter-widgets-cdn": "npm/"}
    # Each release the published pages load is fetched, and every pinned file is hash-checked.
    pinned = {
        url: attributes["integrity"]
        for url, attributes in config["sphinx"]["config"]["nb_ipywidgets_js"].items()
        if "integrity" in (attributes or {})
    }
    pinned[config["sphinx"]["config"]["mathjax_path"]] = config["sphinx"]["config"]["mathjax_options"]["integrity"]
    checked = {path: integrity for files in wanted.values() for path, integrity in files}
    assert checked == {offline_book.local(url)[1]: integrity for url, integrity in pinned.items()}
    assert all(
        "integrity" not in attributes and "crossorigin" not in attributes
        for attributes in [sphinx["mathjax_options"], *sphinx["nb_ipywidgets_js"].values()]
    )
    # The other settings are the book's own.
    assert {key: value for key, value in new.items() if key != "sphinx"} == {
        key: value for key, value in config.items() if key != "sphinx"
    }


def test_a_script_from_elsewhere_than_an_npm_release_is_refused(tmp_path):
    config = {"sphinx": {"config": {"nb_ipywidgets_js": {"https://example.org/widgets.js": {}}}}}
    with pytest.raises(offline_book.OfflineBuildError, match="example.org/widgets.js is not a file of an npm release"):
        offline_book.offline_config(config, tmp_path)
    config = {"sphinx": {"config": {"html_js_files": ["https://example.org/analytics.js"]}}}
    with pytest.raises(offline_book.OfflineBuildError, match="still loads.*analytics.js"):
        offline_book.offline_config(config, tmp_path)


def test_widget_modules_the_manager_does_not_bundle_are_shipped(tmp_path):
    state = {
        "a": {
            "model_module": "@jupyter-widgets/controls",
            "model_module_version": "2.0.0",
            "state": {"_view_module": "@jupyter-widgets/controls", "_view_module_version": "2.0.0"},
        },
        "b": {"model_module": "@jupyter-widgets/output", "model_module_version": "1.0.0", "state": {}},
        "c": {
            "model_module": "bqplot",
            "model_module_version": "^0.6.0",
            "state": {"_view_module": "bqplot", "_view_module_version": "^0.6.0"},
        },
    }
    notebook = tmp_path / "n.ipynb"
    notebook.write_text(json.dumps({"metadata": {"widgets": {offline_book.WIDGET_STATE: {"state": state}}}}))
    assert offline_book.widget_modules([notebook]) == {("bqplot", "^0.6.0")}
    # The book's own widgets are all the manager's.
    assert offline_book.widget_modules(offline_book.notebooks(ROOT)) == set()
    assert {path.stem for path in offline_book.notebooks(ROOT)} == {
        path.stem for path in (ROOT / "book").glob("*.ipynb")
    }
