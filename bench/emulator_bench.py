"""`python -m bench.emulator_bench`: the emulator's throughput, list latency and start-up, beside localstripe's.

Prints `bench: <name> = <value> <unit>` lines (charges and PaymentIntents created and confirmed per second,
list latency at 10k and 100k charges, start-up). The emulator alone also gives its reads at 10k, 100k and
(with EMULATOR_BENCH_1M=1, about five minutes more) 1M charges, and the time of a charge create and of a
PaymentIntent create + confirm beside an empty route (bench/emulator_reads.py). localstripe 1.15.10 is installed
into a throwaway venv under .bench/ (git-ignored) and given the same work through the same SDK calls. Both stores
are seeded in process (the emulator through its charge code path, localstripe through its own Charge class with
its per-write pickle dump switched off until the end), because seeding 100k charges over HTTP would take most of
the time budget.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import stripe

from bench import emulator_reads
from stripe_emulator.seeding import seed_charges

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / ".bench"
LOCALSTRIPE_VERSION = "1.15.10"
LOCALSTRIPE_VENV = BENCH_DIR / f"localstripe-{LOCALSTRIPE_VERSION}"
LOCALSTRIPE_PICKLE = Path("/tmp/localstripe.pickle")  # localstripe's fixed store path
PORTS = {"emulator": 12210, "localstripe": 12211}
SEQUENTIAL = 300
INTENTS = 200
CONCURRENT_CLIENTS = 8
CONCURRENT_EACH = 50
LIST_SAMPLES = 25
SIZES = {"10k": 10_000, "100k": 100_000}


def report(name: str, value: float | None, unit: str, why: str = "") -> None:
    """One figure line (n/a with the reason as a comment line)."""
    if value is None:
        print(f"# {name}: {' '.join(why.split())}", flush=True)
        print(f"bench: {name} = n/a", flush=True)
    else:
        print(
            f"bench: {name} = {value:.3g} {unit}" if value < 100 else f"bench: {name} = {value:.0f} {unit}", flush=True
        )


def _client(port: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_bench", base_addresses={"api": f"http://127.0.0.1:{port}"}, max_network_retries=0
    )


def _wait_until(check: Callable[[], bool], timeout: float, proc: subprocess.Popen) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if check():
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.005)  # polling interval while the server starts
    raise TimeoutError("server did not answer")


def _answers(url: str, headers: dict[str, str] | None = None) -> bool:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=2) as response:
        return response.status == 200


class Server:
    """A server process under test; `startup_s` is the time from spawn to its first good answer."""

    def __init__(self, args: list[str], ready_url: str, headers: dict[str, str] | None = None, cwd: Path = ROOT):
        started = time.perf_counter()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for the life of the server
        self.proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)
        try:
            _wait_until(lambda: _answers(ready_url, headers), 600, self.proc)
        except RuntimeError as exc:
            self.log.seek(0)
            lines = [line for line in self.log.read().decode(errors="replace").splitlines() if line.strip()]
            raise RuntimeError(f"{exc}; its last words: {lines[-1] if lines else '(none)'}") from exc
        self.startup_s = time.perf_counter() - started

    def stop(self) -> None:
        self.log.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def charges_per_second(port: int, source: str) -> tuple[float, float]:
    """(sequential, 8 concurrent clients) charges created per second."""
    client = _client(port)
    started = time.perf_counter()
    for n in range(SEQUENTIAL):
        client.v1.charges.create(params={"amount": 1000 + n, "currency": "usd", "source": source})
    sequential = SEQUENTIAL / (time.perf_counter() - started)

    errors: list[Exception] = []

    def work() -> None:
        own = _client(port)
        try:
            for n in range(CONCURRENT_EACH):
                own.v1.charges.create(params={"amount": 2000 + n, "currency": "usd", "source": source})
        except Exception as exc:  # reported below: a failed client makes the figure meaningless
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(CONCURRENT_CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"concurrent clients failed: {errors[0]!r}")
    return sequential, CONCURRENT_CLIENTS * CONCURRENT_EACH / elapsed


def intents_per_second(port: int, payment_method: str) -> float:
    """PaymentIntents created and confirmed (two requests each, one card payment) per second, sequentially."""
    client = _client(port)
    started = time.perf_counter()
    for n in range(INTENTS):
        # The payment method is given at create: localstripe does not take it at confirm.
        created = client.v1.payment_intents.create(
            params={"amount": 1000 + n, "currency": "usd", "payment_method": payment_method}
        )
        confirmed = client.v1.payment_intents.confirm(created.id)
        if confirmed.status != "succeeded":
            raise RuntimeError(f"intent {created.id} ended {confirmed.status}, expected succeeded")
    return INTENTS / (time.perf_counter() - started)


def list100_median_ms(port: int) -> float:
    """Median time of `GET /v1/charges?limit=100`, from request to parsed JSON.

    Plain HTTP rather than the SDK: turning 100 charges into StripeObjects costs the client more than either
    server spends, and the same for both, which would hide the servers' difference."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/charges?limit=100", headers={"Authorization": "Bearer sk_test_bench"}
    )
    samples: list[float] = []
    budget_end = time.perf_counter() + 60  # a server needing seconds a page gets fewer samples, at least 3
    while len(samples) < LIST_SAMPLES and (len(samples) < 3 or time.perf_counter() < budget_end):
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            page = json.loads(response.read())
        samples.append((time.perf_counter() - started) * 1000)
        if len(page["data"]) != 100:
            raise RuntimeError(f"listed {len(page['data'])} charges, expected 100")
    return statistics.median(samples)


