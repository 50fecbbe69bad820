"""The reference: the FastAPI endpoint gatehouse's /register_node_secret mirrors.

Run only to produce or check `fixtures.json` (see generate.py); CI compares the worker
against the committed fixtures, so it needs no Python.
"""
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

app = FastAPI()


class NodeSecret(BaseModel):
    node_id: str = Field(min_length=1, max_length=128)
    secret: str = Field(min_length=16, max_length=512)


class NodeSecretRegistered(BaseModel):
    node_id: str
    registered: bool


class HTTPError(BaseModel):
    detail: str


STORED: dict[str, str] = {}


@app.post(
    "/register_node_secret",
    response_model=NodeSecretRegistered,
    responses={409: {"model": HTTPError, "description": "The node id is registered with another secret"}},
)
def register_node_secret(body: NodeSecret):
    known = STORED.get(body.node_id)
    if known is not None and known != body.secret:
        raise HTTPException(status_code=409, detail="Node already registered")
    STORED[body.node_id] = body.secret
    return {"node_id": body.node_id, "registered": True}


def fastapi_version():
    import fastapi, pydantic, sys
    return f"fastapi {fastapi.__version__}, pydantic {pydantic.__version__}, python {sys.version.split()[0]}"
