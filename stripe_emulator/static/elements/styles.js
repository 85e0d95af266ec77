// The page's `style` option of the Card Element, turned into a stylesheet for this frame. Stripe documents a
// fixed set of properties and variants (base, complete, empty, invalid) with pseudo-classes; anything else is
// ignored with a console warning, as Stripe.js does.

const STYLE_PROPERTIES = {
  color: "color",
  fontFamily: "font-family",
  fontSize: "font-size",
  fontSmoothing: "-webkit-font-smoothing",
  fontStyle: "font-style",
  fontVariant: "font-variant",
  fontWeight: "font-weight",
  letterSpacing: "letter-spacing",
  lineHeight: "line-height",
  textAlign: "text-align",
  textDecoration: "text-decoration",
  textShadow: "text-shadow",
  textTransform: "text-transform",
};

const PSEUDO_CLASSES = new Set([":hover", ":focus", "::placeholder", "::selection", ":disabled", ":-webkit-autofill"]);

// Selectors of each variant; later variants win, as `invalid` overrides `base` in Stripe.
const VARIANTS = [
  ["base", ["input", ".last4"]],
  ["empty", ["body.is-empty input"]],
  ["complete", ["body.is-complete input", "body.is-complete .last4"]],
  ["invalid", ["input.is-invalid"]],
];

// Values are written into a stylesheet, so anything that could end a declaration or load a URL is refused.
const safeValue = (value) => {
  const text = String(value);
  return /[;{}<>\\]|url\s*\(|expression\s*\(|@import/i.test(text) ? null : text;
};

const declarations = (rules) =>
  Object.entries(rules)
    .filter(([key]) => !PSEUDO_CLASSES.has(key) && key !== "iconColor")
    .flatMap(([key, raw]) => {
      const property = STYLE_PROPERTIES[key];
      const value = safeValue(raw);
      if (!property) {
        console.warn(`Unsupported style property for the card Element: ${key}`);
        return [];
      }
      if (value === null) {
        console.warn(`Ignored style value for ${key} of the card Element: ${raw}`);
        return [];
      }
      return [`${property}:${value}`];
    })
    .join(";");

// The stylesheet text for a `style` option.
export const stylesheetFor = (style = {}) => {
  const css = [];
  for (const [variant, selectors] of VARIANTS) {
    const rules = style[variant];
    if (!rules) continue;
    css.push(`${selectors.join(",")}{${declarations(rules)}}`);
    const inputSelectors = selectors.filter((selector) => selector.includes("input"));
    for (const [key, nested] of Object.entries(rules)) {
      if (PSEUDO_CLASSES.has(key)) {
        css.push(`${inputSelectors.map((selector) => selector + key).join(",")}{${declarations(nested)}}`);
      }
    }
    const icon = rules.iconColor && safeValue(rules.iconColor);
    if (icon) {
      css.push(`${variant === "invalid" ? ".brand .icon-error" : ".brand .icon-neutral"}{color:${icon}}`);
    }
  }
  // Font size and family also size the frame itself, so the iframe's height follows them.
  const base = style.base || {};
  const bodyRules = Object.fromEntries(["fontSize", "fontFamily", "lineHeight"].filter((k) => base[k]).map((k) => [k, base[k]]));
  css.unshift(`body{${declarations(bodyRules)}}`);
  return css.join("\n");
};
