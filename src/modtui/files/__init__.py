"""Reading input files with positions, so every problem names its file and line."""
