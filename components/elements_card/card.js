// The Card Element of Stripe.js inside a Streamlit Components v2 component.
//
// Card numbers stay in Stripe's iframe. Two flows, chosen by `data.flow`:
// - "charges": each click on Pay sends {token, brand, last4, nonce} once through the "token" trigger;
// - "payment_intents": a click sends {nonce} through the "pay" trigger; Python answers with `data.confirm`
//   ({nonce, client_secret, billing_details}) for that nonce, this code confirms the intent once with
//   stripe.confirmCardPayment (3-D Secure shows its challenge over the page) and sends
//   {nonce, payment_intent, status} through the "outcome" trigger. Python retrieves the intent itself.
// The button stays disabled until Python answers (a new `reset_token` re-enables it).
// loadStripeJs is components/stripe_js.js, joined in front of this file (components.module_js).

const ANSWER_TIMEOUT_MS = 45000;

// Styles applied inside Stripe's iframe (it cannot see this page's CSS).
const ELEMENT_STYLE = {
  base: {
    color: "#1a1f36",
    fontFamily: "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', sans-serif",
    fontSize: "16px",
    "::placeholder": { color: "#8792a2" },
  },
  invalid: { color: "#df1b41", iconColor: "#df1b41" },
  complete: { color: "#1a1f36" },
};

// A fresh nonce per click. crypto.randomUUID exists only in secure contexts (https, localhost); an app opened at
// http://<LAN address> still has crypto.getRandomValues.
function newNonce() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    return window.crypto.randomUUID();
  }
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function buildUi(parentElement) {
  const root = document.createElement("div");
  root.className = "sp-card";
  root.innerHTML = `
    <label class="sp-card-label">Card</label>
    <div class="sp-card-field"><div class="sp-card-mount"></div></div>
    <div class="sp-card-error" role="alert" aria-live="polite"></div>
    <button type="button" class="sp-pay-button"></button>
    <div class="sp-pay-note">Card details go straight to Stripe: this shop never sees your card number.</div>`;
  // Stripe.js measures and mounts into the live DOM, so attach before mount().
  parentElement.appendChild(root);
  return {
    root,
    field: root.querySelector(".sp-card-field"),
    mountNode: root.querySelector(".sp-card-mount"),
    error: root.querySelector(".sp-card-error"),
    button: root.querySelector(".sp-pay-button"),
  };
}

function showError(ui, message) {
  ui.error.textContent = message || "";
  ui.field.classList.toggle("sp-invalid", Boolean(message));
}

function render(state) {
  const { ui, data } = state;
  ui.button.disabled = !state.card || Boolean(data.disabled);
  // While paying the button only says it is busy (pay() ignores it): really disabled, it would drop the keyboard
  // focus, and the 3-D Secure challenge could not give the focus back to it when it closes.
  ui.button.setAttribute("aria-disabled", String(state.paying));
  ui.button.textContent = state.paying ? "Processing…" : data.amount_label || "Pay";
  ui.button.classList.toggle("sp-busy", state.paying);
  ui.root.classList.toggle("sp-disabled", Boolean(data.disabled));
}

// If no answer comes (the message was lost in a reconnect), let the customer try again; the shop settles an
// order from Stripe before paying it again, so this cannot charge twice.
function awaitAnswer(state) {
  const resetToken = state.resetToken;
  setTimeout(() => {
    if (state.alive && state.paying && !state.confirming && state.resetToken === resetToken) {
      state.paying = false;
      showError(state.ui, "This is taking longer than usual. If no confirmation appears, try again.");
      render(state);
    }
  }, ANSWER_TIMEOUT_MS);
}

function askToPay(state) {
  if (!state.cardComplete) {
    // Checked here as Stripe.js would: an incomplete card never reaches the server.
    showError(state.ui, state.cardError || "Your card number is incomplete.");
    return;
  }
  state.paying = true;
  render(state);
  showError(state.ui, "");
  const nonce = newNonce();
  state.issued.add(nonce);
  state.setTriggerValue("pay", { nonce });
  awaitAnswer(state);
}

