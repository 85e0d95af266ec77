// Requests from the emulator's frames to the API on their own origin, with the publishable key, the way
// Stripe.js's frames call api.stripe.com. Every call resolves (never rejects) to what Stripe.js would hand the
// page: the object under its name, or {error} shaped as the API's error.

const TIMEOUT_MS = 30000;

const CONNECTION_ERROR = {
  type: "api_connection_error",
  message: "We could not reach the payment server. Check your connection and try again.",
};

// Nested parameters in the API's form encoding: {billing_details: {address: {city}}} becomes
// billing_details[address][city]. Empty values are left out, as Stripe.js leaves out what the page did not give.
export const encodeForm = (params, body = new URLSearchParams(), prefix = "") => {
  for (const [key, value] of Object.entries(params)) {
    const name = prefix ? `${prefix}[${key}]` : key;
    if (value === undefined || value === null || value === "") continue;
    if (typeof value === "object") {
      encodeForm(value, body, name);
    } else {
      body.set(name, String(value));
    }
  }
  return body;
};

// Calls the API and resolves {status, body} or {error} when no readable answer came.
export const callApi = async (pk, method, path, params = {}) => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const form = encodeForm(params);
  const url = method === "GET" && [...form].length ? `${path}?${form}` : path;
  try {
    const response = await fetch(url, {
      method,
      headers: {
        Authorization: `Bearer ${pk}`,
        ...(method === "GET" ? {} : { "Content-Type": "application/x-www-form-urlencoded" }),
      },
      body: method === "GET" ? undefined : form,
      credentials: "omit",
      signal: controller.signal,
    });
    try {
      return { status: response.status, body: await response.json() };
    } catch {
      return { error: { type: "api_error", message: "The payment server sent an unreadable answer." } };
    }
  } catch {
    return { error: CONNECTION_ERROR };
  } finally {
    clearTimeout(timer);
  }
};

// The API's answer as Stripe.js resolves it: {[name]: object} when it is an object of the expected kind,
// else {error} (a 402 decline of a PaymentIntent carries the intent in error.payment_intent).
export const resultOf = (answer, name, objectType) => {
  if (answer.error) return { error: answer.error };
  const { status, body } = answer;
  if (status < 300 && body && body.object === objectType) return { [name]: body };
  if (body && body.error) return { error: body.error };
  return { error: { type: "api_error", message: "The payment server sent an unexpected answer." } };
};

// "pi_123_secret_456" belongs to pi_123: the intent id is everything before "_secret_".
export const intentIdOf = (clientSecret) => String(clientSecret).split("_secret_")[0];

export const confirmPaymentIntent = async (pk, clientSecret, params) =>
  resultOf(
    await callApi(pk, "POST", `/v1/payment_intents/${encodeURIComponent(intentIdOf(clientSecret))}/confirm`, {
      ...params,
      client_secret: clientSecret,
      use_stripe_sdk: "true",
    }),
    "paymentIntent",
    "payment_intent",
  );

// "seti_123_secret_456" belongs to seti_123, as with PaymentIntents.
export const confirmSetupIntent = async (pk, clientSecret, params) =>
  resultOf(
    await callApi(pk, "POST", `/v1/setup_intents/${encodeURIComponent(intentIdOf(clientSecret))}/confirm`, {
      ...params,
      client_secret: clientSecret,
      use_stripe_sdk: "true",
    }),
    "setupIntent",
    "setup_intent",
  );

export const retrieveSetupIntent = async (pk, clientSecret) =>
  resultOf(
    await callApi(pk, "GET", `/v1/setup_intents/${encodeURIComponent(intentIdOf(clientSecret))}`, {
      client_secret: clientSecret,
    }),
    "setupIntent",
    "setup_intent",
  );

export const retrievePaymentIntent = async (pk, clientSecret) =>
  resultOf(
    await callApi(pk, "GET", `/v1/payment_intents/${encodeURIComponent(intentIdOf(clientSecret))}`, {
      client_secret: clientSecret,
    }),
    "paymentIntent",
    "payment_intent",
  );

// The Checkout Elements SDK's calls on a `ui_mode: elements` session (stripe_emulator/resources/checkout_elements.py):
// its view, the customer's details, and the confirm that gives the session's PaymentIntent. Each resolves
// {session} (and, for confirm, {clientSecret}) or {error}.
const sessionResult = (answer) => {
  if (answer.error) return { error: answer.error };
  const { status, body } = answer;
  if (status < 300 && body && body.object === "checkout.session.elements") return { session: body };
  if (status < 300 && body && body.session) return { session: body.session, clientSecret: body.client_secret };
  if (body && body.error) return { error: body.error };
  return { error: { type: "api_error", message: "The payment server sent an unexpected answer." } };
};

const pagePath = (sessionId) => `/v1/payment_pages/${encodeURIComponent(sessionId)}`;

export const checkoutSession = async (pk, sessionId, clientSecret) =>
  sessionResult(await callApi(pk, "GET", pagePath(sessionId), { client_secret: clientSecret }));

export const updateCheckoutSession = async (pk, sessionId, clientSecret, params) =>
  sessionResult(await callApi(pk, "POST", pagePath(sessionId), { ...params, client_secret: clientSecret }));

export const confirmCheckoutSession = async (pk, sessionId, clientSecret, paymentMethodType) =>
  sessionResult(
    await callApi(pk, "POST", `${pagePath(sessionId)}/confirm`, {
      client_secret: clientSecret,
      payment_method_type: paymentMethodType,
    }),
  );
