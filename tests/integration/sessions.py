"""Session tokens for integration tests, made the way a host application
makes them: an ES256 key pair made now, its public half where a tenant's
session.public_key names it, tokens signed with Debian's python3-jwt."""

import os
import time

try:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError:
    jwt = None

ISSUER = "https://app.test"
AUDIENCE = "widgetd"
# A tenant (wdtest.Daemon tenants=[...]) whose sessions these verify.
TENANT = ('{ id = "test"; registry = "reg.json"; store = "store"; '
          'session = { public_key = "session.pem"; cookie = "wsess"; '
          'issuer = "%s"; audience = "%s"; }; }' % (ISSUER, AUDIENCE))


def available():
    return jwt is not None


class Signer:
    def __init__(self, directory, name="session.pem"):
        self.key = ec.generate_private_key(ec.SECP256R1())
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        with open(os.path.join(directory, name), "wb") as f:
            f.write(pem)

    def token(self, csrf="c5rf", ttl=600, **claims):
        now = int(time.time())
        body = {"sub": "u1", "iss": ISSUER, "aud": AUDIENCE, "iat": now,
                "exp": now + ttl, "csrf": csrf}
        body.update(claims)
        return jwt.encode(body, self.key, algorithm="ES256")

    def headers(self, csrf="c5rf", **claims):
        """A Bearer token and its CSRF header."""
        return ["Authorization: Bearer " + self.token(csrf, **claims),
                "X-CSRFToken: " + csrf]
