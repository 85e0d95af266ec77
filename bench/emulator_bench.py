"""`python -m bench.emulator_bench`: the emulator's throughput, list latency and start-up, beside localstripe's.

Prints `bench: <name> = <value> <unit>` lines (charges and PaymentIntents created and confirmed per second,
list latency at 10k and 100k charges, search latency (p50, p95) at 100k charges, start-up, a Checkout Session's
create and hosted-page payment). The emulator alone also gives its reads at 10k, 100k and (with
EMULATOR_BENCH_1M=1, about five minutes more) 1M charges, and the time of a charge create and of a PaymentIntent
create + confirm beside an empty route (bench/emulator_reads.py). localstripe 1.15.10 is installed into a throwaway
venv under .bench/ (git-ignored) and given the same work through the same SDK calls. Both stores are seeded in
process (the emulator through its charge code path, localstripe through its own Charge class with its per-write
pickle dump switched off until the end), because seeding 100k charges over HTTP would take most of the time budget.
"""

from __future__ import annotations

import http.client
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
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
# Searches over the seeded charges (one in seven declined, amounts 500-5499, metadata seed=<index>): a narrow
# metadata lookup, a broad status filter, a numeric range with a negation, an OR, and a substring-free exact field.
SEARCH_QUERIES = [
    "metadata['seed']:'{n}'",
    "status:'failed'",
    "amount>5000 AND -status:'failed'",
    "metadata['seed']:'{n}' OR amount:777",
    "payment_method_details.card.last4:'0005' AND amount<600",
]
SEARCH_ROUNDS = 20
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


def intents_per_second(port: int, payment_method: str, **terms: Any) -> float:
    """PaymentIntents created and confirmed (two requests each, one card payment) per second, sequentially."""
    client = _client(port)
    started = time.perf_counter()
    for n in range(INTENTS):
        # The payment method is given at create: localstripe does not take it at confirm.
        created = client.v1.payment_intents.create(
            params={"amount": 1000 + n, "currency": "usd", "payment_method": payment_method, **terms}
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


def search_latency_ms(port: int, count: int) -> tuple[float, float]:
    """(p50, p95) of `GET /v1/charges/search?limit=100` over SEARCH_QUERIES, from request to parsed JSON."""
    samples: list[float] = []
    for round_ in range(SEARCH_ROUNDS):
        for template in SEARCH_QUERIES:
            query = urllib.parse.urlencode({"query": template.format(n=(round_ * 7919) % count), "limit": 100})
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/charges/search?{query}", headers={"Authorization": "Bearer sk_test_bench"}
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as response:
                page = json.loads(response.read())
            samples.append((time.perf_counter() - started) * 1000)
            if page.get("object") != "search_result":
                raise RuntimeError(f"search answered {page!r:.200}")
    cuts = statistics.quantiles(samples, n=20)
    return statistics.median(samples), cuts[18]


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
        # Card only, as the shop asks: with the version's default automatic payment methods a server-side confirm
        # would need a return_url (docs.stripe.com/changelog/2023-08-16/automatic-payment-methods).
        figures["intents_per_s_sequential"] = intents_per_second(
            PORTS["emulator"], _payment_method(PORTS["emulator"]), payment_method_types=["card"]
        )
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
                figures["search_p50_ms_100k"], figures["search_p95_ms_100k"] = search_latency_ms(
                    PORTS["emulator"], count
                )
        finally:
            server.stop()
    return figures, own


# ---------------------------------------------------------------- Checkout Sessions

CHECKOUT_RUNS = 60
CHECKOUT_SESSION = {
    "mode": "payment",
    "line_items[0][price_data][currency]": "usd",
    "line_items[0][price_data][unit_amount]": "2300",
    "line_items[0][price_data][product_data][name]": "Stubborn Attachments",
    "line_items[0][quantity]": "2",
    "success_url": "http://127.0.0.1/thanks?session_id={CHECKOUT_SESSION_ID}",
    "customer_email": "ada@example.com",
}
# What the card frame sends when the page confirms the session's intent (stripe.confirmCardPayment).
CARD_CONFIRM = {
    "payment_method_data[type]": "card",
    "payment_method_data[card][number]": "4242424242424242",
    "payment_method_data[card][exp_month]": "12",
    "payment_method_data[card][exp_year]": "2040",
    "payment_method_data[card][cvc]": "123",
    "payment_method_data[billing_details][name]": "Ada Lovelace",
    "use_stripe_sdk": "true",
}
# (method, path, form, key) -> (status, JSON body or None for a page)
Send = Callable[[str, str, dict[str, str], str], tuple[int, Any]]


def checkout_flow(send: Send) -> tuple[float, float, int]:
    """One session created, then paid as its hosted page does; (create ms, payment ms, payment requests).

    The payment is the page's own requests: the page itself, `POST /c/pay/{id}/payment` (the customer's details,
    answered with the session's PaymentIntent) and the card frame's confirm of that intent with a publishable
    key. The page's static files (script, stylesheet, Stripe.js and its card frame) are cached by the browser and
    not counted."""
    started = time.perf_counter()
    status, created = send("POST", "/v1/checkout/sessions", CHECKOUT_SESSION, "sk_test_bench")
    create_ms = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"session create answered {status}: {created}")
    session_id = created["id"]
    started = time.perf_counter()
    send("GET", f"/c/pay/{session_id}", {}, "")
    _, started_payment = send("POST", f"/c/pay/{session_id}/payment", {"email": "ada@example.com", "name": "Ada"}, "")
    secret = started_payment["client_secret"]
    confirm = {**CARD_CONFIRM, "client_secret": secret}
    status, intent = send("POST", f"/v1/payment_intents/{secret.split('_secret_')[0]}/confirm", confirm, "pk_test_b")
    payment_ms = (time.perf_counter() - started) * 1000
    if status != 200 or intent["status"] != "succeeded":
        raise RuntimeError(f"the page's confirm answered {status}: {intent}")
    _, done = send("GET", f"/v1/checkout/sessions/{session_id}", {}, "sk_test_bench")
    if done["status"] != "complete":
        raise RuntimeError(f"the paid session is {done['status']}")
    return create_ms, payment_ms, 3


