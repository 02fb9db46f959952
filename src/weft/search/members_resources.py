"""The member table (see :mod:`weft.search.members`) for the definitions beside indexes: data sources, indexers,
knowledge sources and knowledge bases. Each member is effective or refused; an unknown property is refused in
Azure's words, as for indexes. The indexer and knowledge services walk what a client sends with
:func:`weft.search.strict.check_definition` before their own parsing (which checks the values).

Skillsets have no definition route in weft (``GET /skillsets`` lists none; an indexer's ``skillsetName`` is
refused), so there is no skillset table.
"""
from __future__ import annotations

from weft.search.members import ENCRYPTION_KEY, Member, Polymorphic, e, r

_SQL_CHANGE_TRACKING = ("SqlIntegratedChangeTrackingPolicy ('#Microsoft.Azure.Search.SqlIntegratedChangeTrackingPolicy') is "
                        "not supported by weft; use '#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy'.")
_NATIVE_BLOB = ("'#Microsoft.Azure.Search.NativeBlobSoftDeleteDeletionDetectionPolicy' is for blob data sources, which weft "
                "does not have; use '#Microsoft.Azure.Search.SoftDeleteColumnDeletionDetectionPolicy' or "
                "'#Weft.HardDeleteReconciliationPolicy'.")
_IDENTITY = ("'identity' (a user-assigned managed identity, '#Microsoft.Azure.Search.DataUserAssignedIdentity') is not "
             "supported: weft has no Azure identity; put the credentials in 'credentials.connectionString'.")
_SUBTYPE = "'subtype' is read-only (Azure sets it for Cosmos DB sources); weft's SQL data sources have none."
_SKILLSET = "'skillsetName': skillsets (AI enrichment) are not supported by weft indexers."
_OUTPUT_MAPPINGS = "'outputFieldMappings' map skill outputs; they need a skillset, which weft does not support."
_CACHE = "'cache' (incremental enrichment) needs a skillset, which weft does not support."
_BLOB = ("is an indexer configuration of blob, file or Cosmos DB sources; weft indexes SQL tables and views only "
         "(azuresql, postgresql, mysql, mariadb, sqlite).")
_QUERY_TIMEOUT = ("'queryTimeout' is not implemented by weft's SQL reader (it waits for the database; set a statement "
                  "timeout on the database user instead).")
_HOSTED_NEEDS = {"azureBlob": "Azure Blob Storage", "indexedOneLake": "Microsoft OneLake", "web": "Bing web grounding",
                 "remoteSharePoint": "SharePoint (remote)", "indexedSharePoint": "SharePoint (indexed)", "workIQ": "Work IQ"}
_HOSTED = "Knowledge sources of kind '{}' need {}, which a self-hosted weft cannot reach; use kind 'searchIndex' over a weft index."
_KB_PREVIEW = "preview api-version (2025-11-01-preview) only; checked by weft.retrieval.model"


def _blob(name: str, off: tuple = ()) -> Member:
    return r(f"'{name}' " + _BLOB, off=off)


