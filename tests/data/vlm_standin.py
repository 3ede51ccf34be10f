#!/usr/bin/python3
"""A stand-in for a real VLM endpoint (vLLM, llama.cpp server, Ollama, llama-swap).

No GPU model can run where the tests run, so this speaks the OpenAI chat-completions
protocol the way those servers do, checks every request as strictly as they would, and
answers the way real grounding models answer — in their own coordinate conventions, with
thinking tags, sometimes with garbage, errors or long delays — so the gateway's parsing,
mapping, retries and failover meet realistic input. Standard library only; run it with
/usr/bin/python3.

    vlm_standin.py [--models M1,M2] [--api-key KEY] [--always-500] [--slow-seconds S]

Listens on 127.0.0.1, port 0 (a free one), and prints the port on stdout.

  GET  /v1/models            {"object": "list", "data": [{"id": M, ...}]}
  POST /v1/chat/completions  validated (400/401/404 like the real servers), then answered
  GET  /stats                request counters, for tests asserting caching and de-duplication
  GET  /release              lets requests waiting on "hold" answer

What a localize/verify request gets is chosen by words in its user text:
  at X,Y in WxH   where the element is, in framebuffer pixels of a WxH screenshot; the
                  answer converts it to the model's convention (default: the image centre)
  normalized / pixels   force a convention; otherwise by model name: qwen2.5-vl answers
                  in pixels of its smart-resized image (as vLLM resizes it), others in 0..1000
  absent          {"found": false}          outside    a point far outside the image
  thinking        JSON after <think>...</think> (the reasoning says "no")
  reasoningfield  reasoning in a separate reasoning_content field
  fenced          JSON inside ```json fences  extrakey   an extra "label" key
  garbage         prose instead of JSON      truncated  cut off, finish_reason "length"
  fail500         HTTP 500 every time        flaky      HTTP 500 the first time only
  ratelimit       HTTP 429 (Retry-After: 0) the first time only
  slow            sleeps --slow-seconds before answering
  hold            waits for GET /release (at most 30 s)
  [yes] / [no]    the verify answer (default no); "boolanswer" answers true/false
"""