def _medians(send: Send) -> tuple[float, float, int]:
    runs = [checkout_flow(send) for _ in range(CHECKOUT_RUNS)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), runs[0][2]


def _http_sender(port: int) -> Send:
    """Requests over one keep-alive connection, as a browser and the SDK make them."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(method: str, path: str, form: dict[str, str], key: str) -> tuple[int, Any]:
        body = urllib.parse.urlencode(form) if method == "POST" else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(raw) if is_json else None

    return send


def bench_checkout_sessions(work: Path) -> dict[str, float]:
    """Session create and hosted-page payment: over HTTP to a running emulator (one keep-alive connection), and
    in process through the ASGI app with no network or server loop in between (the server's own time)."""
    with warnings.catch_warnings():  # starlette's note that a later httpx will be needed: not this run's concern
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from stripe_emulator.app import create_app

    figures: dict[str, float] = {}
    server = _start_emulator(work / "checkout-http")
    try:
        create, payment, requests = _medians(_http_sender(PORTS["emulator"]))
    finally:
        server.stop()
    figures.update(checkout_create_ms_http=create, checkout_payment_ms_http=payment, checkout_payment_requests=requests)
    client = TestClient(create_app(work / "checkout-asgi"), base_url="http://127.0.0.1")

    def send(method: str, path: str, form: dict[str, str], key: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = client.request(method, path, data=form if method == "POST" else None, headers=headers)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        return response.status_code, response.json() if is_json else None

    create, payment, _ = _medians(send)
    figures.update(checkout_create_ms_server=create, checkout_payment_ms_server=payment)
    return figures


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
    figures: dict[str, float | str] = dict.fromkeys(
        ("search_p50_ms_100k", "search_p95_ms_100k"), f"localstripe {LOCALSTRIPE_VERSION} has no search endpoints"
    )
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
        checkout = bench_checkout_sessions(Path(tmp))
    for name, value in checkout.items():
        report(f"emulator_{name}", value, "requests" if name.endswith("_requests") else "ms")
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
