// The Payment Element of the Checkout Elements SDK: tabs for the session's payment method types — Card (the card
// frame of the Card Element, nested here), US bank account (ACH Direct Debit) and Klarna (a redirect). On
// the page's 'confirm' it asks the API for the session's PaymentIntent (POST /v1/payment_pages/{id}/confirm) and
// confirms it with what the customer entered, which never leaves this origin; the page gets the PaymentIntent as
// a publishable key sees it, or {error}.

import { checkoutSession, confirmCheckoutSession, confirmPaymentIntent } from "./api.js";
import { applyAppearance, cardStyleOf } from "./appearance.js";
import { MESSAGE_TAG, connectToParent, readConfig } from "./frame.js";

const config = readConfig();
const { parentOrigin, pk, clientSecret } = config;
const sessionId = String(clientSecret || "").split("_secret_")[0];
const variables = applyAppearance(config.appearance || {});

const TAB_LABELS = { card: "Card", us_bank_account: "US bank account", klarna: "Klarna" };
const TAB_ICONS = {
  card: '<svg viewBox="0 0 24 16" aria-hidden="true"><rect x="1" y="1" width="22" height="14" rx="2" fill="none" stroke="currentColor" stroke-width="1.5"/><rect x="1" y="4" width="22" height="3" fill="currentColor"/></svg>',
  us_bank_account: '<svg viewBox="0 0 24 16" aria-hidden="true"><path d="M12 1 2 5.5h20L12 1Z" fill="currentColor"/><path d="M4 7h2v6H4zM9 7h2v6H9zM13 7h2v6h-2zM18 7h2v6h-2zM2 14h20v1.5H2z" fill="currentColor"/></svg>',
  klarna: '<svg viewBox="0 0 24 16" aria-hidden="true"><rect x="1" y="1" width="22" height="14" rx="3" fill="#ffb3c7"/><path d="M7.2 4.5h1.6v7H7.2zM12.6 4.5h-1.6c0 1.4-.6 2.6-1.7 3.4l-.6.5 2.5 3.1h2l-2.3-2.8c1.1-1.1 1.7-2.6 1.7-4.2ZM14.3 9.8a.9.9 0 1 1 0 1.8.9.9 0 0 1 0-1.8Z" fill="#0b051d"/></svg>',
};

const form = document.querySelector("form");
const tabList = document.querySelector(".tabs");
const errorLine = document.getElementById("payment-error");
const bank = {
  name: document.getElementById("bank-name"),
  routing: document.getElementById("bank-routing"),
  account: document.getElementById("bank-account"),
  confirmAccount: document.getElementById("bank-account-confirm"),
};

let post = () => {};
let types = [];
let selected = null;
let cardState = { complete: false, empty: true };
let showBankErrors = false; // after a confirm: every problem shows
const bankTouched = new Set(); // fields left with something typed: their problems show

// ---- The card frame, nested: this frame is its page -------------------------------------------------------

const cardFrame = document.createElement("iframe");
let cardReady = false;
const cardOutbox = [];
const cardPending = new Map();
let cardSeq = 0;

const sendToCard = (message) => {
  if (!cardReady) {
    cardOutbox.push(message);
    return;
  }
  cardFrame.contentWindow.postMessage({ ...message, [MESSAGE_TAG]: true }, window.location.origin);
};

const askCard = (action, data) =>
  new Promise((resolve) => {
    const requestId = ++cardSeq;
    cardPending.set(requestId, resolve);
    sendToCard({ type: "request", requestId, action, data });
  });

window.addEventListener("message", (event) => {
  if (event.source !== cardFrame.contentWindow || event.origin !== window.location.origin) return;
  const message = event.data;
  if (!message || message[MESSAGE_TAG] !== true) return;
  if (message.type === "loaded") {
    cardReady = true;
    cardOutbox.splice(0).forEach(sendToCard);
  } else if (message.type === "result") {
    const resolve = cardPending.get(message.requestId);
    cardPending.delete(message.requestId);
    if (resolve) resolve(message.result);
  } else if (message.type === "height") {
    cardFrame.style.height = `${message.height}px`;
  } else if (message.type === "change") {
    cardState = { complete: Boolean(message.complete), empty: Boolean(message.empty) };
    errorLine.textContent = message.error ? message.error.message : "";
    report();
  } else if (message.type === "focus" || message.type === "blur") {
    document.getElementById("card-box").classList.toggle("is-focused", message.type === "focus");
  }
});

