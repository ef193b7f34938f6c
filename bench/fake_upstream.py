"""An instant fake Anthropic/OpenAI upstream for benchmarks: `python -m bench.fake_upstream --port N`."""

from __future__ import annotations

import argparse
import threading

from tests.fakes.llm_server import FakeLLMServer, Script


def main() -> None:
    """Serve until killed; every request answers at once with a short streamed reply."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = FakeLLMServer(port=args.port)
    server.requests = _Discard()  # do not keep every request in memory during a long run
    for provider in ("anthropic", "openai"):
        server.set_default(
            provider,
            Script(
                text="Open Settings, then Security, and turn on 2FA.",
                chunks=5,
                input_tokens=900,
                output_tokens=12,
            ),
        )
    server.start()
    print("ready", flush=True)
    threading.Event().wait()


class _Discard(list):  # type: ignore[type-arg]
    def append(self, item: object) -> None:
        """Drop recorded requests."""


if __name__ == "__main__":
    main()
