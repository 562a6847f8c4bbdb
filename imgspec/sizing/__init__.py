"""What each version costs: the generated corpus (``corpus``) and the storage it needs (``storage``)."""
