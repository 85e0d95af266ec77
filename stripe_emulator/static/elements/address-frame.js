// The Shipping Address Element of the Checkout Elements SDK: name, country, address lines, city, state or province,
// postal code, and the phone number when the session collects one. It checks each country's rules (from the
// emulator's address_rules.py, embedded in the page) as the customer types, saves a complete address to the
// session itself (POST /v1/payment_pages/{id}) and tells the page only whether it is complete, plus the session
// as Stripe.js's Session object shows it.

import { checkoutSession, updateCheckoutSession } from "./api.js";
import { applyAppearance } from "./appearance.js";
import { connectToParent, readConfig } from "./frame.js";

const RULES = JSON.parse(document.getElementById("address-rules").textContent);
const config = readConfig();
const { parentOrigin, pk, clientSecret } = config;
const sessionId = String(clientSecret || "").split("_secret_")[0];
applyAppearance(config.appearance || {});

const $ = (id) => document.getElementById(id);
const fields = {
  name: $("name"),
  country: $("country"),
  line1: $("line1"),
  line2: $("line2"),
  city: $("city"),
  state: $("state"),
  stateText: $("state-text"),
  postal: $("postal"),
  phone: $("phone"),
};
const errorLine = $("address-error");

let post = () => {};
let collectsPhone = false;
let touched = new Set();
let forceErrors = false;
let lastSaved = null;
let saveTimer = null;

const rulesOf = (country) => RULES.countries[country] || RULES.other;
// A field's label inside a sentence: "Postal code" -> "postal code", "ZIP code" stays (address_rules.noun).
const noun = (label) => (/^[A-Z]{2}/.test(label) ? label : label.charAt(0).toLowerCase() + label.slice(1));
const countryName = (code) => (RULES.countries[code] || {}).name || code;

const setCountry = (country) => {
  const rules = rulesOf(country);
  const stateField = $("state-field");
  stateField.hidden = !rules.stateLabel;
  $("state-label").textContent = rules.stateLabel || "";
  fields.state.hidden = !rules.states;
  fields.stateText.hidden = Boolean(rules.states);
  $("state-label").htmlFor = rules.states ? "state" : "state-text";
  if (rules.states) {
    fields.state.innerHTML = "";
    const blank = new Option(`Select ${noun(rules.stateLabel)}`, "");
    fields.state.appendChild(blank);
    for (const code of rules.states) fields.state.appendChild(new Option(code, code));
  }
  $("postal-label").textContent = rules.postalLabel;
  fields.postal.placeholder = rules.postalExample || "";
};

const values = () => {
  const country = fields.country.value;
  const rules = rulesOf(country);
  const state = rules.states ? fields.state.value : fields.stateText.value;
  return {
    name: fields.name.value.trim(),
    address: {
      country,
      line1: fields.line1.value.trim(),
      line2: fields.line2.value.trim(),
      city: fields.city.value.trim(),
      state: rules.stateLabel ? state.trim() : "",
      postal_code: fields.postal.value.trim(),
    },
    phone: collectsPhone ? fields.phone.value.trim() : undefined,
  };
};

// Each problem: [field key, message]; in reading order, so the first one is what the customer fixes first.
const problemsOf = (value) => {
  const rules = rulesOf(value.address.country);
  const problems = [];
  if (!value.name) problems.push(["name", "Enter your full name."]);
  if (!value.address.country) problems.push(["country", "Choose a country."]);
  if (!value.address.line1) problems.push(["line1", "Enter your address."]);
  if (!value.address.city) problems.push(["city", "Enter your city."]);
  if (rules.stateRequired && !value.address.state) {
    problems.push([rules.states ? "state" : "stateText", `Choose a ${noun(rules.stateLabel)}.`]);
  }
  const postal = value.address.postal_code;
  if (!postal) {
    problems.push(["postal", `Enter your ${noun(rules.postalLabel)}.`]);
  } else if (!new RegExp(rules.postalPattern).test(postal)) {
    const example = rules.postalExample ? ` (like ${rules.postalExample})` : "";
    problems.push(["postal", `Your ${noun(rules.postalLabel)} is not valid${example}.`]);
  }
  if (collectsPhone) {
    const count = (value.phone.match(/\d/g) || []).length;
    const [least, most] = RULES.phoneDigits;
    if (!value.phone) problems.push(["phone", "Enter your phone number."]);
    else if (!new RegExp(RULES.phonePattern).test(value.phone) || count < least || count > most) {
      problems.push(["phone", "Your phone number is invalid: use digits, with the country code after a +."]);
    }
  }
  return problems;
};

const render = (problems) => {
  const shown = problems.filter(([key]) => forceErrors || touched.has(key));
  for (const [key, el] of Object.entries(fields)) {
    const bad = shown.some(([problemKey]) => problemKey === key);
    el.classList.toggle("is-invalid", bad);
    el.setAttribute("aria-invalid", bad ? "true" : "false");
  }
  errorLine.textContent = shown.length ? shown[0][1] : "";
};

