"""A DataTable of images or containers, keyed by target ID, rebuilt in one pass and patched per row.

Patching never re-measures a column: DataTable's own `update_width` re-measures every cell of a column whenever
a cell gets narrower (1,000 rows per result during audit-all); here a column only grows, by the new cell."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, Row, RowDoesNotExist, RowKey

from dockaudit.tui.widgets.lists import NavTable

Cells = tuple[Text | str, ...]


class TargetTable(NavTable):
    """The target list; row keys are target IDs, column keys are the presenters' column ids."""

    DEFAULT_CSS = """
    TargetTable {
        height: 1fr;
    }
    """

    def __init__(self, columns: Sequence[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._column_spec = tuple(columns)

    def on_mount(self) -> None:
        """Create the columns."""
        for key, label in self._column_spec:
            self.add_column(label, key=key)

    @property
    def current_key(self) -> str | None:
        """The target ID under the cursor."""
        if self.row_count == 0:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    def populate(self, rows: Sequence[tuple[str, Cells]]) -> None:
        """Replace all rows, keeping the cursor on the same target when it is still listed."""
        keep = self.current_key
        self.clear()
        widths = {column: cell_len(label) for column, label in self._column_spec}
        column_keys = [ColumnKey(column) for column, _label in self._column_spec]
        locations, data, meta = self._row_locations, self._data, self.rows
        # The rows go in as `add_row` puts them, without its per-row work (a reactive cursor update and a check
        # per row were two thirds of listing 1,000 rows): keys are target IDs (unique), rows one line, unlabelled.
        for index, (key, cells) in enumerate(rows):
            row_key = RowKey(key)
            locations[row_key] = index
            data[row_key] = dict(zip(column_keys, cells, strict=True))
            meta[row_key] = Row(row_key, 1)
            for (column, _label), value in zip(self._column_spec, cells, strict=True):
                widths[column] = max(widths[column], _width(value))
        # The widths come from the cells' own lengths (one-line cells): DataTable would measure each new cell
        # through the console, 7,000 rich measurements for 1,000 rows, most of the first paint.
        for column, width in widths.items():
            self.columns[column].content_width = width  # type: ignore[index]
        self._update_count += 1
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate  # clamped to the new rows
        if rows:
            self._highlight_cursor()  # as `add_row` does when the first row arrives
        self.check_idle()
        if keep is not None:
            with contextlib.suppress(RowDoesNotExist):
                self.move_cursor(row=self.get_row_index(keep), animate=False)

    def reorder(self, short_ids: Sequence[str]) -> None:
        """Put the listed rows in this order by their ID cell (no rows re-added, so no re-measuring)."""
        rank = {sid: i for i, sid in enumerate(short_ids)}
        keep = self.current_key
        self.sort("id", key=lambda sid: rank.get(str(sid), len(rank)))
        if keep is not None:
            self.move_cursor(row=self.get_row_index(keep), animate=False)

    def patch(self, key: str, cells: Cells) -> None:
        """Update one row in place (no-op when it is filtered out); only that row is repainted.

        DataTable's `update_cell` repaints the whole visible table per cell: seven times per row, for every row
        audit-all finishes, on screen or not."""
        row_key = RowKey(key)
        data = self._data.get(row_key)
        if data is None:
            return
        changed = grew = False
        for (column, _label), value in zip(self._column_spec, cells, strict=True):
            column_key = ColumnKey(column)
            if _same(data.get(column_key), value):
                continue
            data[column_key] = value
            changed = True
            width = _width(value)
            spec = self.columns[column_key]
            if width > spec.content_width:
                spec.content_width = width
                grew = True
        if not changed:
            return
        self._update_count += 1  # the render caches are keyed by it
        if grew:
            # Recompute the scrollable width from the column widths (no new rows: nothing is measured).
            self._require_update_dimensions = True
            self.refresh()
        elif self._on_screen(self._row_locations.get(row_key)):
            # Not `refresh_row`: it sums the heights of every row above (O(rows) per patch).
            self.refresh()

    def _on_screen(self, index: int | None) -> bool:
        """Whether the row at `index` is in view (every row here is one line high)."""
        if index is None:
            return False
        top = round(self.scroll_y)
        return top <= index < top + self.scrollable_content_region.height


def _same(old: object, new: Text | str) -> bool:
    """Whether a cell shows the same (rich's Text equality leaves out the base style)."""
    if isinstance(old, Text) and isinstance(new, Text):
        return old == new and old.style == new.style
    return old == new


def _width(cell: Text | str) -> int:
    """Columns a one-line cell takes."""
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)
