"""Background work: the in-process scheduler (`scheduler.py`) and the one list of jobs (`registry.py`)."""
