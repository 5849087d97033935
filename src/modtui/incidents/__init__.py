"""Load, validate and import incident folders."""
