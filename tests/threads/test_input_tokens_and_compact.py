"""`POST /v1/responses/input_tokens` and `POST /v1/responses/compact` through the openai SDK unchanged, against a
live weft and the fake model over HTTP."""
from __future__ import annotations

import openai
import pytest


def test_input_tokens_counts_what_the_model_would_see(sdk, fake_llm):
    calls = len(fake_llm.requests)
    short = sdk.responses.input_tokens.count(model="fake-model", input="hi")
    assert short.object == "response.input_tokens" and short.input_tokens > 0
    long = sdk.responses.input_tokens.count(model="fake-model", input="hi " * 400)
    assert long.input_tokens > short.input_tokens + 250  # about four characters a token
    with_instructions = sdk.responses.input_tokens.count(model="fake-model", input="hi", instructions="be brief " * 40)
    assert with_instructions.input_tokens > short.input_tokens + 50
    # the chain counts too
    first = sdk.responses.create(model="fake-model", input="a fairly long first message " * 10)
    chained = sdk.responses.input_tokens.count(model="fake-model", input="hi", previous_response_id=first.id)
    assert chained.input_tokens > short.input_tokens + 100
    assert len(fake_llm.requests) == calls + 1  # counting calls no model
    conversation = sdk.conversations.create(items=[{"type": "message", "role": "user", "content": "stored " * 100}])
    in_conversation = sdk.responses.input_tokens.count(model="fake-model", conversation=conversation.id, input="hi")
    assert in_conversation.input_tokens > short.input_tokens + 100


def test_input_tokens_refuses_members_it_does_not_take(sdk):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.input_tokens.count(model="fake-model", input="hi", extra_body={"stream": True})
    assert caught.value.param == "stream"


def test_compact_returns_the_user_messages_and_a_compaction_item_the_next_response_understands(sdk, fake_llm):
    first = sdk.responses.create(model="fake-model", input="my name is Ada")
    second = sdk.responses.create(model="fake-model", input="I live in Paris", previous_response_id=first.id)
    compacted = sdk.responses.compact(model="fake-model", previous_response_id=second.id)
    assert compacted.object == "response.compaction"
    kinds = [item.type for item in compacted.output]
    assert kinds == ["message", "message", "compaction"]
    assert [m.content[0].text for m in compacted.output[:2]] == ["my name is Ada", "I live in Paris"]
    sent = fake_llm.requests[-1]["body"]["messages"]
    assert sent[0]["role"] == "system" and "summary" in sent[0]["content"]
    assert [m["content"] for m in sent[1:]] == ["my name is Ada", "echo: my name is Ada", "I live in Paris", "echo: I live in Paris"]
    # the compacted window as the next input: the model sees the summary (the fake's answer) as a system message
    window = [item.model_dump(exclude_none=True) for item in compacted.output]
    sdk.responses.create(model="fake-model", input=window + [{"role": "user", "content": "where do I live?"}])
    seen = fake_llm.requests[-1]["body"]["messages"]
    assert seen[2] == {"role": "system", "content": "Summary of the earlier conversation:\necho: I live in Paris"}
    assert seen[-1] == {"role": "user", "content": "where do I live?"}


def test_a_compaction_item_from_elsewhere_is_a_400(sdk):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="fake-model", input=[{"type": "compaction", "encrypted_content": "gAAAAB-openai-opaque"},
                                                        {"role": "user", "content": "hi"}])
    assert "compaction" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.compact(model="fake-model", input="hi", extra_body={"conversation": "conv_1"})
    assert caught.value.param == "conversation"
