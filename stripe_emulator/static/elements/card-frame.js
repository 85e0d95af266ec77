// The card frame of the emulator's fake Stripe.js: it formats and checks what the customer types, tells the
// page about 'change', 'focus' and 'blur', and on the page's request sends the card to the API on this frame's
// own origin (a token, a PaymentMethod, or a PaymentIntent confirmation). The card number stays in this
// document; the page only ever receives the objects the API returns.

import { confirmPaymentIntent, confirmSetupIntent, callApi, resultOf } from "./api.js";
import {
  caretAfterDigits,
  digitsAfterDeletion,
  digitsBefore,
  formatExpiry,
  formatNumber,
  onlyDigits,
  parseExpiry,
} from "./format.js";
import { connectToParent, readConfig } from "./frame.js";
import { ICONS } from "./icons.js";
import { loadRules } from "./rules.js";
import { stylesheetFor } from "./styles.js";

const rules = loadRules();
const config = readConfig();
const { parentOrigin, pk } = config;
let options = config.options || {};

const form = document.querySelector("form");
const brandSlot = document.querySelector(".brand");
const last4 = document.querySelector(".last4");
const probe = document.querySelector(".probe");
const inputs = {
  number: form.elements.cardnumber,
  expiry: form.elements["exp-date"],
  cvc: form.elements.cvc,
  postal: form.elements.postal,
};
const FIELD_ORDER = ["number", "expiry", "cvc", "postal"];

// Stripe's own messages, so a page that matches on `error.code` or shows `error.message` works unchanged.
const MESSAGES = {
  incomplete_number: "Your card number is incomplete.",
  invalid_number: "Your card number is invalid.",
  incomplete_expiry: "Your card's expiration date is incomplete.",
  invalid_expiry_month: "Your card's expiration month is invalid.",
  invalid_expiry_month_past: "Your card's expiration date is in the past.",
  invalid_expiry_year_past: "Your card's expiration year is in the past.",
  invalid_expiry_year: "Your card's expiration year is invalid.",
  incomplete_cvc: "Your card's security code is incomplete.",
  incomplete_zip: "Your postal code is incomplete.",
};

// Customers may leave a field half-filled; its "incomplete" message only shows once they leave it (or try to
// pay), while definite mistakes (a bad checksum, a past date) show as soon as they are typed.
let touched = {};
let forceErrors = false;
let hasFocus = false;
let lastBrandShown = null;
let lastReported = null;
let previous = { number: "", expiry: "" };

let post = () => {};

// ---- Field values and checks ----------------------------------------------------------------------
// Each check gives {empty, complete, code, definite}; `definite` errors show while typing.

const numberDigits = () => onlyDigits(inputs.number.value);
const currentBrand = () => rules.brandOf(numberDigits());
const longestCvc = (brand) => Math.max(...rules.cvcLengths(brand));

const checkNumber = () => {
  const digits = numberDigits();
  if (!digits) return { empty: true, complete: false, code: "incomplete_number" };
  const length = rules.panLength(digits);
  if (digits.length < length) return { empty: false, complete: false, code: "incomplete_number", definite: false };
  if (digits.length > length || !rules.luhnValid(digits)) {
    // Once nothing more can be typed the number is definitely wrong; before, more digits may still fix it.
    return { empty: false, complete: false, code: "invalid_number", definite: digits.length >= rules.maxLength(digits) };
  }
  return { empty: false, complete: true };
};

const checkExpiry = () => {
  const parts = parseExpiry(inputs.expiry.value);
  if (!parts.month) return { empty: true, complete: false, code: "incomplete_expiry" };
  const month = Number(parts.month);
  if (parts.month.length === 2 && (month < 1 || month > 12)) {
    return { empty: false, complete: false, code: "invalid_expiry_month", definite: true };
  }
  if (parts.year.length < 2) return { empty: false, complete: false, code: "incomplete_expiry", definite: false };
  const now = new Date();
  const thisYear = now.getFullYear() % 100;
  const year = Number(parts.year);
  if (year < thisYear) return { empty: false, complete: false, code: "invalid_expiry_year_past", definite: true };
  if (year === thisYear && month < now.getMonth() + 1) {
    return { empty: false, complete: false, code: "invalid_expiry_month_past", definite: true };
  }
  if (year > thisYear + rules.maxYearsAhead) {
    return { empty: false, complete: false, code: "invalid_expiry_year", definite: true };
  }
  return { empty: false, complete: true };
};

