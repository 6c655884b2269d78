"""Linli's test suite."""

import warnings

# Starlette suggests httpx2 for its test client; httpx is what FastAPI documents today.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
