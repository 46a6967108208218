// Loaded before require.js and the widget manager, on pages with widgets only.

// RequireJS reads this configuration when it loads. Each module the widget manager bundles
// (@jupyter-widgets/base, /controls, /html-manager, .../dist/libembed-amd) fetches the icon fonts
// from beside its own module URL, and whichever module's styles come last wins; without these
// paths a module's URL is beside the page, where there are no fonts. All of them point into the
// release's dist/ folder, where the fonts are. Keep the version equal to the one in
// nb_ipywidgets_js (_config.yml).
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
  const dist = `${npm}@jupyter-widgets/html-manager@1.0.15/dist`;
  return { paths: { "@jupyter-widgets": dist, "@jupyter-widgets/html-manager/dist": dist } };
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
