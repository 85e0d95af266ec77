"""The ASGI app: Stripe's HTTP conventions (keys: `auth`; form bodies, idempotency, errors) around the resources."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import json
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from stripe_emulator import checkout_routes, core, money, stripejs, webhooks
from stripe_emulator.auth import CORS_HEADERS, PREFLIGHT_HEADERS, authenticate, authorize
from stripe_emulator.errors import StripeError, invalid, request_log_url
from stripe_emulator.faults import DROP_FLAG, Fault, FaultBoard, apply_delay, injected_error
from stripe_emulator.guards import HostGuard, allowed_hosts_from_env, host_name, read_body
from stripe_emulator.params import parse_pairs
from stripe_emulator.resources import (
    authorizations,
    balance_transactions,
    bank_debits,
    charges,
    customers,
    disputes,
    events,
    files,
    payment_intents,
    payment_methods,
    payouts,
    prices,
    products,
    refunds,
    search,
    tokens,
    webhook_endpoints,
)
from stripe_emulator.store import Store

log = logging.getLogger("stripe_emulator")

IDEMPOTENCY_KEEP_SECONDS = 7 * 24 * 3600  # Stripe promises at least 24 hours


def _json(status: int, body: Any, headers: dict[str, str]) -> Response:
    if isinstance(body, dict) and isinstance(body.get("error"), dict) and "Request-Id" in headers:
        body["error"].setdefault("request_log_url", request_log_url(headers["Request-Id"]))
    # Indented as Stripe answers; orjson's encoder is many times faster than json's with an indent (pure Python).
    text = body.render() if isinstance(body, core.RawList) else orjson.dumps(body, option=orjson.OPT_INDENT_2)
    return Response(text, status_code=status, media_type="application/json", headers=headers)


def _answer(handler: Callable[..., Any], ctx: core.Context, path_params: dict[str, Any]) -> tuple[int, Any]:
    """The handler's status and body, a StripeError it raised as its answer; inside the request's transaction."""
    try:
        authorizations.expire_due(ctx)  # what the clock has released is gone before anything reads
        bank_debits.settle_due(ctx)  # and the bank debits it has settled are settled
        status, body = 200, handler(ctx, **path_params)
        if isinstance(body, tuple):
            status, body = body
    except StripeError as error:
        status, body = error.status, error.body()
    return status, body


class _RolledBack(Exception):
    """A request that took no effect: its answer, carried out of the store's transaction so that it rolls back."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class Emulator:
    """The running emulator: its store, clock and request plumbing."""

    def __init__(
        self,
        data_dir: Path,
        webhook_hosts: frozenset[str] = frozenset(),
        webhook_retries: tuple[float, ...] = webhooks.DEFAULT_RETRY_SCHEDULE,
    ) -> None:
        self.store = Store(Path(data_dir) / "emulator.sqlite3")
        self.clock = core.Clock()
        self.faults = FaultBoard()
        self.webhook_hosts = webhook_hosts
        self.webhooks = webhooks.DeliveryWorker(self.store, webhook_retries, webhook_hosts)
        self.store.prune_idempotency(int(time.time()) - IDEMPOTENCY_KEEP_SECONDS)

    async def _params(self, request: Request, upload: bool = False) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        pairs = urllib.parse.parse_qsl(request.url.query, keep_blank_values=True)
        content_type = request.headers.get("content-type", "")
        if upload and request.method == "POST" and content_type.startswith("multipart/form-data"):
            return files.multipart_params(await read_body(request, files.MAX_UPLOAD_BODY_BYTES), content_type)
        if request.method in ("POST", "DELETE"):
            body = (await read_body(request)).decode("utf-8", errors="replace")
            if "json" in request.headers.get("content-type", ""):
                raise invalid("Invalid request: the body must be form-encoded (application/x-www-form-urlencoded).")
            pairs += urllib.parse.parse_qsl(body, keep_blank_values=True)
        return parse_pairs(pairs), pairs

    def endpoint(
        self,
        handler: Callable[..., Any],
        *,
        allow_publishable: bool = False,
        allow_anonymous: bool = False,
        upload: bool = False,
    ) -> Callable[[Request], Any]:
        """Wrap a resource handler with auth, parsing, idempotency, one committed transaction and headers.

        `allow_publishable` lets Stripe.js call it from any page (a publishable key, CORS allowed, an OPTIONS
        route for its path: `preflight_routes`); `allow_anonymous` also without any key, for a handler that checks
        a client_secret itself; `upload` takes a multipart/form-data body up to files.MAX_UPLOAD_BODY_BYTES
        (POST /v1/files). The steps, in order: version, fault, parse, auth, idempotency, transaction."""

        async def serve(request: Request) -> Response:
            request_id = core.new_id("req_", 14)
            headers = {"Request-Id": request_id, "Stripe-Version": core.API_VERSION}
            if allow_publishable:
                headers.update(CORS_HEADERS)
            try:
                headers["Stripe-Version"] = core.requested_api_version(request.headers.get("stripe-version"))
                fault, error_after_commit = self._take_fault(request)
                params, pairs = await self._params(request, upload)
                api_key, params, pairs = authorize(request, params, pairs, allow_publishable, allow_anonymous)
            except StripeError as error:
                return _json(error.status, error.body(), headers)
            except ClientDisconnect:
                # The client went away before its body was in: nothing ran, and nobody reads an answer.
                log.info(
                    "%s %s: the client disconnected before sending its whole body", request.method, request.url.path
                )
                return Response(status_code=400)
            if not api_key.startswith("pk_"):
                for name in CORS_HEADERS:
                    headers.pop(name, None)
            # The body is in hand before the delay: a client that gives up meanwhile does not stop the request.
            await apply_delay(fault)
            key = request.headers.get("idempotency-key") if request.method == "POST" else None
            endpoint_name = f"{request.method} {request.url.path}"
            params_hash = hashlib.sha256(json.dumps(sorted(pairs)).encode()).hexdigest()
            # The handler runs synchronously on the event loop, so requests never interleave: two requests
            # with one idempotency key run one after the other and the second sees the first one's result.
            with self.store.lock:
                if key is not None:
                    replayed = self._idempotent_answer(key, endpoint_name, params_hash, headers)
                    if replayed is not None:
                        return replayed
                    headers["Idempotency-Key"] = key
                ctx = self._context(request, request_id, params, api_key, key)
                run = self._run(handler, ctx, request.path_params, error_after_commit, (endpoint_name, params_hash))
                status, body, committed = run
            if committed and ctx.webhooks_queued:
                self.webhooks.wake()  # committed: the deliveries may go (never on this request's time)
            return _json(status, body, headers)

        serve.allow_publishable = allow_publishable  # type: ignore[attr-defined]  # read by preflight_routes
        return serve

    def _idempotent_answer(
        self, key: str, endpoint_name: str, params_hash: str, headers: dict[str, str]
    ) -> Response | None:
        """The answer an idempotency key already has (its saved result, or the error for a key that will not do),
        or None when the request is to run. Call with the store's lock held."""
        if len(key) > 255:
            error = invalid("Idempotency-Key must be at most 255 characters long.")
            return _json(error.status, error.body(), headers)
        saved = self.store.idempotent_result(key)
        if saved is not None:
            return self._replay(key, endpoint_name, params_hash, saved, headers)
        return None

    def _context(
        self, request: Request, request_id: str, params: dict[str, Any], api_key: str, key: str | None
    ) -> core.Context:
        """What the handler is told about its request."""
        return core.Context(
            store=self.store,
            clock=self.clock,
            params=params,
            request_id=request_id,
            base_url=str(request.base_url).rstrip("/"),
            client_ip=request.client.host if request.client else None,
            idempotency_key=key,
            now=self.clock.now(),
            publishable=api_key.startswith("pk_"),
            webhook_hosts=self.webhook_hosts,
        )

    def _take_fault(self, request: Request) -> tuple[Fault | None, StripeError | None]:
        """The armed fault this request meets, and the error to answer after committing when it asks for one.

        Raises the injected error of a status fault that answers before anything runs."""
        fault = self.faults.take(request.method, request.url.path)
        error_after_commit = None
        if fault is not None:
            if isinstance(fault.action, dict) and "status" in fault.action:
                error = injected_error(fault.action["status"])
                if not fault.action.get("after_commit"):
                    raise error
                error_after_commit = error
            if fault.action == "drop_after_commit":
                request.scope[DROP_FLAG] = True
        return fault, error_after_commit

    def _run(
        self,
        handler: Callable[..., Any],
        ctx: core.Context,
        path_params: dict[str, Any],
        error_after_commit: StripeError | None,
        request_key: tuple[str, str],
    ) -> tuple[int, Any, bool]:
        """Run the handler in one transaction of the store (`Store.transaction`): the status, the body, and
        whether it committed. The idempotency key's result is saved in the same transaction, with `request_key`
        (the endpoint and the hash of the parameters) that a later request with the key must match.

        Stripe keeps what a request did once it started executing (a decline, 402, included), not when its
        parameters were refused: any other error rolls the transaction back, and the key's result is not saved."""
        try:
            with self.store.transaction():
                status, body = _answer(handler, ctx, path_params)
                if not (status < 400 or status == 402):
                    raise _RolledBack(status, body)
                if error_after_commit is not None:
                    # The request takes effect, and the answer is a 500, saved as the key's result: Stripe
                    # replays "the same result, including 500 errors" (docs.stripe.com/api/idempotent_requests).
                    status, body = error_after_commit.status, error_after_commit.body()
                if ctx.idempotency_key is not None:
                    endpoint_name, params_hash = request_key
                    self.store.save_idempotent_result(
                        ctx.idempotency_key,
                        endpoint_name,
                        params_hash,
                        status,
                        json.dumps(body),
                        ctx.request_id,
                        int(time.time()),
                    )
        except _RolledBack as refused:
            return refused.status, refused.body, False
        return status, body, True

    def _replay(
        self, key: str, endpoint_name: str, params_hash: str, saved: tuple, headers: dict[str, str]
    ) -> Response:
        saved_endpoint, saved_hash, status, body, original_request = saved
        if saved_endpoint != endpoint_name:
            error = StripeError(
                400,
                "idempotency_error",
                f"Keys for idempotent requests can only be used for the same endpoint they were first used for "
                f"('{saved_endpoint}' vs '{endpoint_name}'). Try using a key other than '{key}' if you meant to "
                "execute a different request.",
            )
            return _json(400, error.body(), headers)
        if saved_hash != params_hash:
            error = StripeError(
                400,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first used "
                f"with. Try using a key other than '{key}' if you meant to execute a different request.",
            )
            return _json(400, error.body(), headers)
        headers.update({"Idempotent-Replayed": "true", "Original-Request": original_request, "Idempotency-Key": key})
        return Response(body, status_code=status, media_type="application/json", headers=headers)

    def tick(self) -> None:
        """Settle what the clock has made due though no request came: a bank debit ends, and its webhooks go,
        with nobody calling the API (as Stripe's do). One indexed lookup when nothing is due."""
        with self.store.lock:
            ctx = core.Context(
                store=self.store,
                clock=self.clock,
                params={},
                request_id=None,  # type: ignore[arg-type]  # Stripe's automatic events name no request
                base_url="",
                now=self.clock.now(),
                webhook_hosts=self.webhook_hosts,
            )
            if not bank_debits.any_due(ctx):
                return
            with self.store.transaction():
                bank_debits.settle_due(ctx)
        if ctx.webhooks_queued:
            self.webhooks.wake()

    # ---- emulator-only endpoints ----

    async def preflight(self, request: Request) -> Response:
        """CORS preflight of a publishable-key endpoint."""
        return Response(status_code=204, headers=PREFLIGHT_HEADERS)

    async def health(self, request: Request) -> Response:
        return _json(200, {"status": "ok"}, {})

    async def clock_endpoint(self, request: Request) -> Response:
        headers = {"Request-Id": core.new_id("req_", 14)}
        try:
            authenticate(request)
            if request.method == "POST":
                self.clock.frozen = _frozen_time(await read_body(request), request.headers.get("content-type", ""))
        except StripeError as error:
            return _json(error.status, error.body(), headers)
        return _json(200, {"frozen_time": self.clock.frozen, "now": self.clock.now()}, headers)

    async def reset(self, request: Request) -> Response:
        try:
            authenticate(request)
        except StripeError as error:
            return _json(error.status, error.body(), {})
        self.store.reset()  # webhook endpoints and deliveries included
        self.clock.frozen = None
        self.faults.clear()
        return _json(200, {"reset": True}, {})

    async def deliveries(self, request: Request) -> Response:
        """`GET /_emulator/deliveries[?event=evt_…][&endpoint=we_…]`: the webhook delivery log, oldest first."""
        headers = {"Request-Id": core.new_id("req_", 14)}
        try:
            authenticate(request)
        except StripeError as error:
            return _json(error.status, error.body(), headers)
        where = [(f"{name} = ?", [request.query_params.get(name)]) for name in ("event", "endpoint", "state")]
        where = [clause for clause in where if clause[1][0] is not None]
        found = self.store.select("webhook_deliveries", where, limit=10_000)
        return _json(200, {"object": "list", "data": found}, headers)

    async def faults_endpoint(self, request: Request) -> Response:
        """`/_emulator/faults`: POST arms a fault (JSON body), GET lists the armed ones, DELETE clears them."""
        headers = {"Request-Id": core.new_id("req_", 14)}
        try:
            authenticate(request)
            if request.method == "POST":
                try:
                    spec = json.loads(await read_body(request) or b"null")
                except ValueError as exc:
                    raise invalid("Invalid JSON body.") from exc
                return _json(200, self.faults.arm(spec).describe(), headers)
            if request.method == "DELETE":
                return _json(200, {"deleted": self.faults.clear()}, headers)
        except StripeError as error:
            return _json(error.status, error.body(), headers)
        return _json(200, {"object": "list", "data": self.faults.describe()}, headers)

    async def receipt(self, request: Request) -> Response:
        charge = self.store.get("charges", request.path_params["charge_id"])
        if charge is None:
            return HTMLResponse("<!doctype html><title>Receipt not found</title><p>No such receipt.</p>", 404)
        return HTMLResponse(_receipt_html(charge))

    async def not_found(self, request: Request) -> Response:
        error = StripeError(
            404,
            "invalid_request_error",
            f"Unrecognized request URL ({request.method}: {request.url.path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )
        return _json(404, error.body(), {"Request-Id": core.new_id("req_", 14)})


def _frozen_time(raw: bytes, content_type: str) -> int | None:
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            data = json.loads(text or "{}")
        except ValueError as exc:
            raise invalid("Invalid JSON body.") from exc
        value = data.get("frozen_time") if isinstance(data, dict) else None
    else:
        value = dict(urllib.parse.parse_qsl(text, keep_blank_values=True)).get("frozen_time")
    if value in (None, "", "null"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise invalid(f"Invalid integer: {value}", param="frozen_time") from exc


def _receipt_html(charge: dict[str, Any]) -> str:
    card = charge["payment_method_details"]["card"]
    paid = time.strftime("%B %d, %Y", time.gmtime(charge["created"]))
    amount = money.display(charge["amount"], charge["currency"])
    refunded = money.display(charge["amount_refunded"], charge["currency"]) if charge["amount_refunded"] else None
    rows = [
        ("Amount paid", amount),
        ("Date paid", paid),
        ("Payment method", f"{card['brand'].title()} •••• {card['last4']}"),
        ("Status", charge["status"]),
    ]
    if refunded:
        rows.append(("Refunded", refunded))
    if charge.get("description"):
        rows.append(("Description", charge["description"]))
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Receipt</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;color:#1a1f36}"
        "th{text-align:left;color:#697386;font-weight:500;padding:.4rem 1rem .4rem 0}td{padding:.4rem 0}"
        "</style></head><body><h1>Receipt</h1>"
        f"<p>Receipt for charge <code>{html.escape(charge['id'])}</code> (test mode)</p><table>{cells}</table>"
        "</body></html>"
    )


async def _tick_every_second(emulator: Emulator) -> None:
    while True:
        await asyncio.sleep(1)
        try:
            emulator.tick()
        except Exception:
            log.exception("settling due bank debits failed; trying again in a second")


def preflight_routes(routes: list[BaseRoute], preflight: Callable[[Request], Any]) -> list[Route]:
    """An OPTIONS route (CORS preflight) for each path whose endpoint lets Stripe.js call it from another origin:
    read off the routes' own `allow_publishable` flags, so the two never disagree."""
    paths = [
        route.path
        for route in routes
        if isinstance(route, Route) and getattr(route.endpoint, "allow_publishable", False)
    ]
    return [Route(path, preflight, methods=["OPTIONS"]) for path in dict.fromkeys(paths)]


def create_app(
    data_dir: Path, allowed_hosts: list[str] | None = None, webhook_retries: tuple[float, ...] | None = None
) -> Starlette:
    """The emulator as an ASGI app storing its data under `data_dir`.

    It answers requests whose Host is a loopback name or address, or one of `allowed_hosts` or the hosts in
    STRIPE_EMULATOR_ALLOWED_HOSTS, and posts webhooks to the same hosts only. `webhook_retries` are the waits
    (seconds) before each retry of a failed delivery: else STRIPE_EMULATOR_WEBHOOK_RETRIES, else about 3 days'
    worth. Deliveries run while the app's lifespan does."""
    hosts = [*allowed_hosts_from_env(), *(allowed_hosts or [])]
    if webhook_retries is None:
        from_env = webhooks.schedule_from_env()  # "" is a schedule too: no retries
        webhook_retries = webhooks.DEFAULT_RETRY_SCHEDULE if from_env is None else from_env
    emulator = Emulator(Path(data_dir), frozenset(host_name(name) for name in hosts), webhook_retries)
    ep = emulator.endpoint
    pms, pis = payment_methods, payment_intents
    routes: list[BaseRoute] = [
        Route("/_emulator/health", emulator.health, methods=["GET"]),
        Route("/_emulator/clock", emulator.clock_endpoint, methods=["GET", "POST"]),
        Route("/_emulator/reset", emulator.reset, methods=["POST"]),
        Route("/_emulator/faults", emulator.faults_endpoint, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/deliveries", emulator.deliveries, methods=["GET"]),
        Route("/_emulator/events/{event_id}/resend", ep(webhook_endpoints.resend_event), methods=["POST"]),
        Route("/receipts/{charge_id}", emulator.receipt, methods=["GET"]),
        Route("/v1/tokens", ep(tokens.create_token, allow_publishable=True), methods=["POST"]),
        Route("/v1/tokens/{token_id}", ep(tokens.retrieve_token), methods=["GET"]),
        Route("/v1/charges", ep(charges.create_charge), methods=["POST"]),
        Route("/v1/charges", ep(charges.list_charges), methods=["GET"]),
        Route("/v1/charges/search", ep(search.search_charges), methods=["GET"]),
        Route("/v1/charges/{charge_id}", ep(charges.retrieve_charge), methods=["GET"]),
        Route("/v1/charges/{charge_id}", ep(charges.update_charge), methods=["POST"]),
        Route("/v1/charges/{charge_id}/capture", ep(charges.capture_charge), methods=["POST"]),
        Route("/v1/refunds", ep(refunds.create_refund), methods=["POST"]),
        Route("/v1/refunds", ep(refunds.list_refunds), methods=["GET"]),
        Route("/v1/refunds/{refund_id}", ep(refunds.retrieve_refund), methods=["GET"]),
        Route("/v1/refunds/{refund_id}", ep(refunds.update_refund), methods=["POST"]),
        Route("/v1/balance", ep(balance_transactions.retrieve_balance), methods=["GET"]),
        Route("/v1/balance_transactions", ep(balance_transactions.list_balance_transactions), methods=["GET"]),
        Route(
            "/v1/balance_transactions/{txn_id}",
            ep(balance_transactions.retrieve_balance_transaction),
            methods=["GET"],
        ),
        Route("/v1/payouts", ep(payouts.list_payouts), methods=["GET"]),
        Route("/v1/payouts/{payout_id}", ep(payouts.retrieve_payout), methods=["GET"]),
        Route("/v1/disputes", ep(disputes.list_disputes), methods=["GET"]),
        Route("/v1/disputes/{dispute_id}", ep(disputes.retrieve_dispute), methods=["GET"]),
        Route("/v1/disputes/{dispute_id}", ep(disputes.update_dispute), methods=["POST"]),
        Route("/v1/disputes/{dispute_id}/close", ep(disputes.close_dispute), methods=["POST"]),
        Route("/v1/files", ep(files.create_file, upload=True), methods=["POST"]),
        Route("/v1/files", ep(files.list_files), methods=["GET"]),
        Route("/v1/files/{file_id}", ep(files.retrieve_file), methods=["GET"]),
        Route("/v1/customers", ep(customers.create_customer), methods=["POST"]),
        Route("/v1/customers", ep(customers.list_customers), methods=["GET"]),
        Route("/v1/customers/search", ep(search.search_customers), methods=["GET"]),
        Route("/v1/customers/{customer_id}", ep(customers.retrieve_customer), methods=["GET"]),
        Route("/v1/customers/{customer_id}", ep(customers.update_customer), methods=["POST"]),
        Route("/v1/customers/{customer_id}", ep(customers.delete_customer), methods=["DELETE"]),
        Route("/v1/customers/{customer_id}/payment_methods", ep(pms.list_customer_payment_methods), methods=["GET"]),
        Route(
            "/v1/customers/{customer_id}/payment_methods/{payment_method_id}",
            ep(pms.retrieve_customer_payment_method),
            methods=["GET"],
        ),
        Route("/v1/payment_methods", ep(pms.create_payment_method, allow_publishable=True), methods=["POST"]),
        Route("/v1/payment_methods", ep(pms.list_payment_methods), methods=["GET"]),
        Route("/v1/payment_methods/{payment_method_id}", ep(pms.retrieve_payment_method), methods=["GET"]),
        Route("/v1/payment_methods/{payment_method_id}", ep(pms.update_payment_method), methods=["POST"]),
        Route("/v1/payment_methods/{payment_method_id}/attach", ep(pms.attach_payment_method), methods=["POST"]),
        Route("/v1/payment_methods/{payment_method_id}/detach", ep(pms.detach_payment_method), methods=["POST"]),
        Route("/v1/payment_intents", ep(pis.create_payment_intent), methods=["POST"]),
        Route("/v1/payment_intents", ep(pis.list_payment_intents), methods=["GET"]),
        Route("/v1/payment_intents/search", ep(search.search_payment_intents), methods=["GET"]),
        Route(
            "/v1/payment_intents/{intent_id}", ep(pis.retrieve_payment_intent, allow_publishable=True), methods=["GET"]
        ),
        Route("/v1/payment_intents/{intent_id}", ep(pis.update_payment_intent), methods=["POST"]),
        Route(
            "/v1/payment_intents/{intent_id}/confirm",
            ep(pis.confirm_payment_intent, allow_publishable=True),
            methods=["POST"],
        ),
        Route("/v1/payment_intents/{intent_id}/capture", ep(pis.capture_payment_intent), methods=["POST"]),
        Route("/v1/payment_intents/{intent_id}/cancel", ep(pis.cancel_payment_intent), methods=["POST"]),
        Route(
            "/_emulator/3ds/{intent_id}/authenticate",
            ep(pis.authenticate_payment_intent, allow_publishable=True, allow_anonymous=True),
            methods=["POST"],
        ),
        Route("/v1/products", ep(products.create_product), methods=["POST"]),
        Route("/v1/products", ep(products.list_products), methods=["GET"]),
        Route("/v1/products/{product_id}", ep(products.retrieve_product), methods=["GET"]),
        Route("/v1/products/{product_id}", ep(products.update_product), methods=["POST"]),
        Route("/v1/prices", ep(prices.create_price), methods=["POST"]),
        Route("/v1/prices", ep(prices.list_prices), methods=["GET"]),
        Route("/v1/prices/{price_id}", ep(prices.retrieve_price), methods=["GET"]),
        Route("/v1/prices/{price_id}", ep(prices.update_price), methods=["POST"]),
        Route("/v1/events", ep(events.list_events), methods=["GET"]),
        Route("/v1/events/{event_id}", ep(events.retrieve_event), methods=["GET"]),
        Route("/v1/webhook_endpoints", ep(webhook_endpoints.create_webhook_endpoint), methods=["POST"]),
        Route("/v1/webhook_endpoints", ep(webhook_endpoints.list_webhook_endpoints), methods=["GET"]),
        Route("/v1/webhook_endpoints/{endpoint_id}", ep(webhook_endpoints.retrieve_webhook_endpoint), methods=["GET"]),
        Route("/v1/webhook_endpoints/{endpoint_id}", ep(webhook_endpoints.update_webhook_endpoint), methods=["POST"]),
        Route("/v1/webhook_endpoints/{endpoint_id}", ep(webhook_endpoints.delete_webhook_endpoint), methods=["DELETE"]),
        *checkout_routes.routes(emulator, ep),
        *stripejs.routes(),
    ]
    routes += [
        *preflight_routes(routes, emulator.preflight),
        Route(
            "/{path:path}",
            emulator.not_found,
            methods=["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"],
        ),
    ]

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        body = {"error": {"type": "api_error", "message": "An unexpected error occurred in the emulator."}}
        return _json(500, body, {"Request-Id": core.new_id("req_", 14)})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        emulator.webhooks.start()
        ticker = asyncio.create_task(_tick_every_second(emulator))
        try:
            yield
        finally:
            ticker.cancel()
            emulator.webhooks.stop()

    app = Starlette(
        routes=routes,
        exception_handlers={Exception: server_error},
        middleware=[Middleware(HostGuard, allowed_hosts=hosts)],
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    return app
