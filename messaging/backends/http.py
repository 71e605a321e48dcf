"""SMS (and WeChat template messages) through a provider's HTTP API.

POST `url` with JSON {"to", "text", "reference", "sender"} and `Authorization: Bearer <api_key>`;
the provider answers 2xx with JSON {"id": "..."}. Each call has a timeout; timeouts, connection
errors, 429 and 5xx are retried `retries` times with exponential backoff, then reported as a
temporary failure (the message is tried again later). Other 4xx answers are permanent failures."""

import json
import time
import urllib.error
import urllib.request

from messaging.backends import OutgoingMessage, PermanentFailure, TemporaryFailure

RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}


class HttpProviderBackend:
    name = "http"

    def __init__(self, *, url: str, api_key: str = "", timeout: float = 5.0, retries: int = 2,
                 backoff: float = 0.5):
        self.url, self.api_key, self.timeout = url, api_key, timeout
        self.retries, self.backoff = retries, backoff

    def _post(self, payload: bytes) -> str:
        request = urllib.request.Request(  # noqa: S310 (the URL comes from settings)
            self.url, data=payload, method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            answer = json.loads(response.read() or b"{}")
        provider_id = str(answer.get("id") or "")
        if not provider_id:
            raise PermanentFailure(f"the provider answered without an id: {answer}")
        return provider_id

    def send(self, message: OutgoingMessage) -> str:
        payload = json.dumps({"to": message.recipient, "text": message.body,
                              "reference": message.reference, "sender": message.sender}).encode()
        last_error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return self._post(payload)
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode(errors="replace")[:200]
                if exc.code not in RETRYABLE_STATUS:
                    raise PermanentFailure(f"HTTP {exc.code}: {detail}") from exc
                last_error = f"HTTP {exc.code}: {detail}"
            except (TimeoutError, urllib.error.URLError, ConnectionError, json.JSONDecodeError) as exc:
                last_error = f"{exc.__class__.__name__}: {exc}"
        raise TemporaryFailure(f"{self.retries + 1} tries failed; last: {last_error}")


class SmsHttpBackend(HttpProviderBackend):
    name = "sms-http"


class WeChatHttpBackend(HttpProviderBackend):
    """WeChat template messages through a gateway that finds the member's account by phone."""

    name = "wechat-http"