// Confirm the intent Python handed over for one of this element's clicks, once per nonce.
async function confirmIfAsked(state) {
  const request = state.data.confirm;
  if (!request || !state.card || !state.issued.has(request.nonce) || state.confirmed.has(request.nonce)) {
    return;
  }
  state.confirmed.add(request.nonce);
  state.paying = true;
  state.confirming = true;
  render(state);
  showError(state.ui, "");
  let result;
  try {
    result = await state.stripe.confirmCardPayment(request.client_secret, {
      payment_method: { card: state.card, billing_details: request.billing_details || {} },
    });
  } catch (err) {
    result = { error: { message: "Your card could not be checked. Please try again." } };
  }
  state.confirming = false;
  if (!state.alive) {
    return;
  }
  const intent = result.paymentIntent || (result.error && result.error.payment_intent) || {};
  if (result.error && !result.error.payment_intent) {
    // Refused before reaching the intent (an incomplete card, say): Python's message will say it was not paid.
    showError(state.ui, result.error.message || "Your card could not be checked.");
  }
  state.setTriggerValue("outcome", { nonce: request.nonce, payment_intent: intent.id || "", status: intent.status || "" });
  awaitAnswer(state);
}

async function pay(state) {
  if (state.paying || !state.card || state.data.disabled) {
    return; // a second click while paying does nothing
  }
  if (state.data.flow === "payment_intents") {
    askToPay(state);
    return;
  }
  state.paying = true;
  render(state);
  showError(state.ui, "");
  let result;
  try {
    result = await state.stripe.createToken(state.card, state.data.billing || {});
  } catch (err) {
    result = { error: { message: "Your card could not be checked. Please try again." } };
  }
  if (!state.alive) {
    return;
  }
  if (result.error || !result.token) {
    // A card Stripe.js refuses never reaches Python: say why here and let the customer fix it.
    state.paying = false;
    showError(state.ui, (result.error && result.error.message) || "Your card could not be checked.");
    render(state);
    return;
  }
  const card = result.token.card || {};
  state.setTriggerValue("token", {
    token: result.token.id,
    brand: card.brand || "unknown",
    last4: card.last4 || "",
    nonce: newNonce(),
  });
  // Stay disabled: Python answers with a confirmation (this component goes away) or a new reset_token.
  awaitAnswer(state);
}

async function setUp(state) {
  try {
    const Stripe = await loadStripeJs(state.data.stripe_js_url);
    if (!state.alive) {
      return;
    }
    state.stripe = Stripe(state.data.publishable_key);
    const elements = state.stripe.elements();
    const card = elements.create("card", { style: ELEMENT_STYLE, hidePostalCode: true });
    card.on("change", (event) => {
      state.cardComplete = Boolean(event.complete);
      state.cardError = event.error ? event.error.message : "";
      showError(state.ui, state.cardError);
    });
    card.on("focus", () => state.ui.field.classList.add("sp-focused"));
    card.on("blur", () => state.ui.field.classList.remove("sp-focused"));
    card.mount(state.ui.mountNode);
    state.card = card;
    render(state);
    confirmIfAsked(state);
  } catch (err) {
    showError(state.ui, "The card form could not be loaded. Check your connection and reload the page.");
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let state = parentElement.__stripePressCard;
  if (!state) {
    // First render on this element: build the UI once and keep it across re-renders.
    state = {
      alive: true,
      paying: false,
      confirming: false,
      card: null,
      cardComplete: false,
      cardError: "",
      stripe: null,
      resetToken: data.reset_token,
      issued: new Set(), // nonces of this element's clicks on Pay (payment_intents flow)
      confirmed: new Set(), // nonces whose intent was already confirmed: never twice
    };
    state.ui = buildUi(parentElement);
    state.ui.button.addEventListener("click", () => pay(state));
    parentElement.__stripePressCard = state;
    state.data = data;
    state.setTriggerValue = setTriggerValue;
    render(state);
    setUp(state);
  }
  state.data = data;
  state.setTriggerValue = setTriggerValue;
  if (data.reset_token !== state.resetToken) {
    // Python finished with the last token (declined or refused): let the customer pay again.
    state.resetToken = data.reset_token;
    state.paying = state.confirming;
  }
  render(state);
  confirmIfAsked(state);

  return () => {
    state.alive = false;
    if (state.card) {
      state.card.destroy();
    }
    state.ui.root.remove();
    delete parentElement.__stripePressCard;
  };
}
