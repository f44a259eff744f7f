// berth JS SDK: UTF-8 without TextEncoder/TextDecoder (QuickJS has neither).
// Like them, lone surrogates and invalid bytes become U+FFFD.

/** The UTF-8 bytes of `text`, as a Uint8Array. */
export function utf8Encode(text) {
  const out = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

/** The text of UTF-8 `bytes` (a Uint8Array or an array of numbers). */
export function utf8Decode(bytes) {
  let out = "";
  const n = bytes.length;
  for (let i = 0; i < n; ) {
    const b = bytes[i];
    // Sequence length, and the smallest and largest valid second byte.
    let len = 0, lo = 0x80, hi = 0xbf;
    if (b < 0x80) len = 1;
    else if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    }
    if (len === 1) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    let c = len === 2 ? b & 31 : len === 3 ? b & 15 : b & 7;
    let j = 1;
    for (; len && j < len && i + j < n; j++) {
      const x = bytes[i + j];
      if (x < (j === 1 ? lo : 0x80) || x > (j === 1 ? hi : 0xbf)) break;
      c = (c << 6) | (x & 63);
    }
    if (len === 0 || j < len) {
      out += "\ufffd"; // invalid or truncated: skip the bytes read so far
      i += Math.max(j, 1);
      continue;
    }
    out += String.fromCodePoint(c);
    i += len;
  }
  return out;
}
