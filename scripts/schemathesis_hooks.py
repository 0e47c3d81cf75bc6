"""Schemathesis hooks for scripts/schemathesis.

Each generated request is a new operation, so it carries a fresh
Idempotency-Key, as a real client's would: reusing one key for different
bodies is refused with 422 by design (tested in server/tests/idempotency.rs).
Keys that are themselves invalid are left as generated, so their refusal is
still checked.
"""

import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and VALID_KEY.match(str(headers[name])):
            headers[name] = f"schemathesis-{uuid.uuid4()}"
