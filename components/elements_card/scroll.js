// Brings one element of the page into view, once per request token: the first wrong field after a click on Pay,
// the confirmation's heading when it replaces the form (the browser would keep the form's scroll position).
// Mounted in the page's DOM, so it can reach Streamlit's elements; it renders nothing itself.

const TRIES = 40; // the target may render a moment after this element: look again each 50 ms, 2 s at most

function findTarget(request) {
  for (const node of document.querySelectorAll(request.selector)) {
    if (!request.text || node.textContent.includes(request.text)) {
      return node;
    }
  }
  return null;
}

export default function (component) {
  const { data, parentElement } = component;
  const request = data && data.target;
  if (!request || parentElement.__stripePressScrolled === request.token) {
    return undefined;
  }
  parentElement.__stripePressScrolled = request.token;
  let tries = 0;
  let timer = null;
  const bring = () => {
    const node = findTarget(request);
    if (node) {
      node.scrollIntoView({ block: request.block || "start" });
      if (request.focus && typeof node.focus === "function") {
        if (node.tabIndex < 0 && !node.hasAttribute("tabindex")) {
          // A heading, say: focusable by script only, so a screen reader reads it and Tab goes on from there.
          node.setAttribute("tabindex", "-1");
        }
        node.focus({ preventScroll: true });
      }
      return;
    }
    if (tries++ < TRIES) {
      timer = setTimeout(bring, 50);
    }
  };
  window.requestAnimationFrame(bring);
  return () => clearTimeout(timer);
}
