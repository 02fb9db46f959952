"""Run by test_openai2_client.py in a side virtualenv with openai 2.x (not the test venv): the same stored-response
flows with the older SDK, unchanged. Prints one JSON object of observations."""
import json
import sys
import time

import openai
from pydantic import BaseModel

endpoint, key = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=f"{endpoint}/v1", api_key=key, max_retries=0)
tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
out = {"version": openai.__version__}

first = client.responses.create(model="fake-model", input="hello two")
out["retrieved"] = client.responses.retrieve(first.id).output_text
out["input_items"] = [i.content[0].text for i in client.responses.input_items.list(first.id)]
asked = client.responses.create(model="fake-model", input="weather?", tools=tools, previous_response_id=first.id)
call = asked.output[0]
answered = client.responses.create(model="fake-model", previous_response_id=asked.id, tools=tools,
                                   input=[{"type": "function_call_output", "call_id": call.call_id, "output": "windy"}])
out["chain"] = [call.type, answered.output_text]
quiet = client.responses.create(model="fake-model", input="q", store=False)
try:
    client.responses.retrieve(quiet.id)
    out["store_false"] = "retrievable"
except openai.NotFoundError:
    out["store_false"] = quiet.store
bg = client.responses.create(model="fake-model", input="later", background=True)
for _ in range(200):
    polled = client.responses.retrieve(bg.id)
    if polled.status not in ("queued", "in_progress"):
        break
    time.sleep(0.05)
out["background"] = [bg.status in ("queued", "in_progress"), polled.status, polled.output_text]


class Answer(BaseModel):
    word: str
    count: int


out["parsed"] = client.responses.parse(model="fake-model", input="count", text_format=Answer).output_parsed.model_dump()
try:
    client.responses.create(model="fake-model", input="x" * 4000)
    out["truncation"] = "accepted"
except openai.BadRequestError as exc:
    out["truncation"] = exc.code
out["stream"] = [e.type for e in client.responses.create(model="fake-model", input="a b", stream=True)]
client.responses.delete(first.id)
try:
    client.responses.retrieve(first.id)
except openai.NotFoundError:
    out["deleted"] = True
print(json.dumps(out))