const check = () => {
  const value = values();
  const problems = problemsOf(value);
  render(problems);
  const empty = !value.name && !value.address.line1 && !value.address.city && !value.address.postal_code;
  post({ type: "change", complete: problems.length === 0, empty, value: {} });
  return { value, problems };
};

const save = async () => {
  forceErrors = true;
  const { value, problems } = check();
  if (problems.length) {
    fields[problems[0][0]].focus();
    return { error: { type: "validation_error", code: "incomplete_address", message: problems[0][1] } };
  }
  const params = { shipping: { name: value.name, address: value.address } };
  if (collectsPhone) params.phone = value.phone;
  const result = await updateCheckoutSession(pk, sessionId, clientSecret, params);
  if (result.error) {
    errorLine.textContent = result.error.message;
    return { error: result.error };
  }
  lastSaved = JSON.stringify(params);
  return { session: result.session };
};

// A complete address is saved as the customer goes, so the page's Session shows it (as Stripe's does).
const saveSoon = () => {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(async () => {
    const { value, problems } = { value: values(), problems: problemsOf(values()) };
    const params = { shipping: { name: value.name, address: value.address } };
    if (collectsPhone) params.phone = value.phone;
    if (problems.length || JSON.stringify(params) === lastSaved) return;
    const result = await updateCheckoutSession(pk, sessionId, clientSecret, params);
    if (!result.error) {
      lastSaved = JSON.stringify(params);
      post({ type: "session", session: result.session });
    }
  }, 400);
};

for (const [key, el] of Object.entries(fields)) {
  el.addEventListener("input", () => {
    check();
    saveSoon();
  });
  el.addEventListener("change", () => {
    if (key === "country") {
      setCountry(fields.country.value);
      touched.delete("state");
      touched.delete("postal");
    }
    check();
    saveSoon();
  });
  el.addEventListener("blur", () => {
    if (el.value) touched.add(key);
    check();
  });
}

const start = async () => {
  post = connectToParent(parentOrigin, async (message) => {
    if (message.type !== "request") return;
    const result =
      message.action === "save"
        ? await save()
        : { error: { type: "invalid_request_error", message: `The Address Element cannot ${message.action}.` } };
    post({ type: "result", requestId: message.requestId, result });
  });
  const loaded = await checkoutSession(pk, sessionId, clientSecret);
  const session = loaded.session || {};
  const allowed = (session.shippingAddressCollection || {}).allowedCountries || Object.keys(RULES.countries);
  const sorted = [...allowed].sort((a, b) => countryName(a).localeCompare(countryName(b)));
  for (const code of sorted) fields.country.appendChild(new Option(countryName(code), code));
  fields.country.value = allowed.includes("US") ? "US" : sorted[0];
  collectsPhone = Boolean(session.phoneNumberCollection);
  $("phone-field").hidden = !collectsPhone;
  setCountry(fields.country.value);
  const saved = session.shippingAddress;
  if (saved) {
    fields.name.value = saved.name || "";
    if (allowed.includes(saved.address.country)) {
      fields.country.value = saved.address.country;
      setCountry(saved.address.country);
    }
    for (const key of ["line1", "line2", "city", "postal_code"]) {
      fields[key === "postal_code" ? "postal" : key].value = saved.address[key] || "";
    }
    (rulesOf(fields.country.value).states ? fields.state : fields.stateText).value = saved.address.state || "";
  }
  if (collectsPhone && session.phoneNumber) fields.phone.value = session.phoneNumber;
  // The page's saved addresses (`contacts`): "the first contact is automatically selected"
  // (docs.stripe.com/js/custom_checkout/create_shipping_address_element). Stripe lists them to pick from; here
  // the first one fills the fields, which stay editable, and is saved to the session like a typed address.
  const contact = ((config.options || {}).contacts || [])[0];
  if (contact && !saved) {
    const address = contact.address || {};
    fields.name.value = contact.name || "";
    if (allowed.includes(address.country)) {
      fields.country.value = address.country;
      setCountry(address.country);
    }
    for (const key of ["line1", "line2", "city", "postal_code"]) {
      fields[key === "postal_code" ? "postal" : key].value = address[key] || "";
    }
    (rulesOf(fields.country.value).states ? fields.state : fields.stateText).value = address.state || "";
    if (collectsPhone && contact.phone && !session.phoneNumber) fields.phone.value = contact.phone;
    saveSoon();
  }
  if (loaded.error) errorLine.textContent = loaded.error.message;
  new ResizeObserver(() => {
    post({ type: "height", height: Math.ceil(document.documentElement.getBoundingClientRect().height) });
  }).observe(document.body);
  document.querySelector("form").addEventListener("submit", (event) => event.preventDefault());
  post({ type: "loaded" });
  check();
};

if (parentOrigin && pk && clientSecret) {
  start();
} else {
  document.body.classList.add("is-orphan");
}
