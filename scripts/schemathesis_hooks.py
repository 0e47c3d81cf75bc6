"""Schemathesis hooks for scripts/schemathesis.

Each generated request is a new operation, so it carries a fresh
Idempotency-Key, as a real client's would: reusing one key for different
bodies is refused with 422 by design (tested in server/tests/idempotency.rs).
Keys that are themselves invalid are left as generated, so their refusal is
still checked.

Each request also comes from its own client (X-Forwarded-For, a documentation
address in a /64 of its own, from the proxy the test server trusts): thousands of requests from
one address would meet the per-client rate limits, which
server/tests/hostile_clients.rs tests, and leave the rest untested.
"""

import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers if case.headers is not None else {}
    case.headers = headers
    # IPv6 clients are limited per /64: each request gets a /64 of its own.
    headers["X-Forwarded-For"] = f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"
    for name in list(headers):
        if name.lower() == "idempotency-key" and VALID_KEY.match(str(headers[name])):
            headers[name] = f"schemathesis-{uuid.uuid4()}"
