"""The reference: the FastAPI endpoint gatehouse's /register_node_secret mirrors.

Two apps, one route each:
- `app`: Infera's published model (docs.infera.org, "Register Node"): both fields plain
  `str`, no length limits. gatehouse's default; `fixtures.json`.
- `constrained_app`: the same with `Field(...)` limits, what gatehouse answers when an
  operator sets NODE_ID_MIN_LENGTH=1, NODE_ID_MAX_LENGTH=128, NODE_SECRET_MIN_LENGTH=16,
  NODE_SECRET_MAX_LENGTH=512; `fixtures_constrained.json`.

Run only to produce or check the fixtures (see generate.py); CI compares the worker
against the committed fixtures, so it needs no Python.
"""
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

app = FastAPI()
constrained_app = FastAPI()

# The settings the constrained table is made with (tests pass the same to the worker).
CONSTRAINTS = {
    "NODE_ID_MIN_LENGTH": 1,
    "NODE_ID_MAX_LENGTH": 128,
    "NODE_SECRET_MIN_LENGTH": 16,
    "NODE_SECRET_MAX_LENGTH": 512,
}


class NodeSecretRequest(BaseModel):
    node_id: str
    secret: str


class ConstrainedNodeSecretRequest(BaseModel):
    node_id: str = Field(
        min_length=CONSTRAINTS["NODE_ID_MIN_LENGTH"], max_length=CONSTRAINTS["NODE_ID_MAX_LENGTH"]
    )
    secret: str = Field(
        min_length=CONSTRAINTS["NODE_SECRET_MIN_LENGTH"], max_length=CONSTRAINTS["NODE_SECRET_MAX_LENGTH"]
    )


class NodeSecretRegistered(BaseModel):
    node_id: str
    registered: bool


class HTTPError(BaseModel):
    detail: str


STORED: dict[str, str] = {}


RESPONSES = {409: {"model": HTTPError, "description": "The node id is registered with another secret"}}


def register(node_id: str, secret: str):
    known = STORED.get(node_id)
    if known is not None and known != secret:
        raise HTTPException(status_code=409, detail="Node already registered")
    STORED[node_id] = secret
    return {"node_id": node_id, "registered": True}


@app.post("/register_node_secret", response_model=NodeSecretRegistered, responses=RESPONSES)
def register_node_secret(body: NodeSecretRequest):
    return register(body.node_id, body.secret)


@constrained_app.post("/register_node_secret", response_model=NodeSecretRegistered, responses=RESPONSES)
def register_constrained_node_secret(body: ConstrainedNodeSecretRequest):
    return register(body.node_id, body.secret)


def fastapi_version():
    import fastapi, pydantic, sys
    return f"fastapi {fastapi.__version__}, pydantic {pydantic.__version__}, python {sys.version.split()[0]}"
