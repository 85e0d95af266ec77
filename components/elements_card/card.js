// The Card Element of Stripe.js inside a Streamlit Components v2 component.
//
// Card numbers stay in Stripe's iframe: this code only ever sees the token Stripe.js returns. Each click on Pay
// sends {token, brand, last4, nonce} once through setTriggerValue, with a fresh nonce, and the button stays
// disabled until Python answers (a new `reset_token` after a decline re-enables it).

// One shared promise per Stripe.js URL for the whole page: two <script> tags would load Stripe.js twice.
const loaders = (window.__stripePressStripeJs = window.__stripePressStripeJs || {});

function loadStripeJs(url) {
  if (window.Stripe) {
    return Promise.resolve(window.Stripe);
  }
  if (!loaders[url]) {
    loaders[url] = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = () =>
        window.Stripe ? resolve(window.Stripe) : reject(new Error("Stripe.js loaded but defined no Stripe."));
      script.onerror = () => {
        delete loaders[url]; // let a later render try again
        script.remove();
        reject(new Error("Stripe.js could not be loaded."));
      };
      document.head.appendChild(script);
    });
  }
  return loaders[url];
}

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
    <div class="sp-card-secure">Card details go straight to Stripe: this shop never sees your card number.</div>`;
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
  const waiting = !state.card || state.paying;
  ui.button.disabled = waiting || Boolean(data.disabled);
  ui.button.textContent = state.paying ? "Processing…" : data.amount_label || "Pay";
  ui.button.classList.toggle("sp-busy", state.paying);
  ui.root.classList.toggle("sp-disabled", Boolean(data.disabled));
}

async function pay(state) {
  if (state.paying || !state.card || state.data.disabled) {
    return; // a second click while paying does nothing
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
  // Stay disabled: Python answers with a confirmation (this component goes away) or a new reset_token. If no
  // answer comes (the message was lost in a reconnect), let the customer try again; the shop refuses a second
  // payment while the first one is still in progress, so this cannot charge twice.
  const resetToken = state.resetToken;
  setTimeout(() => {
    if (state.alive && state.paying && state.resetToken === resetToken) {
      state.paying = false;
      showError(state.ui, "This is taking longer than usual. If no confirmation appears, try again.");
      render(state);
    }
  }, ANSWER_TIMEOUT_MS);
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
      showError(state.ui, event.error ? event.error.message : "");
    });
    card.on("focus", () => state.ui.field.classList.add("sp-focused"));
    card.on("blur", () => state.ui.field.classList.remove("sp-focused"));
    card.mount(state.ui.mountNode);
    state.card = card;
    render(state);
  } catch (err) {
    showError(state.ui, "The card form could not be loaded. Check your connection and reload the page.");
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let state = parentElement.__stripePressCard;
  if (!state) {
    // First render on this element: build the UI once and keep it across re-renders.
    state = { alive: true, paying: false, card: null, stripe: null, resetToken: data.reset_token };
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
    state.paying = false;
  }
  render(state);

  return () => {
    state.alive = false;
    if (state.card) {
      state.card.destroy();
    }
    state.ui.root.remove();
    delete parentElement.__stripePressCard;
  };
}
