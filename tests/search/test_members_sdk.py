"""Every property of the azure-search-documents models weft serves is in the table of weft.search.members, and is
either effective or refused: no third outcome. A property a new SDK adds (and the table lacks) fails here.

The models are introspected, not listed by hand: each generated model's ``_attr_to_rest_field`` gives the wire
names the SDK sends. The classes walked are SearchIndex, SearchField, every vector, semantic, scoring, similarity,
CORS, suggester and encryption-key model of ``azure.search.documents.indexes.models``, and the SearchRequest and
vector query models of ``azure.search.documents.models`` (what ``SearchClient.search`` sends), and the data source,
indexer, knowledge source and knowledge base models with their nested models and kinds (``RESOURCES``)."""
from __future__ import annotations

import inspect
import re

import pytest

from weft.search import members
from weft.search.members import EFFECTIVE, MODELS, POLYMORPHIC, REFUSED

indexes_models = pytest.importorskip("azure.search.documents.indexes.models")
documents_models = pytest.importorskip("azure.search.documents.models._models")
from azure.search.documents._utils.model_base import Model  # noqa: E402

FAMILIES = re.compile(
    r"^(SearchIndex|SearchField|SearchRequest|TextWeights|SearchSuggester|CorsOptions|SearchResourceEncryptionKey|"
    r"AzureActiveDirectoryApplicationCredentials)$|Vector|Semantic|Scoring|Quantization|Rescoring|Hnsw|ExhaustiveKnn|"
    r"Similarity|AzureOpenAIVectorizer|AzureMachineLearning|WebApiVectorizer|AIServicesVision"
)
RESPONSES = re.compile(r"(Result|Results|DebugInfo)$")  # what the service returns, not what a client sends
# Data sources, indexers, knowledge sources and knowledge bases (weft.search.members_resources): the models a client
# sends to /datasources, /indexers, /knowledgesources and /knowledgebases, their nested models and every kind.
RESOURCES = (
    "SearchIndexerDataSourceConnection", "DataSourceCredentials", "SearchIndexerDataContainer", "DataChangeDetectionPolicy",
    "HighWaterMarkChangeDetectionPolicy", "SqlIntegratedChangeTrackingPolicy", "DataDeletionDetectionPolicy",
    "SoftDeleteColumnDeletionDetectionPolicy", "NativeBlobSoftDeleteDeletionDetectionPolicy", "SearchIndexerDataIdentity",
    "SearchIndexerDataNoneIdentity", "SearchIndexerDataUserAssignedIdentity",
    "SearchIndexer", "IndexingSchedule", "IndexingParameters", "IndexingParametersConfiguration", "FieldMapping",
    "FieldMappingFunction",
    "KnowledgeSource", "SearchIndexKnowledgeSource", "SearchIndexKnowledgeSourceParameters", "SearchIndexFieldReference",
    "AzureBlobKnowledgeSource", "IndexedOneLakeKnowledgeSource", "WebKnowledgeSource",
    "KnowledgeBase", "KnowledgeSourceReference", "KnowledgeBaseModel", "KnowledgeBaseAzureOpenAIModel",
)


def wire_names(cls) -> list[str]:
    instance = cls.__new__(cls)
    cls.__init__(instance)
    return [field._rest_name for field in instance._attr_to_rest_field.values()]


def sdk_classes() -> list[type]:
    out = []
    for module in (indexes_models, documents_models):
        for name in sorted(dir(module)):
            cls = getattr(module, name)
            if inspect.isclass(cls) and issubclass(cls, Model) and FAMILIES.search(name) and not RESPONSES.search(name):
                out.append(cls)
    out += [getattr(indexes_models, name) for name in RESOURCES]
    return out


def test_the_walk_covers_the_models_the_issue_names():
    names = {c.__name__ for c in sdk_classes()}
    for required in ("SearchIndex", "SearchField", "SearchRequest", "VectorSearch", "VectorSearchProfile",
                     "HnswParameters", "ScalarQuantizationCompression", "RescoringOptions", "AzureOpenAIVectorizerParameters",
                     "SemanticSearch", "SemanticConfiguration", "SemanticPrioritizedFields", "SemanticField",
                     "VectorizedQuery", "VectorizableTextQuery", "ScoringProfile", "TagScoringFunction",
                     "SearchIndexerDataSourceConnection", "SearchIndexer", "IndexingParametersConfiguration",
                     "SearchIndexKnowledgeSource", "KnowledgeBase"):
        assert required in names
    assert len(names) >= 70


@pytest.mark.parametrize("cls", sdk_classes(), ids=lambda c: c.__name__)
def test_every_sdk_property_is_effective_or_refused(cls):
    table = MODELS.get(cls.__name__)
    assert table is not None, f"{cls.__name__} is not in weft.search.members.MODELS"
    for wire in wire_names(cls):
        member = table.get(wire)
        assert member is not None, f"{cls.__name__}.{wire} is not in weft.search.members"
        assert member.status in (EFFECTIVE, REFUSED)
        assert member.note.strip()
        if member.status == REFUSED:
            assert _names_feature(member.note), (cls.__name__, wire)  # the 400 names what it refuses


def _names_feature(note: str) -> bool:
    # a refused member's reason names what is refused (a member, a kind or a header between quotes)
    return bool(re.search(r"'[^']+'", note))


def test_every_polymorphic_kind_the_sdk_knows_is_in_the_table():
    # the SDK's discriminator maps: every kind is a model of the table or refused by name
    checks = {"ScoringFunctions": indexes_models.ScoringFunction, "Algorithms": indexes_models.VectorSearchAlgorithmConfiguration,
              "Compressions": indexes_models.VectorSearchCompression, "Vectorizers": indexes_models.VectorSearchVectorizer,
              "Similarity": indexes_models.SimilarityAlgorithm, "VectorQueries": documents_models.VectorQuery,
              "DataIdentities": indexes_models.SearchIndexerDataIdentity,
              "DataChangePolicies": indexes_models.DataChangeDetectionPolicy,
              "DataDeletionPolicies": indexes_models.DataDeletionDetectionPolicy,
              "KnowledgeSources": indexes_models.KnowledgeSource, "KnowledgeBaseModels": indexes_models.KnowledgeBaseModel}
    for poly_name, base in checks.items():
        poly = POLYMORPHIC[poly_name]
        for kind in base.__mapping__:
            assert kind in poly.models or kind in poly.refused, (poly_name, kind)


def test_table_rows_are_well_formed():
    for model, name, member in members.rows():
        assert member.shape in ("any", "string", "boolean", "integer", "number", "object", "array", "strings"), (model, name)
        if member.model is not None:
            assert member.model in MODELS or member.model in POLYMORPHIC, (model, name, member.model)
        if member.status == REFUSED:
            assert not member.owner, (model, name)
    for poly in POLYMORPHIC.values():
        assert all(m in MODELS for m in poly.models.values())
