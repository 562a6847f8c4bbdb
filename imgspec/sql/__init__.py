"""Glance's SQL databases: the relational binding (``binding``), reading a database out as records
(``export``), writing records as rows (``load``) and Glance's releases read as format versions, for the
operator's guide (``guide``)."""
