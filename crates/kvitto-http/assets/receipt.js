// The driver's receipt checker (served at /receipt/app.js; the page is /receipt).
//
// It checks in the browser what WebCrypto can check, with the same rules as the complete Rust
// verifier (crates/kvitto-receipt/src/verify.rs): Ed25519 signatures on the checkpoint and the
// readings, SHA-256 inclusion proofs, and the comparisons of logged fields that need no other
// cryptography. What needs blake3, the tariff engine or ristretto255 (readings digest, price,
// commitments, range proof, identity opening) is listed as not checked here, never faked.
//
// The receipt is hostile input: it is only ever put into the page as text (textContent), every
// problem becomes a failed check or a clear error, and nothing is sent anywhere (the page's CSP
// has connect-src 'none').

'use strict';

(function () {
  const FORMAT = 'kvitto-receipt/1';
  const SIG_READING = 'kvitto/v1/sig/meter-reading';
  const RECEIPT_BYTES_MAX = 32 * 1024 * 1024;
  const READINGS_MAX = 100000;

  // kvitto-core: entry and reading layout and limits.
  const ENTRY_VERSION = 1;
  const TYPE_CHARGER_REGISTERED = 1;
  const TYPE_SESSION_CLOSED = 3;
  const TYPE_TARIFF_PUBLISHED = 4;
  const ENTRY_TYPE_NAMES = {
    1: 'charger_registered', 2: 'charger_revoked', 3: 'session_closed',
    4: 'tariff_published', 5: 'charger_key_cloned', 6: 'evidence_disclosed',
  };
  const EXT_TARIFF_REF = 1;
  const EXT_PRIVACY = 2;
  const ENTRY_LEN_MAX = 60 * 1024;
  const EVSE_ID_LEN_MAX = 48;
  const METER_SERIAL_LEN_MAX = 64;
  const TEXT_LEN_MAX = 256;
  const TARIFF_JSON_LEN_MAX = 32 * 1024;
  const RANGE_PROOF_LEN_MAX = 32 * (9 + 2 * 12);
  const READING_BODY_LEN = 106;
  const READING_SIGNED_LEN = READING_BODY_LEN + 64;

  // kvitto-tlog: signed notes, cosignatures, checkpoints and policies.
  const ALG_ED25519 = 0x01;
  const ALG_COSIGNATURE_V1 = 0x04;
  const NOTE_SIZE_MAX = 256 * 1024;
  const NOTE_SIGNATURES_MAX = 64;
  const NOTE_SIGNATURE_SIZE_MAX = 8 * 1024;
  const KEY_NAME_SIZE_MAX = 255;
  const CHECKPOINT_EXTENSIONS_MAX = 16;
  const COSIGNATURE_TIMESTAMP_MAX = (1n << 63n) - 1n;
  const POLICY_SIZE_MAX = 64 * 1024;
  const POLICY_LOGS_MAX = 64;
  const POLICY_WITNESSES_MAX = 64;
  const POLICY_GROUPS_MAX = 64;
  const U64_MAX = (1n << 64n) - 1n;

  // The checks, in the Rust verifier's order and with its names. `where` says where each runs.
  const CHECKS = [
    { name: 'format', where: 'browser', title: 'The file is a kvitto receipt' },
    { name: 'checkpoint', where: 'browser', title: 'The log signed the checkpoint, and enough witnesses cosigned it', how: 'Ed25519 and SHA-256 (WebCrypto)' },
    { name: 'session_inclusion', where: 'browser', title: 'Your session record is in the log', how: 'SHA-256 (WebCrypto)' },
    { name: 'charger_inclusion', where: 'browser', title: "The charger's meter key is registered in the log", how: 'SHA-256 (WebCrypto)' },
    { name: 'tariff_inclusion', where: 'browser', title: 'The tariff is published in the log, and it is the one the session names', how: 'SHA-256 (WebCrypto)' },
    { name: 'reading_signatures', where: 'browser', title: "The charger's meter signed every reading", how: 'Ed25519 (WebCrypto)' },
    { name: 'readings_match_record', where: 'cli', title: 'The readings are exactly the ones the session record binds', why: 'their digest is a blake3 hash, which browsers do not offer' },
    { name: 'charger_valid_at_time', where: 'browser', title: 'The meter key was valid when the session started', how: 'comparing the logged entries' },
    { name: 'tariff_in_force', where: 'browser', title: 'The tariff was in force and is the one the charger is registered with', how: 'comparing the logged entries' },
    { name: 'price', where: 'cli', title: 'The price is recomputed from the readings and the tariff', why: 'recomputing an OCPI price needs the tariff engine' },
    { name: 'amount_openings', where: 'cli', title: 'The price commitments on the log open to that price', why: 'Pedersen commitments on ristretto255 are not in WebCrypto' },
    { name: 'range_proof', where: 'cli', title: 'The committed amounts are proven to be in range', why: 'Bulletproofs on ristretto255 are not in WebCrypto' },
    { name: 'identity_opening', where: 'cli', title: 'The session is yours: its identity commitment opens to your pseudonym', why: 'the identity commitment is on ristretto255, which is not in WebCrypto' },
    { name: 'summary', where: 'browser', title: 'What the receipt says in words matches the logged data', how: 'comparing the logged entries' },
  ];

  const $ = (id) => document.getElementById(id);
  const utf8 = new TextEncoder();
  const utf8Strict = new TextDecoder('utf-8', { fatal: true });

  /** A problem with the receipt, said in one sentence for the driver. */
  class Bad extends Error {}

  // ---- bytes ------------------------------------------------------------------------------

  function concat(...parts) {
    let length = 0;
    for (const p of parts) length += p.length;
    const out = new Uint8Array(length);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function toHex(bytes) {
    let s = '';
    for (const b of bytes) s += b.toString(16).padStart(2, '0');
    return s;
  }

  /** Hex as the `hex` crate reads it (either case), or Bad naming `what`. */
  function fromHex(text, what, length, lowercaseOnly) {
    if (typeof text !== 'string') throw new Bad(`${what} is not a string`);
    const pattern = lowercaseOnly ? /^[0-9a-f]*$/ : /^[0-9a-fA-F]*$/;
    if (text.length % 2 !== 0 || !pattern.test(text)) throw new Bad(`${what} is not hex`);
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    if (length !== undefined && out.length !== length) {
      throw new Bad(`${what} is ${out.length} bytes, expected ${length}`);
    }
    return out;
  }

  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

  /** Standard base64 with canonical padding and zero trailing bits, or null (kvitto-tlog text.rs). */
  function fromBase64Strict(text) {
    if (typeof text !== 'string' || text.length % 4 !== 0) return null;
    const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
    const body = text.slice(0, text.length - pad);
    const values = [];
    for (const ch of body) {
      const v = B64.indexOf(ch);
      if (v < 0) return null;
      values.push(v);
    }
    if (pad > 0 && values.length % 4 === 0) return null;
    const out = [];
    let bits = 0;
    let buffer = 0;
    for (const v of values) {
      buffer = (buffer << 6) | v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push((buffer >> bits) & 0xff);
        buffer &= (1 << bits) - 1;
      }
    }
    if (buffer !== 0) return null;
    if ((values.length + pad) % 4 !== 0) return null;
    return new Uint8Array(out);
  }

  function toBase64(bytes) {
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }

  /** Base64url of the fragment, padded or not. */
  function fromBase64Url(text) {
    if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) throw new Bad('the receipt in the address is not base64url');
    let b64 = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
    if (b64.length % 4 === 1) throw new Bad('the receipt in the address is cut short');
    while (b64.length % 4 !== 0) b64 += '=';
    const raw = atob(b64);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  }

  /** The canonical decimal kvitto-tlog accepts: no sign, no leading zero, at most u64::MAX. */
  function parseDecimal(text) {
    if (!/^(0|[1-9][0-9]*)$/.test(text)) return null;
    const n = BigInt(text);
    return n <= U64_MAX ? n : null;
  }

  // ---- Ed25519 under kvitto's strict rule ---------------------------------------------------
  //
  // kvitto verifies with ed25519-dalek's verify_strict. Chromium's Ed25519 (BoringSSL) already
  // rejects a non-canonical S and compares R byte for byte, so what remains is to refuse keys
  // that are not points and small-order keys and R points, as verify_strict does.

  const P = (1n << 255n) - 19n;
  const D = mod(-121665n * modPow(121666n, P - 2n));
  // The y coordinates of the eight small-order points: 1 (order 1), -1 (order 2), 0 (order 4),
  // and ±c (order 8).
  const ORDER8_Y = 0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n;
  const SMALL_ORDER_Y = [0n, 1n, P - 1n, ORDER8_Y, P - ORDER8_Y];

  function mod(a) {
    const r = a % P;
    return r < 0n ? r + P : r;
  }

  function modPow(base, exponent) {
    let result = 1n;
    let b = mod(base);
    let e = exponent;
    while (e > 0n) {
      if (e & 1n) result = (result * b) % P;
      b = (b * b) % P;
      e >>= 1n;
    }
    return result;
  }

  /** The y coordinate of a point encoding, reduced as curve25519-dalek reads it. */
  function pointY(bytes) {
    let y = 0n;
    for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? bytes[i] & 0x7f : bytes[i]);
    return mod(y);
  }

  /** Whether the encoding decompresses to a curve point: (y² - 1) / (d·y² + 1) is a square. */
  function isPoint(bytes) {
    const y = pointY(bytes);
    const y2 = (y * y) % P;
    const u = mod(y2 - 1n);
    const v = mod(D * y2 + 1n);
    const x2 = (u * modPow(v, P - 2n)) % P;
    const legendre = modPow(x2, (P - 1n) / 2n);
    return legendre === 0n || legendre === 1n;
  }

  function isSmallOrder(bytes) {
    const y = pointY(bytes);
    return SMALL_ORDER_Y.includes(y);
  }

  /** Public key hex -> imported CryptoKey, or null for a key the strict rule refuses. */
  const importedKeys = new Map();

  async function ed25519VerifyStrict(publicKey, message, signature) {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    if (isSmallOrder(signature.subarray(0, 32))) return false;
    const id = toHex(publicKey);
    let key = importedKeys.get(id);
    if (key === undefined) {
      key = null;
      if (isPoint(publicKey) && !isSmallOrder(publicKey)) {
        try {
          key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
        } catch (e) {
          key = null;
        }
      }
      importedKeys.set(id, key);
    }
    if (key === null) return false;
    try {
      return await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
    } catch (e) {
      return false;
    }
  }

  async function ed25519Available() {
    try {
      // RFC 8032 test 1's public key: a valid key any Ed25519 implementation imports.
      const pk = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
      await crypto.subtle.importKey('raw', pk, { name: 'Ed25519' }, false, ['verify']);
      return true;
    } catch (e) {
      return false;
    }
  }

  // ---- the receipt file -------------------------------------------------------------------

  function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }

  /** Checks a JSON object's fields as serde's deny_unknown_fields does. */
  function fields(value, what, required, optional) {
    if (!isObject(value)) throw new Bad(`${what} is not a JSON object`);
    for (const key of Object.keys(value)) {
      if (!required.includes(key) && !optional.includes(key)) throw new Bad(`${what} has an unknown field "${key}"`);
    }
    for (const key of required) {
      if (!Object.hasOwn(value, key)) throw new Bad(`${what} lacks the field "${key}"`);
    }
  }

  function string(value, what) {
    if (typeof value !== 'string') throw new Bad(`${what} is not a string`);
    return value;
  }

  function optionalString(value, what) {
    if (value === undefined || value === null) return null;
    return string(value, what);
  }

  function index(value, what) {
    if (!Number.isSafeInteger(value) || value < 0) throw new Bad(`${what} is not a log index`);
    return BigInt(value);
  }

  class Reader {
    constructor(bytes, what) {
      this.bytes = bytes;
      this.at = 0;
      this.what = what;
    }
    take(field, n) {
      if (this.bytes.length - this.at < n) throw new Bad(`${this.what}: ${field} is cut short`);
      const out = this.bytes.subarray(this.at, this.at + n);
      this.at += n;
      return out;
    }
    u8(field) { return this.take(field, 1)[0]; }
    u16(field) { const b = this.take(field, 2); return (b[0] << 8) | b[1]; }
    u32(field) { const b = this.take(field, 4); return ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3]; }
    u64(field) {
      const b = this.take(field, 8);
      return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
    }
    text(field, max) {
      const length = this.u16(field);
      if (length > max) throw new Bad(`${this.what}: ${field} is ${length} bytes, at most ${max} allowed`);
      try {
        return utf8Strict.decode(this.take(field, length));
      } catch (e) {
        if (e instanceof Bad) throw e;
        throw new Bad(`${this.what}: ${field} is not UTF-8`);
      }
    }
    blob(field, max) {
      const length = this.u32(field);
      if (length > max) throw new Bad(`${this.what}: ${field} is ${length} bytes, at most ${max} allowed`);
      return this.take(field, length);
    }
    optionTag(field) {
      const tag = this.u8(field);
      if (tag > 1) throw new Bad(`${this.what}: ${field} has option tag ${tag}`);
      return tag === 1;
    }
    finish() {
      if (this.at !== this.bytes.length) throw new Bad(`${this.what} has ${this.bytes.length - this.at} trailing bytes`);
    }
  }

  /** Decodes a log entry of the expected type (kvitto-core entry.rs). */
  function decodeEntry(bytes, what, expectedType) {
    if (bytes.length > ENTRY_LEN_MAX) throw new Bad(`${what} is ${bytes.length} bytes, at most ${ENTRY_LEN_MAX} allowed`);
    const r = new Reader(bytes, what);
    const version = r.u8('entry version');
    if (version !== ENTRY_VERSION) throw new Bad(`${what}: entry version ${version} is not ${ENTRY_VERSION}`);
    const type = r.u8('entry type');
    if (type !== expectedType) {
      const name = ENTRY_TYPE_NAMES[type] || `an entry of unknown type ${type}`;
      throw new Bad(`${what} is a ${name}, not a ${ENTRY_TYPE_NAMES[expectedType]} entry`);
    }
    let entry;
    if (type === TYPE_CHARGER_REGISTERED) {
      entry = {
        publicKey: r.take('public_key', 32),
        evseId: r.text('evse_id', EVSE_ID_LEN_MAX),
        meterSerial: r.text('meter_serial', METER_SERIAL_LEN_MAX),
        maxPowerW: r.u32('max_power_w'),
        validFromMs: r.u64('valid_from_ms'),
        tariffId: r.optionTag('tariff_id') ? r.text('tariff_id', TEXT_LEN_MAX) : null,
      };
    } else if (type === TYPE_SESSION_CLOSED) {
      entry = {
        session: r.take('session', 16),
        keyId: r.take('key_id', 16),
        firstCounter: r.u64('first_counter'),
        lastCounter: r.u64('last_counter'),
        startMs: r.u64('start_ms'),
        stopMs: r.u64('stop_ms'),
        energyWh: r.u64('energy_wh'),
        readingCount: r.u32('reading_count'),
        readingsDigest: r.take('readings_digest', 32),
        tariff: null,
        privacy: null,
      };
      const count = r.u16('extension count');
      let lastTag = -1;
      for (let i = 0; i < count; i++) {
        const tag = r.u16('extension tag');
        if (tag <= lastTag) throw new Bad(`${what}: extension tags must strictly increase`);
        lastTag = tag;
        const value = r.blob('extension value', ENTRY_LEN_MAX);
        if (tag === EXT_TARIFF_REF) {
          const e = new Reader(value, `${what}'s tariff reference`);
          entry.tariff = { index: e.u64('tariff index'), leafHash: e.take('tariff leaf hash', 32) };
          e.finish();
        } else if (tag === EXT_PRIVACY) {
          const e = new Reader(value, `${what}'s commitments`);
          entry.privacy = {
            amountExclVat: e.take('amount_excl_vat', 32),
            amountInclVat: e.take('amount_incl_vat', 32),
            rangeProof: e.blob('range_proof', RANGE_PROOF_LEN_MAX),
            identity: e.take('identity', 32),
            evidenceDigest: e.take('evidence_digest', 32),
          };
          e.finish();
        }
      }
    } else {
      const tariffId = r.text('tariff_id', TEXT_LEN_MAX);
      const counterparty = r.optionTag('counterparty') ? r.text('counterparty', TEXT_LEN_MAX) : null;
      const validFromMs = r.u64('valid_from_ms');
      const json = r.blob('tariff_json', TARIFF_JSON_LEN_MAX);
      let tariffJson;
      try {
        tariffJson = utf8Strict.decode(json);
      } catch (e) {
        throw new Bad(`${what}: the tariff JSON is not UTF-8`);
      }
      entry = { tariffId, counterparty, validFromMs, tariffJson };
    }
    r.finish();
    return entry;
  }

  /** Decodes a 170-byte signed reading (kvitto-core reading.rs). */
  function decodeReading(bytes, number) {
    const what = `reading ${number}`;
    if (bytes.length !== READING_SIGNED_LEN) throw new Bad(`${what} is ${bytes.length} bytes, expected ${READING_SIGNED_LEN}`);
    const r = new Reader(bytes, what);
    const version = r.u8('version');
    if (version !== 1) throw new Bad(`${what}: version ${version} is not 1`);
    const reading = {
      network: r.take('network', 16),
      keyId: r.take('key_id', 16),
      session: r.take('session', 16),
      counter: r.u64('counter'),
      kind: r.u8('kind'),
      timestampMs: r.u64('timestamp_ms'),
      registerWh: r.u64('register_wh'),
      prevHash: r.take('prev_hash', 32),
      body: bytes.subarray(0, READING_BODY_LEN),
      signature: bytes.subarray(READING_BODY_LEN),
    };
    if (reading.kind < 1 || reading.kind > 3) throw new Bad(`${what}: kind ${reading.kind} is not 1, 2 or 3`);
    if (reading.counter === 0n) throw new Bad(`${what}: counters start at 1`);
    return reading;
  }

  function proven(value, what, expectedType) {
    fields(value, what, ['index', 'entry', 'proof'], []);
    const idx = index(value.index, `${what}'s index`);
    const bytes = fromHex(value.entry, what);
    if (!Array.isArray(value.proof)) throw new Bad(`${what}'s proof is not a list`);
    const proof = value.proof.map((h, i) => fromHex(h, `${what}'s proof hash ${i + 1}`, 32, true));
    return { index: idx, bytes, proof, entry: decodeEntry(bytes, what, expectedType) };
  }

  function isWellFormed(text) {
    if (typeof text.isWellFormed === 'function') return text.isWellFormed();
    return !/[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/.test(text);
  }

  /** UTF-8 JSON whose strings are all Unicode text, as serde_json requires. */
  function parseJson(bytes) {
    let text;
    try {
      text = utf8Strict.decode(bytes);
    } catch (e) {
      throw new Bad('the file is not text (UTF-8)');
    }
    try {
      return JSON.parse(text, (key, value) => {
        if (!isWellFormed(key) || (typeof value === 'string' && !isWellFormed(value))) {
          throw new Bad('the file holds a string that is not Unicode text');
        }
        return value;
      });
    } catch (e) {
      if (e instanceof Bad) throw e;
      throw new Bad(`the file is not JSON (${e.message})`);
    }
  }

  /** Everything the checks work on, decoded once; throws Bad for a malformed receipt. */
  function parseReceipt(receipt) {
    fields(receipt, 'the receipt',
      ['format', 'summary', 'log', 'checkpoint', 'policy', 'session', 'charger', 'readings', 'time_zone', 'openings', 'driver'],
      ['tariff', 'breakdown']);
    if (receipt.format !== FORMAT) throw new Bad(`the format ${JSON.stringify(String(receipt.format))} is not ${FORMAT}`);
    const s = receipt.summary;
    fields(s, 'the summary', ['operator', 'evse_id', 'start', 'stop', 'energy_kwh'], ['currency', 'total_excl_vat', 'total_incl_vat']);
    const summary = {
      operator: string(s.operator, 'the operator'),
      evseId: string(s.evse_id, 'the charge point'),
      start: string(s.start, 'the start'),
      stop: string(s.stop, 'the stop'),
      energyKwh: string(s.energy_kwh, 'the energy'),
      currency: optionalString(s.currency, 'the currency'),
      totalExclVat: optionalString(s.total_excl_vat, 'the total excl. VAT'),
      totalInclVat: optionalString(s.total_incl_vat, 'the total incl. VAT'),
    };
    fields(receipt.log, 'the log reference', ['origin', 'key'], []);
    const origin = string(receipt.log.origin, 'the log origin');
    const logKey = string(receipt.log.key, 'the log key');
    const parts = origin.split('/');
    if (parts.length !== 3 || parts[0] !== 'kvitto') throw new Bad(`the origin ${JSON.stringify(origin)} is not kvitto/<network>/<log id>`);
    const checkpoint = string(receipt.checkpoint, 'the checkpoint');
    const policy = string(receipt.policy, 'the policy');
    const session = proven(receipt.session, 'the session record', TYPE_SESSION_CLOSED);
    const charger = proven(receipt.charger, 'the charger registration', TYPE_CHARGER_REGISTERED);
    const tariff = receipt.tariff === undefined || receipt.tariff === null
      ? null : proven(receipt.tariff, 'the tariff', TYPE_TARIFF_PUBLISHED);
    if (!Array.isArray(receipt.readings)) throw new Bad('the readings are not a list');
    if (receipt.readings.length > READINGS_MAX) throw new Bad(`the receipt has more than ${READINGS_MAX} readings`);
    const readings = receipt.readings.map((text, i) => decodeReading(fromHex(text, `reading ${i + 1}`), i + 1));
    const timeZone = string(receipt.time_zone, 'the time zone');
    try {
      new Intl.DateTimeFormat('en', { timeZone });
    } catch (e) {
      throw new Bad(`the time zone ${JSON.stringify(timeZone)} is not a time zone this browser knows`);
    }
    fields(receipt.openings, 'the openings', ['amount_excl_vat', 'amount_incl_vat', 'identity'], []);
    fromHex(receipt.openings.amount_excl_vat, 'the excl. VAT amount opening', 40);
    fromHex(receipt.openings.amount_incl_vat, 'the incl. VAT amount opening', 40);
    fromHex(receipt.openings.identity, 'the identity opening', 32);
    fromHex(receipt.driver, 'the driver pseudonym', 32);
    const breakdown = receipt.breakdown === undefined ? null : receipt.breakdown;
    return { summary, origin, logKey, checkpoint, policy, session, charger, tariff, readings, timeZone, breakdown };
  }

  // ---- C2SP signed notes, cosignatures, checkpoints and policies (kvitto-tlog) -------------

  function byteLength(text) {
    return utf8.encode(text).length;
  }

  function isValidKeyName(name) {
    return name.length > 0 && byteLength(name) <= KEY_NAME_SIZE_MAX
      && !/[\p{White_Space}+\x00-\x1f\x7f]/u.test(name);
  }

  /** `<name>+<8 lowercase hex key id>+<base64(type ‖ 32-byte key)>`, as note.rs parses a vkey. */
  async function parseVerifierKey(text, type) {
    const plus1 = text.indexOf('+');
    const plus2 = plus1 < 0 ? -1 : text.indexOf('+', plus1 + 1);
    if (plus2 < 0) throw new Bad('is not of the form name+hex key id+base64 key');
    const name = text.slice(0, plus1);
    const id = text.slice(plus1 + 1, plus2);
    if (!isValidKeyName(name)) throw new Bad(`has an invalid key name ${JSON.stringify(name)}`);
    if (!/^[0-9a-f]{8}$/.test(id)) throw new Bad('is not of the form name+hex key id+base64 key');
    const material = fromBase64Strict(text.slice(plus2 + 1));
    if (material === null || material.length === 0) throw new Bad('is not of the form name+hex key id+base64 key');
    if (material[0] !== type) throw new Bad(`has signature type 0x${material[0].toString(16).padStart(2, '0')}, expected 0x0${type}`);
    const publicKey = material.subarray(1);
    if (publicKey.length !== 32) throw new Bad(`has ${publicKey.length} bytes of key material, expected 32`);
    if (!isPoint(publicKey)) throw new Bad('is not a valid Ed25519 point');
    if (isSmallOrder(publicKey)) throw new Bad('has small order');
    const derived = toHex((await sha256(concat(utf8.encode(name), new Uint8Array([0x0a, type]), publicKey))).subarray(0, 4));
    if (derived !== id) throw new Bad(`has key id ${id}, but ${derived} is derived from the key`);
    return { name, keyId: id, type, publicKey, text };
  }

  /** Parses C2SP tlog-policy text as policy.rs does. */
  async function parsePolicy(text) {
    if (byteLength(text) > POLICY_SIZE_MAX) throw new Bad(`the policy is larger than ${POLICY_SIZE_MAX} bytes`);
    const logs = [];
    const witnesses = [];
    const groups = [];
    const listedMembers = [];
    let quorum;
    const resolve = (name) => {
      const w = witnesses.findIndex((x) => x.name === name);
      if (w >= 0) return { witness: w };
      const g = groups.findIndex((x) => x.name === name);
      if (g >= 0) return { group: g };
      return null;
    };
    const lines = text.split('\n');
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n];
      const fail = (why) => new Bad(`the policy's line ${n + 1}: ${why}`);
      if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line)) throw fail('a control character');
      const f = line.split(/[ \t]/).filter((x) => x.length > 0);
      if (f.length === 0 || f[0].startsWith('#')) continue;
      const url = (rest) => {
        if (rest.length > 1) throw fail('wrong number of fields');
      };
      const newName = (name) => {
        if (name === 'none') throw fail('the name none is reserved');
        if (resolve(name) !== null) throw fail(`the name ${JSON.stringify(name)} is already defined`);
      };
      const key = async (vkey, type) => {
        try {
          return await parseVerifierKey(vkey, type);
        } catch (e) {
          if (e instanceof Bad) throw fail(`the key ${e.message}`);
          throw e;
        }
      };
      if (f[0] === 'log' && f.length >= 2) {
        url(f.slice(2));
        const k = await key(f[1], ALG_ED25519);
        if (logs.some((l) => equalBytes(l.publicKey, k.publicKey))) throw fail('the same public key is listed twice');
        if (logs.length === POLICY_LOGS_MAX) throw fail('too many logs');
        logs.push(k);
      } else if (f[0] === 'witness' && f.length >= 3) {
        url(f.slice(3));
        newName(f[1]);
        const k = await key(f[2], ALG_COSIGNATURE_V1);
        if (witnesses.some((w) => equalBytes(w.key.publicKey, k.publicKey))) throw fail('the same public key is listed twice');
        if (witnesses.length === POLICY_WITNESSES_MAX) throw fail('too many witnesses');
        witnesses.push({ name: f[1], key: k });
      } else if (f[0] === 'group' && f.length >= 4) {
        const [, name, threshold, ...members] = f;
        newName(name);
        if (groups.length === POLICY_GROUPS_MAX) throw fail('too many groups');
        let k;
        if (threshold === 'all') k = members.length;
        else if (threshold === 'any') k = 1;
        else {
          const d = parseDecimal(threshold);
          if (d === null || d < 1n || d > BigInt(members.length)) throw fail('the threshold is not all, any or a number from 1 to the number of members');
          k = Number(d);
        }
        const resolved = [];
        for (const member of members) {
          if (member === 'none') throw fail('the name none is reserved');
          const found = resolve(member);
          if (found === null) throw fail(`the name ${JSON.stringify(member)} is not defined on a preceding line`);
          if (listedMembers.includes(member)) throw fail(`${JSON.stringify(member)} is already a group member`);
          listedMembers.push(member);
          resolved.push(found);
        }
        groups.push({ name, threshold: k, members: resolved });
      } else if (f[0] === 'quorum' && f.length === 2) {
        if (quorum !== undefined) throw fail('a second quorum line');
        if (f[1] === 'none') quorum = null;
        else {
          quorum = resolve(f[1]);
          if (quorum === null) throw fail(`the name ${JSON.stringify(f[1])} is not defined on a preceding line`);
        }
      } else if (['log', 'witness', 'group', 'quorum'].includes(f[0])) {
        throw fail('wrong number of fields');
      } else {
        throw fail(`unknown keyword ${JSON.stringify(f[0])}`);
      }
    }
    if (quorum === undefined) throw new Bad('the policy has no quorum line');
    return { logs, witnesses, groups, quorum };
  }

  function isQuorumMet(policy, hasCosigned) {
    const met = [];
    const isWitnessed = (m) => (m.witness !== undefined ? hasCosigned[m.witness] === true : met[m.group] === true);
    for (const group of policy.groups) {
      met.push(group.members.filter(isWitnessed).length >= group.threshold);
    }
    return policy.quorum === null ? true : isWitnessed(policy.quorum);
  }

  /** Splits a signed note as note.rs does: text (with its final newline) and signature lines. */
  function parseNote(message) {
    if (!isWellFormed(message)) throw new Bad('the checkpoint is not valid UTF-8');
    const size = byteLength(message);
    if (size > NOTE_SIZE_MAX) throw new Bad(`the checkpoint note is ${size} bytes, at most ${NOTE_SIZE_MAX} allowed`);
    const control = /[\x00-\x09\x0b-\x1f]/.exec(message);
    if (control) throw new Bad(`the checkpoint note contains the control character 0x${control[0].charCodeAt(0).toString(16).padStart(2, '0')}`);
    const split = message.lastIndexOf('\n\n');
    if (split < 0) throw new Bad('the checkpoint note has no blank line before its signatures');
    const text = message.slice(0, split + 1);
    const block = message.slice(split + 2);
    if (block.length === 0) throw new Bad('the checkpoint note has no signature lines');
    if (!block.endsWith('\n')) throw new Bad('the checkpoint note does not end in a newline');
    const signatures = [];
    const lines = block.slice(0, -1).split('\n');
    for (let n = 0; n < lines.length; n++) {
      if (signatures.length === NOTE_SIGNATURES_MAX) throw new Bad(`the checkpoint note has more than ${NOTE_SIGNATURES_MAX} signatures`);
      const malformed = new Bad(`the checkpoint note's signature line ${n + 1} is malformed`);
      if (!lines[n].startsWith('\u2014 ')) throw malformed;
      const rest = lines[n].slice(2);
      const space = rest.indexOf(' ');
      if (space < 0) throw malformed;
      const name = rest.slice(0, space);
      const payload = fromBase64Strict(rest.slice(space + 1));
      if (payload === null) throw malformed;
      if (!isValidKeyName(name)) throw new Bad(`the checkpoint note's signature line ${n + 1} has an invalid key name`);
      if (payload.length <= 4 || payload.length > NOTE_SIGNATURE_SIZE_MAX) throw new Bad(`the checkpoint note's signature line ${n + 1} has a signature of the wrong size`);
      signatures.push({ name, keyId: toHex(payload.subarray(0, 4)), bytes: payload.subarray(4) });
    }
    return { text, signatures };
  }

  /** Parses a checkpoint body strictly, as checkpoint.rs does. */
  async function parseCheckpoint(text) {
    if (!text.endsWith('\n')) throw new Bad('the checkpoint text does not end in a newline');
    const lines = text.slice(0, -1).split('\n');
    if (lines.length < 3) throw new Bad(`the checkpoint has ${lines.length} lines, expected at least 3`);
    lines.forEach((line, i) => {
      if (line.length === 0) throw new Bad(`the checkpoint's line ${i + 1} is empty`);
      if (/[\x00-\x1f]/.test(line)) throw new Bad(`the checkpoint's line ${i + 1} contains a control character`);
    });
    const [origin, sizeText, rootText, ...extensions] = lines;
    if (extensions.length > CHECKPOINT_EXTENSIONS_MAX) throw new Bad(`the checkpoint has more than ${CHECKPOINT_EXTENSIONS_MAX} extension lines`);
    const size = parseDecimal(sizeText);
    if (size === null) throw new Bad('the checkpoint tree size is not a decimal without leading zeroes');
    const root = fromBase64Strict(rootText);
    if (root === null || root.length !== 32) throw new Bad('the checkpoint root hash is not base64 of 32 bytes');
    if (byteLength(origin) > KEY_NAME_SIZE_MAX) throw new Bad(`the checkpoint origin is longer than ${KEY_NAME_SIZE_MAX} bytes`);
    if (size === 0n && !equalBytes(root, await sha256(new Uint8Array(0)))) throw new Bad("a checkpoint of the empty tree must have the empty tree's root");
    return { origin, size, root };
  }

  async function verifyNoteSignature(verifier, text, bytes) {
    if (verifier.type === ALG_ED25519) {
      return ed25519VerifyStrict(verifier.publicKey, utf8.encode(text), bytes);
    }
    // cosignature/v1: an 8-byte big-endian timestamp and an Ed25519 signature.
    if (bytes.length !== 72) return false;
    const timestamp = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
    if (timestamp > COSIGNATURE_TIMESTAMP_MAX) return false;
    const message = utf8.encode(`cosignature/v1\ntime ${timestamp}\n${text}`);
    return ed25519VerifyStrict(verifier.publicKey, message, bytes.subarray(8));
  }

  /**
   * The checkpoint check under the receipt's own policy: the note's known signatures all verify,
   * the log of the origin signed it, and a quorum of witnesses cosigned it.
   */
  async function checkCheckpoint(p, policy) {
    const note = parseNote(p.checkpoint);
    const verifiers = [...policy.logs, ...policy.witnesses.map((w) => w.key)];
    const verified = new Map();
    for (const signature of note.signatures) {
      const position = verifiers.findIndex((v) => v.name === signature.name && v.keyId === signature.keyId);
      if (position < 0 || verified.has(position)) continue;
      if (!(await verifyNoteSignature(verifiers[position], note.text, signature.bytes))) {
        throw new Bad(`the signature by ${signature.name}+${signature.keyId} does not verify`);
      }
      verified.set(position, signature);
    }
    if (verified.size === 0) throw new Bad('the checkpoint carries no signature by a key of the policy');
    const checkpoint = await parseCheckpoint(note.text);
    const log = policy.logs.findIndex((l, i) => verified.has(i) && l.name === checkpoint.origin);
    if (log < 0) throw new Bad(`the checkpoint for ${JSON.stringify(checkpoint.origin)} is not signed by a log of the policy`);
    const hasCosigned = policy.witnesses.map((_, w) => verified.has(policy.logs.length + w));
    if (!isQuorumMet(policy, hasCosigned)) throw new Bad('the checkpoint is not cosigned by a quorum of witnesses');
    if (checkpoint.origin !== p.origin) {
      throw new Bad(`the checkpoint is of log ${JSON.stringify(checkpoint.origin)}, the receipt names ${JSON.stringify(p.origin)}`);
    }
    const cosigned = policy.witnesses.filter((_, w) => hasCosigned[w]).map((w) => w.name);
    return { ...checkpoint, log: policy.logs[log], cosigned, signatureCount: note.signatures.length };
  }

  // ---- RFC 9162 inclusion proofs ----------------------------------------------------------

  async function leafHash(entry) {
    return sha256(concat(new Uint8Array([0x00]), entry));
  }

  async function nodeHash(left, right) {
    return sha256(concat(new Uint8Array([0x01]), left, right));
  }

  /** RFC 9162 section 2.1.3.2: whether `leaf` is leaf `index` of the tree of `size` with `root`. */
  async function verifyInclusion(index, size, leaf, proof, root) {
    if (index >= size) return `index ${index} is not below the tree size ${size}`;
    let fn = index;
    let sn = size - 1n;
    let r = leaf;
    for (const p of proof) {
      if (sn === 0n) return 'the proof has too many hashes';
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) return 'the proof has too few hashes';
    if (!equalBytes(r, root)) return "the proof does not lead to the checkpoint's root hash";
    return null;
  }

  // ---- the checks -------------------------------------------------------------------------

  function timeText(ms) {
    const date = new Date(Number(ms));
    if (ms > 8640000000000000n || Number.isNaN(date.getTime())) return `${ms} ms`;
    return date.toISOString();
  }

  function energyText(wh) {
    return `${wh / 1000n}.${String(wh % 1000n).padStart(3, '0')}`;
  }

  /** Runs the browser checks; returns name -> { outcome, detail } and what the display needs. */
  async function runChecks(p) {
    const results = new Map();
    const pass = (name, detail) => results.set(name, { outcome: 'pass', detail });
    const fail = (name, detail) => results.set(name, { outcome: 'fail', detail });
    const skip = (name, why) => results.set(name, { outcome: 'not-run', detail: `Skipped: ${why}.` });
    const attempt = async (name, fn) => {
      try {
        pass(name, await fn());
      } catch (e) {
        if (!(e instanceof Bad)) throw e;
        fail(name, sentence(e.message));
      }
    };
    const record = p.session.entry;
    const registration = p.charger.entry;

    pass('format', `A ${FORMAT} file; its log entries and readings decode. The session record is at log index ${p.session.index}.`);

    let policy = null;
    let checkpoint = null;
    try {
      policy = await parsePolicy(p.policy);
    } catch (e) {
      if (!(e instanceof Bad)) throw e;
      fail('checkpoint', sentence(`the policy inside the receipt cannot be used: ${e.message}`));
    }
    if (policy !== null) {
      await attempt('checkpoint', async () => {
        checkpoint = await checkCheckpoint(p, policy);
        const witnessed = checkpoint.cosigned.length === 0
          ? 'no witness cosignature (the policy requires none)'
          : `cosignatures by ${checkpoint.cosigned.join(', ')}, a quorum`;
        return `Signed by the log ${checkpoint.origin} at tree size ${checkpoint.size}, with ${witnessed}, under the policy INSIDE the receipt. That shows the receipt is consistent with itself; compare the log key below with the one your eMSP publishes.`;
      });
    }

    const inclusion = async (name, provenEntry, what, extra) => {
      if (checkpoint === null) {
        skip(name, 'the checkpoint did not check out, so there is no root hash to prove against');
        return;
      }
      await attempt(name, async () => {
        const leaf = await leafHash(provenEntry.bytes);
        const why = await verifyInclusion(provenEntry.index, checkpoint.size, leaf, provenEntry.proof, checkpoint.root);
        if (why !== null) throw new Bad(`${what} at index ${provenEntry.index}: ${why}`);
        const more = extra ? await extra(leaf) : '';
        return `${capitalise(what)} at index ${provenEntry.index} is in the checkpoint's tree of size ${checkpoint.size}.${more}`;
      });
    };
    await inclusion('session_inclusion', p.session, 'the session record');
    await inclusion('charger_inclusion', p.charger, 'the charger registration', async () => {
      if (p.charger.index >= p.session.index) throw new Bad('the charger registration is not before the session record');
      return ' It comes before the session record. Whether it is the key the session record names is checked by the complete verifier (the key id is a blake3 hash).';
    });
    if (p.tariff === null && record.tariff === null) {
      if (checkpoint === null) skip('tariff_inclusion', 'the checkpoint did not check out');
      else pass('tariff_inclusion', 'The session record names no tariff, and the receipt has none: the session is free.');
    } else if (p.tariff === null) {
      fail('tariff_inclusion', `The session record names the tariff at index ${record.tariff.index}, but the receipt has none.`);
    } else if (record.tariff === null) {
      fail('tariff_inclusion', `The receipt has a tariff (index ${p.tariff.index}), but the session record names none.`);
    } else {
      await inclusion('tariff_inclusion', p.tariff, 'the tariff', async (leaf) => {
        if (record.tariff.index !== p.tariff.index || !equalBytes(record.tariff.leafHash, leaf)) {
          throw new Bad(`the session record names the tariff at index ${record.tariff.index} with another leaf hash`);
        }
        if (p.tariff.index >= p.session.index) throw new Bad('the tariff is not before the session record');
        return ' It is the tariff the session record names, by index and leaf hash, published before it.';
      });
    }

    await attempt('reading_signatures', async () => {
      if (!isPoint(registration.publicKey)) throw new Bad('the registered charger key is not a valid Ed25519 key');
      if (p.readings.length === 0) throw new Bad('the receipt has no readings');
      if (p.readings.length !== record.readingCount) {
        throw new Bad(`the receipt has ${p.readings.length} readings, the session record counts ${record.readingCount}`);
      }
      const label = utf8.encode(SIG_READING);
      for (let i = 0; i < p.readings.length; i++) {
        const r = p.readings[i];
        if (!equalBytes(r.keyId, record.keyId)) throw new Bad(`reading ${i + 1} names another charger key than the session record`);
        if (!equalBytes(r.network, p.readings[0].network)) throw new Bad(`reading ${i + 1} is for another network than reading 1`);
        const message = concat(label, new Uint8Array([0]), r.body);
        if (!(await ed25519VerifyStrict(registration.publicKey, message, r.signature))) {
          throw new Bad(`reading ${i + 1}: the signature does not verify under the registered charger key`);
        }
      }
      return `${p.readings.length} readings signed by the charger key registered for ${registration.evseId} (key ${toHex(registration.publicKey).slice(0, 16)}…). Deriving the key id and the network id from the key and the network name needs blake3: the complete verifier does that.`;
    });

    // The exact start, stop and energy are in the signed readings; the public record only has
    // them coarse (start and stop to the hour, energy to the kWh).
    const firstReading = p.readings.length > 0 ? p.readings[0] : null;
    const lastReading = p.readings.length > 0 ? p.readings[p.readings.length - 1] : null;
    const startMs = firstReading ? firstReading.timestampMs : record.startMs;
    const stopMs = lastReading ? lastReading.timestampMs : record.stopMs;
    const energyWh = firstReading && lastReading && lastReading.registerWh >= firstReading.registerWh
      ? lastReading.registerWh - firstReading.registerWh : record.energyWh;

    await attempt('charger_valid_at_time', async () => {
      if (startMs < registration.validFromMs) {
        throw new Bad(`the session starts at ${timeText(startMs)} but the charger key is valid only from ${timeText(registration.validFromMs)}`);
      }
      return `The key is valid from ${timeText(registration.validFromMs)}, before the session started at ${timeText(startMs)}.`;
    });

    await attempt('tariff_in_force', async () => {
      if (p.tariff === null) return 'No tariff is named.';
      const t = p.tariff.entry;
      if (registration.tariffId !== t.tariffId) throw new Bad(`the tariff ${t.tariffId} is not the one the charger is registered with`);
      if (t.validFromMs > startMs) {
        throw new Bad(`the tariff is valid from ${timeText(t.validFromMs)}, after the session started at ${timeText(startMs)}`);
      }
      return `Tariff ${t.tariffId} (log index ${p.tariff.index}), in force from ${timeText(t.validFromMs)}, is the charger's tariff.`;
    });

    await attempt('summary', async () => {
      const s = p.summary;
      const differs = [];
      if (s.evseId !== registration.evseId) differs.push('charge point');
      const logId = p.origin.split('/')[2];
      if (s.operator.replace(/\*/g, '-').replace(/[A-Z]/g, (c) => c.toLowerCase()) !== logId) differs.push('operator');
      if (s.start !== timeText(startMs)) differs.push('start');
      if (s.stop !== timeText(stopMs)) differs.push('stop');
      if (s.energyKwh !== energyText(energyWh)) differs.push('energy');
      if (differs.length > 0) throw new Bad(`the summary's ${differs.join(', ')} differ(s) from the logged data`);
      return 'The operator, charge point, start, stop and energy match the charger registration and the signed readings. The price shown is checked by the complete verifier (price).';
    });

    for (const c of CHECKS) {
      if (c.where === 'cli') results.set(c.name, { outcome: 'not-run', detail: '' });
    }
    return { results, policy, checkpoint };
  }

  // ---- display ----------------------------------------------------------------------------

  function sentence(text) {
    const t = capitalise(text);
    return /[.!?]$/.test(t) ? t : `${t}.`;
  }

  function capitalise(text) {
    return text.length === 0 ? text : text[0].toUpperCase() + text.slice(1);
  }

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attributes || {})) node.setAttribute(k, v);
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function shown(value) {
    if (value === null || value === undefined) return '';
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return JSON.stringify(value);
  }

  function formatterFor(timeZone, options) {
    try {
      return new Intl.DateTimeFormat(undefined, { timeZone, ...options });
    } catch (e) {
      return new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', ...options });
    }
  }

  function localTime(iso, timeZone) {
    const date = new Date(iso);
    if (typeof iso !== 'string' || Number.isNaN(date.getTime())) return shown(iso);
    return formatterFor(timeZone, {
      weekday: 'short', year: 'numeric', month: 'short', day: 'numeric',
      hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
    }).format(date);
  }

  function duration(startIso, stopIso) {
    const ms = new Date(stopIso).getTime() - new Date(startIso).getTime();
    if (!Number.isFinite(ms) || ms < 0) return '';
    const minutes = Math.round(ms / 60000);
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return h > 0 ? `${h} h ${m} min` : `${m} min`;
  }

  /** A decimal amount with at least the currency's digits (`2` -> `2.00`); other values as text. */
  function money(value, digits) {
    const text = shown(value);
    const m = /^(-?[0-9]+)(?:\.([0-9]+))?$/.exec(text);
    if (m === null) return text;
    const fraction = (m[2] || '').padEnd(digits, '0');
    return fraction.length > 0 ? `${m[1]}.${fraction}` : m[1];
  }

  const DIMENSIONS = {
    Flat: 'Flat fee', Energy: 'Energy', Time: 'Charging time', ParkingTime: 'Parking time',
    ReservationFlat: 'Reservation fee', ReservationTime: 'Reservation time',
  };

  /** A breakdown volume (`"Once"`, `{"Energy":{"wh":…}}`, `{"Duration":{"ms":…}}`) in words. */
  function quantity(q) {
    if (q === 'Once') return '1';
    if (isObject(q) && isObject(q.Energy) && q.Energy.wh !== undefined) {
      const kwh = Number(q.Energy.wh) / 1000;
      return Number.isFinite(kwh) ? `${kwh.toFixed(3)} kWh` : shown(q);
    }
    if (isObject(q) && isObject(q.Duration) && q.Duration.ms !== undefined) {
      const s = Math.floor(Number(q.Duration.ms) / 1000);
      if (!Number.isFinite(s)) return shown(q);
      return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')} h`;
    }
    return shown(q);
  }

  function period(line, timeZone) {
    const start = new Date(line.period_start);
    const end = new Date(line.period_end);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) return `${shown(line.period_start)} – ${shown(line.period_end)}`;
    const day = formatterFor(timeZone, { month: 'short', day: 'numeric' });
    const clock = formatterFor(timeZone, { hour: '2-digit', minute: '2-digit' });
    return `${day.format(start)}, ${clock.format(start)}–${clock.format(end)}`;
  }

  function renderCharge(p, fileName) {
    const s = p.summary;
    const facts = $('facts');
    facts.replaceChildren();
    const fact = (term, value, big) => {
      facts.append(el('dt', {}, term), el('dd', big ? { class: 'big' } : {}, value));
    };
    fact('Operator', s.operator);
    fact('Charge point (EVSE)', s.evseId);
    fact('Started', localTime(s.start, p.timeZone));
    fact('Stopped', localTime(s.stop, p.timeZone));
    const took = duration(s.start, s.stop);
    if (took) fact('Duration', took);
    fact('Energy', `${s.energyKwh} kWh`, true);
    if (s.currency !== null && s.totalExclVat !== null) {
      if (s.totalInclVat !== null) {
        fact('Price incl. VAT', `${s.totalInclVat} ${s.currency}`, true);
        fact('Price excl. VAT', `${s.totalExclVat} ${s.currency}`);
      } else {
        fact('Price', `${s.totalExclVat} ${s.currency} excl. VAT (no VAT stated)`, true);
      }
    } else {
      fact('Price', 'free (the charger names no tariff)', true);
    }
    fact('Times shown in', p.timeZone);
    if (fileName) fact('File', fileName);

    const lines = isObject(p.breakdown) && Array.isArray(p.breakdown.lines) ? p.breakdown.lines : [];
    const rounding = isObject(p.breakdown) && isObject(p.breakdown.rounding) ? p.breakdown.rounding.minor_unit_digits : 2;
    const digits = Number.isInteger(rounding) && rounding >= 0 && rounding <= 4 ? rounding : 2;
    const currency = s.currency !== null ? ` ${s.currency}` : '';
    const body = $('breakdown').tBodies[0];
    body.replaceChildren();
    for (const line of lines) {
      if (!isObject(line)) continue;
      const billed = line.billed_volume !== undefined ? line.billed_volume : line.volume;
      const vat = line.vat_percent === null || line.vat_percent === undefined ? 'none' : `${shown(line.vat_percent)} %`;
      const unit = isObject(billed) && billed.Energy ? '/kWh' : isObject(billed) && billed.Duration ? '/h' : '';
      body.append(el('tr', {},
        el('td', {}, period(line, p.timeZone)),
        el('td', {}, DIMENSIONS[line.dimension] || shown(line.dimension)),
        el('td', { class: 'num' }, quantity(billed) + (line.step_rounding_applied === true ? ' (rounded up to the step)' : '')),
        el('td', { class: 'num' }, `${money(line.unit_price, digits)}${currency}${unit}`),
        el('td', { class: 'num' }, money(line.excl_vat, digits)),
        el('td', { class: 'num' }, vat),
        el('td', { class: 'num' }, money(line.incl_vat, digits))));
    }
    const foot = $('breakdown').tFoot;
    foot.replaceChildren();
    if (s.currency !== null && s.totalExclVat !== null) {
      foot.append(el('tr', {}, el('th', { colspan: '4' }, `Total, ${s.currency}`),
        el('th', { class: 'num' }, money(s.totalExclVat, digits)), el('th', {}),
        el('th', { class: 'num' }, s.totalInclVat !== null ? money(s.totalInclVat, digits) : '')));
    }
    $('breakdown-box').hidden = lines.length === 0;
    $('charge-note').textContent = 'This is what the receipt says. The checks below say which of it is proven.';
    $('charge').hidden = false;
  }

  function renderChecks(results, fileName) {
    const list = $('checks');
    list.replaceChildren();
    const command = `kvitto receipt verify ${fileName || 'FILE'} --policy …`;
    for (const c of CHECKS) {
      const r = results.get(c.name) || { outcome: 'not-run', detail: 'Skipped: the receipt could not be read.' };
      const badge = r.outcome === 'pass' ? '✓ Passed' : r.outcome === 'fail' ? '✗ Failed' : '– Not run';
      let where;
      let detail = r.detail;
      if (c.where === 'cli') {
        where = el('p', { class: 'check-where' }, 'Not checked here — run ', el('code', {}, command),
          ` (the complete verifier): ${c.why}.`);
        detail = '';
      } else {
        where = el('p', { class: 'check-where' }, c.how ? `Checked in this browser: ${c.how}.` : 'Checked in this browser.');
      }
      list.append(el('li', { 'data-check': c.name, 'data-outcome': r.outcome, 'data-where': c.where },
        el('span', { class: 'badge' }, badge),
        el('div', {},
          el('p', { class: 'check-title' }, c.title, ' ', el('span', { class: 'check-name' }, `(${c.name})`)),
          detail ? el('p', { class: 'check-detail' }, detail) : null,
          where)));
    }
    $('checks-box').hidden = false;
  }

  function renderVerdict(results, fileName) {
    const box = $('verdict');
    const failed = CHECKS.filter((c) => results.get(c.name)?.outcome === 'fail');
    const ran = CHECKS.filter((c) => c.where === 'browser' && results.get(c.name)?.outcome === 'pass');
    const cli = CHECKS.filter((c) => c.where === 'cli');
    box.replaceChildren();
    if (failed.length > 0) {
      box.className = 'card verdict bad';
      box.append(el('h2', {}, '✗ This receipt does not check out'),
        el('p', {}, `Failed: ${failed.map((c) => c.title.toLowerCase()).join('; ')}.`),
        el('p', {}, 'Do not rely on it. Ask your eMSP or the charging operator for a new receipt.'));
    } else {
      box.className = 'card verdict good';
      box.append(el('h2', {}, '✓ Everything this browser can check passed'),
        el('p', {}, `${ran.length} of ${CHECKS.length} checks ran here. The other ${cli.length} need the complete verifier: `,
          el('code', {}, `kvitto receipt verify ${fileName || 'FILE'} --policy <your eMSP's policy file>`), '.'),
        el('p', {}, 'The checkpoint was checked against the policy inside the receipt: compare the log key below with the one your eMSP publishes.'));
    }
    box.hidden = false;
  }

  function renderTrust(p, policy, checkpoint) {
    const chain = $('chain');
    chain.replaceChildren();
    const signatures = p.checkpoint.split('\n\n').slice(1).join('\n\n').split('\n').filter((l) => l.startsWith('\u2014')).length;
    chain.append(el('li', {}, `${p.readings.length} meter readings, each signed by the charger's meter key, which is registered on the log at entry ${p.charger.index} (charge point ${p.charger.entry.evseId}).`));
    if (p.tariff !== null) chain.append(el('li', {}, `The tariff (id ${p.tariff.entry.tariffId}), published on the log at entry ${p.tariff.index}.`));
    chain.append(el('li', {}, `The session record at entry ${p.session.index}: commitments to the price and to you, no name or card number.`));
    chain.append(el('li', {}, `All in a checkpoint of the log ${p.origin} carrying ${signatures} signature(s): the log's and its witnesses'.`));

    const keys = $('keys');
    keys.replaceChildren();
    keys.append(el('p', {}, 'This page checked the checkpoint against the trust policy ', el('strong', {}, 'inside the receipt'),
      '. That shows the receipt is consistent with itself, not that the log is one you trust: whoever could forge a receipt could forge its policy too. Compare the log key with the one your eMSP publishes, or run the complete verifier with a policy you got from them.'));
    const signer = checkpoint !== null ? checkpoint.log.text : null;
    keys.append(el('p', {}, signer !== null ? 'The log key that signed the checkpoint:' : 'The log key the receipt names:'),
      el('code', { class: 'key' }, signer !== null ? signer : p.logKey));
    if (signer !== null && signer !== p.logKey) {
      keys.append(el('p', { class: 'warn' }, 'The receipt names another log key than the one that signed:'), el('code', { class: 'key' }, p.logKey));
    }
    if (policy !== null && policy.witnesses.length > 0) {
      const list = el('ul', { class: 'plain' });
      for (const w of policy.witnesses) {
        const cosigned = checkpoint !== null && checkpoint.cosigned.includes(w.name);
        list.append(el('li', {}, `${w.name}: `, cosigned ? 'cosigned this checkpoint' : 'no valid cosignature here', ' ',
          el('code', {}, w.key.text)));
      }
      keys.append(el('p', {}, 'Witnesses in the policy:'), list);
    } else if (policy !== null) {
      keys.append(el('p', { class: 'muted' }, 'The policy names no witnesses.'));
    }
    keys.append(el('details', {}, el('summary', {}, 'The policy inside the receipt'), el('pre', {}, p.policy)),
      el('details', {}, el('summary', {}, 'The checkpoint'), el('pre', {}, p.checkpoint)));
    $('trust').hidden = false;
  }

  // ---- running ----------------------------------------------------------------------------

  function resetView() {
    for (const id of ['error', 'verdict', 'charge', 'checks-box', 'trust']) $(id).hidden = true;
    $('status').textContent = '';
  }

  function showError(message) {
    const box = $('error');
    box.textContent = message;
    box.hidden = false;
  }

  /** A file that is not a receipt: a clear error, and the format check failed. */
  function showFormatFailure(message, fileName) {
    const results = new Map([['format', { outcome: 'fail', detail: sentence(message) }]]);
    showError(`This is not a receipt this page can read: ${message}.`);
    renderVerdict(results, fileName);
    renderChecks(results, fileName);
    document.body.dataset.error = 'format';
  }

  let runs = 0;

  /** Checks receipt bytes end to end; never throws. */
  async function checkBytes(bytes, fileName) {
    const run = ++runs;
    document.body.dataset.state = 'checking';
    delete document.body.dataset.error;
    resetView();
    $('status').textContent = 'Checking…';
    try {
      if (bytes.length > RECEIPT_BYTES_MAX) throw new Bad(`the file is ${bytes.length} bytes; a receipt is far smaller`);
      let p;
      try {
        p = parseReceipt(parseJson(bytes));
      } catch (e) {
        if (!(e instanceof Bad)) throw e;
        if (run === runs) showFormatFailure(e.message, fileName);
        return;
      }
      if (!(await ed25519Available())) {
        throw new Bad('this browser has no Ed25519 in WebCrypto, so it cannot check signatures; use a current browser or the complete verifier');
      }
      const { results, policy, checkpoint } = await runChecks(p);
      if (run !== runs) return;
      renderVerdict(results, fileName);
      renderCharge(p, fileName);
      renderChecks(results, fileName);
      renderTrust(p, policy, checkpoint);
    } catch (e) {
      if (run !== runs) return;
      resetView();
      if (e instanceof Bad) {
        showError(sentence(e.message));
        document.body.dataset.error = 'input';
      } else {
        showError(`The checker hit an unexpected problem and checked nothing: ${e && e.message ? e.message : String(e)}`);
        document.body.dataset.error = 'internal';
      }
    } finally {
      if (run === runs) {
        $('status').textContent = '';
        document.body.dataset.state = 'done';
      }
    }
  }

  function readFile(file) {
    if (!file) return;
    if (file.size > RECEIPT_BYTES_MAX) {
      resetView();
      showError(`The file is ${file.size} bytes; a receipt is far smaller.`);
      document.body.dataset.state = 'done';
      return;
    }
    file.arrayBuffer().then(
      (buffer) => checkBytes(new Uint8Array(buffer), file.name),
      () => {
        resetView();
        showError('The file could not be read.');
        document.body.dataset.state = 'done';
      });
  }

  function fromFragment() {
    const hash = location.hash;
    if (!hash.startsWith('#receipt=')) return false;
    let bytes;
    try {
      bytes = fromBase64Url(hash.slice('#receipt='.length));
    } catch (e) {
      runs++;
      resetView();
      showFormatFailure(e instanceof Bad ? e.message : 'the receipt in the address is not base64url', null);
      document.body.dataset.state = 'done';
      return true;
    }
    checkBytes(bytes, null);
    return true;
  }

  function start() {
    const drop = $('drop');
    const input = $('file');
    input.addEventListener('change', () => readFile(input.files && input.files[0]));
    // Dropping anywhere on the page checks the file instead of navigating to it.
    document.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    document.addEventListener('dragleave', (e) => {
      if (e.relatedTarget === null) drop.classList.remove('over');
    });
    document.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      readFile(e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0]);
    });
    window.addEventListener('hashchange', fromFragment);
    window.addEventListener('unhandledrejection', (e) => {
      e.preventDefault();
      showError('The checker hit an unexpected problem.');
      document.body.dataset.state = 'done';
    });
    if (!fromFragment()) document.body.dataset.state = 'ready';
  }

  start();
})();
