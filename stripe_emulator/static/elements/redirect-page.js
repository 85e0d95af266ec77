// The test page of a redirect payment method (Klarna), opened as the PaymentIntent's `redirect_to_url`. Its
// buttons tell the emulator how the customer answered (POST /_emulator/redirect/{intent}/authorize with the
// intent's client secret), which answers where to send the customer back: the return URL with Stripe's
// payment_intent, payment_intent_client_secret and redirect_status.

const query = new URLSearchParams(window.location.search);
const intentId = query.get("payment_intent") || "";
const clientSecret = query.get("client_secret") || "";
const buttons = [...document.querySelectorAll("button[data-result]")];
const statusLine = document.querySelector(".challenge-status");

const answer = async (result) => {
  for (const button of buttons) button.disabled = true;
  statusLine.textContent = result === "authorize" ? "Authorizing the payment…" : "Failing the payment…";
  try {
    const response = await fetch(`/_emulator/redirect/${encodeURIComponent(intentId)}/authorize`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_secret: clientSecret, result }),
      credentials: "omit",
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : "The payment could not be answered.");
    const back = new URL(body.return_url);
    if (back.protocol !== "http:" && back.protocol !== "https:") throw new Error("The return URL is not a web page.");
    window.location.assign(back.href);
  } catch (error) {
    statusLine.textContent = error.message;
    for (const button of buttons) button.disabled = false;
  }
};

for (const button of buttons) button.addEventListener("click", () => answer(button.dataset.result));
if (buttons.length) buttons[0].focus();