import argparse
import base64
import json
import math
import re
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def smart_resize(height, width, factor=28, min_pixels=56 * 56, max_pixels=16384 * 28 * 28):
    """qwen_vl_utils.smart_resize, with the budget vLLM takes from Qwen2.5-VL's config."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


class RequestError(Exception):
    def __init__(self, status, message, kind="BadRequestError"):
        super().__init__(message)
        self.status = status
        self.kind = kind


class State:
    def __init__(self, args):
        self.models = [m for m in args.models.split(",") if m]
        self.api_key = args.api_key
        self.always_500 = args.always_500
        self.slow_seconds = args.slow_seconds
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.counts = {"chat_requests": 0, "chat_valid": 0, "chat_answered": 0,
                       "models_requests": 0, "rejected": 0}
        self.by_text = {}
        self.seen_once = set()

    def bump(self, key, text=None):
        with self.lock:
            self.counts[key] += 1
            if text is not None:
                self.by_text[text] = self.by_text.get(text, 0) + 1

    def first_time(self, marker):
        with self.lock:
            if marker in self.seen_once:
                return False
            self.seen_once.add(marker)
            return True


def png_size(data):
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24 or data[12:16] != b"IHDR":
        raise RequestError(400, "image_url does not contain a PNG image")
    return struct.unpack(">II", data[16:24])


def parse_request(state, body):
    """Validates like vLLM does; returns (model, text, (width, height), task)."""
    try:
        request = json.loads(body)
    except ValueError as error:
        raise RequestError(400, f"request body is not JSON: {error}")
    if not isinstance(request, dict):
        raise RequestError(400, "request body must be a JSON object")
    model = request.get("model")
    if model not in state.models:
        raise RequestError(404, f"The model `{model}` does not exist.", "NotFoundError")
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(400, "messages must be a non-empty list")
    user = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if len(user) != 1 or not isinstance(user[0].get("content"), list):
        raise RequestError(400, "expected one user message with a list of content parts")
    texts, images = [], []
    for part in user[0]["content"]:
        if not isinstance(part, dict):
            raise RequestError(400, "content parts must be objects")
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("type") == "image_url":
            url = (part.get("image_url") or {}).get("url", "")
            prefix = "data:image/png;base64,"
            if not url.startswith(prefix):
                raise RequestError(400, "image_url must be a data:image/png;base64 URL")
            try:
                data = base64.b64decode(url[len(prefix):], validate=True)
            except ValueError:
                raise RequestError(400, "image_url data is not valid base64")
            images.append(png_size(data))
        else:
            raise RequestError(400, f"unsupported content part {part.get('type')!r}")
    if len(images) != 1 or not texts:
        raise RequestError(400, "the user message needs a text part and exactly one image")
    response_format = request.get("response_format")
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        raise RequestError(400, "response_format must be {\"type\": \"json_schema\", ...}")
    schema = (response_format.get("json_schema") or {}).get("schema")
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        raise RequestError(400, "response_format.json_schema.schema must be a JSON schema")
    properties = schema["properties"]
    if "found" in properties and "x" in properties:
        task = "localize"
    elif "answer" in properties:
        task = "verify"
    else:
        raise RequestError(400, "unknown answer schema")
    if request.get("temperature") not in (0, 0.0):
        raise RequestError(400, "the stand-in expects temperature 0 for grounding")
    return model, " ".join(texts), images[0], task


def localize_answer(model, text, image_size):
    width, height = image_size
    target = re.search(r"at (\d+)\s*,\s*(\d+)(?: in (\d+)x(\d+))?", text)
    if target:
        fx, fy = int(target.group(1)), int(target.group(2))
        fw = int(target.group(3)) if target.group(3) else width
        fh = int(target.group(4)) if target.group(4) else height
        fraction = (fx / fw, fy / fh)
    else:
        fraction = (0.5, 0.5)
    if "normalized" in text:
        convention = "normalized"
    elif "pixels" in text:
        convention = "pixels"
    else:
        squashed = re.sub(r"[-_. :/]", "", model.lower())
        convention = "pixels" if "qwen25vl" in squashed else "normalized"
    if convention == "pixels":
        seen_h, seen_w = smart_resize(height, width)
        x, y = round(fraction[0] * seen_w), round(fraction[1] * seen_h)
    else:
        x, y = round(fraction[0] * 1000), round(fraction[1] * 1000)
    if "outside" in text:
        x, y = 5000, 5000
    answer = {"found": True, "x": x, "y": y, "confidence": 0.87}
    if "absent" in text:
        answer = {"found": False, "x": 0, "y": 0, "confidence": 0.0}
    if "extrakey" in text:
        answer["label"] = "OK button"
    return answer


def verify_answer(text):
    yes = "[yes]" in text
    answer = {"answer": "yes" if yes else "no",
              "reason": "The dialog shows the requested state." if yes
              else "Nothing like that is visible."}
    if "boolanswer" in text:
        answer["answer"] = yes
    return answer


class Handler(BaseHTTPRequestHandler):
    server_version = "vlm-standin/1.0"

    def log_message(self, fmt, *args):  # quiet: tests read stdout for the port only
        pass

    def send_json(self, status, payload, headers=None):
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): as a real server, carry on

    def send_error_json(self, status, message, kind, headers=None):
        self.send_json(status, {"error": {"message": message, "type": kind, "code": status}},
                       headers)

    def do_GET(self):
        state = self.server.state
        if self.path in ("/v1/models", "/models"):
            state.bump("models_requests")
            self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "vllm"}
                for m in state.models]})
        elif self.path == "/stats":
            with state.lock:
                self.send_json(200, dict(state.counts, by_text=dict(state.by_text)))
        elif self.path == "/release":
            state.release.set()
            self.send_json(200, {"released": True})
        else:
            self.send_error_json(404, f"no route {self.path}", "NotFoundError")

    def do_POST(self):
        state = self.server.state
        if self.path not in ("/v1/chat/completions", "/chat/completions"):
            self.send_error_json(404, f"no route {self.path}", "NotFoundError")
            return
        state.bump("chat_requests")
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if state.api_key and self.headers.get("Authorization") != f"Bearer {state.api_key}":
            state.bump("rejected")
            self.send_error_json(401, "Incorrect API key provided.", "AuthenticationError")
            return
        try:
            model, text, image_size, task = parse_request(state, body)
        except RequestError as error:
            state.bump("rejected")
            self.send_error_json(error.status, str(error), error.kind)
            return
        state.bump("chat_valid", text)
        if state.always_500 or "fail500" in text or ("flaky" in text and state.first_time(text)):
            self.send_error_json(500, "CUDA error: out of memory", "InternalServerError")
            return
        if "ratelimit" in text and state.first_time(text):
            self.send_error_json(429, "Too many requests", "RateLimitError", {"Retry-After": "0"})
            return
        if "slow" in text:
            time.sleep(state.slow_seconds)
        if "hold" in text:
            state.release.wait(30)
        self.answer(model, text, image_size, task)

    def answer(self, model, text, image_size, task):
        state = self.server.state
        payload = (localize_answer(model, text, image_size) if task == "localize"
                   else verify_answer(text))
        content = json.dumps(payload)
        message = {"role": "assistant", "content": content}
        finish = "stop"
        if "garbage" in text:
            message["content"] = ("I think the button is near the top left corner of the "
                                  "window, but no, I am not sure.")
        elif "thinking" in text:
            message["content"] = ("<think>The user wants me to check the screen. Is it there? "
                                  "No... wait, let me look again.</think>\n\n" + content)
        elif "reasoningfield" in text:
            message["reasoning_content"] = "Looking at the screenshot: no doubt about it."
        elif "fenced" in text:
            message["content"] = "```json\n" + content + "\n```"
        elif "truncated" in text:
            message["content"] = content[:12]
            finish = "length"
        state.bump("chat_answered")
        self.send_json(200, {
            "id": f"chatcmpl-standin-{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish,
                         "logprobs": None}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 20, "total_tokens": 1020},
        })


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="qwen2.5-vl-7b-instruct")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--always-500", action="store_true")
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
