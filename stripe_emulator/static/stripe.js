/*
 * Fake Stripe.js v3, served by the offline Stripe emulator at /v3/.
 *
 * It mirrors the part of Stripe.js a Card Element integration uses: Stripe(pk), elements(),
 * elements.create('card') with the Element's methods and events, createToken, createPaymentMethod,
 * confirmCardPayment, confirmCardSetup, handleCardAction, handleNextAction, retrievePaymentIntent and
 * retrieveSetupIntent, with 3-D Secure shown in a modal over the page; createEmbeddedCheckoutPage, which mounts
 * a Checkout Session's page in an iframe; and initCheckoutElementsSdk (checkout-elements-sdk.js, written in below). The card inputs live in an iframe on the emulator's origin that calls the
 * API itself; calls without card details go through a hidden controller frame on that origin. This page-side
 * script only exchanges postMessages with them, so card numbers never exist in the embedding page.
 *
 * A classic script (not a module), because pages load it with a plain <script src>, as they load Stripe.js.
 */
(() => {
  "use strict";

  // Loading the script twice must not replace the first Stripe (its Elements hold the message routing).
  if (window.Stripe && window.Stripe.__emulator) {
    return;
  }

  // The frames and the API live where this script came from, as js.stripe.com serves both.
  const scriptEl = document.currentScript;
  const EMULATOR_ORIGIN = new URL(scriptEl ? scriptEl.src : "/", window.location.href).origin;
  const CARD_FRAME_PATH = "/v3/elements-inner-card.html";
  const CONTROLLER_FRAME_PATH = "/v3/controller.html";
  const MESSAGE_TAG = "__fakeStripeElements";
  const EVENT_TYPES = ["change", "ready", "focus", "blur", "escape"];
  const DEFAULT_CLASSES = {
    base: "StripeElement",
    complete: "StripeElement--complete",
    empty: "StripeElement--empty",
    focus: "StripeElement--focus",
    invalid: "StripeElement--invalid",
    webkitAutofill: "StripeElement--webkit-autofill",
  };
  // The statuses after which confirmCardPayment resolves {paymentIntent}; anything else is an {error}.
  const CONFIRMED_STATUSES = ["succeeded", "requires_capture", "processing"];

  // Frame names are "__privateStripeFrame" + digits, unique on the page.
  let frameCounter = 1000 + Math.floor(Math.random() * 8000);
  const nextFrameName = () => `__privateStripeFrame${frameCounter++}`;

  const integrationError = (message) => {
    const err = new Error(message);
    err.name = "IntegrationError";
    return err;
  };

  // Options travel to the frames through JSON; functions or DOM nodes would not survive the trip.
  const plainCopy = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

  const mergeOptions = (current, update) => {
    const merged = { ...current, ...update };
    if (current.style && update.style) {
      merged.style = { ...current.style };
      for (const variant of Object.keys(update.style)) {
        merged.style[variant] = { ...current.style[variant], ...update.style[variant] };
      }
    }
    if (current.classes && update.classes) {
      merged.classes = { ...current.classes, ...update.classes };
    }
    return merged;
  };

  // The configuration rides in the fragment, which the browser never sends to the server.
  const frameUrl = (path, config) => `${EMULATOR_ORIGIN}${path}#${encodeURIComponent(JSON.stringify(config))}`;

  const hideFromLayout = (iframe) => {
    iframe.setAttribute("frameborder", "0");
    iframe.setAttribute("allowtransparency", "true");
    iframe.setAttribute("scrolling", "no");
    iframe.setAttribute("role", "presentation");
  };

  // ---- Talking to a frame ---------------------------------------------------------------------------

  // Messages to one of this script's frames: queued until it says it has loaded; requests answered by a
  // 'result' with their id. Only that frame's window, on the emulator's origin, is listened to.
  class FrameLink {
    constructor(iframe, onMessage) {
      this.iframe = iframe;
      this.onMessage = onMessage;
      this.ready = false;
      this.outbox = [];
      this.pending = new Map();
      this.requestSeq = 0;
      this.listener = (event) => this.handle(event);
      window.addEventListener("message", this.listener);
    }

    send(message) {
      if (!this.ready) {
        this.outbox.push(message);
        return;
      }
      this.iframe.contentWindow.postMessage({ ...message, [MESSAGE_TAG]: true }, EMULATOR_ORIGIN);
    }

    request(action, data) {
      return new Promise((resolve) => {
        const requestId = ++this.requestSeq;
        this.pending.set(requestId, resolve);
        this.send({ type: "request", requestId, action, data: plainCopy(data || {}) });
      });
    }

    handle(event) {
      if (event.source !== this.iframe.contentWindow || event.origin !== EMULATOR_ORIGIN) return;
      const message = event.data;
      if (!message || message[MESSAGE_TAG] !== true) return;
      if (message.type === "loaded") {
        this.ready = true;
        const queued = this.outbox;
        this.outbox = [];
        queued.forEach((item) => this.send(item));
      } else if (message.type === "result") {
        const resolve = this.pending.get(message.requestId);
        this.pending.delete(message.requestId);
        if (resolve) resolve(message.result);
        return;
      }
      this.onMessage(message);
    }

    close(reason) {
      window.removeEventListener("message", this.listener);
      for (const resolve of this.pending.values()) {
        resolve({ error: { type: "api_connection_error", message: reason } });
      }
      this.pending.clear();
      this.outbox = [];
    }
  }

  // ---- Element ----------------------------------------------------------------------------------------

  class CardElement {
    constructor(elements, options) {
      this._elements = elements;
      this._options = plainCopy(options || {});
      this._handlers = {};
      this._container = null;
      this._wrapper = null;
      this._iframe = null;
      this._link = null;
      this._destroyed = false;
      this._state = { empty: true, complete: false, invalid: false, focus: false };
    }

    _checkAlive() {
      if (this._destroyed) {
        throw integrationError("This Element has already been destroyed. Please create a new one.");
      }
    }

    mount(target) {
      this._checkAlive();
      let container = target;
      if (typeof target === "string") {
        container = document.querySelector(target);
        if (!container) {
          throw integrationError(
            `The selector you specified (${target}) applies to no DOM elements that are currently on the page.`,
          );
        }
      }
      if (!container || container.nodeType !== 1) {
        throw integrationError("Invalid DOM element. Make sure to call mount() with a valid DOM element or selector.");
      }
      // Mounting again where it already is keeps the frame (and what the customer typed).
      if (this._container === container && this._wrapper && container.contains(this._wrapper)) {
        return;
      }
      if (this._wrapper) {
        this.unmount();
      }
      this._container = container;

      const frameName = nextFrameName();
      const wrapper = document.createElement("div");
      wrapper.className = "__PrivateStripeElement";
      wrapper.style.cssText =
        "margin:0!important;padding:0!important;border:none!important;display:block!important;" +
        "background:transparent!important;position:relative!important;opacity:1!important;";
      const iframe = document.createElement("iframe");
      iframe.name = frameName;
      iframe.title = "Secure card payment input frame";
      hideFromLayout(iframe);
      // Height follows the frame's content once it reports it; 1.2em of 16px until then.
      iframe.style.cssText =
        "border:none!important;margin:0!important;padding:0!important;width:1px!important;" +
        "min-width:100%!important;overflow:hidden!important;display:block!important;" +
        "user-select:none!important;color-scheme:light only!important;height:19.2px;";
      iframe.src = frameUrl(CARD_FRAME_PATH, {
        pk: this._elements._stripe._key,
        parentOrigin: window.location.origin,
        frameName,
        options: this._options,
      });
      wrapper.appendChild(iframe);

      this._link = new FrameLink(iframe, (message) => this._handleMessage(message));
      this._wrapper = wrapper;
      this._iframe = iframe;
      container.appendChild(wrapper);
      this._applyClasses();
    }

    unmount() {
      this._checkAlive();
      if (this._link) {
        this._link.close("The Element was unmounted before the request finished.");
      }
      if (this._wrapper && this._wrapper.parentNode) {
        this._wrapper.parentNode.removeChild(this._wrapper);
      }
      if (this._container) {
        this._removeClasses();
      }
      this._wrapper = null;
      this._iframe = null;
      this._link = null;
      this._container = null;
      this._state = { empty: true, complete: false, invalid: false, focus: false };
    }

    destroy() {
      if (this._destroyed) {
        return;
      }
      this.unmount();
      this._destroyed = true;
      this._handlers = {};
      this._elements._forget(this);
    }

    update(options) {
      this._checkAlive();
      this._options = mergeOptions(this._options, plainCopy(options || {}));
      this._send({ type: "update", options: this._options });
      this._applyClasses();
    }

    clear() {
      this._checkAlive();
      this._send({ type: "clear" });
    }

    focus() {
      this._checkAlive();
      // Focus has to enter the frame from this side first; the frame then picks the input.
      if (this._iframe) {
        this._iframe.focus();
      }
      this._send({ type: "focus" });
    }

    blur() {
      this._checkAlive();
      this._send({ type: "blur" });
    }

    on(event, handler) {
      if (!EVENT_TYPES.includes(event)) {
        throw integrationError(`Invalid event type "${event}" for a card Element.`);
      }
      if (typeof handler !== "function") {
        throw integrationError(`The handler of "${event}" must be a function.`);
      }
      (this._handlers[event] = this._handlers[event] || []).push({ fn: handler, once: false });
      return this;
    }

    addEventListener(event, handler) {
      return this.on(event, handler);
    }

    once(event, handler) {
      this.on(event, handler);
      const list = this._handlers[event];
      list[list.length - 1].once = true;
      return this;
    }

    off(event, handler) {
      if (!event) {
        this._handlers = {};
      } else if (!handler) {
        delete this._handlers[event];
      } else if (this._handlers[event]) {
        this._handlers[event] = this._handlers[event].filter((h) => h.fn !== handler);
      }
      return this;
    }

    removeEventListener(event, handler) {
      return this.off(event, handler);
    }

    _emit(event, payload) {
      const list = (this._handlers[event] || []).slice();
      this._handlers[event] = (this._handlers[event] || []).filter((h) => !h.once);
      for (const { fn } of list) {
        try {
          fn(payload);
        } catch (err) {
          // A failing page handler must not break the Element; surface it like an uncaught error.
          setTimeout(() => {
            throw err;
          });
        }
      }
    }

    _send(message) {
      if (this._link) {
        this._link.send(message);
      }
    }

    _handleMessage(msg) {
      const base = { elementType: "card" };
      switch (msg.type) {
        case "loaded":
          this._emit("ready", base);
          break;
        case "height":
          this._iframe.style.height = `${msg.height}px`;
          break;
        case "change": {
          const change = {
            ...base,
            empty: Boolean(msg.empty),
            complete: Boolean(msg.complete),
            brand: msg.brand,
            // With the postal field hidden there is no value to report, as in Stripe.js.
            value: msg.postalCode === undefined ? {} : { postalCode: msg.postalCode },
            error: msg.error || undefined,
          };
          this._state.empty = change.empty;
          this._state.complete = change.complete;
          this._state.invalid = Boolean(change.error);
          this._applyClasses();
          this._emit("change", change);
          break;
        }
        case "focus":
        case "blur":
          this._state.focus = msg.type === "focus";
          this._applyClasses();
          this._emit(msg.type, base);
          break;
        case "escape":
          this._emit("escape", base);
          break;
      }
    }

    // Asks the frame to send the card to the API; resolves what Stripe.js would ({token}, {paymentMethod},
    // {paymentIntent} or {error}).
    _request(action, data) {
      return this._link.request(action, data);
    }

    _classNames() {
      return { ...DEFAULT_CLASSES, ...this._options.classes };
    }

    _removeClasses() {
      for (const name of Object.values(this._classNames())) {
        if (name) {
          this._container.classList.remove(name);
        }
      }
    }

    // The page styles the container (border, padding, focus ring) through these classes, as with Stripe.
    _applyClasses() {
      if (!this._container) {
        return;
      }
      const names = this._classNames();
      const flags = {
        base: true,
        empty: this._state.empty,
        complete: this._state.complete,
        invalid: this._state.invalid,
        focus: this._state.focus,
        webkitAutofill: false,
      };
      for (const [key, on] of Object.entries(flags)) {
        if (names[key]) {
          this._container.classList.toggle(names[key], Boolean(on));
        }
      }
    }
  }

  // ---- Elements group ---------------------------------------------------------------------------------

  class Elements {
    constructor(stripe, options) {
      this._stripe = stripe;
      this._options = options || {};
      this._byType = {};
    }

    create(type, options) {
      if (type !== "card") {
        throw integrationError(`The emulator's Stripe.js supports only the "card" Element, not "${type}".`);
      }
      if (this._byType[type]) {
        throw integrationError(`Can only create one Element of type ${type}.`);
      }
      const element = new CardElement(this, options);
      this._byType[type] = element;
      return element;
    }

    getElement(type) {
      return this._byType[type] || null;
    }

    update(options) {
      this._options = { ...this._options, ...options };
    }

    _forget(element) {
      for (const type of Object.keys(this._byType)) {
        if (this._byType[type] === element) {
          delete this._byType[type];
        }
      }
    }
  }

  // ---- Controller frame -------------------------------------------------------------------------------

  // A hidden frame on the emulator's origin for the API calls that carry no card, created on first use.
  const controllerFor = (stripe) => {
    if (!stripe._controller) {
      const iframe = document.createElement("iframe");
      iframe.name = nextFrameName();
      iframe.title = "Stripe.js controller frame";
      iframe.setAttribute("aria-hidden", "true");
      hideFromLayout(iframe);
      // Out of the tab order, as it is out of sight; the card frame stays in it, or a keyboard never reaches the
      // card's inputs (Tab skips every input inside an iframe with tabindex -1).
      iframe.setAttribute("tabindex", "-1");
      iframe.style.cssText =
        "border:none!important;margin:0!important;padding:0!important;width:1px!important;height:1px!important;" +
        "position:absolute!important;left:-9999px!important;top:0!important;visibility:hidden!important;";
      iframe.src = frameUrl(CONTROLLER_FRAME_PATH, { pk: stripe._key, parentOrigin: window.location.origin });
      stripe._controller = new FrameLink(iframe, () => {});
      (document.body || document.documentElement).appendChild(iframe);
    }
    return stripe._controller;
  };

  // ---- 3-D Secure modal -------------------------------------------------------------------------------

  // Shows the challenge page over the whole page, as Stripe.js does, and resolves once it is over: the
  // customer completed or failed it, or closed the modal, which fails it (the frame tells the emulator).
  // A modal for the keyboard too: it takes the focus (its first button), keeps Tab inside it (the rest of the
  // page is inert meanwhile), and gives the focus back to whatever had it (the page's Pay button) when it closes.
  const runChallenge = (challengeUrl) =>
    new Promise((resolve) => {
      const opener = document.activeElement;
      const overlay = document.createElement("div");
      overlay.className = "__PrivateStripe3DSModal";
      overlay.style.cssText =
        "position:fixed!important;inset:0!important;z-index:2147483647!important;display:flex!important;" +
        "align-items:center!important;justify-content:center!important;margin:0!important;padding:12px!important;" +
        "box-sizing:border-box!important;background:rgba(26,31,54,0.62)!important;";
      const dialog = document.createElement("div");
      dialog.setAttribute("role", "dialog");
      dialog.setAttribute("aria-modal", "true");
      dialog.setAttribute("aria-label", "3D Secure authentication");
      dialog.style.cssText =
        "position:relative!important;width:100%!important;max-width:480px!important;height:360px!important;" +
        "max-height:100%!important;background:#fff!important;border-radius:10px!important;overflow:hidden!important;" +
        "box-shadow:0 12px 40px rgba(0,0,0,0.35)!important;";
      const close = document.createElement("button");
      close.type = "button";
      close.setAttribute("aria-label", "Close");
      close.textContent = "\u00d7";
      close.style.cssText =
        "position:absolute!important;top:8px!important;right:8px!important;z-index:1!important;width:36px!important;" +
        "height:36px!important;margin:0!important;padding:0!important;border:0!important;border-radius:18px!important;" +
        "background:#f6f8fa!important;color:#30313d!important;font:400 24px/36px sans-serif!important;" +
        "cursor:pointer!important;";
      const iframe = document.createElement("iframe");
      iframe.name = nextFrameName();
      iframe.title = "3D Secure authentication";
      iframe.setAttribute("frameborder", "0");
      iframe.style.cssText =
        "display:block!important;width:100%!important;height:100%!important;border:none!important;margin:0!important;";
      iframe.src = `${challengeUrl}#${encodeURIComponent(JSON.stringify({ parentOrigin: window.location.origin }))}`;
      dialog.append(iframe, close);
      overlay.appendChild(dialog);

      let loaded = false;
      let closing = false;
      const root = document.documentElement;
      const previousOverflow = root.style.overflow;

      // Only the page's own elements that were not inert already are made inert, and only those are restored.
      const madeInert = [];
      const makePageInert = () => {
        for (const element of (document.body || root).children) {
          if (element !== overlay && !element.inert) {
            element.inert = true;
            madeInert.push(element);
          }
        }
      };

      const finish = () => {
        link.close("The authentication window was closed.");
        document.removeEventListener("keydown", onKeydown, true);
        overlay.remove();
        root.style.overflow = previousOverflow;
        for (const element of madeInert) element.inert = false;
        if (opener && opener.isConnected && typeof opener.focus === "function") {
          opener.focus({ preventScroll: true });
        }
        resolve();
      };
      // Closing abandons the authentication: the frame records a failure, then says it is done.
      const abandon = () => {
        if (closing) return;
        closing = true;
        if (loaded) {
          link.send({ type: "cancel" });
        } else {
          finish();
        }
      };
      const onKeydown = (event) => {
        if (event.key === "Escape") {
          event.preventDefault();
          abandon();
        }
      };
      const link = new FrameLink(iframe, (message) => {
        if (message.type === "challengeLoaded") {
          loaded = true;
          link.ready = true;
          // Focusing the frame from here lands on its document; the frame then focuses its first button.
          iframe.focus();
          link.send({ type: "focus" });
        } else if (message.type === "challengeHeight") {
          dialog.style.setProperty("height", `${message.height}px`, "important");
        } else if (message.type === "challengeClose") {
          abandon();
        } else if (message.type === "challengeDone") {
          finish();
        }
      });
      close.addEventListener("click", abandon);
      document.addEventListener("keydown", onKeydown, true);
      // The page behind must not scroll while the challenge covers it.
      root.style.overflow = "hidden";
      (document.body || root).appendChild(overlay);
      makePageInert();
    });

  // ---- Results as Stripe.js shapes them -----------------------------------------------------------------

  const isClientSecret = (value) => typeof value === "string" && /^pi_[^_]+_secret_[^_]+$/.test(value);
  const isSetupSecret = (value) => typeof value === "string" && /^seti_[^_]+_secret_[^_]+$/.test(value);

  // What differs between the two intents as Stripe.js resolves them: the result's key, the error's field for the
  // intent, the intent's last error, and how to fetch it again.
  const PAYMENT = {
    name: "paymentIntent",
    field: "payment_intent",
    lastError: "last_payment_error",
    retrieve: "retrievePaymentIntent",
  };
  const SETUP = {
    name: "setupIntent",
    field: "setup_intent",
    lastError: "last_setup_error",
    retrieve: "retrieveSetupIntent",
  };

  const invalidSecret = () =>
    integrationError(
      "Invalid value for the client secret: it should be the client_secret of a PaymentIntent, " +
        "like pi_..._secret_....",
    );

  // The outcome of an intent once its next action is over: {paymentIntent} in a status `okStatuses` allows,
  // else {error} from its last_payment_error (for a failed authentication,
  // payment_intent_authentication_failure), with the intent attached as Stripe.js does.
  const outcomeOf = (intent, okStatuses, kind = PAYMENT) => {
    if (okStatuses(intent.status)) {
      return { [kind.name]: intent };
    }
    const lastError = intent[kind.lastError];
    if (lastError) {
      return { error: { type: lastError.type || "card_error", ...lastError, [kind.field]: intent } };
    }
    return {
      error: {
        type: "invalid_request_error",
        code: `${kind.field}_unexpected_state`,
        message: `The intent is in status ${intent.status}.`,
        [kind.field]: intent,
      },
    };
  };

  const isConfirmed = (status) => CONFIRMED_STATUSES.includes(status);
  const isSetUp = (status) => status === "succeeded" || status === "processing";
  // After handleCardAction an intent confirmed on the server may wait for that server to confirm it again.
  const isPastAction = (status) => !["requires_payment_method", "requires_action", "canceled"].includes(status);

  // ---- Embedded Checkout ----------------------------------------------------------------------------------

  // A Checkout Session's client secret: "<session id>_secret_<random>".
  const SESSION_SECRET = /^(cs_(?:test|live)_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/;
  const CHECKOUT_PAGE_PATH = "/c/pay/";

  // The emulator's Checkout page in an iframe (docs.stripe.com/js/embedded_checkout). The page pays the session
  // itself; once it is complete it says so here, and this goes to the session's return_url — or calls onComplete
  // when the session was created with redirect_on_completion if_required or never.
  class EmbeddedCheckout {
    constructor(sessionId, onComplete) {
      this._sessionId = sessionId;
      this._onComplete = onComplete;
      this._iframe = null;
      this._link = null;
      this._destroyed = false;
    }

    mount(target) {
      if (this._destroyed) {
        throw integrationError("This embedded Checkout has been destroyed. Please create a new one.");
      }
      const container = typeof target === "string" ? document.querySelector(target) : target;
      if (!container || container.nodeType !== 1) {
        throw integrationError(`The selector you specified (${target}) applies to no DOM elements.`);
      }
      if (this._iframe) {
        throw integrationError("This embedded Checkout is already mounted.");
      }
      const iframe = document.createElement("iframe");
      iframe.name = nextFrameName();
      iframe.title = "Secure checkout";
      iframe.setAttribute("frameborder", "0");
      iframe.setAttribute("allow", "payment *");
      iframe.style.cssText = "border:none!important;width:100%!important;display:block!important;height:720px;";
      iframe.src = frameUrl(`${CHECKOUT_PAGE_PATH}${encodeURIComponent(this._sessionId)}`, {
        parentOrigin: window.location.origin,
      });
      this._link = new FrameLink(iframe, (message) => this._handleMessage(message));
      this._iframe = iframe;
      container.appendChild(iframe);
    }

    _handleMessage(message) {
      if (message.type === "height" && Number.isFinite(message.height)) {
        this._iframe.style.height = `${message.height}px`;
      } else if (message.type === "complete") {
        if (message.redirectOnCompletion === "always" && message.redirect) {
          window.location.assign(message.redirect);
        } else if (typeof this._onComplete === "function") {
          this._onComplete();
        }
      }
    }

    unmount() {
      if (this._link) {
        this._link.close("The embedded Checkout was unmounted.");
      }
      if (this._iframe) {
        this._iframe.remove();
      }
      this._iframe = null;
      this._link = null;
    }

    destroy() {
      this.unmount();
      this._destroyed = true;
    }
  }

  /* {{CHECKOUT_ELEMENTS_SDK}} */

  // ---- Stripe ---------------------------------------------------------------------------------------------

  class StripeInstance {
    constructor(key, options) {
      if (typeof key !== "string" || key === "") {
        throw integrationError("Please call Stripe() with your publishable key. You used an empty string.");
      }
      if (/^sk_/.test(key)) {
        throw integrationError(
          "You should not use your secret key with Stripe.js. Please pass a publishable key instead.",
        );
      }
      this._key = key;
      this._options = options || {};
      this._controller = null;
    }

    elements(options) {
      return new Elements(this, options);
    }

    // Resolves {token} or {error} like Stripe.js; only integration mistakes reject.
    createToken(element, data) {
      if (typeof element === "string") {
        return Promise.resolve({
          error: {
            type: "invalid_request_error",
            message: `The emulator's Stripe.js creates card tokens only, not "${element}" tokens.`,
          },
        });
      }
      return this._mountedCard(element, "createToken").then((card) => card._request("createToken", data));
    }

    // createPaymentMethod({type: 'card', card, billing_details}), or the older ('card', card, {billing_details}).
    createPaymentMethod(typeOrData, element, extra) {
      const data = typeof typeOrData === "string" ? { type: typeOrData, card: element, ...extra } : typeOrData || {};
      if (data.type !== "card") {
        return Promise.reject(
          integrationError(`The emulator's Stripe.js creates card PaymentMethods only, not "${data.type}".`),
        );
      }
      return this._mountedCard(data.card, "createPaymentMethod").then((card) =>
        card._request("createPaymentMethod", { billing_details: data.billing_details }),
      );
    }

    // confirmCardPayment(clientSecret, {payment_method: {card, billing_details} | 'pm_…', ...}, {handleActions})
    async confirmCardPayment(clientSecret, data, options) {
      if (!isClientSecret(clientSecret)) {
        throw invalidSecret();
      }
      const { payment_method: paymentMethod, ...params } = data || {};
      let confirmed;
      if (paymentMethod && typeof paymentMethod === "object") {
        const card = await this._mountedCard(paymentMethod.card, "confirmCardPayment");
        confirmed = await card._request("confirmCardPayment", {
          clientSecret,
          billing_details: paymentMethod.billing_details,
          params,
        });
      } else {
        const withMethod = typeof paymentMethod === "string" ? { ...params, payment_method: paymentMethod } : params;
        confirmed = await controllerFor(this).request("confirmPaymentIntent", { clientSecret, params: withMethod });
      }
      if (confirmed.error || (options && options.handleActions === false)) {
        return confirmed;
      }
      return this._afterNextAction(clientSecret, confirmed.paymentIntent, isConfirmed);
    }

    // confirmCardSetup(clientSecret, {payment_method: {card, billing_details} | 'pm_…'}, {handleActions}):
    // saves the card through a SetupIntent, with the challenge for a card that needs it; {setupIntent} or {error}.
    async confirmCardSetup(clientSecret, data, options) {
      if (!isSetupSecret(clientSecret)) {
        throw integrationError(
          "Invalid value for the client secret: it should be the client_secret of a SetupIntent, " +
            "like seti_..._secret_....",
        );
      }
      const { payment_method: paymentMethod, ...params } = data || {};
      let confirmed;
      if (paymentMethod && typeof paymentMethod === "object") {
        const card = await this._mountedCard(paymentMethod.card, "confirmCardSetup");
        confirmed = await card._request("confirmCardSetup", {
          clientSecret,
          billing_details: paymentMethod.billing_details,
          params,
        });
      } else {
        const withMethod = typeof paymentMethod === "string" ? { ...params, payment_method: paymentMethod } : params;
        confirmed = await controllerFor(this).request("confirmSetupIntent", { clientSecret, params: withMethod });
      }
      if (confirmed.error || (options && options.handleActions === false)) {
        return confirmed;
      }
      return this._afterNextAction(clientSecret, confirmed.setupIntent, isSetUp, SETUP);
    }

    async retrieveSetupIntent(clientSecret) {
      if (!isSetupSecret(clientSecret)) {
        throw integrationError("Invalid value for the client secret: it should be the client_secret of a SetupIntent.");
      }
      return controllerFor(this).request("retrieveSetupIntent", { clientSecret });
    }

    // For intents confirmed on the server: shows the pending 3-D Secure challenge, then resolves the intent.
    async handleCardAction(clientSecret) {
      if (!isClientSecret(clientSecret)) {
        throw invalidSecret();
      }
      return this._handleAction(clientSecret);
    }

    async handleNextAction(data) {
      const clientSecret = data && data.clientSecret;
      if (!isClientSecret(clientSecret)) {
        throw invalidSecret();
      }
      return this._handleAction(clientSecret);
    }

    async retrievePaymentIntent(clientSecret) {
      if (!isClientSecret(clientSecret)) {
        throw invalidSecret();
      }
      return controllerFor(this).request("retrievePaymentIntent", { clientSecret });
    }

    async _handleAction(clientSecret) {
      const retrieved = await this.retrievePaymentIntent(clientSecret);
      if (retrieved.error) {
        return retrieved;
      }
      const intent = retrieved.paymentIntent;
      if (intent.status !== "requires_action") {
        return {
          error: {
            type: "invalid_request_error",
            code: "payment_intent_unexpected_state",
            message: `This PaymentIntent has no action to handle: its status is ${intent.status}.`,
            payment_intent: intent,
          },
        };
      }
      return this._afterNextAction(clientSecret, intent, isPastAction);
    }

    // Runs the intent's next action when it has one, then resolves from the intent as the API has it after.
    async _afterNextAction(clientSecret, intent, okStatuses, kind = PAYMENT) {
      if (intent.status !== "requires_action") {
        return { [kind.name]: intent };
      }
      const action = intent.next_action || {};
      const sdk = action.type === "use_stripe_sdk" ? action.use_stripe_sdk || {} : null;
      let challengeUrl = null;
      try {
        challengeUrl = sdk && sdk.stripe_js ? new URL(sdk.stripe_js) : null;
      } catch {
        challengeUrl = null;
      }
      // Only the emulator's own challenge page is ever opened over the page.
      if (!challengeUrl || challengeUrl.origin !== EMULATOR_ORIGIN) {
        return {
          error: {
            type: "invalid_request_error",
            message: `The emulator's Stripe.js cannot handle the next action "${action.type}".`,
            [kind.field]: intent,
          },
        };
      }
      await runChallenge(challengeUrl.href.split("#")[0]);
      const after = await this[kind.retrieve](clientSecret);
      return after.error ? after : outcomeOf(after[kind.name], okStatuses, kind);
    }

    // createEmbeddedCheckoutPage({fetchClientSecret | clientSecret, onComplete}) -> Promise<EmbeddedCheckout>
    // (docs.stripe.com/js/embedded_checkout/create; named initEmbeddedCheckout before API 2026-03-25.dahlia).
    async createEmbeddedCheckoutPage(options) {
      const { fetchClientSecret, clientSecret, onComplete } = options || {};
      if (typeof fetchClientSecret !== "function" && typeof clientSecret !== "string") {
        throw integrationError("createEmbeddedCheckoutPage: pass fetchClientSecret (or clientSecret).");
      }
      const secret = typeof fetchClientSecret === "function" ? await fetchClientSecret() : clientSecret;
      const match = typeof secret === "string" ? SESSION_SECRET.exec(secret) : null;
      if (!match) {
        throw integrationError(
          "Invalid value for the client secret: it should be the client_secret of a Checkout Session.",
        );
      }
      return new EmbeddedCheckout(match[1], onComplete);
    }

    // initCheckoutElementsSdk({clientSecret, elementsOptions}) -> Checkout (docs.stripe.com/js/custom_checkout/init).
    initCheckoutElementsSdk(options) {
      const { clientSecret } = options || {};
      if (typeof clientSecret !== "string" && !(clientSecret && typeof clientSecret.then === "function")) {
        throw integrationError("initCheckoutElementsSdk: pass clientSecret (or a promise of it).");
      }
      return new CheckoutElementsSdk(this, options);
    }

    // Renamed in API 2026-03-25.dahlia (docs.stripe.com/changelog/dahlia/2026-03-25/rename-init-checkout-to-init-
    // checkout-elements): calling the old name throws an IntegrationError, as Stripe.js does.
    initCheckout() {
      throw integrationError(
        "stripe.initCheckout() has been renamed to stripe.initCheckoutElementsSdk() (API 2026-03-25.dahlia).",
      );
    }

    // Renamed in API 2026-03-25.dahlia: calling the old name throws, as Stripe.js does.
    initEmbeddedCheckout() {
      throw integrationError(
        "stripe.initEmbeddedCheckout() has been renamed to stripe.createEmbeddedCheckoutPage() " +
          "(API 2026-03-25.dahlia).",
      );
    }

    _mountedCard(element, method) {
      if (!(element instanceof CardElement)) {
        return Promise.reject(integrationError(`Invalid value for ${method}: expected a card Element.`));
      }
      if (element._destroyed || !element._iframe) {
        return Promise.reject(
          integrationError(
            "We could not retrieve data from the specified Element. Please make sure the Element you are " +
              "attempting to use is still mounted.",
          ),
        );
      }
      return Promise.resolve(element);
    }
  }

  // Stripe(pk) and new Stripe(pk) both give an instance, as with Stripe.js.
  function Stripe(key, options) {
    return new StripeInstance(key, options);
  }

  Stripe.__emulator = true;
  window.Stripe = Stripe;
})();
