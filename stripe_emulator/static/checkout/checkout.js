/*
 * The emulator's Checkout page: mounts the fake Stripe.js card Element, sends the customer's details to get the
 * session's PaymentIntent, confirms it with stripe.confirmCardPayment (which runs any 3-D Secure challenge) and
 * then goes to success_url. In embedded Checkout it tells the embedding Stripe.js instead, which goes to
 * return_url or calls onComplete. A decline shows its message and leaves the form ready for another card: the
 * next Pay confirms the same session's same intent.
 */
(() => {
  "use strict";

  const root = document.getElementById("checkout");
  const data = root.dataset;
  // Messages to the embedding Stripe.js carry the tag its frame links listen for.
  const MESSAGE_TAG = "__fakeStripeElements";

  // Embedded Checkout passes the embedding page's origin in the fragment, which never reaches a server.
  const readParentOrigin = () => {
    try {
      const config = JSON.parse(decodeURIComponent(window.location.hash.slice(1)));
      return typeof config.parentOrigin === "string" ? config.parentOrigin : null;
    } catch {
      return null;
    }
  };
  const embedded = data.uiMode === "embedded_page" && window.parent !== window;
  const parentOrigin = embedded ? readParentOrigin() : null;
  const tellParent = (message) => {
    if (parentOrigin) {
      window.parent.postMessage({ ...message, [MESSAGE_TAG]: true }, parentOrigin);
    }
  };
  if (embedded) {
    tellParent({ type: "loaded" });
    // The embedding page sizes the iframe to the page, so that it never scrolls inside.
    const report = () => tellParent({ type: "height", height: Math.ceil(root.getBoundingClientRect().height) + 48 });
    new ResizeObserver(report).observe(root);
  }

  if (data.status !== "open") {
    return;
  }

  const form = document.getElementById("checkout-form");
  const payButton = document.getElementById("pay");
  const errorBox = document.getElementById("form-error");
  const payLabel = payButton.textContent;

  const stripe = Stripe(data.publishableKey);
  const card = stripe.elements().create("card", {
    style: { base: { fontSize: "16px", color: "#1a1f36", "::placeholder": { color: "#8792a2" } } },
  });
  card.mount("#card-element");
  let cardState = { complete: false, error: null };
  card.on("change", (event) => {
    cardState = { complete: event.complete, error: event.error || null };
    showError(event.error ? event.error.message : "");
  });

  const value = (id) => {
    const input = document.getElementById(id);
    return input ? input.value.trim() : "";
  };

  // API parameters -> the input to send the customer back to when the server refuses one.
  const INPUT_OF = {
    email: "email",
    name: "cardholder-name",
    phone: "phone",
    "shipping[name]": "shipping-name",
    "shipping[address][line1]": "shipping-line1",
    "shipping[address][city]": "shipping-city",
    "shipping[address][postal_code]": "shipping-postal",
    "shipping[address][country]": "shipping-country",
  };

  function showError(message, param) {
    errorBox.textContent = message || "";
    for (const input of form.querySelectorAll("[aria-invalid]")) {
      input.removeAttribute("aria-invalid");
    }
    const input = param && document.getElementById(INPUT_OF[param] || "");
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  const setBusy = (busy) => {
    payButton.disabled = busy;
    form.setAttribute("aria-busy", String(busy));
    payButton.textContent = busy ? "Processing…" : payLabel;
  };

  const details = () => {
    const body = new URLSearchParams({ email: value("email"), name: value("cardholder-name") });
    if (document.getElementById("phone")) {
      body.set("phone", value("phone"));
    }
    if (document.getElementById("shipping-name")) {
      body.set("shipping[name]", value("shipping-name"));
      const address = {
        line1: "shipping-line1",
        line2: "shipping-line2",
        city: "shipping-city",
        state: "shipping-state",
        postal_code: "shipping-postal",
        country: "shipping-country",
      };
      for (const [key, id] of Object.entries(address)) {
        if (value(id)) {
          body.set(`shipping[address][${key}]`, value(id));
        }
      }
    }
    return body;
  };

  // The session's PaymentIntent (made on the first Pay, the same one after a decline) and its client secret.
  const startPayment = async () => {
    const response = await fetch(`/c/pay/${encodeURIComponent(data.session)}/payment`, {
      method: "POST",
      body: details(),
    });
    return response.json();
  };

  const finish = () => {
    if (embedded) {
      tellParent({ type: "complete", redirect: data.redirect, redirectOnCompletion: data.redirectOnCompletion });
    } else if (data.redirect) {
      window.location.assign(data.redirect);
      return;
    }
    for (const section of root.querySelectorAll(".summary, .pay")) {
      section.hidden = true;
    }
    document.getElementById("done").hidden = false;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) {
      return;
    }
    if (!cardState.complete) {
      showError(cardState.error ? cardState.error.message : "Your card number is incomplete.");
      card.focus();
      return;
    }
    setBusy(true);
    showError("");
    try {
      const started = await startPayment();
      if (started.error) {
        showError(started.error.message, started.error.param);
        return;
      }
      const billing = { name: value("cardholder-name"), email: value("email") };
      if (value("phone")) {
        billing.phone = value("phone");
      }
      const result = await stripe.confirmCardPayment(started.client_secret, {
        payment_method: { card, billing_details: billing },
      });
      if (result.error) {
        showError(result.error.message);
        return;
      }
      finish();
    } catch {
      showError("We could not reach the payment server. Check your connection and try again.");
    } finally {
      setBusy(false);
    }
  });
})();