const mountCard = () => {
  cardFrame.name = "__privateStripeCardFrame";
  cardFrame.title = "Secure card number input frame";
  cardFrame.setAttribute("frameborder", "0");
  cardFrame.className = "card-frame";
  const cardConfig = {
    pk,
    parentOrigin: window.location.origin,
    frameName: cardFrame.name,
    options: { style: cardStyleOf(variables) },
  };
  cardFrame.src = `/v3/elements-inner-card.html#${encodeURIComponent(JSON.stringify(cardConfig))}`;
  document.getElementById("card-box").appendChild(cardFrame);
};

// ---- US bank account ----------------------------------------------------------------------------------

const digits = (el) => el.value.replace(/\D/g, "");

// An ABA routing number: nine digits whose weighted sum (3, 7, 1, repeated) is a multiple of ten.
const routingValid = (value) => {
  if (!/^\d{9}$/.test(value)) return false;
  const weights = [3, 7, 1, 3, 7, 1, 3, 7, 1];
  return [...value].reduce((sum, digit, i) => sum + Number(digit) * weights[i], 0) % 10 === 0;
};

const bankCheck = () => {
  const routing = digits(bank.routing);
  const account = digits(bank.account);
  const problems = [];
  if (!bank.name.value.trim()) problems.push([bank.name, "Enter the account holder's full name."]);
  if (!routingValid(routing)) problems.push([bank.routing, "Enter a valid 9-digit routing number."]);
  if (!/^\d{4,17}$/.test(account)) problems.push([bank.account, "Enter an account number of 4 to 17 digits."]);
  if (digits(bank.confirmAccount) !== account || !account) {
    problems.push([bank.confirmAccount, "The account numbers do not match."]);
  }
  const empty = !bank.name.value && !routing && !account;
  return { complete: problems.length === 0, empty, problems };
};

const renderBank = () => {
  const { problems } = bankCheck();
  for (const el of Object.values(bank)) {
    const problem = (showBankErrors || bankTouched.has(el)) && problems.find(([field]) => field === el);
    el.classList.toggle("is-invalid", Boolean(problem));
    el.setAttribute("aria-invalid", problem ? "true" : "false");
  }
  const shown = problems.filter(([field]) => showBankErrors || bankTouched.has(field));
  if (selected === "us_bank_account") errorLine.textContent = shown.length ? shown[0][1] : "";
};

for (const el of Object.values(bank)) {
  el.addEventListener("input", () => {
    if (el !== bank.name) el.value = digits(el);
    renderBank();
    report();
  });
  el.addEventListener("blur", () => {
    if (el.value) bankTouched.add(el);
    renderBank();
  });
}

// ---- Tabs and reporting ---------------------------------------------------------------------------------

const stateOf = () => {
  if (selected === "card") return cardState;
  if (selected === "us_bank_account") return bankCheck();
  return { complete: true, empty: false };
};

const report = () => {
  const state = stateOf();
  post({ type: "change", complete: state.complete, empty: state.empty, value: { type: selected } });
};

const select = (type) => {
  selected = type;
  for (const button of tabList.querySelectorAll("button")) {
    const on = button.dataset.type === type;
    button.setAttribute("aria-selected", on ? "true" : "false");
    button.tabIndex = on ? 0 : -1;
  }
  for (const kind of Object.keys(TAB_LABELS)) {
    document.getElementById(`panel-${kind}`).hidden = kind !== type;
  }
  errorLine.textContent = "";
  report();
};

