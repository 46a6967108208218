"""Progress bars whose stored output ends as the run did.

In a notebook, tqdm draws a widget, and Jupyter stores the text version of a displayed object
as it was when displayed: a finished run would keep "0%" in the saved notebook's text. This
bar is displayed with a display id and redrawn once it closes, so the text stored beside the
widget is the finished bar. A bar made with ``leave=False`` (the progress of a long cell, which
the reader of the finished page needs no more) is replaced by nothing once it closes, so the
stored notebook holds no trace of how long the run took. Outside a notebook it is tqdm's
terminal bar.
"""

from tqdm import auto, notebook

# What a bar made with leave=False leaves in the stored notebook: an empty HTML output, which the
# rendered book shows as nothing (an empty text output would be an empty box)
_NOTHING = {"text/html": ""}


class _NotebookBar(notebook.tqdm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, display=False, **kwargs)
        from IPython.display import display

        if self.leave:
            self._handle = display(self.container, display_id=True)
        else:  # nbval compares the first display, not its updates: a bar that goes starts as what it leaves
            bundle = self.container._repr_mimebundle_()
            bundle.pop("text/plain", None)
            self._handle = display({**bundle, **_NOTHING}, raw=True, display_id=True)
        self.displayed = True

    def close(self):
        closing = not self.disable
        super().close()
        if closing and self._handle is not None:
            if self.leave:
                self._handle.update(self.container)
            else:
                self._handle.update(_NOTHING, raw=True)
            self._handle = None


def progress_bar(iterable=None, **kwargs):
    """``tqdm.auto.tqdm(iterable, **kwargs)``, with the notebook's stored text redrawn at the end."""
    if issubclass(auto.tqdm, notebook.tqdm) and not kwargs.get("disable"):
        return _NotebookBar(iterable, **kwargs)
    return auto.tqdm(iterable, **kwargs)
