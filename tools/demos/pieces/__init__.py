"""The pieces, one module each, and which of them ship with the app.

Each module has

- ``compose(seed=SEED) -> Song``: the piece, its humanisation (timing, velocity, the odd
  ghost note) drawn from ``random.Random(seed)``, so one seed always gives the same notes;
- ``SEED``: the seed the shipped render uses;
- ``DRIVE_DB``: how hard mastering drives the limiter (``master.limit``);
- ``DESCRIPTION``: the one line ``demos.json`` gives the piece.
"""

from __future__ import annotations

from types import ModuleType

from . import blues, classical, country, disco, hiphop, jazz, metal, pop, reggae, rock

PIECES: dict[str, ModuleType] = {
    "blues": blues, "rock": rock, "disco": disco, "classical": classical, "jazz": jazz,
    "country": country, "metal": metal, "hiphop": hiphop, "reggae": reggae, "pop": pop,
}
# The demos the app offers, in its order, one for each of the ten genres: each one named as
# its genre by the shipped model (tests/test_demo.py checks). A piece not listed here is a
# draft: render it with --only and --out elsewhere, and ship it only once the model names it right.
SHIPPED = ("rock", "disco", "classical", "jazz", "country", "metal", "hiphop", "reggae", "pop", "blues")