MODELS: dict[str, dict[str, Member]] = {
    # ---- data sources -------------------------------------------------------------------------------------------
    "SearchIndexerDataSourceConnection": {
        "name": e("the data source name", "string"),
        "description": e("stored and returned", "string"),
        "type": e("azuresql, postgresql, mysql, mariadb or sqlite (the SQL dialect read)", "string"),
        "subtype": r(_SUBTYPE, "string"),
        "credentials": e("how weft connects", "object", "DataSourceCredentials"),
        "container": e("the table, view or query read", "object", "SearchIndexerDataContainer"),
        "identity": e("only the 'none' identity", "object", "DataIdentities"),
        "dataChangeDetectionPolicy": e("high-water-mark change tracking", "object", "DataChangePolicies"),
        "dataDeletionDetectionPolicy": e("soft-delete column or weft's hard-delete reconciliation", "object", "DataDeletionPolicies"),
        "encryptionKey": r(ENCRYPTION_KEY, "object"),
        "weftNotify": e("weft's own: PostgreSQL LISTEN/NOTIFY wake-ups ({\"channel\": ...}, checked by weft.indexers.model)"),
        "@odata.etag": e("the definition's ETag", "string"),
        "@odata.context": e("response annotation, accepted back on a round trip", "string"),
    },
    "DataSourceCredentials": {"connectionString": e("the SQLAlchemy/ODBC connection string (sealed at rest, returned as null)", "string")},
    "SearchIndexerDataContainer": {
        "name": e("the table or view", "string"),
        "query": e("a SELECT read instead of a table (not for azuresql)", "string"),
    },
    "SearchIndexerDataNoneIdentity": {"@odata.type": e("#Microsoft.Azure.Search.DataNoneIdentity: no identity", "string")},
    "HighWaterMarkChangeDetectionPolicy": {
        "@odata.type": e("#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy", "string"),
        "highWaterMarkColumnName": e("the column whose growth marks changed rows", "string"),
    },
    "SoftDeleteColumnDeletionDetectionPolicy": {
        "@odata.type": e("#Microsoft.Azure.Search.SoftDeleteColumnDeletionDetectionPolicy", "string"),
        "softDeleteColumnName": e("the column marking deleted rows", "string"),
        "softDeleteMarkerValue": e("the value that means deleted", "string"),
    },
    "HardDeleteReconciliationPolicy": {  # weft's own
        "@odata.type": e("#Weft.HardDeleteReconciliationPolicy: deleted rows found by reconciling keys", "string"),
        "reconcileInterval": e("how often to reconcile (ISO 8601; PT0S = every run)", "string"),
    },
    # ---- indexers -------------------------------------------------------------------------------------------------
    "SearchIndexer": {
        "name": e("the indexer name", "string"),
        "description": e("stored and returned", "string"),
        "dataSourceName": e("the data source read", "string"),
        "skillsetName": r(_SKILLSET, "string", off=("",)),
        "targetIndexName": e("the index written", "string"),
        "schedule": e("runs on an interval", "object", "IndexingSchedule"),
        "parameters": e("batch size, failure limits and configuration", "object", "IndexingParameters"),
        "fieldMappings": e("source column -> index field, with mapping functions", "array", "FieldMapping"),
        "outputFieldMappings": r(_OUTPUT_MAPPINGS, "array", off=([],)),
        "disabled": e("a disabled indexer does not run", "boolean"),
        "encryptionKey": r(ENCRYPTION_KEY, "object"),
        "cache": r(_CACHE, "object"),
        "@odata.etag": e("the definition's ETag", "string"),
        "@odata.context": e("response annotation, accepted back on a round trip", "string"),
    },
    "IndexingSchedule": {
        "interval": e("the time between runs (ISO 8601)", "string"),
        "startTime": e("the first run", "string"),
    },
    "IndexingParameters": {
        "batchSize": e("rows per index batch (at most 1000)", "integer"),
        "maxFailedItems": e("failed documents tolerated per run (-1: any)", "integer"),
        "maxFailedItemsPerBatch": e("failed documents tolerated per batch (-1: any)", "integer"),
        "base64EncodeKeys": e("URL-safe base64 of the key values (older API versions)", "boolean"),
        "configuration": e("weft's remote-target settings", "object", "IndexingParametersConfiguration"),
    },
    "IndexingParametersConfiguration": {
        "weftTargetEndpoint": e("weft's own: write to a remote Azure-compatible search service", "string"),
        "weftTargetApiKey": e("weft's own: that service's admin key (sealed, returned as null)", "string"),
        "queryTimeout": r(_QUERY_TIMEOUT, "string"),
        # Azure SQL indexer settings (documented for Azure SQL, not in the SDK's model)
        "disableOrderByHighWaterMarkColumn": r("'disableOrderByHighWaterMarkColumn': weft always reads in high-water-mark "
                                               "order, which is what makes a stopped run resumable.", "boolean", off=(False,)),
        "convertHighWaterMarkToRowVersion": r("'convertHighWaterMarkToRowVersion' (SQL Server rowversion columns) is not "
                                              "implemented; use a datetime or integer high-water-mark column.", "boolean", off=(False,)),
        "parsingMode": _blob("parsingMode", off=("default",)),
        "excludedFileNameExtensions": _blob("excludedFileNameExtensions", off=("",)),
        "indexedFileNameExtensions": _blob("indexedFileNameExtensions", off=("",)),
        "failOnUnsupportedContentType": _blob("failOnUnsupportedContentType", off=(False,)),
        "failOnUnprocessableDocument": _blob("failOnUnprocessableDocument", off=(False,)),
        "indexStorageMetadataOnlyForOversizedDocuments": _blob("indexStorageMetadataOnlyForOversizedDocuments", off=(False,)),
        "delimitedTextHeaders": _blob("delimitedTextHeaders"),
        "delimitedTextDelimiter": _blob("delimitedTextDelimiter"),
        "firstLineContainsHeaders": _blob("firstLineContainsHeaders"),
        "markdownParsingSubmode": _blob("markdownParsingSubmode"),
        "markdownHeaderDepth": _blob("markdownHeaderDepth"),
        "documentRoot": _blob("documentRoot"),
        "dataToExtract": _blob("dataToExtract", off=("contentAndMetadata",)),
        "imageAction": _blob("imageAction", off=("none",)),
        "allowSkillsetToReadFileData": _blob("allowSkillsetToReadFileData", off=(False,)),
        "pdfTextRotationAlgorithm": _blob("pdfTextRotationAlgorithm", off=("none",)),
        "executionEnvironment": r("'executionEnvironment' chooses Azure's multi-tenant or private environment; weft runs "
                                  "indexers in its own process.", "string", off=("standard",)),
    },
    "FieldMapping": {
        "sourceFieldName": e("the source column", "string"),
        "targetFieldName": e("the index field (default: the same name)", "string"),
        "mappingFunction": e("a function applied on the way", "object", "FieldMappingFunction"),
    },
    "FieldMappingFunction": {
        "name": e("base64Encode, base64Decode, extractTokenAtPosition, jsonArrayToStringCollection, urlEncode, urlDecode or "
                  "splitDelimitedString", "string"),
        "parameters": e("the function's parameters", "object"),
    },
    # ---- knowledge sources and bases (agentic retrieval) ----------------------------------------------------------
    "SearchIndexKnowledgeSource": {
        "name": e("the knowledge source name", "string"),
        "description": e("stored and returned", "string"),
        "kind": e("searchIndex", "string"),
        "searchIndexParameters": e("the weft index searched", "object", "SearchIndexKnowledgeSourceParameters"),
        "encryptionKey": r(ENCRYPTION_KEY, "object"),
        "@odata.etag": e("the definition's ETag", "string"),
        "@odata.context": e("response annotation, accepted back on a round trip", "string"),
    },
    "SearchIndexKnowledgeSourceParameters": {
        "searchIndexName": e("the index", "string"),
        "sourceDataFields": e("the fields returned in references", "array", "SearchIndexFieldReference"),
        "searchFields": e("the fields searched", "array", "SearchIndexFieldReference"),
        "semanticConfigurationName": e("the semantic configuration used for reranking", "string"),
    },
    "SearchIndexFieldReference": {"name": e("a field name", "string")},
    "KnowledgeBase": {
        "name": e("the knowledge base name", "string"),
        "description": e("stored and returned", "string"),
        "knowledgeSources": e("the sources retrieved from", "array", "KnowledgeSourceReference"),
        "models": e("the chat model for query planning (stored; its apiKey sealed and returned as null)", "array", "KnowledgeBaseModels",
                    owner="retrieval"),
        "encryptionKey": r(ENCRYPTION_KEY, "object"),
        "@odata.etag": e("the definition's ETag", "string"),
        "@odata.context": e("response annotation, accepted back on a round trip", "string"),
        # preview members: their values are weft.retrieval's to check (a 400 on the GA api-version)
        "retrievalReasoningEffort": e(_KB_PREVIEW, "object", owner="retrieval"),
        "outputMode": e(_KB_PREVIEW, "string", owner="retrieval"),
        "answerInstructions": e(_KB_PREVIEW, "string", owner="retrieval"),
        "retrievalInstructions": e(_KB_PREVIEW, "string", owner="retrieval"),
    },
    "KnowledgeSourceReference": {"name": e("a knowledge source name", "string")},
    "KnowledgeBaseModel": {"kind": e("azureOpenAI", "string")},
    "KnowledgeBaseAzureOpenAIModel": {
        "kind": e("azureOpenAI", "string"),
        "azureOpenAIParameters": e("the Azure OpenAI deployment", "object", "AzureOpenAIVectorizerParameters"),
    },
}

