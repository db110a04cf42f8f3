"""FLEE compatibility: read FLEE input folders and run them with the ``flee`` rule set.

- :mod:`travesia.flee.data`     FLEE's refugee count tables (merging, registration corrections,
                                interpolation) and the daily number of people to inject;
- :mod:`travesia.flee.params`   the ``flee:`` section of scenario.yaml, validated;
- :mod:`travesia.flee.reader`   reading a FLEE input folder, with file:line errors;
- :mod:`travesia.flee.convert`  ``import_flee``: a FLEE folder → a travesia scenario folder;
- :mod:`travesia.flee.model`    the day-by-day schedule (conflicts, closures, scores, injection)
                                and the movement kernel the ``flee`` rule set runs;
- :mod:`travesia.flee.validation` FLEE's validation: camp populations vs counts (averaged
                                relative difference).

The processes themselves live in :mod:`travesia.engine.processes.flee_rules`.
"""

from travesia.flee.convert import import_flee  # noqa: F401
