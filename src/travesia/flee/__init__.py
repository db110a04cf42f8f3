"""FLEE compatibility: read FLEE input folders and turn them into scenarios run by ``rules: flee``.

- :mod:`travesia.flee.reader`   reading a FLEE input folder, with file:line errors, and the one
                                place that decides what FLEE reads, leaves (a note) or rejects;
- :mod:`travesia.flee.data`     FLEE's count files (merging, registration corrections);
- :mod:`travesia.flee.convert`  ``import_flee``: a FLEE folder → a travesia scenario folder;
- :mod:`travesia.flee.validation` FLEE's validation: camp populations vs counts (averaged
                                relative difference).

The rule set itself (FLEE's schedule, movement kernel, parameters and daily counts) lives in the
engine, :mod:`travesia.engine.processes.flee_rules`: this package depends on the engine, and the
engine never imports it.
"""



def __getattr__(name: str):
    """``travesia.flee.import_flee``, imported when first used (the command line's start does not
    load the engine for it)."""
    if name == "import_flee":
        from travesia.flee.convert import import_flee

        return import_flee
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
