"""The static world of the demo book: categories, prices, margins, regions, segments, names.

Kept apart from the simulation so that ``kam_ml.demo.generate`` reads as a process, and so the
numbers a reader may want to tweak (a category's price level, a segment's weight) sit in
one table each instead of being scattered through vectorised code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CATEGORIES",
    "REGIONS",
    "SEGMENTS",
    "Category",
    "Segment",
    "manager_names",
]


@dataclass(frozen=True)
class Category:
    """One line of the offer catalogue and how it sells.

    price: median net price of one unit, in the reporting currency.
    popularity: relative weight in the accounts' Dirichlet preference draws.
    extra_quantity: mean of the Poisson number of units above one per line.
    return_factor: multiplies an account's return propensity (sizes get returned more).
    """

    name: str
    code: str
    price: float
    margin_rate: float
    popularity: float
    extra_quantity: float
    return_factor: float


CATEGORIES: tuple[Category, ...] = (
    Category("handbags", "HB", 3_200.0, 0.72, 1.6, 0.05, 0.7),
    Category("fine_jewelry", "FJ", 6_500.0, 0.62, 0.8, 0.02, 0.5),
    Category("watches", "WA", 9_800.0, 0.48, 0.6, 0.01, 0.4),
    Category("ready_to_wear", "RW", 1_900.0, 0.66, 1.5, 0.40, 1.8),
    Category("shoes", "SH", 950.0, 0.63, 1.3, 0.25, 1.6),
    Category("leather_goods", "LG", 780.0, 0.70, 1.2, 0.20, 0.8),
    Category("fragrance", "FR", 240.0, 0.75, 1.0, 0.90, 0.3),
    Category("eyewear", "EY", 520.0, 0.58, 0.6, 0.10, 0.9),
    Category("home", "HO", 1_400.0, 0.45, 0.5, 0.30, 0.7),
    Category("accessories", "AC", 420.0, 0.68, 1.1, 0.30, 0.8),
)


@dataclass(frozen=True)
class Segment:
    """A commercial tier: how many accounts are in it and how they buy.

    rate: multiplies the account's order rate; spend: multiplies unit prices;
    extra_lines: mean Poisson number of lines above one per order;
    churn_logit: added to the weekly churn log-odds (loyal tiers leave less).
    """

    name: str
    weight: float
    rate: float
    spend: float
    extra_lines: float
    churn_logit: float


SEGMENTS: tuple[Segment, ...] = (
    Segment("platinum", 0.15, 1.5, 1.6, 0.3, -0.5),
    Segment("gold", 0.35, 1.05, 1.0, 0.1, 0.0),
    Segment("silver", 0.50, 0.85, 0.7, 0.05, 0.35),
)

REGIONS: tuple[tuple[str, float], ...] = (("EMEA", 0.45), ("AMER", 0.32), ("APAC", 0.23))

_FIRST_NAMES = (
    "Camille", "Louis", "Chloé", "Hugo", "Inès", "Jules", "Léa", "Gabriel", "Manon", "Arthur",
    "Sofia", "Matteo", "Giulia", "Lorenzo", "Chiara", "Alessandro", "Elena", "Marco", "Isabel",
    "Diego", "Lucía", "Carmen", "Pablo", "Emma", "Oliver", "Charlotte", "James", "Amelia",
    "Henry", "Olivia", "William", "Grace", "Sophie", "Maximilian", "Lena", "Felix", "Anna",
    "Yuki", "Haruto", "Sakura", "Mei", "Wei", "Jia", "Min-jun", "Seo-yeon", "Priya", "Arjun",
    "Aisha", "Omar", "Layla", "Noah", "Ava", "Ethan", "Mia", "Lucas", "Zoe", "Nadia", "Viktor",
    "Ingrid", "Lars",
)  # fmt: skip

_LAST_NAMES = (
    "Laurent", "Dubois", "Moreau", "Lefèvre", "Fontaine", "Rousseau", "Mercier", "Girard",
    "Bonnet", "Chevalier", "Rossi", "Ferrari", "Bianchi", "Romano", "Colombo", "Ricci",
    "Marino", "Greco", "García", "Fernández", "López", "Martínez", "Navarro", "Ortega",
    "Smith", "Taylor", "Brown", "Wilson", "Clarke", "Hughes", "Bennett", "Harrington",
    "Müller", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Tanaka", "Suzuki",
    "Takahashi", "Watanabe", "Wang", "Li", "Zhang", "Chen", "Kim", "Park", "Sharma", "Patel",
    "Haddad", "Khoury", "Nasser", "Andersson", "Johansson", "Nielsen", "Kowalski", "Novak",
    "Costa", "Silva", "Van Dijk", "De Vries", "Jansen", "O'Brien", "Murphy", "Walsh", "Dupont",
    "Petit", "Blanc", "Garnier", "Lambert", "Faure", "Rey", "Barbieri", "Esposito", "Conti",
    "Vogel", "Kraus", "Yamamoto", "Nakamura",
)  # fmt: skip


def manager_names(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct, realistic key-account-manager names.

    First x last name pairs give 4,800 people; a larger book (a million accounts needs
    ~20,000 managers) adds a middle initial, as large sales forces do to tell namesakes apart.
    """
    pairs = [f"{first} {last}" for first in _FIRST_NAMES for last in _LAST_NAMES]
    if n > len(pairs):
        initials = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
        pairs += [
            f"{first} {initial}. {last}"
            for initial in initials
            for first in _FIRST_NAMES
            for last in _LAST_NAMES
        ]
    if n > len(pairs):
        raise ValueError(f"Cannot name {n} distinct managers; at most {len(pairs)} are available.")
    chosen = rng.choice(len(pairs), size=n, replace=False)
    return np.array([pairs[i] for i in chosen], dtype=object)
