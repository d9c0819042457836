"""The footer: Help first, then the keys of the focused pane, then the rest; keys that do not fit are left out
whole (80 columns drop the tail, never `?`, and never cut a key mid-word under the palette hint)."""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

HELP_KEY = "question_mark"


class KeyFooter(Footer):
    """Textual's footer lists keys first-come (the focused widget's, the screen's, then the app's), so at 80
    columns `? Help` fell off the end; this one orders them by what matters for the focused pane."""

    def compose(self) -> ComposeResult:
        """Help, the screen's `pane_keys()` (shown even when not marked `show`), then the other shown keys."""
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        pane_keys: Callable[[], tuple[str, ...]] | None = getattr(self.screen, "pane_keys", None)
        first = (HELP_KEY, *(pane_keys() if pane_keys is not None else ()))
        chosen: list[ActiveBinding] = [active[key] for key in first if key in active]
        chosen += [b for key, b in active.items() if b.binding.show and key not in first]
        palette = self.app.COMMAND_PALETTE_BINDING
        show_palette = self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and palette in active
        room = self.app.size.width
        if show_palette:
            room -= self._key_width(active[palette]) + 1  # its left border
        actions: set[str] = set()
        for item in chosen:
            binding = item.binding
            if binding.action in actions or binding.key == palette or not binding.description:
                continue
            room -= self._key_width(item)
            if room < 0:
                break
            actions.add(binding.action)
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not item.enabled,
                tooltip=item.tooltip,
            ).data_bind(compact=Footer.compact)
        if show_palette:
            item = active[palette]
            yield FooterKey(
                item.binding.key,
                self.app.get_key_display(item.binding),
                item.binding.description,
                item.binding.action,
                classes="-command-palette",
                disabled=not item.enabled,
                tooltip=item.binding.tooltip or item.binding.description,
            )

    def _key_width(self, item: ActiveBinding) -> int:
        """Columns a FooterKey takes: the key and description with their padding (one column between in compact)."""
        text = len(self.app.get_key_display(item.binding)) + len(item.binding.description)
        return text + (1 if self.compact else 3)

    def on_resize(self, event: events.Resize) -> None:
        """Another width fits other keys."""
        if event.size.width != self._laid_out_width:
            self._laid_out_width = event.size.width
            self.refresh(recompose=True)

    _laid_out_width = 0