# ---------------------------------------------------------------- the emulator


def _start_emulator(data_dir: Path) -> Server:
    port = PORTS["emulator"]
    args = [sys.executable, "-m", "stripe_emulator", "--port", str(port), "--data-dir", str(data_dir), "--quiet"]
    return Server(args, f"http://127.0.0.1:{port}/_emulator/health")


def bench_emulator(work: Path) -> tuple[dict[str, float], dict[str, float]]:
    """(the figures compared with localstripe's, the emulator's own: reads at size and per-request times)."""
    figures: dict[str, float] = {}
    own: dict[str, float] = {}
    server = _start_emulator(work / "empty")
    figures["startup_s_empty"] = server.startup_s  # the reference: what the 100k store adds to start-up
    try:
        figures["charges_per_s_sequential"], figures["charges_per_s_concurrent8"] = charges_per_second(
            PORTS["emulator"], "tok_visa"
        )
        figures["intents_per_s_sequential"] = intents_per_second(PORTS["emulator"], _payment_method(PORTS["emulator"]))
        own.update({f"request_{name}_ms": ms for name, ms in emulator_reads.request_ms(PORTS["emulator"]).items()})
    finally:
        server.stop()
    sizes = dict(SIZES)
    if os.environ.get("EMULATOR_BENCH_1M") == "1":
        sizes["1m"] = 1_000_000
    for label, count in sizes.items():
        data_dir = work / label
        if label == "1m":  # the 100k store copied ten times over (see emulator_reads.grow)
            shutil.copytree(work / "100k", data_dir)
            emulator_reads.grow(data_dir, 10)
        else:
            seed_charges(data_dir, count, int(time.time()) - count)
        server = _start_emulator(data_dir)
        try:
            if label in SIZES:
                figures[f"list100_ms_{label}"] = list100_median_ms(PORTS["emulator"])
            reads = emulator_reads.read_ms(PORTS["emulator"])
            own.update({f"read_{name}_ms_{label}": ms for name, ms in reads.items()})
            if label == "100k":
                figures["startup_s_100k"] = server.startup_s
        finally:
            server.stop()
    return figures, own


# ---------------------------------------------------------------- localstripe

# Builds localstripe's store of argv[1] charges in process with its per-write pickle dump switched off, writes
# the pickle once (as localstripe does after each write, for its restart), then serves that store on port argv[2].
LOCALSTRIPE_SEED = textwrap.dedent(
    """
    import sys
    from localstripe import resources, server
    count = int(sys.argv[1])
    dump = resources.Store.dump_to_disk
    resources.Store.dump_to_disk = lambda self: None
    card = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2040", "cvc": "123"}
    method = resources.PaymentMethod._api_create(type="card", card=card)
    for n in range(count):
        resources.Charge._api_create(amount=500 + n % 5000, currency="usd", source=method.id)
    dump(resources.store)
    sys.argv = ["localstripe", "--port", sys.argv[2], "--from-scratch"]
    server.start()
    """
)


def _localstripe_python() -> Path:
    return LOCALSTRIPE_VENV / "bin" / "python"


