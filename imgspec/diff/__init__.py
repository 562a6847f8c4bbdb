"""What changed between two versions: of the record schemas (``schemas``, for readers and writers of stored
records) and of the API document (``api``, for clients)."""
