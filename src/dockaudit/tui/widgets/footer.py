"""The footer: Help first, then the keys of the focused pane, then the rest; keys that do not fit are left out
whole (80 columns drop the tail, never `?`, and never cut a key mid-word under the palette hint)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from textual import events
from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

HELP_KEY = "question_mark"


class ShownKey(NamedTuple):
    """One key as the footer shows it."""

    key: str
    display: str
    description: str
    action: str
    enabled: bool
    tooltip: str


class KeyFooter(Footer):
    """Textual's footer lists keys first-come (the focused widget's, the screen's, then the app's), so at 80
    columns `? Help` fell off the end; this one orders them by what matters for the focused pane.

    Textual rebuilds its footer on every bindings change (five times around the first frame, ~30 ms each, which
    the first keys wait behind); this one rebuilds only when what it shows changes."""

    _shown: tuple[tuple[ShownKey, ...], ShownKey | None] | None = None

    def _plan(self) -> tuple[tuple[ShownKey, ...], ShownKey | None]:
        """The keys to show, in order, that fit the width, and the palette hint (None when hidden)."""
        active = self.screen.active_bindings
        pane_keys: Callable[[], tuple[str, ...]] | None = getattr(self.screen, "pane_keys", None)
        first = (HELP_KEY, *(pane_keys() if pane_keys is not None else ()))
        chosen: list[ActiveBinding] = [active[key] for key in first if key in active]
        chosen += [b for key, b in active.items() if b.binding.show and key not in first]
        palette_key = self.app.COMMAND_PALETTE_BINDING
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and palette_key in active:
            item = active[palette_key]
            palette = self._shown_key(item, item.binding.tooltip or item.binding.description)
        # The palette hint: its left border, the key, a space, the description and one column of padding.
        room = self.app.size.width - (len(palette.display) + len(palette.description) + 3 if palette else 0)
        shown: list[ShownKey] = []
        actions: set[str] = set()
        for item in chosen:
            binding = item.binding
            if binding.action in actions or binding.key == palette_key or not binding.description:
                continue
            key = self._shown_key(item, item.tooltip)
            room -= self._width(key)
            if room < 0:
                break
            actions.add(binding.action)
            shown.append(key)
        return tuple(shown), palette

    def _shown_key(self, item: ActiveBinding, tooltip: str) -> ShownKey:
        binding = item.binding
        return ShownKey(
            binding.key, self.app.get_key_display(binding), binding.description, binding.action, item.enabled, tooltip
        )

    def _width(self, key: ShownKey) -> int:
        """Columns a FooterKey takes: the key and description with their padding (one column between in compact)."""
        return len(key.display) + len(key.description) + (1 if self.compact else 3)

    def compose(self) -> ComposeResult:
        """Help, the screen's `pane_keys()` (shown even when not marked `show`), then the other shown keys."""
        if not self._bindings_ready:
            return
        self._shown = shown, palette = self._plan()
        for key in shown:
            yield FooterKey(
                key.key, key.display, key.description, key.action, disabled=not key.enabled, tooltip=key.tooltip
            ).data_bind(compact=Footer.compact)
        if palette is not None:
            yield FooterKey(
                palette.key,
                palette.display,
                palette.description,
                palette.action,
                classes="-command-palette",
                disabled=not palette.enabled,
                tooltip=palette.tooltip,
            )

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Rebuild only when the keys shown would change."""
        if self._bindings_ready and self.is_attached and screen is self.screen and self._plan() == self._shown:
            return
        super().bindings_changed(screen)

    def on_resize(self, event: events.Resize) -> None:
        """Another width may fit other keys."""
        if self._bindings_ready and self._shown is not None and self._plan() != self._shown:
            self.refresh(recompose=True)
