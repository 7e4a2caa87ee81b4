"""Data versioning: trees of content-addressed files."""
