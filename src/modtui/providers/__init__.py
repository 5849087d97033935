"""Provider adapters behind one async interface, found by name in the registry."""
