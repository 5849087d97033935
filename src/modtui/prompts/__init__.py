"""Prompt templates: load, render, version, diff."""
