"""A bare FastAPI endpoint: the baseline that Linli's authenticated reads are compared with."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
def ping() -> dict[str, str]:
    """Return a constant."""
    return {"status": "ok"}
