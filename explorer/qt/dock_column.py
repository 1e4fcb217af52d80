"""The right dock column of the main window, fitted to its size (a part of the main window, like
``PresentationLayout``): the tabs of the panels, and a CVAE's class row.

- **Tabs.** Up to seven panels share one tab bar, about 360 px wide at 1280x720: with the style's padding
  their names were elided to "Dr…", "Mo…". The tabs get a slimmer padding (``SlimTabs``), and when the full names
  still do not fit the column, the panels with long names take short ones (``SHORT``: "Interp.",
  "Marks", "Train"); the tab's tooltip and the dock's object name keep the full name.
- **The class row** of a conditional model takes the height the column leaves after the decode pane
  and ``PANEL_ROOM`` (the panels' title, tabs and buttons): at 1280x720 one row of small tiles, so Play,
  the exports and every panel's buttons stay on screen without scrolling.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, QTimer
from PySide6.QtWidgets import QProxyStyle, QStyle, QStyleOptionTab, QTabBar

QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum"

SHORT = {"Interpolation": "Interp.", "Bookmarks": "Marks", "Training": "Train"}  # a full name -> its short one
TAB_SPACE = 12  # px of a tab around its name (Fusion's is 24): more names fit whole


class SlimTabs(QProxyStyle):
    """The application's style with less room around a tab's name. (A style sheet would do it too, but a
    style sheet in the window stops presentation mode's font from reaching the widgets.)"""

    def pixelMetric(self, metric, option=None, widget=None) -> int:
        if metric == QStyle.PixelMetric.PM_TabBarTabHSpace:
            return TAB_SPACE
        return super().pixelMetric(metric, option, widget)


def tab_width(bar: QTabBar, text: str) -> int:
    """The width ``bar`` needs to show ``text`` on a tab unelided (as QTabBar's own size hint computes it)."""
    opt = QStyleOptionTab()
    opt.initFrom(bar)
    opt.shape, opt.text = bar.shape(), text
    fm, style = bar.fontMetrics(), bar.style()
    pad = style.pixelMetric(QStyle.PixelMetric.PM_TabBarTabHSpace, opt, bar)
    return style.sizeFromContents(QStyle.ContentsType.CT_TabBarTab, opt,
                                  QSize(fm.horizontalAdvance(text) + pad, fm.height()), bar).width()


class DockColumn:
    """Mixin for the main window: ``fit_column()`` after a resize, a panel shown or hidden, presentation mode."""

    PANEL_ROOM = 300  # px of the dock column kept for the tabbed panels (title, tabs, their buttons)
    DIAL_CHROME = 64  # px: the dock titles, the class dial's "Decode as" row and the margins around its tiles
    PRESENT_DECODED = 0.5  # of the window's height: a CVAE's decoded image in presentation mode, at most

    def fit_column(self) -> None:
        self.fit_tabs()
        self.fit_class_row()

    def fit_column_later(self) -> None:
        """After Qt has laid out a change of the docks (a tab appears only then)."""
        QTimer.singleShot(0, self.fit_column)

    def panel_tab_bar(self) -> QTabBar | None:
        """The tab bar of the tabbed panels (None while they are not tabbed, or hidden)."""
        docks = [d for d in self.panel_docks if d.isVisible()]
        names = {d.windowTitle() for d in docks}
        for bar in self.findChildren(QTabBar):  # QMainWindow parks the tab bars it does not use off the window
            if (bar.isVisible() and bar.count() and self.rect().intersects(bar.geometry())
                    and {bar.tabText(i) for i in range(bar.count())} <= names):
                return bar
        return None

    def fit_tabs(self) -> None:
        bar = self.panel_tab_bar()
        if bar is None:
            return
        if not isinstance(bar.style(), SlimTabs):
            if getattr(self, "_slim_tabs", None) is None:
                self._slim_tabs = SlimTabs()  # kept: a widget does not own the style it is given
            bar.setStyle(self._slim_tabs)
        docks = [d for d in self.panel_docks if d.isVisible()]
        full = [d.objectName() for d in docks]
        room = self.pane_dock.width()
        short = sum(tab_width(bar, n) for n in full) > room
        for d in docks:
            title = SHORT.get(d.objectName(), d.objectName()) if short else d.objectName()
            if d.windowTitle() != title:
                d.setWindowTitle(title)
        for i in range(bar.count()):  # the full name on hover (Qt sets the tab's title there)
            dock = next((d for d in docks if d.windowTitle() == bar.tabText(i)), None)
            if dock is not None and bar.tabToolTip(i) != dock.objectName():
                bar.setTabToolTip(i, dock.objectName())

    def fit_class_row(self) -> None:
        """A CVAE's class row takes the height the dock column leaves after the decode pane and PANEL_ROOM. In
        presentation mode, where the decoded image would take the column's whole width, a CVAE's is at most
        PRESENT_DECODED of the window's height (above 40 %), so its class row and the class list fit under it."""
        presenting = self.state.presentation
        column = self.present_height() if presenting else self.centralWidget().height()  # full screen: all of it
        cap = int(self.PRESENT_DECODED * column) if presenting and self.class_dial.active else None
        self.pane.decoded.setMaximumHeight(cap or QWIDGETSIZE_MAX)
        width = self.present_pane_width() if presenting else self.pane_dock.width()
        pane = self.pane.heightForWidth(max(1, width)) if self.pane.hasHeightForWidth() else 0
        # what else the column holds: the tabbed panels, or in presentation mode the class list under the pane
        room = self.legend.sizeHint().height() if presenting else self.PANEL_ROOM
        self.class_dial.tiles.set_max_height(max(0, column - pane - room - self.DIAL_CHROME))
