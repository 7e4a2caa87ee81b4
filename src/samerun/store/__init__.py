"""Storage: the SQL metadata store, the content-addressed object store, and the project layout."""
