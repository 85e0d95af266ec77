  // ---- Checkout Elements SDK (Elements with the Checkout Sessions API) ---------------------------------------
  //
  // stripejs.py writes this file into stripe.js's closure where the placeholder stands, so it shares FrameLink,
  // the controller frame and the 3-D Secure modal. It mirrors docs.stripe.com/js/custom_checkout:
  // stripe.initCheckoutElementsSdk({clientSecret, elementsOptions: {appearance}}) gives a Checkout object with
  // createPaymentElement(), createShippingAddressElement(), on('change'), session() and loadActions(), whose
  // actions are getSession, updateEmail, updatePhoneNumber and confirm ({type: 'success', session} or
  // {type: 'error', error}). The Payment Element (card, US bank account, Klarna) and the Shipping Address
  // Element are frames on the emulator's origin that call the API themselves: what the customer types there never
  // enters this page; the page sees only the Session object, as with Stripe.js.

  const PAYMENT_FRAME_PATH = "/v3/checkout-payment.html";
  const ADDRESS_FRAME_PATH = "/v3/checkout-address.html";
  const CHECKOUT_EVENTS = ["change", "ready", "focus", "blur", "loaderror"];

  // The Appearance API's basic options (docs.stripe.com/elements/appearance-api): a theme and variables; they
  // reach the frames as JSON, where only known variables with harmless values are used.
  const appearanceOf = (options) => {
    const appearance = (options && options.appearance) || {};
    return { theme: appearance.theme || "stripe", variables: plainCopy(appearance.variables || {}) };
  };

  // One Element of a Checkout: an iframe on the emulator's origin, sized by what it reports.
  class CheckoutElement {
    constructor(checkout, kind, path, options) {
      this._checkout = checkout;
      this._kind = kind;
      this._path = path;
      this._options = plainCopy(options || {});
      this._handlers = {};
      this._iframe = null;
      this._link = null;
      this._destroyed = false;
      this.complete = false;
      this.empty = true;
    }

    mount(target) {
      if (this._destroyed) throw integrationError("This Element has been destroyed. Please create a new one.");
      const container = typeof target === "string" ? document.querySelector(target) : target;
      if (!container || container.nodeType !== 1) {
        throw integrationError(`The selector you specified (${target}) applies to no DOM elements.`);
      }
      if (this._iframe) this.unmount();
      const iframe = document.createElement("iframe");
      iframe.name = nextFrameName();
      iframe.title = this._kind === "payment" ? "Secure payment input frame" : "Secure address input frame";
      hideFromLayout(iframe);
      iframe.removeAttribute("tabindex");
      iframe.removeAttribute("role");
      iframe.setAttribute("allow", "payment *");
      iframe.style.cssText =
        "border:none!important;margin:0!important;padding:0!important;width:1px!important;" +
        "min-width:100%!important;overflow:hidden!important;display:block!important;height:220px;" +
        "color-scheme:light only!important;";
      // The frame needs the client secret, which may still be on its way (a promise).
      this._checkout._secret.then(
        (secret) => {
          if (this._iframe !== iframe) return;
          iframe.src = frameUrl(this._path, {
            pk: this._checkout._stripe._key,
            parentOrigin: window.location.origin,
            clientSecret: secret,
            appearance: this._checkout._appearance,
            options: this._options,
          });
        },
        () => this._emit("loaderror", { elementType: this._kind, error: { message: "Invalid client secret." } }),
      );
      this._link = new FrameLink(iframe, (message) => this._handleMessage(message));
      this._iframe = iframe;
      container.appendChild(iframe);
    }

    unmount() {
      if (this._link) this._link.close("The Element was unmounted.");
      if (this._iframe) this._iframe.remove();
      this._iframe = null;
      this._link = null;
    }

    destroy() {
      this.unmount();
      this._destroyed = true;
      this._checkout._forget(this);
    }

    on(event, handler) {
      if (!CHECKOUT_EVENTS.includes(event) || typeof handler !== "function") {
        throw integrationError(`Invalid event "${event}" or handler for a ${this._kind} Element.`);
      }
      (this._handlers[event] = this._handlers[event] || []).push(handler);
      return this;
    }

    off(event, handler) {
      this._handlers[event] = (this._handlers[event] || []).filter((h) => h !== handler);
      return this;
    }

    _emit(event, payload) {
      for (const handler of (this._handlers[event] || []).slice()) {
        try {
          handler(payload);
        } catch (err) {
          setTimeout(() => {
            throw err;
          });
        }
      }
    }

    _request(action, data) {
      if (!this._link) {
        return Promise.resolve({ error: { type: "integration_error", message: `The ${this._kind} Element is not mounted.` } });
      }
      return this._link.request(action, data);
    }

    _handleMessage(message) {
      const elementType = this._kind === "payment" ? "payment" : "shippingAddress";
      if (message.type === "loaded") {
        this._emit("ready", { elementType });
      } else if (message.type === "height" && Number.isFinite(message.height)) {
        this._iframe.style.height = `${message.height}px`;
      } else if (message.type === "change") {
        this.complete = Boolean(message.complete);
        this.empty = Boolean(message.empty);
        // The page learns the state, never the values typed (the payment method's type is not a secret).
        this._emit("change", { elementType, complete: this.complete, empty: this.empty, value: message.value || {} });
        this._checkout._changed();
      } else if (message.type === "session") {
        this._checkout._setSession(message.session);
      } else if (message.type === "focus" || message.type === "blur") {
        this._emit(message.type, { elementType });
      }
    }
  }

  class CheckoutElementsSdk {
    constructor(stripe, options) {
      const { clientSecret, elementsOptions } = options || {};
      this._stripe = stripe;
      this._appearance = appearanceOf(elementsOptions);
      this._handlers = [];
      this._view = null;
      this._payment = null;
      this._address = null;
      this._clientSecret = null;
      this._sessionId = null;
      this._totalShown = false;
      // clientSecret may be a promise of the secret (docs.stripe.com/js/custom_checkout/init).
      this._secret = Promise.resolve(clientSecret).then((secret) => {
        const match = typeof secret === "string" ? SESSION_SECRET.exec(secret) : null;
        if (!match) {
          throw integrationError("Invalid value for clientSecret: it should be the client_secret of a Checkout Session.");
        }
        this._clientSecret = secret;
        this._sessionId = match[1];
        return secret;
      });
      this._secret.catch(() => {});
      this._loaded = this._secret.then(() => this._refresh());
      // An unread failure is reported by loadActions(); keep it from being an unhandled rejection meanwhile.
      this._loaded.catch(() => {});
    }

    _controllerCall(action, data) {
      return controllerFor(this._stripe).request(action, {
        sessionId: this._sessionId,
        clientSecret: this._clientSecret,
        ...data,
      });
    }

    async _refresh() {
      const result = await this._controllerCall("checkoutSession", {});
      if (result.error) throw result.error;
      this._setSession(result.session);
      return this._view;
    }

    _setSession(view) {
      this._view = view;
      this._changed();
    }

    session() {
      return this._view ? this._sessionObject() : null;
    }

    // The Session object (docs.stripe.com/js/custom_checkout/session_object) with canConfirm from the Elements.
    _sessionObject() {
      const view = this._view;
      const needsAddress = Boolean(view.shippingAddressCollection);
      const canConfirm =
        view.status.type === "open" &&
        Boolean(view.email) &&
        (!view.phoneNumberCollection || Boolean(view.phoneNumber) || Boolean(this._address && this._address.complete)) &&
        (!needsAddress || Boolean(this._address && this._address.complete)) &&
        Boolean(this._payment && this._payment.complete);
      const session = { ...plainCopy(view), canConfirm };
      // docs.stripe.com/js/custom_checkout/confirm: confirm() throws unless the page has read the total to show it.
      const total = session.total.total;
      for (const key of ["amount", "minorUnitsAmount"]) {
        const value = total[key];
        Object.defineProperty(total, key, {
          enumerable: true,
          get: () => {
            this._totalShown = true;
            return value;
          },
        });
      }
      return session;
    }

    _changed() {
      if (!this._view) return;
      const session = this._sessionObject();
      for (const handler of this._handlers.slice()) {
        try {
          handler(session);
        } catch (err) {
          setTimeout(() => {
            throw err;
          });
        }
      }
    }

    on(event, handler) {
      if (event !== "change" || typeof handler !== "function") {
        throw integrationError(`Invalid event "${event}" for Checkout: use on('change', handler).`);
      }
      this._handlers.push(handler);
    }

    createPaymentElement(options) {
      if (this._payment) throw integrationError("Can only create one Payment Element per Checkout.");
      this._payment = new CheckoutElement(this, "payment", PAYMENT_FRAME_PATH, options);
      return this._payment;
    }

    createShippingAddressElement(options) {
      if (this._address) throw integrationError("Can only create one Shipping Address Element per Checkout.");
      this._address = new CheckoutElement(this, "address", ADDRESS_FRAME_PATH, options);
      return this._address;
    }

    getPaymentElement() {
      return this._payment;
    }

    getShippingAddressElement() {
      return this._address;
    }

    _forget(element) {
      if (this._payment === element) this._payment = null;
      if (this._address === element) this._address = null;
      this._changed();
    }

    async loadActions() {
      try {
        await this._loaded;
      } catch (error) {
        return { type: "error", error: { message: error.message || "This checkout could not be loaded." } };
      }
      const update = async (params) => {
        const result = await this._controllerCall("checkoutUpdate", { params });
        if (result.error) return { type: "error", error: { message: result.error.message, code: result.error.code } };
        this._setSession(result.session);
        return { type: "success", session: this._sessionObject() };
      };
      const actions = {
        getSession: () => this._sessionObject(),
        updateEmail: (email) => update({ email: String(email ?? "") }),
        updatePhoneNumber: (phone) => update({ phone: String(phone ?? "") }),
        confirm: (options) => this._confirm(options || {}),
      };
      return { type: "success", actions };
    }

    async _confirm(options) {
      if (!this._totalShown) {
        throw integrationError(
          "Display the total before you confirm: read session.total.total.amount (or total.total.minorUnitsAmount " +
            "with currency and minorUnitsAmountDivisor) and show it on the page.",
        );
      }
      const fail = (error) => ({
        type: "error",
        error: { message: error.message, code: error.code, type: error.type },
      });
      if (!this._payment) {
        return fail({ message: "Mount a Payment Element before you confirm.", type: "integration_error" });
      }
      if (this._address) {
        const saved = await this._address._request("save", {});
        if (saved.error) return fail(saved.error);
        this._setSession(saved.session);
      }
      const view = this._view;
      const returnUrl = options.returnUrl || view.returnUrl || null;
      const confirmed = await this._payment._request("confirm", { email: view.email, returnUrl });
      if (confirmed.error) {
        await this._refresh().catch(() => {});
        return fail(confirmed.error);
      }
      let intent = confirmed.paymentIntent;
      const action = intent.next_action || {};
      if (intent.status === "requires_action" && action.type === "redirect_to_url") {
        // A redirect method: the customer leaves for its page, which comes back to the return URL.
        window.location.assign(action.redirect_to_url.url);
        return new Promise(() => {});
      }
      if (intent.status === "requires_action") {
        const outcome = await this._stripe._afterNextAction(intent.client_secret, intent, isConfirmed);
        if (outcome.error) {
          await this._refresh().catch(() => {});
          return fail(outcome.error);
        }
        intent = outcome.paymentIntent;
      }
      await this._refresh();
      const redirect = options.redirect || "always";
      if (redirect === "always" && returnUrl && this._view.redirectOnCompletion !== "never") {
        window.location.assign(returnUrl);
        return new Promise(() => {});
      }
      return { type: "success", session: this._sessionObject() };
    }
  }
