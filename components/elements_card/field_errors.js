// Tells assistive technology which of Streamlit's inputs are wrong: each input of a widget whose key has a
// message gets aria-invalid="true" and aria-describedby pointing at that message, so a screen reader says the
// message with the field; a fixed field loses both. Streamlit draws its own inputs, so this is done on the page
// (mounted in the page's DOM, it renders nothing itself), and done again whenever Streamlit redraws an input.

const MARKED = "data-sp-described"; // set on the inputs this code marked, so it only ever unmarks its own

function inputsOf(widgetKey) {
  return document.querySelectorAll(`.st-key-${CSS.escape(widgetKey)} input`);
}

function apply(fields) {
  for (const [widgetKey, messageId] of Object.entries(fields)) {
    for (const input of inputsOf(widgetKey)) {
      if (messageId) {
        if (input.getAttribute("aria-describedby") !== messageId || input.getAttribute("aria-invalid") !== "true") {
          input.setAttribute("aria-invalid", "true");
          input.setAttribute("aria-describedby", messageId);
          input.setAttribute(MARKED, "");
        }
      } else if (input.hasAttribute(MARKED)) {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
        input.removeAttribute(MARKED);
      }
    }
  }
}

export default function (component) {
  const { data, parentElement } = component;
  let state = parentElement.__stripePressFieldErrors;
  if (!state) {
    state = { fields: {}, pending: false };
    // A rerun may replace an input (a new element without the attributes): mark again after each change of the
    // page, once per frame at most.
    state.observer = new MutationObserver(() => {
      if (state.pending) return;
      state.pending = true;
      window.requestAnimationFrame(() => {
        state.pending = false;
        apply(state.fields);
      });
    });
    state.observer.observe(document.body, { childList: true, subtree: true });
    parentElement.__stripePressFieldErrors = state;
  }
  state.fields = (data && data.fields) || {};
  apply(state.fields);
  return () => {
    state.observer.disconnect();
    apply(Object.fromEntries(Object.keys(state.fields).map((widgetKey) => [widgetKey, null])));
    delete parentElement.__stripePressFieldErrors;
  };
}
