"""Screens of the TUI: incidents list, workbench, item detail, timeline, dialogs."""
