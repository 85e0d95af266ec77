// How the card frame shows what is typed: the number in groups, the expiry as "MM / YY", and where the caret
// goes after reformatting. Pure functions of strings, so they are easy to reason about one by one.

// Amex and 14-digit Diners Club cards are printed 4-6-5 / 4-6-4; every other number in groups of four
// (a 19-digit number ends with a group of three).
const gapsFor = (brand, length) => (brand === "amex" || (brand === "diners" && length === 14) ? [4, 10] : [4, 8, 12, 16]);

export const formatNumber = (digits, brand, length) => {
  const gaps = gapsFor(brand, length);
  return [...digits].map((digit, i) => (gaps.includes(i) ? ` ${digit}` : digit)).join("");
};

export const onlyDigits = (text) => text.replace(/\D/g, "");

// Splits what was typed into month and year digits; "1/27", "0127", "1 / 2027" and "01 / 27" all work.
export const parseExpiry = (raw) => {
  let month;
  let rest;
  const slash = raw.indexOf("/");
  if (slash >= 0 && onlyDigits(raw.slice(0, slash)).length === 1) {
    month = `0${onlyDigits(raw.slice(0, slash))}`;
    rest = onlyDigits(raw.slice(slash + 1));
  } else {
    const digits = onlyDigits(raw);
    if (digits.length === 0) return { month: "", year: "" };
    if (digits[0] > "1") {
      // No month starts with 2-9, so "4" means April.
      month = `0${digits[0]}`;
      rest = digits.slice(1);
    } else if (digits.length >= 2 && digits[0] === "1" && digits[1] > "2") {
      // "13" cannot be a month: it is January and the first year digit.
      month = "01";
      rest = digits.slice(1);
    } else {
      month = digits.slice(0, 2);
      rest = digits.slice(2);
    }
  }
  // A four-digit year ("2027") is shortened to the two digits the field shows.
  const year = rest.length > 2 && rest.startsWith("20") ? rest.slice(2, 4) : rest.slice(0, 2);
  return { month, year };
};

export const formatExpiry = ({ month, year }, deleting) => {
  if (month.length < 2) return month;
  if (!year) return deleting ? month : `${month} / `;
  return `${month} / ${year}`;
};

// The caret position just after the `count`-th digit of `formatted`.
export const caretAfterDigits = (formatted, count) => {
  if (count <= 0) return 0;
  let seen = 0;
  for (let i = 0; i < formatted.length; i++) {
    if (/\d/.test(formatted[i]) && ++seen === count) return i + 1;
  }
  return formatted.length;
};

export const digitsBefore = (value, position) => onlyDigits(value.slice(0, position)).length;

// When the customer deletes only a separator (a space or " / "), delete the digit next to it instead,
// otherwise the formatter would put the separator straight back and the key would seem dead.
export const digitsAfterDeletion = (el, digits, previousDigits, inputType = "") => {
  if (!inputType.startsWith("delete") || digits !== previousDigits) return { digits, caret: null };
  const caretDigits = digitsBefore(el.value, el.selectionStart);
  if (inputType === "deleteContentBackward" && caretDigits > 0) {
    return { digits: digits.slice(0, caretDigits - 1) + digits.slice(caretDigits), caret: caretDigits - 1 };
  }
  if (inputType === "deleteContentForward") {
    return { digits: digits.slice(0, caretDigits) + digits.slice(caretDigits + 1), caret: caretDigits };
  }
  return { digits, caret: null };
};
