"""One module per Harvest resource; each maps requests to models and never touches HTTP."""