const buildTabs = () => {
  tabList.innerHTML = "";
  tabList.classList.toggle("single", types.length === 1);
  for (const type of types) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "tab";
    button.id = `tab-${type}`;
    button.dataset.type = type;
    button.setAttribute("role", "tab");
    button.setAttribute("aria-controls", `panel-${type}`);
    button.innerHTML = `<span class="tab-icon">${TAB_ICONS[type]}</span>`;
    const label = document.createElement("span");
    label.className = "tab-label";
    label.textContent = TAB_LABELS[type];
    button.appendChild(label);
    button.addEventListener("click", () => select(type));
    button.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = types[(types.indexOf(type) + step + types.length) % types.length];
      select(next);
      document.getElementById(`tab-${next}`).focus();
    });
    tabList.appendChild(button);
  }
};

// ---- Confirming -----------------------------------------------------------------------------------------

const fail = (message, code) => ({ error: { type: "validation_error", code, message } });

const confirmWith = async (intentSecret, { email, returnUrl }) => {
  if (selected === "card") {
    return askCard("confirmCardPayment", {
      clientSecret: intentSecret,
      billing_details: email ? { email } : {},
      params: returnUrl ? { return_url: returnUrl } : {},
    });
  }
  if (selected === "us_bank_account") {
    const holderType = form.elements["holder-type"].value;
    return confirmPaymentIntent(pk, intentSecret, {
      payment_method_data: {
        type: "us_bank_account",
        us_bank_account: {
          routing_number: digits(bank.routing),
          account_number: digits(bank.account),
          account_holder_type: holderType,
        },
        billing_details: { name: bank.name.value.trim(), email },
      },
      // The customer accepted the mandate text above by confirming (docs.stripe.com/payments/ach-direct-debit).
      mandate_data: { customer_acceptance: { type: "online", online: { infer_from_client: "true" } } },
    });
  }
  return confirmPaymentIntent(pk, intentSecret, {
    payment_method_data: { type: "klarna", billing_details: email ? { email } : {} },
    return_url: returnUrl || window.location.href,
  });
};

let confirming = false;

// One confirmation at a time: a second click while one runs must not start a second payment.
const confirm = async (data) => {
  if (confirming) {
    return { error: { type: "invalid_request_error", code: "confirm_in_progress", message: "A payment is already being confirmed." } };
  }
  confirming = true;
  try {
    return await confirmOnce(data);
  } finally {
    confirming = false;
  }
};

const confirmOnce = async (data) => {
  if (selected === "card" && !cardState.complete) {
    // The card frame shows and returns its own message for what is missing, without calling the API.
    return askCard("confirmCardPayment", {});
  }
  if (selected === "us_bank_account") {
    showBankErrors = true;
    renderBank();
    const { problems } = bankCheck();
    if (problems.length) {
      problems[0][0].focus();
      return fail(problems[0][1], "incomplete_us_bank_account");
    }
  }
  const started = await confirmCheckoutSession(pk, sessionId, clientSecret, selected);
  if (started.error) return { error: started.error };
  const result = await confirmWith(started.clientSecret, data);
  if (result.error) errorLine.textContent = result.error.message || "";
  return result;
};

// ---- Start-up -------------------------------------------------------------------------------------------

const start = async () => {
  post = connectToParent(parentOrigin, async (message) => {
    if (message.type !== "request") return;
    const result =
      message.action === "confirm"
        ? await confirm(message.data || {})
        : { error: { type: "invalid_request_error", message: `The Payment Element cannot ${message.action}.` } };
    post({ type: "result", requestId: message.requestId, result });
  });
  const loaded = await checkoutSession(pk, sessionId, clientSecret);
  if (loaded.error) {
    errorLine.textContent = loaded.error.message;
  } else {
    types = loaded.session.paymentMethodTypes.filter((type) => TAB_LABELS[type]);
  }
  buildTabs();
  if (types.includes("card")) mountCard();
  new ResizeObserver(() => {
    post({ type: "height", height: Math.ceil(document.documentElement.getBoundingClientRect().height) });
  }).observe(document.body);
  form.addEventListener("submit", (event) => event.preventDefault());
  select(types[0] || null);
  post({ type: "loaded" });
};

if (parentOrigin && pk && clientSecret) {
  start();
} else {
  document.body.classList.add("is-orphan");
}
