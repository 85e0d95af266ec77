// Stripe.js loading, shared by the shop's payment components: each component's module is this file followed by
// its own (components.module_js), since Components v2 takes a component's JS as one text.

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
