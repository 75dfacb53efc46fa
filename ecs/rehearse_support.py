"""What the rehearsal's parts share: the region and stack, the emulator's credentials,
the check that records failures, and running the deploy programs as the workflow
does."""

import os
import pathlib
import socket
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REGION = "ap-northeast-2"
STACK = "upbrella"
# Services report their desired tasks as running (there is no ECS agent to run them).
os.environ["MOTO_ECS_SERVICE_RUNNING"] = "3"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal", "AWS_DEFAULT_REGION": REGION}
os.environ.update(CREDENTIALS)

failures = []


def check(condition, what):
    print(f"  {'ok  ' if condition else 'FAIL'} {what}", flush=True)
    if not condition:
        failures.append(what)


# ------------------------------------------------------------------ the rehearsal
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(script, *args):
    """Runs one of the deploy programs as the workflow or an operator would."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(HERE / script), *args],
        capture_output=True, text=True, env=dict(os.environ, **CREDENTIALS), timeout=300,
    )
    for line in (result.stdout + result.stderr).splitlines():
        print(f"    | {line}")
    return result.returncode, time.monotonic() - started, result.stdout + result.stderr