const checkCvc = () => {
  const { value } = inputs.cvc;
  if (!value) return { empty: true, complete: false, code: "incomplete_cvc" };
  // Until the brand is known a 3- or 4-digit code may both be right.
  if (!rules.cvcLengths(currentBrand()).includes(value.length)) {
    return { empty: false, complete: false, code: "incomplete_cvc", definite: false };
  }
  return { empty: false, complete: true };
};

const checkPostal = () => {
  const value = inputs.postal.value.trim();
  if (!value) return { empty: true, complete: false, code: "incomplete_zip" };
  // A numeric code is a US ZIP, which has five digits; other countries' codes vary too much to check.
  if (/^\d+$/.test(value) && value.length < 5) {
    return { empty: false, complete: false, code: "incomplete_zip", definite: false };
  }
  return { empty: false, complete: true };
};

const CHECKS = { number: checkNumber, expiry: checkExpiry, cvc: checkCvc, postal: checkPostal };

const activeFields = () => FIELD_ORDER.filter((field) => field !== "postal" || !options.hidePostalCode);

// Which fields show an error now, and the one the page hears about (the first, in reading order).
const evaluate = () => {
  const fields = {};
  let error = null;
  let empty = true;
  let complete = true;
  for (const field of activeFields()) {
    const result = CHECKS[field]();
    result.shows = !result.complete && Boolean(result.definite || forceErrors || (touched[field] && !result.empty));
    fields[field] = result;
    empty = empty && result.empty;
    complete = complete && result.complete;
    if (result.shows && !error) error = { type: "validation_error", code: result.code, message: MESSAGES[result.code] };
  }
  return { fields, empty, complete, error, brand: currentBrand() };
};

// ---- Rendering and reporting ------------------------------------------------------------------------

// When one line cannot hold the whole number and the short fields, the frame shows either the number alone
// (while it is typed) or its last four digits beside the short fields, as Stripe's Card Element does.
const isNarrow = () => {
  const ch = probe.getBoundingClientRect().width / 10;
  const em = parseFloat(getComputedStyle(document.body).fontSize) || 16;
  // Icon, "4242 4242 4242 4242", "MM / YY", CVC and the gaps; ZIP when shown (widths as in the stylesheet).
  let needed = 2.1 * em + 20 * ch + 12.7 * ch + 1.5 * em;
  if (!options.hidePostalCode) needed += 6 * ch + 0.75 * em;
  return document.body.getBoundingClientRect().width < needed;
};

const updateLayout = (leavingNumber) => {
  const narrow = isNarrow();
  const numberActive = !leavingNumber && (document.activeElement === inputs.number || !checkNumber().complete);
  document.body.classList.toggle("is-narrow", narrow);
  document.body.classList.toggle("number-open", narrow && numberActive);
  document.body.classList.toggle("number-collapsed", narrow && !numberActive);
  last4.textContent = numberDigits().slice(-4);
};

const render = (status) => {
  for (const field of FIELD_ORDER) {
    const shows = Boolean(status.fields[field] && status.fields[field].shows);
    inputs[field].classList.toggle("is-invalid", shows);
    inputs[field].setAttribute("aria-invalid", shows ? "true" : "false");
  }
  document.body.classList.toggle("is-empty", status.empty);
  document.body.classList.toggle("is-complete", status.complete);
  document.body.classList.toggle("is-invalid", Boolean(status.error));
  const icon = status.fields.number.shows ? "error" : status.brand;
  if (icon !== lastBrandShown) {
    brandSlot.innerHTML = ICONS[icon];
    brandSlot.setAttribute("data-brand", icon);
    lastBrandShown = icon;
  }
  updateLayout(false);
};

// Every keystroke is a change; leaving a field or a refused request only is when it alters the state.
const report = (onlyIfChanged = false) => {
  const status = evaluate();
  render(status);
  const change = {
    type: "change",
    empty: status.empty,
    complete: status.complete,
    brand: status.brand,
    postalCode: options.hidePostalCode ? undefined : inputs.postal.value,
    error: status.error,
  };
  const serialized = JSON.stringify(change);
  if (!onlyIfChanged || serialized !== lastReported) {
    lastReported = serialized;
    post(change);
  }
  return status;
};

