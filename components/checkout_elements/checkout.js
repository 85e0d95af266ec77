// Stripe's Payment Element and Address Element on a Checkout Session, inside a Streamlit Components v2 component.
//
// stripe.initCheckoutElementsSdk (docs.stripe.com/js/custom_checkout) mounts both Elements as Stripe's own
// frames: what the customer types stays there, this code sees only the Session object. The total shown and the
// Pay button's label come from the SDK's change event (the server's session), never from this page. A click
// confirms once with {redirect: "if_required"}; every step is reported to Python through the "outcome" state as
// {state, session_id, attempt, total, error, payment_intent, redirect_status}. Re-renders (Streamlit reruns)
// reuse the mounted Elements, so a declined attempt keeps everything typed.
// loadStripeJs is components/stripe_js.js, joined in front of this file (components.module_js).

// A fresh id per click. crypto.randomUUID exists only in secure contexts; crypto.getRandomValues everywhere.
function newAttempt() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    return window.crypto.randomUUID();
  }
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const FINAL_STATES = new Set(["succeeded", "processing", "redirecting"]);

function buildUi(parentElement) {
  const root = document.createElement("div");
  root.className = "sp-checkout";
  root.innerHTML = `
    <div class="sp-co-heading">Shipping</div>
    <div class="sp-co-address"></div>
    <div class="sp-co-heading">Payment</div>
    <div class="sp-co-payment"></div>
    <div class="sp-co-total"><span>Total due</span><span class="sp-co-amount">…</span></div>
    <div class="sp-co-message" role="alert" aria-live="polite"></div>
    <button type="button" class="sp-pay-button" disabled>Loading…</button>
    <div class="sp-pay-note">Payment and address details go straight to Stripe: this shop never sees your card or bank numbers.</div>`;
  // Stripe.js measures and mounts into the live DOM, so attach before mount().
  parentElement.appendChild(root);
  return {
    root,
    address: root.querySelector(".sp-co-address"),
    payment: root.querySelector(".sp-co-payment"),
    amount: root.querySelector(".sp-co-amount"),
    message: root.querySelector(".sp-co-message"),
    button: root.querySelector(".sp-pay-button"),
  };
}

function showMessage(ui, text, tone) {
  ui.message.textContent = text || ""; // textContent: a message is never read as HTML
  ui.message.classList.toggle("sp-ok", tone === "ok");
}

// What Python receives: small, and free of anything the customer typed in the frames.
function report(state, fields) {
  state.outcome = {
    state: state.outcome.state,
    session_id: state.sessionId,
    attempt: state.outcome.attempt,
    total: state.total,
    error: null,
    payment_intent: state.outcome.payment_intent,
    redirect_status: state.outcome.redirect_status,
    ...fields,
  };
  state.setStateValue("outcome", state.outcome);
}

function totalMatches(state) {
  return Boolean(state.total) && state.total.minor_units === state.data.expected_amount;
}

function render(state) {
  const { ui, data, session } = state;
  const done = FINAL_STATES.has(state.outcome.state);
  const ready = Boolean(session && session.canConfirm && state.actions) && totalMatches(state);
  ui.button.disabled = !ready || state.confirming || done || Boolean(data.disabled);
  ui.button.classList.toggle("sp-busy", state.confirming);
  if (state.confirming) {
    ui.button.textContent = "Processing…";
  } else if (state.total) {
    ui.button.textContent = `Pay ${state.total.amount}`;
  }
  ui.root.classList.toggle("sp-disabled", Boolean(data.disabled));
}

// The session's total from the SDK (reading it is also what lets confirm() run: the page showed it).
function onChange(state, session) {
  state.session = session;
  const total = session.total.total;
  state.total = { amount: total.amount, minor_units: total.minorUnitsAmount, currency: session.currency };
  state.ui.amount.textContent = total.amount;
  if (!totalMatches(state) && !state.mismatchReported) {
    // The server expects another amount (the cart changed under the page): never pay this one.
    state.mismatchReported = true;
    showMessage(state.ui, "The total changed. Reload the page to see the current order.");
    report(state, { state: "failed", error: { code: "amount_mismatch", message: "The session's total is not the order's." } });
  }
  render(state);
}

// A session already complete when the page loads (a reload, the way back from a redirect method) is final.
function reportLoaded(state) {
  const { session } = state;
  const returned = state.data.returned || {};
  const status = session.status || {};
  if (status.type === "complete") {
    const paid = status.paymentStatus === "paid";
    showMessage(state.ui, paid ? "Payment received." : "Payment processing.", "ok");
    report(state, {
      state: paid ? "succeeded" : "processing",
      payment_intent: returned.payment_intent || null,
      redirect_status: returned.redirect_status || null,
    });
  } else if (returned.redirect_status && returned.redirect_status !== "succeeded") {
    const error = session.lastPaymentError || {};
    const message = error.message || "The payment was not authorized. Try again or choose another way to pay.";
    showMessage(state.ui, message);
    report(state, {
      state: "failed",
      error: { code: error.code || "payment_not_authorized", message },
      payment_intent: returned.payment_intent || null,
      redirect_status: returned.redirect_status,
    });
  } else if (!state.mismatchReported) {
    report(state, { state: "ready" });
  }
  render(state);
}

