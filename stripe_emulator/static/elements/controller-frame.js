// The hidden controller frame of the fake Stripe.js: the API calls that carry no card details (confirming a
// PaymentIntent or SetupIntent with a saved PaymentMethod, retrieving one by its client secret) go from here, on
// the API's own origin, as Stripe.js makes them from its controller frame on js.stripe.com.

import {
  checkoutSession,
  confirmPaymentIntent,
  confirmSetupIntent,
  retrievePaymentIntent,
  retrieveSetupIntent,
  updateCheckoutSession,
} from "./api.js";
import { connectToParent, readConfig } from "./frame.js";

const { parentOrigin, pk } = readConfig();

const ACTIONS = {
  confirmPaymentIntent: ({ clientSecret, params = {} }) => confirmPaymentIntent(pk, clientSecret, params),
  retrievePaymentIntent: ({ clientSecret }) => retrievePaymentIntent(pk, clientSecret),
  confirmSetupIntent: ({ clientSecret, params = {} }) => confirmSetupIntent(pk, clientSecret, params),
  retrieveSetupIntent: ({ clientSecret }) => retrieveSetupIntent(pk, clientSecret),
  checkoutSession: ({ sessionId, clientSecret }) => checkoutSession(pk, sessionId, clientSecret),
  checkoutUpdate: ({ sessionId, clientSecret, params = {} }) =>
    updateCheckoutSession(pk, sessionId, clientSecret, params),
};

if (parentOrigin && pk) {
  const post = connectToParent(parentOrigin, async ({ type, requestId, action, data }) => {
    if (type !== "request") return;
    const result = ACTIONS[action]
      ? await ACTIONS[action](data || {})
      : { error: { type: "invalid_request_error", message: `The controller frame cannot ${action}.` } };
    post({ type: "result", requestId, result });
  });
  post({ type: "loaded" });
}