const reportHeight = () => post({ type: "height", height: Math.ceil(document.body.getBoundingClientRect().height) });

// ---- Typing -----------------------------------------------------------------------------------------

const isInsert = (event) => (event.inputType || "insert").startsWith("insert");

const onNumberInput = (event) => {
  const el = inputs.number;
  const atEnd = el.selectionStart === el.value.length;
  const edit = digitsAfterDeletion(el, onlyDigits(el.value), previous.number, event.inputType);
  const caretDigits = edit.caret ?? digitsBefore(el.value, el.selectionStart);
  const digits = edit.digits.slice(0, rules.maxLength(edit.digits));
  const brand = rules.brandOf(digits);
  const formatted = formatNumber(digits, brand, rules.panLength(digits));
  el.value = formatted;
  const caret = atEnd ? formatted.length : caretAfterDigits(formatted, Math.min(caretDigits, digits.length));
  el.setSelectionRange(caret, caret);
  previous.number = digits;
  // A brand change may make the CVC too long (4 digits typed before the number was known).
  if (brand !== "unknown" && inputs.cvc.value.length > longestCvc(brand)) {
    inputs.cvc.value = inputs.cvc.value.slice(0, longestCvc(brand));
  }
  const status = report();
  if (atEnd && status.fields.number.complete && isInsert(event)) {
    // In a narrow frame the expiry is hidden while the number is typed; show it before moving there.
    updateLayout(true);
    inputs.expiry.focus();
  }
};

const onExpiryInput = (event) => {
  const el = inputs.expiry;
  const deleting = (event.inputType || "").startsWith("delete");
  let parts = parseExpiry(el.value);
  const joined = parts.month + parts.year;
  const edit = digitsAfterDeletion(el, joined, previous.expiry, event.inputType);
  if (edit.digits !== joined) parts = { month: edit.digits.slice(0, 2), year: edit.digits.slice(2) };
  const formatted = formatExpiry(parts, deleting);
  el.value = formatted;
  el.setSelectionRange(formatted.length, formatted.length);
  previous.expiry = parts.month + parts.year;
  const status = report();
  if (!deleting && status.fields.expiry.complete) inputs.cvc.focus();
};

const onCvcInput = (event) => {
  const el = inputs.cvc;
  const longest = longestCvc(currentBrand());
  el.value = onlyDigits(el.value).slice(0, longest);
  const status = report();
  if (el.value.length === longest && status.fields.cvc.complete && !options.hidePostalCode && isInsert(event)) {
    inputs.postal.focus();
  }
};

inputs.number.addEventListener("input", onNumberInput);
inputs.expiry.addEventListener("input", onExpiryInput);
inputs.cvc.addEventListener("input", onCvcInput);
inputs.postal.addEventListener("input", () => report());

FIELD_ORDER.forEach((field, index) => {
  const el = inputs[field];
  el.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      post({ type: "escape" });
    } else if (event.key === "Tab" && !event.shiftKey && field === "number" && checkNumber().complete) {
      // A narrow frame hides the expiry while the number has focus; reveal it so Tab can land there.
      updateLayout(true);
    } else if (event.key === "Backspace" && el.value === "" && index > 0) {
      // Backspace in an empty field goes back to the end of the previous one.
      const prev = inputs[FIELD_ORDER[index - 1]];
      event.preventDefault();
      prev.focus();
      prev.setSelectionRange(prev.value.length, prev.value.length);
    }
  });
  el.addEventListener("focusout", (event) => {
    touched[field] = true;
    const stillInside = event.relatedTarget && form.contains(event.relatedTarget);
    report(true);
    if (!stillInside && hasFocus) {
      hasFocus = false;
      post({ type: "blur" });
    }
  });
  el.addEventListener("focusin", () => {
    updateLayout(false);
    if (!hasFocus) {
      hasFocus = true;
      post({ type: "focus" });
    }
  });
});

form.addEventListener("submit", (event) => event.preventDefault());

// ---- Options from the page --------------------------------------------------------------------------

const applyOptions = () => {
  document.getElementById("element-style").textContent = stylesheetFor(options.style);
  document.body.classList.toggle("hide-postal", Boolean(options.hidePostalCode));
  document.body.classList.toggle("hide-icon", Boolean(options.hideIcon));
  document.body.classList.toggle("icon-solid", options.iconStyle === "solid");
  for (const field of FIELD_ORDER) inputs[field].disabled = Boolean(options.disabled);
  if (typeof options.placeholder === "string" && options.placeholder) inputs.number.placeholder = options.placeholder;
  reportHeight();
};

