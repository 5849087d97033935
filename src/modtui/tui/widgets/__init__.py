"""Widgets of the TUI, grouped by the screen region they fill."""
