"""The Textual face of modtui: app, screens, widgets, one stylesheet."""