def install_localstripe() -> str | None:
    """Install localstripe into its own venv; None when ready, else why not."""
    if (LOCALSTRIPE_VENV / "bin" / "localstripe").exists():
        return None
    BENCH_DIR.mkdir(exist_ok=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(LOCALSTRIPE_VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(_localstripe_python()), "-m", "pip", "install", "--quiet", f"localstripe=={LOCALSTRIPE_VERSION}"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(LOCALSTRIPE_VENV, ignore_errors=True)
        return f"could not install localstripe {LOCALSTRIPE_VERSION}: {exc}"
    return None


def _start_localstripe(from_scratch: bool) -> Server:
    port = PORTS["localstripe"]
    args = [str(LOCALSTRIPE_VENV / "bin" / "localstripe"), "--port", str(port)]
    if from_scratch:
        args.append("--from-scratch")
    headers = {"Authorization": "Bearer sk_test_bench"}
    return Server(args, f"http://127.0.0.1:{port}/v1/charges?limit=1", headers, cwd=BENCH_DIR)


def _payment_method(port: int) -> str:
    client = _client(port)
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
        }
    )
    return method.id


def bench_localstripe() -> dict[str, float | str]:
    """The same figures for localstripe, or the reason it could not give one."""
    why = install_localstripe()
    names = ["startup_s_empty", "charges_per_s_sequential", "charges_per_s_concurrent8", "intents_per_s_sequential"]
    names += ["list100_ms_10k"]
    names += ["list100_ms_100k", "startup_s_100k"]
    if why:
        return dict.fromkeys(names, why)
    figures: dict[str, float | str] = {}
    saved = LOCALSTRIPE_PICKLE.with_suffix(".pickle.bench-saved")
    if LOCALSTRIPE_PICKLE.exists():  # someone's localstripe store: keep it aside and put it back after
        shutil.move(LOCALSTRIPE_PICKLE, saved)
    try:
        server = _start_localstripe(from_scratch=True)
        figures["startup_s_empty"] = server.startup_s
        try:
            method = _payment_method(PORTS["localstripe"])
            figures["charges_per_s_sequential"], figures["charges_per_s_concurrent8"] = charges_per_second(
                PORTS["localstripe"], method
            )
            try:
                figures["intents_per_s_sequential"] = intents_per_second(PORTS["localstripe"], method)
            except stripe.StripeError as exc:  # its other figures still count
                figures["intents_per_s_sequential"] = f"localstripe refused the PaymentIntent calls: {exc!r}"
        finally:
            server.stop()
        port = str(PORTS["localstripe"])
        for label, count in SIZES.items():
            server = Server(
                [str(_localstripe_python()), "-c", LOCALSTRIPE_SEED, str(count), port],
                f"http://127.0.0.1:{port}/v1/charges?limit=1",
                {"Authorization": "Bearer sk_test_bench"},
                cwd=BENCH_DIR,
            )
            try:
                figures[f"list100_ms_{label}"] = list100_median_ms(PORTS["localstripe"])
            finally:
                server.stop()
        # Start-up: the real command reloading the pickle that the 100k store above wrote.
        try:
            server = _start_localstripe(from_scratch=False)
        except RuntimeError as exc:
            figures["startup_s_100k"] = f"localstripe did not start from its 100k-charge pickle: {exc}"
        else:
            figures["startup_s_100k"] = server.startup_s
            server.stop()
    finally:
        LOCALSTRIPE_PICKLE.unlink(missing_ok=True)
        if saved.exists():
            shutil.move(saved, LOCALSTRIPE_PICKLE)
    return figures


def main() -> int:
    """Measure both, print the figures and the ratios of this run."""
    with tempfile.TemporaryDirectory(prefix="emulator-bench-", dir=BENCH_DIR if BENCH_DIR.exists() else None) as tmp:
        emulator, own = bench_emulator(Path(tmp))
    for name, value in [*emulator.items(), *own.items()]:
        report(f"emulator_{name}", value, _unit(name))
    try:
        localstripe = bench_localstripe()
    except Exception as exc:  # localstripe failing must not hide the emulator's figures
        localstripe = dict.fromkeys(emulator, f"localstripe failed: {exc!r}")
    for name in emulator:
        value = localstripe.get(name, "not measured")
        if isinstance(value, str):
            report(f"localstripe_{name}", None, "", value)
        else:
            report(f"localstripe_{name}", value, _unit(name))
    for name, value in emulator.items():
        other = localstripe.get(name)
        if isinstance(other, float) and other > 0 and value > 0:
            # >1 means the emulator is better: more charges or intents per second, or less time
            ratio = value / other if "_per_s_" in name else other / value
            report(f"emulator_vs_localstripe_{name}", ratio, "x (emulator better when > 1)")
    return 0


def _unit(name: str) -> str:
    if name.startswith("charges"):
        return "charges/s"
    if name.startswith("intents"):
        return "intents/s"
    return "ms" if "_ms_" in name or name.endswith("_ms") else "s"


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
