// What every frame of the fake Stripe.js shares: its configuration, which rides in the URL fragment (never
// sent to a server), and a message channel with the page that embeds it, checked on both ends: messages go
// only to that page's origin, and only messages from the parent window at that origin are heard.

export const MESSAGE_TAG = "__fakeStripeElements";

export const readConfig = () => {
  try {
    return JSON.parse(decodeURIComponent(window.location.hash.slice(1)));
  } catch {
    return {};
  }
};

export const connectToParent = (parentOrigin, onMessage) => {
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || event.origin !== parentOrigin) return;
    const message = event.data;
    if (message && message[MESSAGE_TAG] === true) onMessage(message);
  });
  return (message) => window.parent.postMessage({ ...message, [MESSAGE_TAG]: true }, parentOrigin);
};
