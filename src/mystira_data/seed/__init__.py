"""Seeding: the shipped master data (``data/``, in the Mystira app's Data format) and
deterministic demo data.

    seed_master(store, source_dir=None)                 master data → store (idempotent)
    seed_demo(store, accounts=N, random_seed=S, ...)    demo content and play history → store
    load_master(dir) / write_master(dir, documents)     Data directory ⇄ domain documents
    DEMO_EPOCH                                          the demo data's "now" (nothing later)
"""

from mystira_data.seed._demo_random import DEMO_EPOCH
from mystira_data.seed.demo import build_demo, seed_demo
from mystira_data.seed.export import write_master
from mystira_data.seed.files import MasterDataError
from mystira_data.seed.master import default_master_dir, load_master, seed_master

__all__ = [
    "DEMO_EPOCH",
    "MasterDataError",
    "build_demo",
    "default_master_dir",
    "load_master",
    "seed_demo",
    "seed_master",
    "write_master",
]
