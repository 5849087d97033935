"""Services shared by the CLI and the TUI: each one a thin composition of core, files and store."""
