"""URL citations of a run's answer: the documents a server-side search tool returned, cited by the model.

Each document the Azure AI Search tool hands the model carries a marker, ``【<call>:<n>†source】`` (the form Foundry's
answers cite with: the search call of the turn, then the document's place in its result), and the tool's output
asks the model to cite with it. The answer's text keeps the markers; each marker that names a document with a URL
becomes one annotation of the message's text, over the marker's span (``end_index`` exclusive, as OpenAI's and
Foundry's indexes are).

Stored in the thread as OpenAI's Responses annotation (``{"type": "url_citation", "url", "title", "start_index",
"end_index"}``); the classic face shows it as ``azure-ai-agents``' ``MessageTextUrlCitationAnnotation``
(``{"type", "text", "start_index", "end_index", "url_citation": {"url", "title"}}``, ``foundry_annotation``).
"""
from __future__ import annotations

import re

MARKER = re.compile(r"【(\d+):(\d+)†[^】]*】")
HINT = "Cite a document you use with its @citation marker, as written, right after what it supports."


def marker(call: int, n: int) -> str:
    return f"【{call}:{n}†source】"


class Citations:
    """The citable documents of one turn, by (search call, place in its result)."""

    def __init__(self) -> None:
        self.calls = 0
        self.sources: dict[tuple[int, int], dict] = {}

    def add_call(self, citations: list[dict]) -> list[str | None]:
        """Registers one search call's documents (``{"url", "title"}`` each, in result order); their markers
        (None for a document without a URL: nothing to cite)."""
        call, self.calls = self.calls, self.calls + 1
        markers: list[str | None] = []
        for n, source in enumerate(citations):
            if source.get("url"):
                self.sources[(call, n)] = source
                markers.append(marker(call, n))
            else:
                markers.append(None)
        return markers

    def annotations(self, text: str) -> list[dict]:
        out = []
        for found in MARKER.finditer(text or ""):
            source = self.sources.get((int(found.group(1)), int(found.group(2))))
            if source is not None:
                out.append({"type": "url_citation", "url": source["url"], "title": source.get("title") or source["url"],
                            "start_index": found.start(), "end_index": found.end()})
        return out


def foundry_annotation(annotation: dict, text: str) -> dict:
    """One stored annotation as the classic Agents API shows it."""
    if annotation.get("type") != "url_citation" or "url_citation" in annotation:
        return annotation
    start, end = annotation.get("start_index"), annotation.get("end_index")
    span = text[start:end] if isinstance(start, int) and isinstance(end, int) else ""
    return {"type": "url_citation", "text": span, "start_index": start, "end_index": end,
            "url_citation": {"url": annotation.get("url"), "title": annotation.get("title")}}