# The SDK's base classes and the kinds refused as a whole (their members are never read: the kind is refused first).
MODELS["DataChangeDetectionPolicy"] = {"@odata.type": e("the change detection policy kind", "string")}
MODELS["DataDeletionDetectionPolicy"] = {"@odata.type": e("the deletion detection policy kind", "string")}
MODELS["SearchIndexerDataIdentity"] = {"@odata.type": e("the identity kind (only DataNoneIdentity)", "string")}
MODELS["SqlIntegratedChangeTrackingPolicy"] = {"@odata.type": r(_SQL_CHANGE_TRACKING, "string")}
MODELS["NativeBlobSoftDeleteDeletionDetectionPolicy"] = {"@odata.type": r(_NATIVE_BLOB, "string")}
MODELS["SearchIndexerDataUserAssignedIdentity"] = {"@odata.type": r(_IDENTITY, "string"), "userAssignedIdentity": r(_IDENTITY, "string")}
_SOURCE_COMMON = ("name", "description", "kind", "@odata.etag", "encryptionKey")
MODELS["KnowledgeSource"] = {k: MODELS["SearchIndexKnowledgeSource"][k] for k in _SOURCE_COMMON}
for _kind, _params in (("azureBlob", "azureBlobParameters"), ("indexedOneLake", "indexedOneLakeParameters"), ("web", "webParameters")):
    _model = {"azureBlob": "AzureBlobKnowledgeSource", "indexedOneLake": "IndexedOneLakeKnowledgeSource", "web": "WebKnowledgeSource"}[_kind]
    MODELS[_model] = {k: r(_HOSTED.format(_kind, _HOSTED_NEEDS[_kind])) for k in (*_SOURCE_COMMON, _params)}

