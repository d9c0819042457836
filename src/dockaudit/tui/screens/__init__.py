"""Screens of the TUI: the main browser, the engine error, and the modal dialogs."""
