// The emulated 3-D Secure challenge, opened by the fake Stripe.js in a modal over the page. "Complete" or
// "Fail" tells the emulator how the authentication ended (POST /_emulator/3ds/{intent}/authenticate, or
// /_emulator/3ds-setup/{intent}/authenticate for a SetupIntent, on this frame's own origin, with the intent's
// client secret), then tells the page it is done. The page can ask for
// a failure too, when the customer closes the modal, which abandons the authentication.

import { connectToParent, readConfig } from "./frame.js";

const query = new URLSearchParams(window.location.search);
const setupIntentId = query.get("setup_intent");
const intentId = setupIntentId || query.get("payment_intent") || "";
const authenticatePath = setupIntentId ? "/_emulator/3ds-setup/" : "/_emulator/3ds/";
const clientSecret = query.get("client_secret") || "";
const { parentOrigin } = readConfig();
const buttons = [...document.querySelectorAll("button[data-result]")];
const statusLine = document.querySelector(".challenge-status");

let finished = false;
let post = () => {};

const authenticate = async (result) => {
  if (finished) return;
  finished = true;
  for (const button of buttons) button.disabled = true;
  statusLine.textContent = result === "complete" ? "Completing the authentication…" : "Failing the authentication…";
  let ok = false;
  try {
    const response = await fetch(`${authenticatePath}${encodeURIComponent(intentId)}/authenticate`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_secret: clientSecret, result }),
      credentials: "omit",
    });
    ok = response.ok;
  } catch {
    ok = false;
  }
  // The page retrieves the intent next and trusts only what it says, whatever happened here.
  post({ type: "challengeDone", result, ok });
};

for (const button of buttons) button.addEventListener("click", () => authenticate(button.dataset.result));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") post({ type: "challengeClose" });
});

if (parentOrigin) {
  post = connectToParent(parentOrigin, (message) => {
    if (message.type === "cancel") authenticate("fail");
    // The page has moved the focus into this frame (its document): put it on the first button.
    if (message.type === "focus" && !finished) buttons[0].focus();
  });
  post({ type: "challengeLoaded" });
  // The modal is as tall as this page's content, which depends on the width it was given.
  const content = document.querySelector(".challenge");
  new ResizeObserver(() => {
    post({ type: "challengeHeight", height: Math.ceil(content.getBoundingClientRect().height) });
  }).observe(content);
  buttons[0].focus();
}
