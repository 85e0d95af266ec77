/*
 * The card frame of the emulator's fake Stripe.js: formats and validates what the customer types, reports
 * 'change'/'focus'/'blur' to the page, and on the page's request posts the card to /v1/tokens on this
 * frame's own origin. The card number stays in this document; the page only ever receives the token.
 */
(function () {
  'use strict';

  var MESSAGE_TAG = '__fakeStripeElements';
  var config = readConfig();
  var parentOrigin = config.parentOrigin;
  var options = config.options || {};

  var form = document.querySelector('form');
  var brandSlot = document.querySelector('.brand');
  var inputs = {
    number: form.elements.cardnumber,
    expiry: form.elements['exp-date'],
    cvc: form.elements.cvc,
    postal: form.elements.postal
  };
  var FIELD_ORDER = ['number', 'expiry', 'cvc', 'postal'];

  // Customers may leave a field half-filled; its "incomplete" message only shows once they leave it (or try
  // to pay), while definite mistakes (bad checksum, past date) show as soon as they are typed.
  var touched = {};
  var forceErrors = false;
  var hasFocus = false;
  var lastBrandShown = null;

  // Stripe's own messages, so a page that matches on `error.code` or shows `error.message` works unchanged.
  var MESSAGES = {
    incomplete_number: 'Your card number is incomplete.',
    invalid_number: 'Your card number is invalid.',
    incomplete_expiry: "Your card's expiration date is incomplete.",
    invalid_expiry_month: "Your card's expiration month is invalid.",
    invalid_expiry_month_past: "Your card's expiration date is in the past.",
    invalid_expiry_year_past: "Your card's expiration year is in the past.",
    invalid_expiry_year: "Your card's expiration year is invalid.",
    incomplete_cvc: "Your card's security code is incomplete.",
    incomplete_zip: 'Your postal code is incomplete.'
  };

  // ---- Card brands --------------------------------------------------------------------------------
  // Prefix ranges and lengths per the card networks' published IIN tables; `gaps` are where spaces go.
  var BRANDS = {
    visa: { lengths: [16], cvc: 3, gaps: [4, 8, 12], luhn: true },
    mastercard: { lengths: [16], cvc: 3, gaps: [4, 8, 12], luhn: true },
    amex: { lengths: [15], cvc: 4, gaps: [4, 10], luhn: true },
    discover: { lengths: [16, 19], cvc: 3, gaps: [4, 8, 12], luhn: true },
    diners: { lengths: [14, 16, 19], cvc: 3, gaps: [4, 10], luhn: true },
    jcb: { lengths: [16, 17, 18, 19], cvc: 3, gaps: [4, 8, 12], luhn: true },
    // Some UnionPay cards do not satisfy Luhn, so card networks (and Stripe) do not require it.
    unionpay: { lengths: [16, 17, 18, 19], cvc: 3, gaps: [4, 8, 12], luhn: false },
    unknown: { lengths: [16, 17, 18, 19], cvc: 4, gaps: [4, 8, 12], luhn: true }
  };

  function prefixBetween(digits, low, high) {
    var width = String(low).length;
    if (digits.length < width) {
      // A partial prefix counts when some number in the range starts with it.
      var partial = Number(digits);
      var scale = Math.pow(10, width - digits.length);
      return digits.length > 0 && partial >= Math.floor(low / scale) && partial <= Math.floor(high / scale);
    }
    var head = Number(digits.slice(0, width));
    return head >= low && head <= high;
  }

  function detectBrand(digits) {
    if (!digits) return 'unknown';
    if (digits[0] === '4') return 'visa';
    if (/^3[47]/.test(digits)) return 'amex';
    if (/^(30[0-5]|309|36|3[89])/.test(digits)) return 'diners';
    if (digits.length >= 2 && prefixBetween(digits, 3528, 3589)) return 'jcb';
    if (/^5[1-5]/.test(digits) || (digits.length >= 2 && prefixBetween(digits, 2221, 2720))) return 'mastercard';
    if (/^(6011|64[4-9]|65)/.test(digits)) return 'discover';
    if (/^(62|81)/.test(digits)) return 'unionpay';
    return 'unknown';
  }

  function luhnValid(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
    }
    return sum % 10 === 0;
  }

  function maxLength(brand) {
    var lengths = BRANDS[brand].lengths;
    return lengths[lengths.length - 1];
  }

  function formatNumber(digits, brand) {
    // 14-digit Diners reads 4-6-4; their 16-digit cards read like Visa.
    var gaps = brand === 'diners' && digits.length > 14 ? [4, 8, 12] : BRANDS[brand].gaps;
    var out = '';
    for (var i = 0; i < digits.length; i++) {
      if (gaps.indexOf(i) >= 0) out += ' ';
      out += digits[i];
    }
    return out;
  }

  // ---- Field values ------------------------------------------------------------------------------

  function numberDigits() {
    return inputs.number.value.replace(/\D/g, '');
  }

  function currentBrand() {
    return detectBrand(numberDigits());
  }

  // Splits what was typed into month and year digits; "1/27", "0127", "1 / 2027" and "01 / 27" all work.
  function parseExpiry(raw) {
    var month;
    var rest;
    var slash = raw.indexOf('/');
    if (slash >= 0 && raw.slice(0, slash).replace(/\D/g, '').length === 1) {
      month = '0' + raw.slice(0, slash).replace(/\D/g, '');
      rest = raw.slice(slash + 1).replace(/\D/g, '');
    } else {
      var digits = raw.replace(/\D/g, '');
      if (digits.length === 0) return { month: '', year: '' };
      if (digits[0] > '1') {
        // No month starts with 2-9, so "4" means April.
        month = '0' + digits[0];
        rest = digits.slice(1);
      } else if (digits.length >= 2 && digits[0] === '1' && digits[1] > '2') {
        // "13" cannot be a month: it is January and the first year digit.
        month = '01';
        rest = digits.slice(1);
      } else {
        month = digits.slice(0, 2);
        rest = digits.slice(2);
      }
    }
    // A four-digit year ("2027") is shortened to the two digits the field shows.
    var year = rest.length > 2 && rest.slice(0, 2) === '20' ? rest.slice(2, 4) : rest.slice(0, 2);
    return { month: month, year: year };
  }

  function formatExpiry(parts, deleting) {
    if (parts.month.length < 2) return parts.month;
    if (!parts.year) return deleting ? parts.month : parts.month + ' / ';
    return parts.month + ' / ' + parts.year;
  }

  // ---- Validation --------------------------------------------------------------------------------
  // Each check gives {empty, complete, code, definite}; `definite` errors show while typing.

  function checkNumber() {
    var digits = numberDigits();
    if (!digits) return { empty: true, complete: false, code: 'incomplete_number' };
    var brand = detectBrand(digits);
    var spec = BRANDS[brand];
    var validLength = spec.lengths.indexOf(digits.length) >= 0;
    if (!validLength) {
      return { empty: false, complete: false, code: 'incomplete_number', definite: false };
    }
    if (spec.luhn && !luhnValid(digits)) {
      // At the brand's longest length nothing more can be typed, so the number is definitely wrong.
      return { empty: false, complete: false, code: 'invalid_number', definite: digits.length >= maxLength(brand) };
    }
    return { empty: false, complete: true };
  }

  function checkExpiry() {
    var parts = parseExpiry(inputs.expiry.value);
    if (!parts.month) return { empty: true, complete: false, code: 'incomplete_expiry' };
    var month = Number(parts.month);
    if (parts.month.length === 2 && (month < 1 || month > 12)) {
      return { empty: false, complete: false, code: 'invalid_expiry_month', definite: true };
    }
    if (parts.year.length < 2) return { empty: false, complete: false, code: 'incomplete_expiry', definite: false };
    var now = new Date();
    var thisYear = now.getFullYear() % 100;
    var year = Number(parts.year);
    if (year < thisYear) return { empty: false, complete: false, code: 'invalid_expiry_year_past', definite: true };
    if (year === thisYear && month < now.getMonth() + 1) {
      return { empty: false, complete: false, code: 'invalid_expiry_month_past', definite: true };
    }
    if (year > thisYear + 50) return { empty: false, complete: false, code: 'invalid_expiry_year', definite: true };
    return { empty: false, complete: true };
  }

  function cvcLength(brand) {
    return BRANDS[brand].cvc;
  }

  function checkCvc() {
    var value = inputs.cvc.value;
    if (!value) return { empty: true, complete: false, code: 'incomplete_cvc' };
    var brand = currentBrand();
    // Until the brand is known a 3- or 4-digit code may both be right.
    var needed = brand === 'unknown' ? 3 : cvcLength(brand);
    if (value.length < needed) return { empty: false, complete: false, code: 'incomplete_cvc', definite: false };
    return { empty: false, complete: true };
  }

  function checkPostal() {
    var value = inputs.postal.value.trim();
    if (!value) return { empty: true, complete: false, code: 'incomplete_zip' };
    // A numeric code is a US ZIP, which has five digits; other countries' codes vary too much to check.
    if (/^\d+$/.test(value) && value.length < 5) {
      return { empty: false, complete: false, code: 'incomplete_zip', definite: false };
    }
    return { empty: false, complete: true };
  }

  var CHECKS = { number: checkNumber, expiry: checkExpiry, cvc: checkCvc, postal: checkPostal };

  function activeFields() {
    return FIELD_ORDER.filter(function (field) {
      return field !== 'postal' || !options.hidePostalCode;
    });
  }

  // Which fields show an error now, and the one the page hears about (the first, in reading order).
  function evaluate() {
    var results = {};
    var shownError = null;
    var empty = true;
    var complete = true;
    activeFields().forEach(function (field) {
      var result = CHECKS[field]();
      var shows =
        !result.complete && (result.definite || forceErrors || (touched[field] && !result.empty));
      result.shows = shows;
      results[field] = result;
      if (!result.empty) empty = false;
      if (!result.complete) complete = false;
      if (shows && !shownError) {
        shownError = { type: 'validation_error', code: result.code, message: MESSAGES[result.code] };
      }
    });
    return { fields: results, empty: empty, complete: complete, error: shownError, brand: currentBrand() };
  }

  // ---- Rendering and reporting -------------------------------------------------------------------

  function post(message) {
    message[MESSAGE_TAG] = true;
    window.parent.postMessage(message, parentOrigin);
  }

  function render(status) {
    FIELD_ORDER.forEach(function (field) {
      var shows = !!(status.fields[field] && status.fields[field].shows);
      inputs[field].classList.toggle('is-invalid', shows);
      inputs[field].setAttribute('aria-invalid', shows ? 'true' : 'false');
    });
    document.body.classList.toggle('is-empty', status.empty);
    document.body.classList.toggle('is-complete', status.complete);
    document.body.classList.toggle('is-invalid', !!status.error);
    var numberError = status.fields.number.shows;
    var icon = numberError ? 'error' : status.brand;
    if (icon !== lastBrandShown) {
      brandSlot.innerHTML = ICONS[icon];
      brandSlot.setAttribute('data-brand', icon);
      lastBrandShown = icon;
    }
    updateLayout(false);
  }

  // ---- Narrow frames -----------------------------------------------------------------------------
  // When one line cannot hold the whole number and the short fields, the frame shows either the number
  // alone (while it is typed) or its last four digits beside the short fields, as Stripe's Card Element does.

  var last4 = document.querySelector('.last4');
  var probe = document.querySelector('.probe');

  function isNarrow() {
    var ch = probe.getBoundingClientRect().width / 10;
    var em = parseFloat(getComputedStyle(document.body).fontSize) || 16;
    // Icon, "4242 4242 4242 4242", "MM / YY", CVC and the gaps; ZIP when shown (widths as in the stylesheet).
    var needed = 2.1 * em + 20 * ch + 12.7 * ch + 1.5 * em;
    if (!options.hidePostalCode) needed += 6 * ch + 0.75 * em;
    return document.body.getBoundingClientRect().width < needed;
  }

  function updateLayout(leavingNumber) {
    var narrow = isNarrow();
    var numberActive = !leavingNumber && (document.activeElement === inputs.number || !checkNumber().complete);
    document.body.classList.toggle('is-narrow', narrow);
    document.body.classList.toggle('number-open', narrow && numberActive);
    document.body.classList.toggle('number-collapsed', narrow && !numberActive);
    last4.textContent = numberDigits().slice(-4);
  }

  var lastReported = null;

  // Every keystroke is a change; leaving a field or a refused createToken only is when it alters the state.
  function report(onlyIfChanged) {
    var status = evaluate();
    render(status);
    var change = {
      type: 'change',
      empty: status.empty,
      complete: status.complete,
      brand: status.brand,
      postalCode: options.hidePostalCode ? undefined : inputs.postal.value,
      error: status.error
    };
    var serialized = JSON.stringify(change);
    if (!onlyIfChanged || serialized !== lastReported) {
      lastReported = serialized;
      post(change);
    }
    return status;
  }

  function reportHeight() {
    post({ type: 'height', height: Math.ceil(document.body.getBoundingClientRect().height) });
  }

  // ---- Typing ------------------------------------------------------------------------------------

  // Puts the caret after the same count of digits it followed before reformatting.
  function caretAfterDigits(formatted, count) {
    if (count <= 0) return 0;
    var seen = 0;
    for (var i = 0; i < formatted.length; i++) {
      if (/\d/.test(formatted[i]) && ++seen === count) return i + 1;
    }
    return formatted.length;
  }

  function digitsBefore(value, position) {
    return value.slice(0, position).replace(/\D/g, '').length;
  }

  // When the customer deletes only a separator (a space or " / "), delete the digit next to it instead,
  // otherwise the formatter would put the separator straight back and the key would seem dead.
  function digitsAfterDeletion(el, digits, previousDigits, inputType) {
    if (!/^delete/.test(inputType || '') || digits !== previousDigits) return { digits: digits, caret: null };
    var caretDigits = digitsBefore(el.value, el.selectionStart);
    if (inputType === 'deleteContentBackward' && caretDigits > 0) {
      return { digits: digits.slice(0, caretDigits - 1) + digits.slice(caretDigits), caret: caretDigits - 1 };
    }
    if (inputType === 'deleteContentForward') {
      return { digits: digits.slice(0, caretDigits) + digits.slice(caretDigits + 1), caret: caretDigits };
    }
    return { digits: digits, caret: null };
  }

  var previous = { number: '', expiry: '' };

  function onNumberInput(event) {
    var el = inputs.number;
    var atEnd = el.selectionStart === el.value.length;
    var edit = digitsAfterDeletion(el, el.value.replace(/\D/g, ''), previous.number, event.inputType);
    var caretDigits = edit.caret !== null ? edit.caret : digitsBefore(el.value, el.selectionStart);
    var brand = detectBrand(edit.digits);
    var digits = edit.digits.slice(0, maxLength(brand));
    var formatted = formatNumber(digits, brand);
    el.value = formatted;
    var caret = atEnd ? formatted.length : caretAfterDigits(formatted, Math.min(caretDigits, digits.length));
    el.setSelectionRange(caret, caret);
    previous.number = digits;
    // A brand change may make the CVC too long (4 digits typed before the number was known).
    if (inputs.cvc.value.length > cvcLength(brand) && brand !== 'unknown') {
      inputs.cvc.value = inputs.cvc.value.slice(0, cvcLength(brand));
    }
    var status = report();
    if (atEnd && status.fields.number.complete && /^insert/.test(event.inputType || 'insert')) {
      // In a narrow frame the expiry is hidden while the number is typed; show it before moving there.
      updateLayout(true);
      inputs.expiry.focus();
    }
  }

  function onExpiryInput(event) {
    var el = inputs.expiry;
    var deleting = /^delete/.test(event.inputType || '');
    var parts = parseExpiry(el.value);
    var joined = parts.month + parts.year;
    var edit = digitsAfterDeletion(el, joined, previous.expiry, event.inputType);
    if (edit.digits !== joined) {
      parts = { month: edit.digits.slice(0, 2), year: edit.digits.slice(2) };
    }
    var formatted = formatExpiry(parts, deleting);
    el.value = formatted;
    el.setSelectionRange(formatted.length, formatted.length);
    previous.expiry = parts.month + parts.year;
    var status = report();
    if (!deleting && status.fields.expiry.complete) {
      inputs.cvc.focus();
    }
  }

  function onCvcInput(event) {
    var el = inputs.cvc;
    var brand = currentBrand();
    el.value = el.value.replace(/\D/g, '').slice(0, brand === 'unknown' ? 4 : cvcLength(brand));
    var status = report();
    var full = el.value.length === (brand === 'unknown' ? 4 : cvcLength(brand));
    if (full && status.fields.cvc.complete && !options.hidePostalCode && /^insert/.test(event.inputType || 'insert')) {
      inputs.postal.focus();
    }
  }

  function onPostalInput() {
    report();
  }

  inputs.number.addEventListener('input', onNumberInput);
  inputs.expiry.addEventListener('input', onExpiryInput);
  inputs.cvc.addEventListener('input', onCvcInput);
  inputs.postal.addEventListener('input', onPostalInput);

  FIELD_ORDER.forEach(function (field, index) {
    var el = inputs[field];
    el.addEventListener('keydown', function (event) {
      if (event.key === 'Escape') {
        post({ type: 'escape' });
      } else if (event.key === 'Tab' && !event.shiftKey && field === 'number' && checkNumber().complete) {
        // A narrow frame hides the expiry while the number has focus; reveal it so Tab can land there.
        updateLayout(true);
      } else if (event.key === 'Backspace' && el.value === '' && index > 0) {
        // Backspace in an empty field goes back to the end of the previous one.
        var prev = inputs[FIELD_ORDER[index - 1]];
        event.preventDefault();
        prev.focus();
        prev.setSelectionRange(prev.value.length, prev.value.length);
      }
    });
    el.addEventListener('focusout', function (event) {
      touched[field] = true;
      var stillInside = event.relatedTarget && form.contains(event.relatedTarget);
      report(true);
      if (!stillInside && hasFocus) {
        hasFocus = false;
        post({ type: 'blur' });
      }
    });
    el.addEventListener('focusin', function () {
      updateLayout(false);
      if (!hasFocus) {
        hasFocus = true;
        post({ type: 'focus' });
      }
    });
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
  });

  // ---- Styles from the page -----------------------------------------------------------------------

  // The style properties Stripe documents for Elements; anything else is ignored with a warning.
  var STYLE_PROPERTIES = {
    color: 'color',
    fontFamily: 'font-family',
    fontSize: 'font-size',
    fontSmoothing: '-webkit-font-smoothing',
    fontStyle: 'font-style',
    fontVariant: 'font-variant',
    fontWeight: 'font-weight',
    letterSpacing: 'letter-spacing',
    lineHeight: 'line-height',
    textAlign: 'text-align',
    textDecoration: 'text-decoration',
    textShadow: 'text-shadow',
    textTransform: 'text-transform'
  };
  var PSEUDO = {
    ':hover': ':hover',
    ':focus': ':focus',
    '::placeholder': '::placeholder',
    '::selection': '::selection',
    ':disabled': ':disabled',
    ':-webkit-autofill': ':-webkit-autofill'
  };
  // Selector of each variant's inputs; later variants win, as `invalid` overrides `base` in Stripe.
  var VARIANTS = [
    ['base', ['input', '.last4']],
    ['empty', ['body.is-empty input']],
    ['complete', ['body.is-complete input', 'body.is-complete .last4']],
    ['invalid', ['input.is-invalid']]
  ];

  // Values are written into a stylesheet, so anything that could end a declaration or load a URL is refused.
  function safeValue(value) {
    var text = String(value);
    return /[;{}<>\\]|url\s*\(|expression\s*\(|@import/i.test(text) ? null : text;
  }

  function declarations(rules) {
    var out = [];
    for (var key in rules) {
      if (PSEUDO[key] || key === 'iconColor') continue;
      var property = STYLE_PROPERTIES[key];
      var value = safeValue(rules[key]);
      if (!property) {
        console.warn('Unsupported style property for the card Element: ' + key);
      } else if (value === null) {
        console.warn('Ignored style value for ' + key + ' of the card Element: ' + rules[key]);
      } else {
        out.push(property + ':' + value);
      }
    }
    return out.join(';');
  }

  function applyStyle() {
    var style = options.style || {};
    var css = [];
    VARIANTS.forEach(function (entry) {
      var rules = style[entry[0]];
      if (!rules) return;
      css.push(entry[1].join(',') + '{' + declarations(rules) + '}');
      for (var key in rules) {
        if (!PSEUDO[key]) continue;
        var selectors = entry[1].filter(function (selector) {
          return selector.indexOf('input') >= 0;
        });
        css.push(
          selectors
            .map(function (selector) {
              return selector + PSEUDO[key];
            })
            .join(',') +
            '{' +
            declarations(rules[key]) +
            '}'
        );
      }
      var icon = rules.iconColor && safeValue(rules.iconColor);
      if (icon) {
        var iconSelector = entry[0] === 'invalid' ? '.brand .icon-error' : '.brand .icon-neutral';
        css.push(iconSelector + '{color:' + icon + '}');
      }
    });
    var base = style.base || {};
    // Font size and family also size the frame itself, so the iframe's height follows them.
    var bodyRules = {};
    ['fontSize', 'fontFamily', 'lineHeight'].forEach(function (key) {
      if (base[key]) bodyRules[key] = base[key];
    });
    css.unshift('body{' + declarations(bodyRules) + '}');
    document.getElementById('element-style').textContent = css.join('\n');

    document.body.classList.toggle('hide-postal', !!options.hidePostalCode);
    document.body.classList.toggle('hide-icon', !!options.hideIcon);
    document.body.classList.toggle('icon-solid', options.iconStyle === 'solid');
    FIELD_ORDER.forEach(function (field) {
      inputs[field].disabled = !!options.disabled;
    });
    if (options.placeholder && typeof options.placeholder === 'string') {
      inputs.number.placeholder = options.placeholder;
    }
    reportHeight();
  }

  // ---- Brand icons (drawn here, 24x16) ------------------------------------------------------------

  function badge(fill, text, textColor) {
    return (
      '<svg viewBox="0 0 24 16" xmlns="http://www.w3.org/2000/svg"><rect width="24" height="16" rx="2" fill="' +
      fill +
      '"/><text x="12" y="10.8" text-anchor="middle" font-family="Arial, sans-serif" font-weight="700" ' +
      'font-size="' + (text.length > 3 ? 6.2 : 7) + '" fill="' + textColor + '">' + text + '</text></svg>'
    );
  }

  var ICONS = {
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
    visa: badge('#1a1f71', 'VISA', '#ffffff'),
    mastercard:
      '<svg viewBox="0 0 24 16" xmlns="http://www.w3.org/2000/svg"><rect width="24" height="16" rx="2" ' +
      'fill="#252525"/><circle cx="9.5" cy="8" r="4.6" fill="#eb001b"/><circle cx="14.5" cy="8" r="4.6" ' +
      'fill="#f79e1b" fill-opacity="0.9"/></svg>',
    amex: badge('#2e77bc', 'AMEX', '#ffffff'),
    discover: badge('#ff6000', 'DISC', '#ffffff'),
    diners: badge('#0079be', 'DC', '#ffffff'),
    jcb: badge('#0e4c96', 'JCB', '#ffffff'),
    unionpay: badge('#d9232e', 'UP', '#ffffff')
  };

  // ---- Messages from the page --------------------------------------------------------------------

  function clearAll() {
    FIELD_ORDER.forEach(function (field) {
      inputs[field].value = '';
    });
    previous = { number: '', expiry: '' };
    touched = {};
    forceErrors = false;
    report();
  }

  function focusFirstIncomplete() {
    var status = evaluate();
    var target = activeFields().filter(function (field) {
      return !status.fields[field].complete;
    })[0];
    var el = inputs[target || 'number'];
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }

  var DATA_FIELDS = [
    'name',
    'address_line1',
    'address_line2',
    'address_city',
    'address_state',
    'address_zip',
    'address_country',
    'currency'
  ];

  function tokenRequestBody(data) {
    var parts = parseExpiry(inputs.expiry.value);
    var body = new URLSearchParams();
    body.set('card[number]', numberDigits());
    body.set('card[exp_month]', String(Number(parts.month)));
    body.set('card[exp_year]', String(2000 + Number(parts.year)));
    body.set('card[cvc]', inputs.cvc.value);
    DATA_FIELDS.forEach(function (key) {
      var value = data[key];
      if (value !== undefined && value !== null && String(value) !== '') {
        body.set('card[' + key + ']', String(value));
      }
    });
    // The postal code typed into the Element is the card's billing ZIP, as in Stripe.js.
    if (!options.hidePostalCode && inputs.postal.value.trim()) {
      body.set('card[address_zip]', inputs.postal.value.trim());
    }
    return body;
  }

  var CONNECTION_ERROR = {
    type: 'api_connection_error',
    message: 'We could not reach the payment server. Check your connection and try again.'
  };

  function createToken(requestId, data) {
    function reply(result) {
      post({ type: 'tokenResult', requestId: requestId, result: result });
    }
    // Like Stripe.js, an incomplete or invalid card is refused here, without a request.
    forceErrors = true;
    var status = report(true);
    if (!status.complete) {
      reply({ error: status.error });
      return;
    }
    var controller = new AbortController();
    var timer = setTimeout(function () {
      controller.abort();
    }, 30000);
    fetch('/v1/tokens', {
      method: 'POST',
      headers: {
        Authorization: 'Bearer ' + config.pk,
        'Content-Type': 'application/x-www-form-urlencoded'
      },
      body: tokenRequestBody(data || {}),
      credentials: 'omit',
      signal: controller.signal
    })
      .then(function (response) {
        return response.json().then(
          function (body) {
            if (response.ok && body && body.object === 'token') return { token: body };
            if (body && body.error) return { error: body.error };
            return { error: { type: 'api_error', message: 'The payment server sent an unexpected answer.' } };
          },
          function () {
            return { error: { type: 'api_error', message: 'The payment server sent an unreadable answer.' } };
          }
        );
      })
      .catch(function () {
        return { error: CONNECTION_ERROR };
      })
      .then(function (result) {
        clearTimeout(timer);
        reply(result);
      });
  }

  window.addEventListener('message', function (event) {
    // Only the page that mounted this frame may drive it.
    if (event.source !== window.parent || event.origin !== parentOrigin) return;
    var msg = event.data;
    if (!msg || msg[MESSAGE_TAG] !== true) return;
    switch (msg.type) {
      case 'update':
        options = msg.options || {};
        applyStyle();
        render(evaluate());
        break;
      case 'clear':
        clearAll();
        break;
      case 'focus':
        focusFirstIncomplete();
        break;
      case 'blur':
        if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
        break;
      case 'createToken':
        createToken(msg.requestId, msg.data);
        break;
    }
  });

  // ---- Start-up ----------------------------------------------------------------------------------

  function readConfig() {
    try {
      return JSON.parse(decodeURIComponent(window.location.hash.slice(1)));
    } catch (err) {
      return {};
    }
  }

  if (!parentOrigin || !config.pk) {
    // Opened without a page around it: nothing to talk to, so stay inert.
    document.body.classList.add('is-orphan');
    return;
  }
  if (options.value && typeof options.value.postalCode === 'string') {
    inputs.postal.value = options.value.postalCode.slice(0, 10);
  }
  applyStyle();
  render(evaluate());
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      reportHeight();
      updateLayout(false);
    }).observe(document.body);
  }
  post({ type: 'loaded' });
  reportHeight();
})();
