"""Page views of the training app; each module serves one page (and its JSON helpers)."""
