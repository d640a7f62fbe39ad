"""The job process: runs one job spec and prints JSON-line events on stdout.

Heavy libraries (torch, datasets, transformers, trl, peft) are imported inside the
functions that need them, so importing this package stays cheap.
"""