async function pay(state) {
  // Set before any await: a second click (or a rerun's render) while confirming does nothing.
  if (state.confirming || state.ui.button.disabled || FINAL_STATES.has(state.outcome.state)) {
    return;
  }
  state.confirming = true;
  const attempt = newAttempt();
  const method = state.paymentType;
  render(state);
  showMessage(state.ui, "");
  report(state, { state: method === "klarna" ? "redirecting" : "confirming", attempt });
  let result;
  try {
    // A redirect method leaves the page here; the return URL brings the customer back to the Streamlit page.
    result = await state.actions.confirm({ redirect: "if_required" });
  } catch (err) {
    result = { type: "error", error: { message: "The payment could not be confirmed. Please try again." } };
  }
  state.confirming = false;
  if (!state.alive) {
    return;
  }
  if (result.type === "success") {
    const paid = result.session.status.paymentStatus === "paid";
    showMessage(state.ui, paid ? "Payment received." : "Payment processing: your bank debit settles in a few days.", "ok");
    report(state, { state: paid ? "succeeded" : "processing", attempt });
  } else {
    const error = result.error || {};
    const message = error.message || "The payment failed. Please try again.";
    showMessage(state.ui, message);
    report(state, { state: "failed", attempt, error: { code: error.code || null, message } });
  }
  render(state);
}

async function setUp(state) {
  const { data } = state;
  try {
    const Stripe = await loadStripeJs(data.stripe_js_url);
    if (!state.alive) {
      return;
    }
    const stripe = Stripe(data.publishable_key);
    const checkout = stripe.initCheckoutElementsSdk({
      clientSecret: data.client_secret,
      elementsOptions: { appearance: data.appearance || {} },
    });
    state.checkout = checkout;
    checkout.on("change", (session) => state.alive && onChange(state, session));
    // The shop's own form has the address already: offered as the first saved contact, not typed twice.
    const contacts = Array.isArray(data.contacts) ? data.contacts : [];
    const address = checkout.createShippingAddressElement(contacts.length ? { contacts } : {});
    address.mount(state.ui.address);
    const payment = checkout.createPaymentElement();
    payment.on("change", (event) => {
      state.paymentType = (event.value && event.value.type) || null;
    });
    payment.mount(state.ui.payment);
    const loaded = await checkout.loadActions();
    if (!state.alive) {
      return;
    }
    if (loaded.type !== "success") {
      throw new Error(loaded.error && loaded.error.message);
    }
    let session = loaded.actions.getSession();
    if (data.email && session.email !== data.email) {
      const updated = await loaded.actions.updateEmail(data.email);
      if (updated.type === "error") {
        showMessage(state.ui, updated.error.message);
      } else {
        session = updated.session;
      }
    }
    state.actions = loaded.actions;
    onChange(state, session);
    reportLoaded(state);
  } catch (err) {
    showMessage(state.ui, "The payment form could not be loaded. Check your connection and reload the page.");
    report(state, { state: "failed", error: { code: "load_failed", message: "The payment form could not be loaded." } });
  }
}

function tearDown(state) {
  state.alive = false;
  if (state.checkout) {
    for (const element of [state.checkout.getPaymentElement(), state.checkout.getShippingAddressElement()]) {
      if (element) {
        element.destroy();
      }
    }
  }
  state.ui.root.remove();
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let state = parentElement.__stripePressCheckout;
  if (state && state.clientSecret !== data.client_secret) {
    // Another session (a new order): start over with its Elements.
    tearDown(state);
    state = null;
  }
  if (!state) {
    // First render for this session: build the UI and mount the Elements once, kept across re-renders.
    state = {
      alive: true,
      clientSecret: data.client_secret,
      sessionId: String(data.client_secret || "").split("_secret_")[0],
      checkout: null,
      actions: null,
      session: null,
      total: null,
      paymentType: null,
      confirming: false,
      mismatchReported: false,
      outcome: { state: "loading", attempt: null, payment_intent: null, redirect_status: null },
    };
    state.ui = buildUi(parentElement);
    state.ui.button.addEventListener("click", () => pay(state));
    parentElement.__stripePressCheckout = state;
    state.data = data;
    state.setStateValue = setStateValue;
    setUp(state);
  }
  state.data = data;
  state.setStateValue = setStateValue;
  render(state);

  return () => {
    tearDown(state);
    delete parentElement.__stripePressCheckout;
  };
}
