"""The main screen's image and container lists: rows from the inventory, filtered, sorted and selected, and
patched one row at a time as audits finish."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from textual import on
from textual.widgets import Input, TabbedContent

from dockaudit.facts.inventory import ContainerSummary, ImageSummary, short_id
from dockaudit.model import TargetResult
from dockaudit.tui import presenters as p
from dockaudit.tui.backend import ScanState
from dockaudit.tui.screens.target_detail import TargetDetail
from dockaudit.tui.widgets.target_table import Cells


def image_key(image_id: str) -> str:
    """State key of an image."""
    return f"image:{image_id}"


def container_key(container_id: str) -> str:
    """State key of a container."""
    return f"container:{container_id}"


RowT = TypeVar("RowT", ImageSummary, ContainerSummary)
CellMaker = Callable[[RowT, TargetResult | None, ScanState | None, datetime, bool, int], Cells]
"""`presenters.image_cells` or `container_cells`."""


class TargetLists(TargetDetail):
    """The image and container lists of the main screen."""

    selected: set[str]
    sorts: dict[str, p.SortKey]
    filters: dict[str, str]
    show_stopped: bool
    stale: set[str]
    _row_cells: dict[str, tuple[tuple[object, ...], Cells]]
    """Each row's cells and what they were made from."""

    def _visible_images(self) -> list[ImageSummary]:
        flt = self.filters["image"]
        rows = [r for r in self.inventory.images if not flt or p.matches(flt, r.name, r.id, *r.repo_tags)]
        results = {r.id: self.results[image_key(r.id)] for r in rows if image_key(r.id) in self.results}
        return p.sort_images(rows, self.sorts["image"], results)

    def _visible_containers(self) -> list[ContainerSummary]:
        flt = self.filters["container"]
        rows = [
            r
            for r in self.inventory.containers
            if (self.show_stopped or r.up) and (not flt or p.matches(flt, r.name, r.id, r.image, r.state))
        ]
        results = {r.id: self.results[container_key(r.id)] for r in rows if container_key(r.id) in self.results}
        return p.sort_containers(rows, self.sorts["container"], results)

    def _image_cells(self, row: ImageSummary) -> Cells:
        key = image_key(row.id)
        return self._cells(key, row, p.image_cells)

    def _cells(self, key: str, row: RowT, cells_of: CellMaker[RowT]) -> Cells:
        """A row's cells, made again only when something they show changed (a filter keystroke or a sort rebuilds
        1,000 rows, nearly all as they were)."""
        result, scan = self.results.get(key), self.scans.get(key)
        selected, width = key in self.selected, self._name_width()
        known = self._row_cells.get(key)
        if known is not None:
            (was_row, was_result, was_scan, was_selected, was_width), cells = known
            if (was_row, was_result, was_scan, was_selected, was_width) == (row, result, scan, selected, width):
                return cells
        cells = cells_of(row, result, scan, self.now, selected, width)
        self._row_cells[key] = ((row, result, scan, selected, width), cells)
        return cells

    def _name_width(self) -> int:
        # Wide terminals can afford full registry paths; 80 columns cannot.
        return p.NAME_WIDTH if self.app.size.width < 140 else p.NAME_WIDTH * 3 // 2

    def _container_cells(self, row: ContainerSummary) -> Cells:
        return self._cells(container_key(row.id), row, p.container_cells)

    def populate(self, kind: str) -> None:
        """Rebuild one list from the inventory, filter and sort."""
        if kind == "compose":
            self.populate_compose()
            return
        browser = self.browser(kind)
        if kind == "image":
            images = self._visible_images()
            browser.table.populate([(image_key(r.id), self._image_cells(r)) for r in images])
            self._label(kind, len(images))
        else:
            containers = self._visible_containers()
            browser.table.populate([(container_key(r.id), self._container_cells(r)) for r in containers])
            self._label(kind, len(containers))
        self.show_detail(kind)

    def _label(self, kind: str, shown: int) -> None:
        """Tab label: count (shown/total when filtered), sort, and the running-only state."""
        total = len(self.inventory.images if kind == "image" else self.inventory.containers)
        label = "Images" if kind == "image" else "Containers"
        count = f"{shown}" if shown == total else f"{shown}/{total}"
        sort = self.sorts[kind]
        extra = f" {sort.value}" if sort is not p.SortKey.NAME else ""
        if kind == "container" and not self.show_stopped:
            extra += " running"
        tabs = self.query_one("#main-tabs", TabbedContent)
        tabs.get_tab(f"{kind}s").label = f"{label} {count}{extra}"

    def patch_row(self, key: str) -> None:
        """Redraw one row after its state changed."""
        self.relabel_compose(key)
        kind, _, ident = key.partition(":")
        if f"{kind}s" not in self.built_tabs:
            return  # the list is built from state when its tab is first shown
        if kind == "image":
            row = next((r for r in self.inventory.images if r.id == ident), None)
            if row is not None:
                self.browser("image").table.patch(key, self._image_cells(row))
        elif kind == "container":
            crow = next((r for r in self.inventory.containers if r.id == ident), None)
            if crow is not None:
                self.browser("container").table.patch(key, self._container_cells(crow))

    def _populate_shown(self) -> None:
        if self.kind in self.stale:
            self.stale.discard(self.kind)
            self.populate(self.kind)

    def action_select(self) -> None:
        """Toggle the highlighted row in the selection and move down."""
        if not self.listing:
            if self.kind == "host":
                self.notify("The host is one target: a audits it", severity="warning")
            return
        key = self.current_key()
        if key is None:
            return
        self.selected.symmetric_difference_update({key})
        self.patch_row(key)
        table = self.browser().table
        table.move_cursor(row=min(table.cursor_row + 1, table.row_count - 1))

    def action_filter(self) -> None:
        """Show the filter box for the shown list (the vulnerability list's own box when that has the focus)."""
        if self.kind != "compose" and self.pane() == "vulns":
            self.set_focus(self.browser().detail.query_one("#vuln-filter", Input))
            return
        if not self.listing:
            where = "host list" if self.kind == "host" else "Compose tree"
            self.notify(f"The {where} has nothing to filter", severity="warning")
            return
        flt = self.query_one("#filter", Input)
        flt.add_class("-shown")
        # Inline display and a direct set_focus apply at once (Widget.focus is deferred), so keys typed in
        # the same burst as '/' (tmux send-keys, a paste) land in the filter, not on the list's bindings.
        flt.display = True
        flt.value = self.filters[self.kind]
        self.set_focus(flt)

    def _hide_filter(self) -> None:
        flt = self.query_one("#filter", Input)
        flt.remove_class("-shown")
        flt.display = False
        if self.listing:
            self.browser().table.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # Not gated on the box being shown: in a burst ("/bad" + Enter) the change arrives after Enter hid it.
        if not self.listing or event.value == self.filters[self.kind]:
            return
        self.filters[self.kind] = event.value
        self.populate(self.kind)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self._hide_filter()

    def action_sort(self) -> None:
        """Cycle the order of the shown list."""
        if not self.listing:
            where = "host list" if self.kind == "host" else "Compose tree"
            self.notify(f"The {where} has one order", severity="warning")
            return
        self.sorts[self.kind] = self.sorts[self.kind].next()
        kind = self.kind
        # Same rows in a new order: reorder in place, which is much cheaper than rebuilding 1,000 rows.
        if kind == "image":
            ids = [short_id(r.id) for r in self._visible_images()]
        else:
            ids = [short_id(r.id) for r in self._visible_containers()]
        table = self.browser(kind).table
        if kind in self.stale or len(ids) != table.row_count:
            self.populate(kind)
            return
        table.reorder(ids)
        self._label(kind, len(ids))

    def action_toggle_stopped(self) -> None:
        """Show or hide containers that are not running."""
        self.show_stopped = not self.show_stopped
        if self.kind == "container":
            self.populate("container")
        else:
            self.stale.add("container")
            self._label("container", len(self._visible_containers()))
