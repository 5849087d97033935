"""The log: SQLModel tables, the engine, named migrations and queries."""
