"""Every user action of the app, declared once. Qt-free.

One table (:data:`ACTIONS`) says, for each action: its id, title, keys, tip, menu, whether the toolbar
shows it, and what it does. What it does is one of three things:

- ``field``: a checkable action that shows and sets a field of the state (``hover``, ``dim`` ...). For a
  field that is not a bool, ``on`` / ``off`` are its two values (the palette). Both directions of the
  sync come from this one line: the Qt side writes the field when the action is toggled and checks the
  action when the field changes (a script, a scene, the settings).
- ``run``: a function of the state (set interpolation A, play, bookmark the point shown ...).
- neither: a *command* that whoever owns it registers with one call, ``commands.bind(id, fn)`` (the
  main window's file dialogs, a panel's stepping); until then the action does nothing.

``needs`` names a state field an action is useless without (``compared``: Stop comparing, Link the compared
views): while it is empty the action is disabled, and a checkable one shows unchecked.

The Qt side (``explorer/qt/actions.py``) makes the QActions, menus, toolbar and the F1 help from this
table. Adding an action is one line here (plus a ``bind`` if it is a command) and its test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MENUS = ("File", "View", "Help")  # in menu-bar order; an action's ``menu`` is one of these or ""


@dataclass(frozen=True)
class Action:
    id: str  # "group.name"; stable: tests, scripts and the settings may name it
    title: str  # with & for the menu mnemonic; "…" when it asks for more (a dialog)
    keys: tuple[str, ...] = ()  # Qt key sequences ("Ctrl+S", "F11") or standard keys ("Open")
    tip: str = ""
    menu: str = ""  # "File", "View", "Help", or "" (keys only)
    section: int = 0  # a separator goes between sections of one menu
    toolbar: bool = False
    field: str | None = None  # a state field this checkable action shows and sets
    on: Any = True  # the field's value when checked ...
    off: Any = False  # ... and when not
    run: Callable[[Any], Any] | None = None  # a function of the state
    needs: str | None = None  # a state field: the action is available only while it holds something ("compared")

    def available(self, state: Any) -> bool:
        """Whether the action can be used now (a disabled menu entry otherwise, shown unchecked)."""
        return self.needs is None or bool(getattr(state, self.needs))

    @property
    def checkable(self) -> bool:
        return self.field is not None

    @property
    def plain_title(self) -> str:
        return self.title.replace("&", "").rstrip("\u2026")

    def checked(self, state: Any) -> bool:
        return bool(self.field) and self.available(state) and getattr(state, self.field) == self.on

    def set(self, state: Any, on: bool) -> None:
        setattr(state, self.field, self.on if on else self.off)


def _toggle_play(st: Any) -> None:
    ip = st.interpolation
    ip.playing = not ip.playing and ip.ready


def _toggle_presentation(st: Any) -> None:
    st.presentation = not st.presentation


def _clear_selection(st: Any) -> None:
    st.selection = ()


A = Action
ACTIONS: tuple[Action, ...] = (
    # File
    A("file.open", "&Open model\u2026", ("Open",), menu="File", toolbar=True),
    A("file.open_dataset", "Open &dataset\u2026", menu="File"),
    A("file.train", "&Train a model\u2026", menu="File",
      tip="Train a model in its own process and watch its plane form; the new model opens when it ends"),
    A("compare.add", "&Add model for comparison\u2026", ("Ctrl+Shift+A",), menu="File",
      tip="Open more models beside this one, over the same images (drop with Ctrl held does too)"),
    A("compare.stop", "S&top comparing", menu="File", tip="Back to one model", needs="compared"),
    A("scene.open", "Open &scene\u2026", ("Ctrl+Shift+O",), menu="File"),
    A("scene.save", "&Save scene\u2026", ("Ctrl+S",), menu="File"),
    A("file.quit", "&Quit", ("Ctrl+Q",), menu="File", section=2),
    # View: the plane
    A("view.hover", "&Hover preview", ("H",), menu="View", toolbar=True, field="hover",
      tip="Decode while the mouse moves over the plane"),
    A("view.underlay", "&Manifold underlay", ("M",), menu="View", toolbar=True, field="underlay",
      tip="Tile decoded images under the scatter"),
    A("view.dim", "&Dim the scatter", ("Shift+M",), menu="View", toolbar=True, field="dim",
      tip="Fade the points, to see the manifold underlay through them"),
    A("view.palette", "&Colour-blind safe palette", menu="View", field="palette", on="colour-blind safe",
      off="tab10", tip="Class colours that stay distinct for colour-blind viewers"),
    A("view.reset", "&Reset view", ("R",), menu="View", toolbar=True),
    A("view.link", "&Link the compared views", ("L",), menu="View", field="link_views", needs="compared",
      tip="Compared planes pan and zoom together"),
    A("select.start", "&Select points (lasso; Shift: rectangle)", ("S",), menu="View",
      tip="Ring the same images in every plane: where does each model put them?"),
    A("select.clear", "Clear the selection", ("Shift+S",), menu="View", run=_clear_selection),
    # View: the point and the talk
    A("bookmark.add", "Bookmark the point shown", ("Ctrl+D",), menu="View", run=lambda st: st.add_bookmark()),
    A("bookmark.next", "Next bookmark (Right, PageDown)", menu="View"),
    A("bookmark.prev", "Previous bookmark (Left, PageUp)", menu="View"),
    A("tour.play", "Play / stop the bookmark &tour", ("Ctrl+T",), menu="View",
      tip="Glide from bookmark to bookmark, holding at each with its name on the plane; Esc stops"),
    A("tour.export", "Export the bookmark tour…", menu="File",
      tip="Write the tour as an MP4 or GIF: one decoded frame per step of the glide"),
    A("class.next", "Decode as the next class (conditional models)", ("]",), menu="View"),
    A("class.prev", "Decode as the previous class", ("[",), menu="View"),
    A("view.presentation", "Presentation mode", ("F11",), menu="View", run=_toggle_presentation),
    A("interp.set_a", "Set interpolation A to the point shown", ("A",), run=lambda st: st.set_endpoint("a")),
    A("interp.set_b", "Set interpolation B to the point shown", ("B",), run=lambda st: st.set_endpoint("b")),
    A("interp.play", "Play / stop the interpolation", ("Space",), run=_toggle_play),
    A("window.escape", "Leave presentation mode / close help", ("Esc",)),
    # View: posterior spread
    A("spread.samples", "Plot posterior &samples", ("Shift+P",), menu="View", section=1, field="plot_samples",
      tip="Plot one sample z ~ N(mean, sigma\u00b2) per image instead of its mean"),
    A("spread.ellipses", "Posterior &ellipses", ("Shift+E",), menu="View", section=1, field="ellipses",
      tip="1- and 2-sigma ellipses of the nearest data point and of the selection"),
    A("manifold.shade", "Shade &off the data", ("Shift+O",), menu="View", section=1, field="off_manifold",
      tip="Shade where the model never put an image (the density of the data's codes is below what 99 % of "
          "the images reach); the pane warns when the point shown lies there"),
    # Help
    A("help.keys", "&Keys and help", ("F1",), menu="Help"),
)
BY_ID: dict[str, Action] = {a.id: a for a in ACTIONS}

# what the mouse and the clicker keys do (handled by the views, not by actions): the help lists them too
MOUSE_HELP: tuple[tuple[str, str], ...] = (
    ("Right \u00b7 PageDown", "next bookmark (a presentation clicker's keys; not while a slider has focus)"),
    ("Left \u00b7 PageUp", "previous bookmark"),
    ("Click", "decode the point under the mouse"),
    ("Drag the marker", "decode continuously"),
    ("Class list click", "hide / show a class"),
    ("Class row click", "decode the pane as that class (conditional models)"),
    ("Wheel \u00b7 left-drag", "zoom \u00b7 pan"),
)


class UnknownAction(KeyError):
    def __str__(self) -> str:
        return f"there is no action {self.args[0]!r}; the actions are declared in explorer/core/actions.py."


class Commands:
    """The functions behind the table's command actions (those with neither ``field`` nor ``run``).

    Whoever owns a command registers it with one call: ``commands.bind("bookmark.next", panel.next)``."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self._fns: dict[str, Callable[[], Any]] = {}

    def bind(self, action_id: str, fn: Callable[[], Any]) -> None:
        a = BY_ID.get(action_id)
        if a is None:
            raise UnknownAction(action_id)
        if a.field is not None or a.run is not None:
            raise ValueError(f"action {action_id!r} is declared with a field or a function; it takes no command.")
        self._fns[action_id] = fn

    def bound(self, action_id: str) -> bool:
        return action_id in self._fns

    def trigger(self, action_id: str, checked: bool | None = None) -> Any:
        """Do what the action does (what its menu entry or key does)."""
        a = BY_ID.get(action_id)
        if a is None:
            raise UnknownAction(action_id)
        if not a.available(self.state):
            return None
        if a.field is not None:
            a.set(self.state, not a.checked(self.state) if checked is None else checked)
            return None
        if a.run is not None:
            return a.run(self.state)
        fn = self._fns.get(action_id)
        return None if fn is None else fn()


def help_rows(key_text: Callable[[str], str] = lambda k: k) -> list[tuple[str, str]]:
    """(keys, what they do) for every action with keys, then the mouse: the F1 help's rows.

    ``key_text`` turns one key sequence into what the platform shows ("Ctrl+O" for "Open")."""
    rows = [(" \u00b7 ".join(key_text(k) for k in a.keys), a.plain_title) for a in ACTIONS if a.keys]
    return rows + list(MOUSE_HELP)
