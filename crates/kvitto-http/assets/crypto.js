// The driver's possession proof in the browser (specs/privacy.md, "Possession proof"): BLAKE3
// (one chunk: derive_key and its extendable output), Keccak-f[1600], STROBE-128 and merlin
// transcripts, ristretto255 and scalars mod ℓ, with BigInt. Not constant time: it runs on the
// driver's own device, on their own secret, once per fetch.
'use strict';

const KC = (() => {
  // ---- BLAKE3, inputs of at most one chunk (1024 bytes) ----
  const B3_IV = Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const B3_PERM = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
  const CHUNK_START = 1, CHUNK_END = 2, ROOT = 8, DERIVE_KEY_CONTEXT = 32, DERIVE_KEY_MATERIAL = 64;
  const B3_CHUNK_LEN = 1024;

  const rotr = (x, n) => ((x >>> n) | (x << (32 - n))) >>> 0;

  function b3Compress(cv, block, counter, blockLen, flags) {
    const s = new Uint32Array(16);
    s.set(cv, 0);
    s.set(B3_IV.subarray(0, 4), 8);
    s[12] = counter >>> 0;
    s[13] = Math.floor(counter / 0x100000000) >>> 0;
    s[14] = blockLen;
    s[15] = flags;
    let m = Uint32Array.from(block);
    const g = (a, b, c, d, x, y) => {
      s[a] = (s[a] + s[b] + x) >>> 0; s[d] = rotr(s[d] ^ s[a], 16);
      s[c] = (s[c] + s[d]) >>> 0; s[b] = rotr(s[b] ^ s[c], 12);
      s[a] = (s[a] + s[b] + y) >>> 0; s[d] = rotr(s[d] ^ s[a], 8);
      s[c] = (s[c] + s[d]) >>> 0; s[b] = rotr(s[b] ^ s[c], 7);
    };
    for (let round = 0; round < 7; round++) {
      g(0, 4, 8, 12, m[0], m[1]); g(1, 5, 9, 13, m[2], m[3]); g(2, 6, 10, 14, m[4], m[5]); g(3, 7, 11, 15, m[6], m[7]);
      g(0, 5, 10, 15, m[8], m[9]); g(1, 6, 11, 12, m[10], m[11]); g(2, 7, 8, 13, m[12], m[13]); g(3, 4, 9, 14, m[14], m[15]);
      m = Uint32Array.from(B3_PERM, (i) => m[i]);
    }
    for (let i = 0; i < 8; i++) { s[i] ^= s[i + 8]; s[i + 8] ^= cv[i]; }
    return s;
  }

  function words(bytes) {
    const out = new Uint32Array(16);
    for (let i = 0; i < 16; i++) out[i] = (bytes[4 * i] | (bytes[4 * i + 1] << 8) | (bytes[4 * i + 2] << 16) | (bytes[4 * i + 3] << 24)) >>> 0;
    return out;
  }

  /** BLAKE3 of `input` (one chunk) under key words `key` and mode `flags`, `outLen` bytes. */
  function b3Hash(input, key, flags, outLen) {
    if (input.length > B3_CHUNK_LEN) throw new Error('blake3: input longer than one chunk');
    const blocks = Math.max(1, Math.ceil(input.length / 64));
    let cv = Uint32Array.from(key);
    for (let i = 0; i < blocks - 1; i++) {
      const f = flags | (i === 0 ? CHUNK_START : 0);
      cv = b3Compress(cv, words(input.subarray(64 * i, 64 * i + 64)), 0, 64, f).slice(0, 8);
    }
    const last = new Uint8Array(64);
    const tail = input.subarray(64 * (blocks - 1));
    last.set(tail);
    const lastFlags = flags | (blocks === 1 ? CHUNK_START : 0) | CHUNK_END | ROOT;
    const out = new Uint8Array(outLen);
    for (let k = 0; 64 * k < outLen; k++) {
      const s = b3Compress(cv, words(last), k, tail.length, lastFlags);
      for (let i = 0; i < 64 && 64 * k + i < outLen; i++) out[64 * k + i] = (s[i >> 2] >>> (8 * (i & 3))) & 0xff;
    }
    return out;
  }

  /** `blake3::Hasher::new_derive_key(context)`, updated with `material`, `outLen` bytes. */
  function deriveKey(context, material, outLen) {
    const contextKey = b3Hash(new TextEncoder().encode(context), B3_IV, DERIVE_KEY_CONTEXT, 32);
    const key = new Uint32Array(8);
    for (let i = 0; i < 8; i++) key[i] = words(Uint8Array.from([...contextKey, ...new Uint8Array(32)]))[i];
    return b3Hash(material, key, DERIVE_KEY_MATERIAL, outLen);
  }

  // ---- Keccak-f[1600], STROBE-128 and merlin ----
  const MASK64 = (1n << 64n) - 1n;
  const KECCAK_RC = [
    0x0000000000000001n, 0x0000000000008082n, 0x800000000000808an, 0x8000000080008000n, 0x000000000000808bn,
    0x0000000080000001n, 0x8000000080008081n, 0x8000000000008009n, 0x000000000000008an, 0x0000000000000088n,
    0x0000000080008009n, 0x000000008000000an, 0x000000008000808bn, 0x800000000000008bn, 0x8000000000008089n,
    0x8000000000008003n, 0x8000000000008002n, 0x8000000000000080n, 0x000000000000800an, 0x800000008000000an,
    0x8000000080008081n, 0x8000000000008080n, 0x0000000080000001n, 0x8000000080008008n,
  ];
  const KECCAK_ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
  const rotl64 = (x, n) => (n === 0 ? x : ((x << BigInt(n)) | (x >> BigInt(64 - n))) & MASK64);

  function keccakF(bytes) {
    const a = new Array(25);
    for (let i = 0; i < 25; i++) {
      let lane = 0n;
      for (let j = 7; j >= 0; j--) lane = (lane << 8n) | BigInt(bytes[8 * i + j]);
      a[i] = lane;
    }
    for (let round = 0; round < 24; round++) {
      const c = [0, 1, 2, 3, 4].map((x) => a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20]);
      for (let x = 0; x < 5; x++) {
        const d = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
        for (let y = 0; y < 25; y += 5) a[x + y] ^= d;
      }
      const b = new Array(25);
      for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl64(a[x + 5 * y], KECCAK_ROT[x + 5 * y]);
      for (let y = 0; y < 25; y += 5) for (let x = 0; x < 5; x++) a[x + y] = b[x + y] ^ (~b[((x + 1) % 5) + y] & MASK64 & b[((x + 2) % 5) + y]);
      a[0] ^= KECCAK_RC[round];
    }
    for (let i = 0; i < 25; i++) {
      let lane = a[i];
      for (let j = 0; j < 8; j++) { bytes[8 * i + j] = Number(lane & 0xffn); lane >>= 8n; }
    }
  }

  const STROBE_R = 166;
  const FLAG_I = 1, FLAG_A = 2, FLAG_C = 4, FLAG_M = 16, FLAG_K = 32;

  class Strobe128 {
    constructor(label) {
      this.st = new Uint8Array(200);
      this.st.set([1, STROBE_R + 2, 1, 0, 1, 96], 0);
      this.st.set(new TextEncoder().encode('STROBEv1.0.2'), 6);
      keccakF(this.st);
      this.pos = 0; this.posBegin = 0; this.curFlags = 0;
      this.metaAd(label, false);
    }
    runF() {
      this.st[this.pos] ^= this.posBegin;
      this.st[this.pos + 1] ^= 0x04;
      this.st[STROBE_R + 1] ^= 0x80;
      keccakF(this.st);
      this.pos = 0; this.posBegin = 0;
    }
    absorb(data) {
      for (const byte of data) {
        this.st[this.pos] ^= byte;
        this.pos += 1;
        if (this.pos === STROBE_R) this.runF();
      }
    }
    squeeze(out) {
      for (let i = 0; i < out.length; i++) {
        out[i] = this.st[this.pos];
        this.st[this.pos] = 0;
        this.pos += 1;
        if (this.pos === STROBE_R) this.runF();
      }
    }
    beginOp(flags, more) {
      if (more) {
        if (this.curFlags !== flags) throw new Error('strobe: continued operation with other flags');
        return;
      }
      const oldBegin = this.posBegin;
      this.posBegin = this.pos + 1;
      this.curFlags = flags;
      this.absorb([oldBegin, flags]);
      if ((flags & (FLAG_C | FLAG_K)) !== 0 && this.pos !== 0) this.runF();
    }
    metaAd(data, more) { this.beginOp(FLAG_M | FLAG_A, more); this.absorb(data); }
    ad(data, more) { this.beginOp(FLAG_A, more); this.absorb(data); }
    prf(out, more) { this.beginOp(FLAG_I | FLAG_A | FLAG_C, more); this.squeeze(out); }
  }

  const utf8 = (s) => new TextEncoder().encode(s);
  const u32le = (n) => Uint8Array.from([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]);

  class Transcript {
    constructor(label) {
      this.strobe = new Strobe128(utf8('Merlin v1.0'));
      this.appendMessage('dom-sep', utf8(label));
    }
    appendMessage(label, message) {
      this.strobe.metaAd(utf8(label), false);
      this.strobe.metaAd(u32le(message.length), true);
      this.strobe.ad(message, false);
    }
    challengeBytes(label, length) {
      const out = new Uint8Array(length);
      this.strobe.metaAd(utf8(label), false);
      this.strobe.metaAd(u32le(length), true);
      this.strobe.prf(out, false);
      return out;
    }
  }

  // ---- ristretto255 (RFC 9496) over edwards25519 in extended coordinates, and scalars ----
  const P = (1n << 255n) - 19n;
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
  const SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752n;
  const INVSQRT_A_MINUS_D = 54469307008909316920995813868745141605393597292927456921205312896311721017578n;

  const mod = (a, m = P) => { const r = a % m; return r < 0n ? r + m : r; };
  function pow(base, exp, m = P) {
    let result = 1n; base = mod(base, m);
    while (exp > 0n) { if (exp & 1n) result = (result * base) % m; base = (base * base) % m; exp >>= 1n; }
    return result;
  }
  const isNegative = (x) => (mod(x) & 1n) === 1n;
  const abs = (x) => (isNegative(x) ? mod(-x) : mod(x));

  function sqrtRatioM1(u, v) {
    const v3 = mod(v * v * v);
    const v7 = mod(v3 * v3 * v);
    let r = mod(mod(u * v3) * pow(mod(u * v7), (P - 5n) / 8n));
    const check = mod(v * r * r);
    const correct = check === mod(u);
    const flipped = check === mod(-u);
    const flippedI = check === mod(-u * SQRT_M1);
    if (flipped || flippedI) r = mod(r * SQRT_M1);
    return { wasSquare: correct || flipped, r: abs(r) };
  }

  const leInt = (bytes) => { let n = 0n; for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]); return n; };
  const leBytes = (n, len) => { const out = new Uint8Array(len); for (let i = 0; i < len; i++) { out[i] = Number(n & 0xffn); n >>= 8n; } return out; };

  function decode(bytes) {
    const s = leInt(bytes);
    if (bytes.length !== 32 || s >= P || isNegative(s)) throw new Error('ristretto: not a canonical encoding');
    const ss = mod(s * s);
    const u1 = mod(1n - ss);
    const u2 = mod(1n + ss);
    const u2sq = mod(u2 * u2);
    const v = mod(-(D * u1 * u1) - u2sq);
    const { wasSquare, r: invsqrt } = sqrtRatioM1(1n, mod(v * u2sq));
    const denX = mod(invsqrt * u2);
    const denY = mod(invsqrt * denX * v);
    const x = abs(2n * s * denX);
    const y = mod(u1 * denY);
    const t = mod(x * y);
    if (!wasSquare || isNegative(t) || y === 0n) throw new Error('ristretto: not a point');
    return [x, y, 1n, t];
  }

  function encode([x0, y0, z0, t0]) {
    const u1 = mod((z0 + y0) * (z0 - y0));
    const u2 = mod(x0 * y0);
    const { r: invsqrt } = sqrtRatioM1(1n, mod(u1 * u2 * u2));
    const den1 = mod(invsqrt * u1);
    const den2 = mod(invsqrt * u2);
    const zInv = mod(den1 * den2 * t0);
    const rotate = isNegative(mod(t0 * zInv));
    let x = rotate ? mod(y0 * SQRT_M1) : x0;
    let y = rotate ? mod(x0 * SQRT_M1) : y0;
    const denInv = rotate ? mod(den1 * INVSQRT_A_MINUS_D) : den2;
    if (isNegative(mod(x * zInv))) y = mod(-y);
    return leBytes(abs(denInv * (z0 - y)), 32);
  }

  function add([x1, y1, z1, t1], [x2, y2, z2, t2]) {
    const a = mod((y1 - x1) * (y2 - x2));
    const b = mod((y1 + x1) * (y2 + x2));
    const c = mod(t1 * 2n * D * t2);
    const d = mod(z1 * 2n * z2);
    const e = b - a, f = d - c, g = d + c, h = b + a;
    return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
  }

  function mul(point, scalar) {
    let result = [0n, 1n, 1n, 0n];
    for (let i = 255n; i >= 0n; i--) {
      result = add(result, result);
      if ((scalar >> i) & 1n) result = add(result, point);
    }
    return result;
  }

  // ---- the possession proof ----
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  function unhex(text) {
    if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new Error('not hex');
    return Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));
  }

  /** `G_id`, the identity generator (specs/privacy.md, generator table). */
  const G_ID = '96e7f179c7208f02062b4b7d6def640090db76381d92e5cc35d4d3b432c00e49';
  const KDF_DRIVER_SCALAR = 'kvitto 2026-11 v1 driver identity scalar';
  const HASH_RECEIPT_FETCH = 'kvitto 2026-11 v1 receipt fetch binding';
  const TRANSCRIPT_POSSESSION_PROOF = 'kvitto 2026-11 v1 driver possession proof';

  /** The driver's scalar and pseudonym from the 32-byte secret. */
  function driverKeys(secret) {
    if (secret.length !== 32) throw new Error('a driver secret is 32 bytes (64 hex digits)');
    const x = mod(leInt(deriveKey(KDF_DRIVER_SCALAR, secret, 64)), L);
    return { x, pseudonym: encode(mul(decode(unhex(G_ID)), x)) };
  }

  /** `fetch_binding(origin, challenge)`: what the proof covers (specs/receipts.md). */
  function fetchBinding(origin, challenge) {
    const originBytes = utf8(origin);
    const len = Math.min(originBytes.length, 0xffff);
    return deriveKey(HASH_RECEIPT_FETCH, Uint8Array.from([len >> 8, len & 0xff, ...originBytes, ...challenge]), 32);
  }

  /** A possession proof `R ‖ s` for the pseudonym over `challenge`, with a fresh random nonce. */
  function provePossession(keys, challenge) {
    const t = new Transcript(TRANSCRIPT_POSSESSION_PROOF);
    t.appendMessage('X', keys.pseudonym);
    t.appendMessage('challenge', challenge);
    const k = mod(leInt(crypto.getRandomValues(new Uint8Array(64))), L);
    const nonceCommitment = encode(mul(decode(unhex(G_ID)), k));
    t.appendMessage('R', nonceCommitment);
    const c = mod(leInt(t.challengeBytes('c', 64)), L);
    return Uint8Array.from([...nonceCommitment, ...leBytes(mod(k + c * keys.x, L), 32)]);
  }

  return { deriveKey, Transcript, decode, encode, add, mul, driverKeys, fetchBinding, provePossession, hex, unhex };
})();

if (typeof module !== 'undefined') module.exports = KC;
