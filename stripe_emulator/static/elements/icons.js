// Brand icons of the card frame, drawn here (24x16) so the frame loads nothing from elsewhere. The neutral
// and error icons use currentColor, so the page's iconColor can tint them.

const badge = (fill, text) =>
  `<svg viewBox="0 0 24 16" xmlns="http://www.w3.org/2000/svg"><rect width="24" height="16" rx="2" fill="${fill}"/>` +
  `<text x="12" y="10.8" text-anchor="middle" font-family="Arial, sans-serif" font-weight="700" ` +
  `font-size="${text.length > 3 ? 6.2 : 7}" fill="#ffffff">${text}</text></svg>`;

export const ICONS = {
  unknown:
    '<svg class="icon-neutral" viewBox="0 0 24 16" xmlns="http://www.w3.org/2000/svg">' +
    '<rect x="0.5" y="0.5" width="23" height="15" rx="2" fill="none" stroke="currentColor"/>' +
    '<rect x="0.5" y="3.5" width="23" height="2.5" fill="currentColor"/>' +
    '<rect x="3" y="10" width="7" height="2" rx="1" fill="currentColor"/></svg>',
  error:
    '<svg class="icon-error" viewBox="0 0 24 16" xmlns="http://www.w3.org/2000/svg">' +
    '<rect x="0.5" y="0.5" width="23" height="15" rx="2" fill="none" stroke="currentColor"/>' +
    '<rect x="11" y="3.5" width="2" height="6" rx="1" fill="currentColor"/>' +
    '<circle cx="12" cy="12" r="1.2" fill="currentColor"/></svg>',
  visa: badge("#1a1f71", "VISA"),
  mastercard:
    '<svg viewBox="0 0 24 16" xmlns="http://www.w3.org/2000/svg"><rect width="24" height="16" rx="2" ' +
    'fill="#252525"/><circle cx="9.5" cy="8" r="4.6" fill="#eb001b"/><circle cx="14.5" cy="8" r="4.6" ' +
    'fill="#f79e1b" fill-opacity="0.9"/></svg>',
  amex: badge("#2e77bc", "AMEX"),
  discover: badge("#ff6000", "DISC"),
  diners: badge("#0079be", "DC"),
  jcb: badge("#0e4c96", "JCB"),
  unionpay: badge("#d9232e", "UP"),
};
