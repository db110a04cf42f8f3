"""Writing result folders and files atomically, never over a user's own folder.

The implementation is the core's (:mod:`travesia.output`); the ensemble modules import it from here.
"""

from travesia.output import atomic_write, commit_partial, csv_text, new_partial, write_folder

__all__ = ["atomic_write", "commit_partial", "csv_text", "new_partial", "write_folder"]
