"""The footer: Help first, then the keys of the focused pane, then the rest (80 columns cut the tail, not `?`)."""

from __future__ import annotations

from collections.abc import Callable

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
        actions: set[str] = set()
        for item in chosen:
            binding = item.binding
            if binding.action in actions or binding.key == palette or not binding.description:
                continue
            actions.add(binding.action)
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not item.enabled,
                tooltip=item.tooltip,
            ).data_bind(compact=Footer.compact)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and palette in active:
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
