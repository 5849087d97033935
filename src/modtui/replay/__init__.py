"""The replay engine: items × prompts × targets, concurrent, rate-limited, cached, resumable."""
