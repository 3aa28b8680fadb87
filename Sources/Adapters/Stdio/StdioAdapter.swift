// The terminal adapter.
