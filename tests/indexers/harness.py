"""In-process indexer service over a real SearchService, for tests that need no HTTP."""
from __future__ import annotations

from pathlib import Path

from weft.indexers.service import IndexerService
from weft.search.service import SearchService

INDEX_FIELDS = [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "title", "type": "Edm.String", "searchable": True},
    {"name": "ver", "type": "Edm.Int64", "filterable": True},
    {"name": "tags", "type": "Collection(Edm.String)", "filterable": True},
]
SPLIT_TAGS = {"sourceFieldName": "tags", "targetFieldName": "tags", "mappingFunction": {"name": "splitDelimitedString"}}


class Harness:
    def __init__(self, tmp: Path, fields=None, index="items"):
        self.search = SearchService(tmp / "search")
        self.service = IndexerService(tmp / "indexers", self.search, run_scheduler=False)
        self.index = index
        self.search.create_index({"name": index, "fields": fields or INDEX_FIELDS})

    def datasource(self, name, kind, url, table, hwm="updated_at", deletion=None, query=None):
        body = {"name": name, "type": kind, "credentials": {"connectionString": url},
                "container": {"name": table} if table else {"query": query}}
        if hwm:
            body["dataChangeDetectionPolicy"] = {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy", "highWaterMarkColumnName": hwm}
        if deletion == "hard":
            body["dataDeletionDetectionPolicy"] = {"@odata.type": "#Weft.HardDeleteReconciliationPolicy"}
        elif deletion:
            body["dataDeletionDetectionPolicy"] = deletion
        self.service.create_datasource(body)

    def indexer(self, name, ds, **extra):
        body = {"name": name, "dataSourceName": ds, "targetIndexName": self.index, "disabled": True,
                "fieldMappings": [SPLIT_TAGS], **extra}
        self.service.create_indexer(body)

    def run(self, name):
        result = self.service.run_and_wait(name, timeout=60)
        return result

    def docs(self) -> dict[str, dict]:
        out = {}
        skip = 0
        while True:
            page = self.search.search(self.index, {"search": "*", "top": 1000, "skip": skip})["value"]
            for d in page:
                d.pop("@search.score", None)
                out[d["id"]] = d
            if len(page) < 1000:
                return out
            skip += 1000

    def close(self):
        self.service.close()
        self.search.close()
