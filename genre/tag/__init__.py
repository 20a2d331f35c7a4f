"""Tagging a music library: ``python -m genre tag``.

``walk`` finds the songs, ``ledger`` keeps the resumable results file (one run at a time: ``lock``),
``rows`` is a result as a line of it, ``job`` turns one song into one row in a worker, ``pool``
keeps the workers (one that dies or hangs costs its song), ``run`` drives the run, the progress bar
and ``tally``'s summary, ``write`` puts the genre into the file's tags (``fields``, per container)
with mutagen, through ``replace``'s safe copy-and-rename (or in place with ``journal``'s safety
copy), ``undo`` takes written tags back, and ``ray`` runs the same jobs on a Ray cluster.
Optional dependencies: mutagen and tqdm (requirements.txt), Ray (requirements-scale.txt).
"""