POLYMORPHIC: dict[str, Polymorphic] = {
    "DataIdentities": Polymorphic("@odata.type", {"#Microsoft.Azure.Search.DataNoneIdentity": "SearchIndexerDataNoneIdentity"},
                                  refused={"#Microsoft.Azure.Search.DataUserAssignedIdentity": _IDENTITY}),
    "DataChangePolicies": Polymorphic("@odata.type", {
        "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy": "HighWaterMarkChangeDetectionPolicy"},
        refused={"#Microsoft.Azure.Search.SqlIntegratedChangeTrackingPolicy": _SQL_CHANGE_TRACKING}),
    "DataDeletionPolicies": Polymorphic("@odata.type", {
        "#Microsoft.Azure.Search.SoftDeleteColumnDeletionDetectionPolicy": "SoftDeleteColumnDeletionDetectionPolicy",
        "#Weft.HardDeleteReconciliationPolicy": "HardDeleteReconciliationPolicy"},
        refused={"#Microsoft.Azure.Search.NativeBlobSoftDeleteDeletionDetectionPolicy": _NATIVE_BLOB}),
    "KnowledgeSources": Polymorphic("kind", {"searchIndex": "SearchIndexKnowledgeSource"}, refused={
        k: _HOSTED.format(k, need) for k, need in _HOSTED_NEEDS.items()}),
    "KnowledgeBaseModels": Polymorphic("kind", {"azureOpenAI": "KnowledgeBaseAzureOpenAIModel"}),
}

# The definition kinds a client sends, by the model walked at the top.
DEFINITIONS = {
    "datasource": "SearchIndexerDataSourceConnection",
    "indexer": "SearchIndexer",
    "knowledgesource": "KnowledgeSources",
    "knowledgebase": "KnowledgeBase",
}
