"""Class colour palettes (hex strings), cycled beyond their length. Qt-free."""

from __future__ import annotations

PALETTES: dict[str, list[str]] = {
    # matplotlib's tab10: familiar, distinct on a projector, but Pullover / Dress / Sandal merge for a
    # deuteranope (checked with a deuteranopia simulation).
    "tab10": ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
              "#17becf"],
    # Paul Tol's "muted" scheme (designed to stay distinct under the common colour-vision deficiencies),
    # with his pale grey as the tenth colour.
    "colour-blind safe": ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255",
                          "#AA4499", "#BBBBBB"],
}
DEFAULT = "tab10"


def colour(palette: str, k: int) -> str:
    colours = PALETTES.get(palette, PALETTES[DEFAULT])
    return colours[k % len(colours)]