const clearAll = () => {
  for (const field of FIELD_ORDER) inputs[field].value = "";
  previous = { number: "", expiry: "" };
  touched = {};
  forceErrors = false;
  report();
};

const focusFirstIncomplete = () => {
  const status = evaluate();
  const target = activeFields().find((field) => !status.fields[field].complete) || "number";
  const el = inputs[target];
  el.focus();
  el.setSelectionRange(el.value.length, el.value.length);
};

// ---- Requests to the API ----------------------------------------------------------------------------

const cardDetails = () => {
  const { month, year } = parseExpiry(inputs.expiry.value);
  return {
    number: numberDigits(),
    exp_month: String(Number(month)),
    exp_year: String(2000 + Number(year)),
    cvc: inputs.cvc.value,
  };
};

// The postal code typed into the Element is the card's billing postal code, as in Stripe.js.
const typedPostalCode = () => (options.hidePostalCode ? "" : inputs.postal.value.trim());

const TOKEN_DATA_FIELDS = [
  "name",
  "address_line1",
  "address_line2",
  "address_city",
  "address_state",
  "address_zip",
  "address_country",
  "currency",
];

const withTypedPostalCode = (billingDetails = {}) => {
  const postalCode = typedPostalCode();
  if (!postalCode) return billingDetails;
  return { ...billingDetails, address: { ...(billingDetails.address || {}), postal_code: postalCode } };
};

const paymentMethodData = (billingDetails) => ({
  type: "card",
  card: cardDetails(),
  billing_details: withTypedPostalCode(billingDetails),
});

const ACTIONS = {
  createToken: async (data = {}) => {
    const card = cardDetails();
    for (const key of TOKEN_DATA_FIELDS) card[key] = data[key];
    if (typedPostalCode()) card.address_zip = typedPostalCode();
    return resultOf(await callApi(pk, "POST", "/v1/tokens", { card }), "token", "token");
  },
  createPaymentMethod: async ({ billing_details: billingDetails } = {}) =>
    resultOf(
      await callApi(pk, "POST", "/v1/payment_methods", paymentMethodData(billingDetails)),
      "paymentMethod",
      "payment_method",
    ),
  confirmCardPayment: async ({ clientSecret, billing_details: billingDetails, params = {} } = {}) =>
    confirmPaymentIntent(pk, clientSecret, { ...params, payment_method_data: paymentMethodData(billingDetails) }),
  confirmCardSetup: async ({ clientSecret, billing_details: billingDetails, params = {} } = {}) =>
    confirmSetupIntent(pk, clientSecret, { ...params, payment_method_data: paymentMethodData(billingDetails) }),
};

const handleRequest = async ({ requestId, action, data }) => {
  const reply = (result) => post({ type: "result", requestId, result });
  if (!ACTIONS[action]) {
    reply({ error: { type: "invalid_request_error", message: `The card frame cannot ${action}.` } });
    return;
  }
  // Like Stripe.js, an incomplete or invalid card is refused here, without a request.
  forceErrors = true;
  const status = report(true);
  if (!status.complete) {
    reply({ error: status.error });
    return;
  }
  reply(await ACTIONS[action](data));
};

const onPageMessage = (message) => {
  switch (message.type) {
    case "update":
      options = message.options || {};
      applyOptions();
      render(evaluate());
      break;
    case "clear":
      clearAll();
      break;
    case "focus":
      focusFirstIncomplete();
      break;
    case "blur":
      document.activeElement?.blur?.();
      break;
    case "request":
      handleRequest(message);
      break;
  }
};

// ---- Start-up ---------------------------------------------------------------------------------------

if (!parentOrigin || !pk) {
  // Opened without a page around it: nothing to talk to, so stay inert.
  document.body.classList.add("is-orphan");
} else {
  post = connectToParent(parentOrigin, onPageMessage);
  if (options.value && typeof options.value.postalCode === "string") {
    inputs.postal.value = options.value.postalCode.slice(0, 10);
  }
  applyOptions();
  render(evaluate());
  new ResizeObserver(() => {
    reportHeight();
    updateLayout(false);
  }).observe(document.body);
  post({ type: "loaded" });
  reportHeight();
}
