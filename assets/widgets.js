// Loaded before require.js and the widget manager, on pages with widgets only.

// RequireJS reads this configuration when it loads. The widget manager fetches its icon fonts
// from beside its own module URL; without this path that URL is beside the page, where there
// are no fonts. Keep the version equal to the one in nb_ipywidgets_js (_config.yml).
//
// Where the npm releases live comes from this script's data-jupyter-widgets-cdn attribute
// (_config.yml): jsDelivr's npm mirror, or in the offline build (book_tools/offline_book.py) the
// folder `npm/` beside this file. It is resolved against this file's own address, which is right
// from a page at any depth, and written back absolute: the widget manager reads the attribute from
// whichever script tag carries it, to load any widget module it does not bundle.
var require = (() => {
  const script = document.currentScript;
  const npm = new URL(script.dataset.jupyterWidgetsCdn, script.src).href;
  script.dataset.jupyterWidgetsCdn = npm;
  return { paths: { "@jupyter-widgets/html-manager/dist": `${npm}@jupyter-widgets/html-manager@1.0.15/dist` } };
})();

// The widget manager typesets the math in widget outputs with the MathJax 2 call
// MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book loads MathJax 3, so give it
// that call on top of MathJax 3's typesetter (a no-op until MathJax has started).
window.MathJax = window.MathJax || {};
window.MathJax.Hub = { Queue: () => {} };
window.MathJax.startup = {
  ready() {
    MathJax.startup.defaultReady();
    MathJax.Hub = { Queue: ([, , element]) => MathJax.typesetPromise([element]) };
  },
};
