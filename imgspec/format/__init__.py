"""The Image Record Format itself: the schema registry (``registry``), validation with its formats
(``validation``, ``formats``, ``profiles``), placement's semantic rules (``placement``), the examples
(``examples``), the field index (``fields``), self-contained bundles (``bundle``), generated records
(``generate``), Glance's evidence for each constraint (``evidence``), the reader contract (``contract``) and
the command line's input sources (``inputs``)."""
