"""A DataTable of images or containers, keyed by target ID, rebuilt in one pass and patched per row.

Patching never re-measures a column: DataTable's own `update_width` re-measures every cell of a column whenever
a cell gets narrower (1,000 rows per result during audit-all); here a column only grows, by the new cell."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

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
        for key, cells in rows:
            self.add_row(*cells, key=key)
            for (column, _label), value in zip(self._column_spec, cells, strict=True):
                widths[column] = max(widths[column], _width(value))
        # The widths come from the cells' own lengths (one-line cells): DataTable would measure each new cell
        # through the console, 7,000 rich measurements for 1,000 rows, most of the first paint.
        for column, width in widths.items():
            self.columns[column].content_width = width  # type: ignore[index]
        self._new_rows.clear()
        self._require_update_dimensions = True
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
        """Update one row in place (no-op when it is filtered out)."""
        if key not in self.rows:
            return
        grew = False
        for (column, _label), value in zip(self._column_spec, cells, strict=True):
            self.update_cell(key, column, value)
            width = _width(value)
            spec = self.columns[column]  # type: ignore[index]  # DataTable looks str keys up as ColumnKey
            if width > spec.content_width:
                spec.content_width = width
                grew = True
        if grew:
            # Recompute the scrollable width from the column widths (no new rows: nothing is measured).
            self._require_update_dimensions = True


def _width(cell: Text | str) -> int:
    """Columns a one-line cell takes."""
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)
