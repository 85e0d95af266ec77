// The Appearance API's basic variables (docs.stripe.com/elements/appearance-api) for the Checkout Elements'
// frames: a theme ('stripe', 'night' or 'flat') and the variables colorPrimary, colorBackground, colorText,
// colorDanger, fontFamily, fontSizeBase, spacingUnit and borderRadius, set as CSS custom properties. A value that
// could end a declaration or load something is ignored with a console warning, as an unknown variable is.

const VARIABLES = {
  colorPrimary: "--color-primary",
  colorBackground: "--color-background",
  colorText: "--color-text",
  colorDanger: "--color-danger",
  fontFamily: "--font-family",
  fontSizeBase: "--font-size-base",
  spacingUnit: "--spacing-unit",
  borderRadius: "--border-radius",
};

const THEMES = {
  stripe: {},
  flat: { colorBackground: "#f6f8fa" },
  night: { colorPrimary: "#0085ff", colorBackground: "#30313d", colorText: "#ffffff", colorDanger: "#fe87a1" },
};

const safe = (value) => {
  const text = String(value);
  return /[;{}<>\\]|url\s*\(|expression\s*\(|@import/i.test(text) ? null : text;
};

// The variables in force: the theme's, then the page's.
export const variablesOf = (appearance = {}) => {
  const theme = THEMES[appearance.theme] || THEMES.stripe;
  const chosen = { ...theme, ...(appearance.variables || {}) };
  const result = {};
  for (const [name, value] of Object.entries(chosen)) {
    if (!VARIABLES[name]) {
      console.warn(`Unsupported appearance variable: ${name}`);
    } else if (safe(value) === null) {
      console.warn(`Ignored appearance value for ${name}: ${value}`);
    } else {
      result[name] = safe(value);
    }
  }
  return result;
};

export const applyAppearance = (appearance = {}) => {
  const variables = variablesOf(appearance);
  for (const [name, value] of Object.entries(variables)) {
    document.documentElement.style.setProperty(VARIABLES[name], value);
  }
  document.documentElement.dataset.theme = THEMES[appearance.theme] ? appearance.theme : "stripe";
  return variables;
};

// What the card frame inside the Payment Element is styled with, so it matches the fields around it.
export const cardStyleOf = (variables) => ({
  base: {
    color: variables.colorText || "#30313d",
    fontFamily: variables.fontFamily || undefined,
    fontSize: variables.fontSizeBase || "16px",
    "::placeholder": { color: "#8c8f98" },
  },
  invalid: { color: variables.colorDanger || "#df1b41" },
});
