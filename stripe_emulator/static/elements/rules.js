// The card-number rules of the Card Element, read from the JSON the emulator embeds in the frame's HTML
// (stripe_emulator/cards.py `rules_json()`), so the frame and the API judge every number by the same table:
// BIN ranges, each with one card-number length, where the most specific (longest) prefix wins.

// Digits count for a range when they could start one of its numbers: shorter input is compared with as many
// leading digits of the bounds ("3" may start a number of 3528-3589).
const prefixMatches = (digits, [low, high]) => {
  const width = Math.min(digits.length, low.length);
  const head = Number(digits.slice(0, width));
  return head >= Number(low.slice(0, width)) && head <= Number(high.slice(0, width));
};

export const luhnValid = (digits) => {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
};

export const createRules = (table) => {
  const ranges = table.ranges.map(([low, high, brand, length]) => ({ low, high, brand, length }));
  const matching = (digits) => (digits ? ranges.filter((range) => prefixMatches(digits, [range.low, range.high])) : []);

  // A brand only once a single network can match: "3" could still be Amex, Diners Club or JCB.
  const brandOf = (digits) => {
    const brands = new Set(matching(digits).map((range) => range.brand));
    return brands.size === 1 ? [...brands][0] : "unknown";
  };

  const rangesOf = (digits) => {
    const brand = brandOf(digits);
    return brand === "unknown" ? [] : matching(digits).filter((range) => range.brand === brand);
  };

  // The length a number starting with these digits must have (mirrors cards.pan_length).
  const panLength = (digits) => {
    const candidates = rangesOf(digits);
    if (candidates.length === 0) return table.unknownLength;
    const covered = candidates.filter((range) => digits.length >= range.low.length);
    const pool = covered.length ? covered : candidates;
    return pool.reduce((best, range) => (range.low.length > best.low.length ? range : best)).length;
  };

  // How many digits the field lets the customer type: while a longer range could still apply (6205… may
  // become a 19-digit UnionPay number), its length, so no digit the customer needs is cut off.
  const maxLength = (digits) => {
    const candidates = rangesOf(digits);
    return candidates.length ? Math.max(...candidates.map((range) => range.length)) : table.unknownLength;
  };

  const cvcLengths = (brand) => table.cvcLengths[brand] || table.cvcLengths.unknown;

  return { brandOf, panLength, maxLength, cvcLengths, luhnValid, maxYearsAhead: table.maxYearsAhead };
};

export const loadRules = (doc = document) => createRules(JSON.parse(doc.getElementById("card-rules").textContent));
