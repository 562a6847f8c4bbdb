"""The Images API document: the document and body validation (``document``), its fields as rows
(``fields``), its API versions (``microversions``) and the conformance run against a live service
(``conformance``)."""
