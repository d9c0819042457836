"""Widgets of the TUI: header, target lists and the detail panes."""
