"""Small, dependency-free renderings of frames for Dagster metadata."""

from __future__ import annotations

import polars as pl


def markdown_preview(frame: pl.DataFrame, rows: int = 5, width: int = 40) -> str:
    """The first rows as a Markdown table (long texts cut, pipes and line breaks escaped)."""
    head = frame.head(rows)

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        text = text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    lines = [
        "| " + " | ".join(head.columns) + " |",
        "| " + " | ".join("---" for _ in head.columns) + " |",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.iter_rows()]
    if frame.height > rows:
        lines.append(f"\n_{rows} of {frame.height:,} rows_")
    return "\n".join(lines)


def png_markdown(png: bytes, alt: str) -> str:
    """An image inline in Markdown metadata (the Dagster UI renders it; nothing to host)."""
    import base64

    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"


def figure_png(figure, dpi: int = 80) -> bytes:
    """A matplotlib figure as PNG bytes (and closed)."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()
