"""The demo index: the seed's products table as ``products-index``, with generated rows."""
from __future__ import annotations

import datetime as dt
import random

from weft.search.service import SearchService

INDEX_NAME = "products-index"

DEMO_INDEX = {
    "name": INDEX_NAME,
    "fields": [
        {"name": "id", "type": "Edm.String", "key": True, "filterable": True, "sortable": True, "facetable": False, "searchable": False},
        {"name": "productName", "type": "Edm.String", "searchable": True, "filterable": False, "sortable": True, "facetable": False, "analyzer": "en.lucene"},
        {"name": "description", "type": "Edm.String", "searchable": True, "filterable": False, "sortable": False, "facetable": False, "analyzer": "en.lucene"},
        {"name": "category", "type": "Edm.String", "searchable": True, "filterable": True, "sortable": True, "facetable": True},
        {"name": "price", "type": "Edm.Double", "filterable": True, "sortable": True, "facetable": True},
        {"name": "inStock", "type": "Edm.Boolean", "filterable": True, "sortable": False, "facetable": True},
        {"name": "tags", "type": "Collection(Edm.String)", "searchable": True, "filterable": True, "facetable": True},
        {"name": "isDeleted", "type": "Edm.Boolean", "filterable": True, "sortable": False, "facetable": False},
        {"name": "createdDate", "type": "Edm.DateTimeOffset", "filterable": True, "sortable": True, "facetable": True},
        {"name": "modifiedDate", "type": "Edm.DateTimeOffset", "filterable": True, "sortable": True, "facetable": False},
    ],
    "suggesters": [{"name": "sg", "searchMode": "analyzingInfixMatching", "sourceFields": ["productName"]}],
    # semantic ranking (queryType=semantic) and knowledge sources over the demo index use this
    "semantic": {"defaultConfiguration": "products", "configurations": [{"name": "products", "prioritizedFields": {
        "titleField": {"fieldName": "productName"}, "prioritizedContentFields": [{"fieldName": "description"}],
        "prioritizedKeywordsFields": [{"fieldName": "tags"}]}}]},
}

_CATEGORIES = {
    "Electronics": (["Wireless", "Bluetooth", "Smart", "Portable", "Compact"], ["Headphones", "Speaker", "Charger", "Keyboard", "Mouse", "Monitor"]),
    "Home": (["Ceramic", "Stainless", "Cozy", "Modern", "Classic"], ["Mug", "Kettle", "Blanket", "Lamp", "Pillow", "Vase"]),
    "Outdoors": (["Waterproof", "Lightweight", "Rugged", "Insulated", "Foldable"], ["Tent", "Backpack", "Jacket", "Bottle", "Chair", "Lantern"]),
    "Books": (["Illustrated", "Pocket", "Annotated", "Collected", "Complete"], ["Cookbook", "Atlas", "Novel", "Guide", "Anthology", "Handbook"]),
    "Sports": (["Pro", "Training", "Competition", "Junior", "Elite"], ["Racket", "Ball", "Shoes", "Gloves", "Helmet", "Mat"]),
}
_TAGS = ["new", "sale", "eco", "bestseller", "gift", "limited", "premium", "budget"]
_PHRASES = [
    "built to last for everyday use",
    "a favourite of our customers",
    "easy to clean and easy to carry",
    "designed for travel and the outdoors",
    "made with recycled materials",
    "perfect as a gift for friends and family",
]


def generate_products(count: int = 300, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    base = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    products = []
    for i in range(1, count + 1):
        category = rng.choice(sorted(_CATEGORIES))
        adjectives, nouns = _CATEGORIES[category]
        name = f"{rng.choice(adjectives)} {rng.choice(nouns)}"
        created = base + dt.timedelta(days=rng.randrange(0, 600), minutes=rng.randrange(0, 1440))
        modified = created + dt.timedelta(days=rng.randrange(0, 60))
        products.append(
            {
                "id": str(i),
                "productName": name,
                "description": f"The {name.lower()} is {rng.choice(_PHRASES)}, {rng.choice(_PHRASES)}.",
                "category": category,
                "price": round(rng.lognormvariate(3.3, 0.7), 2),
                "inStock": rng.random() < 0.8,
                "tags": sorted(rng.sample(_TAGS, rng.randint(1, 3))),
                "isDeleted": False,
                "createdDate": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "modifiedDate": modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return products


def ensure_demo_index(service: SearchService, count: int = 300) -> bool:
    """Creates and fills the demo index unless it exists. Returns True when it was created."""
    try:
        service.get_index(INDEX_NAME)
        return False
    except Exception:
        pass
    service.create_index(DEMO_INDEX)
    products = generate_products(count)
    for start in range(0, len(products), 1000):
        service.apply_batch(INDEX_NAME, {"value": [{"@search.action": "upload", **p} for p in products[start : start + 1000]]})
    return True
