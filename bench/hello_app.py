"""The hello-world Litestar app the HTTP benchmarks compare against: one JSON route, nothing else, served by
bench/servers.py's start_hello() under uvicorn with the same loop and HTTP parser as `serve`."""

from litestar import Litestar, get


@get("/", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


app = Litestar([hello], logging_config=None)
